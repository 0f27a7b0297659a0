"""Credentials: the password policy and the opaque tokens of a session.

Pure rules only. The list of common passwords is data, not code: the caller
passes it in (``hduce.adapters.security.passwords`` loads the one shipped in
the package), so the rule can be tested with any list.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import unicodedata
from typing import Final

from hduce.domain.errors import InvalidInput

MIN_PASSWORD_LENGTH: Final = 10
#: Long enough for any passphrase, short enough that hashing it is never a DoS lever.
MAX_PASSWORD_LENGTH: Final = 256
#: Fewer distinct characters than this ("aaaaaaaaaa", "ababababab") is refused.
MIN_DISTINCT_CHARACTERS: Final = 4
#: A local part this long or longer may not appear in the password.
MIN_LOCAL_PART_CHECKED: Final = 4

#: Opaque tokens: 32 random bytes, URL-safe base64 (43 characters).
OPAQUE_TOKEN_BYTES: Final = 32

_TRAILING_NOISE = string.digits + string.punctuation + " "


def normalise_password(password: str) -> str:
    """NFKC, so that the same passphrase typed on two keyboards hashes the same.

    Apply it before checking the policy, before hashing and before verifying.
    """
    return unicodedata.normalize("NFKC", password)


def check_password_policy(password: str, email: str, common: frozenset[str]) -> None:
    """Refuse a password that is too short, too long, common, or made of the email.

    ``password`` should already be normalised (``normalise_password``), ``email``
    normalised as well (``normalise_email``); ``common`` holds lower-cased entries.
    Raises ``InvalidInput`` (field ``password``) with the first reason found.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise _refuse(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise _refuse(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    folded = password.casefold()
    if len(set(folded)) < MIN_DISTINCT_CHARACTERS:
        raise _refuse("the password repeats too few different characters")
    # "password2024!" is "password" with noise appended: as weak as the word itself.
    stem = folded.rstrip(_TRAILING_NOISE)
    if folded in common or folded.strip() in common or (stem and stem in common):
        raise _refuse("this password is too common; choose a longer, less predictable one")
    email = email.casefold()
    local = email.partition("@")[0]
    if folded == email or email in folded:
        raise _refuse("the password must not contain your email address")
    if len(local) >= MIN_LOCAL_PART_CHECKED and local in folded:
        raise _refuse("the password must not contain the name of your email address")
    if folded == local:
        raise _refuse("the password must not be the name of your email address")


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, field="password")


def new_opaque_token() -> str:
    """A fresh random token (refresh tokens, OAuth state, nonce, PKCE verifier)."""
    return secrets.token_urlsafe(OPAQUE_TOKEN_BYTES)


def hash_opaque_token(token: str) -> str:
    """SHA-256 hex of a token: what the store keeps, so a leaked table grants nothing.

    A plain hash is enough (no salt, no stretching): the token has 256 random bits.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
