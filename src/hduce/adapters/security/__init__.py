"""Password hashing (Argon2id), access tokens (JWT via joserfc) and the JWKS."""

from hduce.adapters.security.passwords import (
    Argon2Parameters,
    Argon2PasswordHasher,
    load_common_passwords,
)
from hduce.adapters.security.tokens import JoseAccessTokens, SigningKeyError

__all__ = [
    "Argon2Parameters",
    "Argon2PasswordHasher",
    "JoseAccessTokens",
    "SigningKeyError",
    "load_common_passwords",
]
