"""Bodies of the emailed-link endpoints: password reset and email verification."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

from hduce.domain.identity import User
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.schemas import Email, Password
from hduce.entrypoints.http.inputs import Text

#: What an emailed link's ``token`` looks like (43 URL-safe characters).
LINK_TOKEN_EXAMPLE: Final = "q7Yc1v0bHq4mJ2Ew9rQXo3pS8nD5uK6tL1aZfG0hVbI"  # noqa: S105 - an example
LinkToken = Annotated[Text, Meta(min_length=1, max_length=512, examples=[LINK_TOKEN_EXAMPLE])]

RESET_REQUESTED: Final = (
    "If an account uses this address, a link to reset its password is on its way. "
    "It works once, for a short time; ask again if it does not arrive."
)
PASSWORD_RESET_DONE: Final = (
    "Your password was changed and every device was signed out: sign in with the new one."  # noqa: S105
)
PASSWORD_SET: Final = "Your password is set and your email address confirmed: sign in with them."  # noqa: S105
VERIFICATION_SENT: Final = "A new link to confirm your email address is on its way."
EMAIL_VERIFIED: Final = "Thank you: your email address is confirmed."


class PasswordResetRequest(msgspec.Struct, forbid_unknown_fields=True):
    # Not checked as an email here: a malformed address gets the same 202 as any other.
    email: Email


class PasswordResetConfirmRequest(msgspec.Struct, forbid_unknown_fields=True):
    #: The ``token`` of the emailed link.
    token: LinkToken
    new_password: Password


class VerifyEmailRequest(msgspec.Struct, forbid_unknown_fields=True):
    #: The ``token`` of the emailed link.
    token: LinkToken


class DetailView(msgspec.Struct):
    """What happened, in words for the person."""

    detail: Annotated[str, Meta(examples=[RESET_REQUESTED])]


class EmailVerifiedView(msgspec.Struct):
    email: Annotated[str, Meta(examples=[demo.PATIENT_EMAIL])]
    email_verified: Annotated[bool, Meta(examples=[True])]
    detail: Annotated[str, Meta(examples=[EMAIL_VERIFIED])]

    @classmethod
    def of(cls, user: User) -> EmailVerifiedView:
        return cls(email=user.email, email_verified=user.email_verified, detail=EMAIL_VERIFIED)
