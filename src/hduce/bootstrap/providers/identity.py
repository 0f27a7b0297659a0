"""The identity feature (``hduce.application.identity``): its policy and use cases.

Needs the persistence, shared-state and security providers (refresh-token store,
denylist, rate limiter, cache, hasher, access tokens and, for Google sign-in, the
``OidcProvider``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dishka import Provider, Scope, provide

from hduce.adapters.security.passwords import load_common_passwords
from hduce.application.identity.accounts import (
    CreateAccount,
    GetMe,
    ListUsers,
    RegisterPatient,
    SetUserActive,
    UpdateMyProfile,
)
from hduce.application.identity.email_links import (
    AccountLinks,
    PurgeExpiredAccountTokens,
    RequestPasswordReset,
    ResendEmailVerification,
    ResetPassword,
    SendEmailVerification,
    VerifyEmail,
)
from hduce.application.identity.google import BeginGoogleSignIn, CompleteGoogleSignIn
from hduce.application.identity.policy import IdentityPolicy
from hduce.application.identity.sessions import (
    Authenticate,
    CredentialChecker,
    Login,
    Logout,
    PurgeExpiredRefreshTokens,
    RefreshTokens,
    SessionTokens,
)
from hduce.bootstrap.settings import Settings


def identity_policy(settings: Settings, **overrides: Any) -> IdentityPolicy:
    """The policy these settings ask for; ``overrides`` replace single fields (tests)."""
    policy = IdentityPolicy(
        access_token_ttl=settings.auth.access_token_ttl,
        refresh_token_ttl=settings.auth.refresh_token_ttl,
        common_passwords=load_common_passwords(),
        default_timezone=settings.default_timezone,
        public_url=settings.account_links.public_url,
        password_reset_ttl=settings.account_links.password_reset_ttl,
        email_verification_ttl=settings.account_links.email_verification_ttl,
    )
    return dataclasses.replace(policy, **overrides)


class IdentityProvider(Provider):
    """``google_sign_in``: add the Google sign-in use cases (Google is configured).
    ``policy``: what the settings ask for unless given (tests loosen rate limits)."""

    scope = Scope.APP

    def __init__(
        self, *, google_sign_in: bool = False, policy: IdentityPolicy | None = None
    ) -> None:
        super().__init__()
        self._policy = policy
        if google_sign_in:
            self.provide(BeginGoogleSignIn)
            self.provide(CompleteGoogleSignIn)

    @provide
    def policy(self, settings: Settings) -> IdentityPolicy:
        return self._policy or identity_policy(settings)

    credentials = provide(CredentialChecker)
    sessions = provide(SessionTokens)
    authenticate = provide(Authenticate)
    register = provide(RegisterPatient)
    login = provide(Login)
    refresh = provide(RefreshTokens)
    logout = provide(Logout)
    get_me = provide(GetMe)
    update_my_profile = provide(UpdateMyProfile)
    create_account = provide(CreateAccount)
    set_user_active = provide(SetUserActive)
    list_users = provide(ListUsers)
    purge_refresh_tokens = provide(PurgeExpiredRefreshTokens)
    # Emailed links (password reset, email verification): ADR 0015.
    account_links = provide(AccountLinks)
    request_password_reset = provide(RequestPasswordReset)
    reset_password = provide(ResetPassword)
    send_email_verification = provide(SendEmailVerification)
    verify_email = provide(VerifyEmail)
    resend_email_verification = provide(ResendEmailVerification)
    purge_account_tokens = provide(PurgeExpiredAccountTokens)
