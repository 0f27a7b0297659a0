"""TOTP with pyotp, and the TOTP secrets sealed at rest with AES-256-GCM (ADR 0017).

* ``PyotpOneTimePasswords``: RFC 6238 (HMAC-SHA1, 6 digits, 30 s, the parameters
  every authenticator app supports); which time step a code belongs to among the
  accepted offsets, so the use case can refuse a step used before (pyotp's
  ``verify`` only answers yes or no, and would accept a replay).
* ``AesGcmSecretSealer``: ``cryptography``'s AES-GCM with a 256-bit key derived by
  HKDF-SHA256 from ``HDUCE_TOTP_ENCRYPTION_KEY``; a fresh 96-bit nonce per seal; the
  account id as associated data. Stored as ``v1.<base64url(nonce + ciphertext)>``: the
  version names the format and key derivation, so a later key or scheme can be told
  apart from this one.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from datetime import datetime
from typing import Final

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hduce.domain.errors import BusinessRuleViolation
from hduce.domain.second_factor import ACCEPTED_STEP_OFFSETS, TOTP_DIGITS, TOTP_PERIOD_SECONDS

_VERSION: Final = "v1"
_NONCE_BYTES: Final = 12
_HKDF_INFO: Final = b"hduce totp secrets v1"


class PyotpOneTimePasswords:
    """The ``OneTimePasswords`` port."""

    def new_secret(self) -> str:
        return pyotp.random_base32()  # 32 base32 characters: 160 bits, as RFC 4226 advises

    def provisioning_uri(self, secret: str, *, account: str, issuer: str) -> str:
        return self._totp(secret).provisioning_uri(name=account, issuer_name=issuer)

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        totp = self._totp(secret)
        current = totp.timecode(now)
        found: int | None = None
        # Every offset is computed and compared, so the time taken does not tell which
        # step (if any) matched.
        for offset in ACCEPTED_STEP_OFFSETS:
            if secrets.compare_digest(totp.generate_otp(current + offset), code):
                found = current + offset if found is None else found
        return found

    @staticmethod
    def _totp(secret: str) -> pyotp.TOTP:
        return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_SECONDS)


class AesGcmSecretSealer:
    """The ``SecretSealer`` port: AES-256-GCM, key derived from a configured secret."""

    def __init__(self, key_material: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            key_material.encode("utf-8")
        )
        self._aead = AESGCM(key)

    def seal(self, secret: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode("utf-8"), context.encode("utf-8"))
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def open(self, sealed: str, *, context: str) -> str:
        version, _, body = sealed.partition(".")
        if version != _VERSION:
            raise ValueError(f"unknown sealed-secret format {version!r}")
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8")
            )
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise ValueError("the sealed secret does not open with this key") from exc
        return plain.decode("utf-8")


class UnconfiguredSecretSealer:
    """The ``SecretSealer`` of a production deployment without
    ``HDUCE_TOTP_ENCRYPTION_KEY``: secrets are neither stored in clear nor sealed with the
    public development key; enrolling is refused (422) instead."""

    def seal(self, secret: str, *, context: str) -> str:
        raise _unconfigured()

    def open(self, sealed: str, *, context: str) -> str:
        raise _unconfigured()


def _unconfigured() -> BusinessRuleViolation:
    return BusinessRuleViolation(
        "two-factor sign-in is not configured on this server (HDUCE_TOTP_ENCRYPTION_KEY)",
        rule="second-factor-unavailable",
    )
