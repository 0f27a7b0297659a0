"""Second factor for staff: who may enrol, recovery codes, and the rules of a TOTP code.

Pure rules only. Computing a TOTP code (RFC 6238, HMAC-SHA1, 6 digits, 30 s) is the
adapter's job (pyotp); here is what the use cases decide with its answers:

* which time step a code may come from: the current one or one either side
  (``ACCEPTED_STEP_OFFSETS``, clocks drift and people type slowly);
* that a step is used at most once per account (RFC 6238 §5.2): a code is accepted
  only when its step is later than the last one accepted (``is_fresh_step``), so a
  code seen over a shoulder or in a log cannot be replayed, not even within its 90 s;
* recovery codes: 10 random codes of 16 base32 characters (80 bits), shown once,
  stored as SHA-256 (enough with 80 random bits, as for opaque tokens), each used once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Final

from hduce.domain.errors import AuthenticationFailed, PermissionDenied
from hduce.domain.identity import Role

#: Roles that may enrol an authenticator (patients may not: staff only).
STAFF_ROLES: Final = frozenset({Role.DOCTOR, Role.ADMIN})

TOTP_DIGITS: Final = 6
TOTP_PERIOD_SECONDS: Final = 30
#: Step offsets a code may come from: the previous, the current and the next step.
ACCEPTED_STEP_OFFSETS: Final = (0, -1, 1)

RECOVERY_CODE_COUNT: Final = 10
#: 16 characters of the RFC 4648 base32 alphabet: 80 random bits.
RECOVERY_CODE_LENGTH: Final = 16
_BASE32: Final = "abcdefghijklmnopqrstuvwxyz234567"
_CODE: Final = re.compile(rf"\d{{{TOTP_DIGITS}}}")
_RECOVERY: Final = re.compile(rf"[{_BASE32}]{{{RECOVERY_CODE_LENGTH}}}")


def may_enrol(role: Role) -> bool:
    return role in STAFF_ROLES


def normalise_totp_code(raw: str) -> str | None:
    """The six digits of a typed code (spaces allowed, as apps show "123 456"); None
    when it cannot be a code at all."""
    code = raw.replace(" ", "").strip()
    return code if _CODE.fullmatch(code) else None


def is_fresh_step(step: int, last_used_step: int | None) -> bool:
    """Whether a code of time step ``step`` may be accepted after ``last_used_step``."""
    return last_used_step is None or step > last_used_step


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh recovery codes as shown to the user: ``xxxx-xxxx-xxxx-xxxx``."""
    return [format_recovery_code(_random_code()) for _ in range(count)]


def _random_code() -> str:
    return "".join(secrets.choice(_BASE32) for _ in range(RECOVERY_CODE_LENGTH))


def format_recovery_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_recovery_code(raw: str) -> str | None:
    """One spelling of a typed recovery code (case, hyphens and spaces ignored); None
    when it cannot be one."""
    code = raw.replace("-", "").replace(" ", "").strip().lower()
    return code if _RECOVERY.fullmatch(code) else None


def hash_recovery_code(raw: str) -> str:
    """SHA-256 hex of a recovery code's one spelling: what the store keeps."""
    code = normalise_recovery_code(raw)
    if code is None:
        raise ValueError("not a recovery code")
    return hashlib.sha256(code.encode("ascii")).hexdigest()


class SecondFactorRequired(AuthenticationFailed):
    """The password (or Google) was right, and the account has an authenticator: the
    sign-in completes with a code and this ``challenge`` (HTTP 401, members
    ``challenge`` and ``expires_in``)."""

    code = "second-factor-required"

    def __init__(self, challenge: str, expires_in: int) -> None:
        super().__init__(
            "enter the code of your authenticator app (or a recovery code) to finish "
            "signing in: POST /api/v1/auth/2fa/verify with this challenge"
        )
        self.challenge = challenge
        self.expires_in = expires_in


class SecondFactorEnrolmentRequired(PermissionDenied):
    """An admin session without a second factor while the policy requires one (403):
    only the two-factor routes answer it."""

    code = "second-factor-enrolment-required"
