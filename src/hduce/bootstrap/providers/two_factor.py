"""Two-factor sign-in for staff (``hduce.application.identity.two_factor``): TOTP with
pyotp, secrets sealed with ``HDUCE_TOTP_ENCRYPTION_KEY``, the policy of
``HDUCE_REQUIRE_ADMIN_2FA``, and the ``SignInGate`` that password and Google sign-in
pass through.

Needs the persistence (``SecondFactorStore``), shared-state (cache, rate limiter) and
identity (``SessionTokens``) providers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dishka import Provider, Scope, alias, provide

from hduce.application.identity.sessions import SignInGate
from hduce.application.identity.two_factor.challenge import (
    AdminSecondFactorRule,
    PurgeEndedSecondFactorSessions,
    SecondFactorGate,
    VerifySecondFactor,
)
from hduce.application.identity.two_factor.common import (
    SecondFactorCheck,
    SecondFactorPolicy,
    SecondFactorTools,
)
from hduce.application.identity.two_factor.enrolment import (
    BeginEnrolment,
    ConfirmEnrolment,
    GetSecondFactorStatus,
    PendingEnrolmentUri,
    RemoveSecondFactor,
)
from hduce.application.ports.second_factor import OneTimePasswords, SecretSealer
from hduce.bootstrap.settings import Settings


def second_factor_policy(settings: Settings, **overrides: Any) -> SecondFactorPolicy:
    """The policy these settings ask for; ``overrides`` replace single fields (tests)."""
    policy = SecondFactorPolicy(require_admin=settings.two_factor.require_admin)
    return dataclasses.replace(policy, **overrides)


class TwoFactorProvider(Provider):
    scope = Scope.APP

    def __init__(self, *, policy: SecondFactorPolicy | None = None) -> None:
        super().__init__()
        self._policy = policy

    @provide
    def policy(self, settings: Settings) -> SecondFactorPolicy:
        return self._policy or second_factor_policy(settings)

    @provide
    def one_time_passwords(self) -> OneTimePasswords:
        # Imported at the first use (pyotp, cryptography): the worker never enrols anyone.
        from hduce.adapters.security.totp import PyotpOneTimePasswords

        return PyotpOneTimePasswords()

    @provide
    def sealer(self, settings: Settings) -> SecretSealer:
        from hduce.adapters.security.totp import AesGcmSecretSealer, UnconfiguredSecretSealer

        key = settings.two_factor.encryption_key
        return AesGcmSecretSealer(key.reveal()) if key is not None else UnconfiguredSecretSealer()

    tools = provide(SecondFactorTools)
    check = provide(SecondFactorCheck)
    gate = provide(SecondFactorGate)
    sign_in_gate = alias(source=SecondFactorGate, provides=SignInGate)
    verify = provide(VerifySecondFactor)
    status = provide(GetSecondFactorStatus)
    begin = provide(BeginEnrolment)
    pending_uri = provide(PendingEnrolmentUri)
    confirm = provide(ConfirmEnrolment)
    remove = provide(RemoveSecondFactor)
    admin_rule = provide(AdminSecondFactorRule)
    purge_sessions = provide(PurgeEndedSecondFactorSessions)
