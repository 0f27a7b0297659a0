"""The identity feature (``hduce.application.identity``): its policy and use cases.

Needs the persistence, shared-state and security providers (refresh-token store,
denylist, rate limiter, cache, hasher, access tokens and, for Google sign-in, the
``OidcProvider``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dishka import Provider, Scope, provide

from hduce.adapters.security.user_agents import UaParserClientNamer
from hduce.application.clinic.walk_ins import CreateWalkInPatient, ResendPasswordSetup
from hduce.application.identity.accounts import (
    CreateAccount,
    GetMe,
    ListUsers,
    RegisterPatient,
    SetAdminScope,
    SetUserActive,
    UpdateMyProfile,
)
from hduce.application.identity.devices import (
    ForgetEndedSessions,
    ListSessions,
    RevokeOtherSessions,
    RevokeSession,
    SessionCloser,
    SessionRecorder,
)
from hduce.application.identity.email_links import (
    AccountLinks,
    PurgeExpiredAccountTokens,
    RequestPasswordReset,
    ResendEmailVerification,
    ResetPassword,
    SendEmailVerification,
    SetFirstPassword,
    VerifyEmail,
)
from hduce.application.identity.google import BeginGoogleSignIn, CompleteGoogleSignIn
from hduce.application.identity.password_change import ChangePassword
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
from hduce.application.ports import (
    AccessTokenIssuer,
    ClientNamer,
    Clock,
    RateLimiter,
    RefreshTokenStore,
    TokenDenylist,
    UnitOfWorkFactory,
)
from hduce.bootstrap.settings import Settings


def identity_policy(settings: Settings, **overrides: Any) -> IdentityPolicy:
    """The policy these settings ask for; ``overrides`` replace single fields (tests)."""
    # Here, not at the top: the module also loads argon2-cffi, which the worker never uses.
    from hduce.adapters.security.passwords import load_common_passwords

    policy = IdentityPolicy(
        access_token_ttl=settings.auth.access_token_ttl,
        refresh_token_ttl=settings.auth.refresh_token_ttl,
        common_passwords=load_common_passwords(),
        default_timezone=settings.default_timezone,
        public_url=settings.account_links.public_url,
        password_reset_ttl=settings.account_links.password_reset_ttl,
        email_verification_ttl=settings.account_links.email_verification_ttl,
        password_setup_ttl=settings.account_links.password_setup_ttl,
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
    client_namer = provide(UaParserClientNamer, provides=ClientNamer)
    session_recorder = provide(SessionRecorder)
    session_closer = provide(SessionCloser)
    list_sessions = provide(ListSessions)
    revoke_session = provide(RevokeSession)
    revoke_other_sessions = provide(RevokeOtherSessions)
    forget_ended_sessions = provide(ForgetEndedSessions)
    change_password = provide(ChangePassword)

    @provide
    def sessions(
        self,
        issuer: AccessTokenIssuer,
        store: RefreshTokenStore,
        policy: IdentityPolicy,
        recorder: SessionRecorder,
    ) -> SessionTokens:
        return SessionTokens(issuer, store, policy, recorder)

    @provide
    def refresh(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        issuer: AccessTokenIssuer,
        store: RefreshTokenStore,
        denylist: TokenDenylist,
        limiter: RateLimiter,
        policy: IdentityPolicy,
        recorder: SessionRecorder,
    ) -> RefreshTokens:
        return RefreshTokens(uow_factory, clock, issuer, store, denylist, limiter, policy, recorder)

    authenticate = provide(Authenticate)
    register = provide(RegisterPatient)
    login = provide(Login)
    logout = provide(Logout)
    get_me = provide(GetMe)
    update_my_profile = provide(UpdateMyProfile)
    create_account = provide(CreateAccount)
    set_user_active = provide(SetUserActive)
    set_admin_scope = provide(SetAdminScope)
    list_users = provide(ListUsers)
    purge_refresh_tokens = provide(PurgeExpiredRefreshTokens)
    # Emailed links (password reset, email verification): ADR 0015.
    account_links = provide(AccountLinks)
    request_password_reset = provide(RequestPasswordReset)
    reset_password = provide(ResetPassword)
    send_email_verification = provide(SendEmailVerification)
    verify_email = provide(VerifyEmail)
    resend_email_verification = provide(ResendEmailVerification)
    # Walk-in patients: created without a password, which a mailed link sets.
    set_first_password = provide(SetFirstPassword)
    create_walk_in_patient = provide(CreateWalkInPatient)
    resend_password_setup = provide(ResendPasswordSetup)
    purge_account_tokens = provide(PurgeExpiredAccountTokens)
