"""Argon2id password hashing (argon2-cffi) and the shipped list of common passwords."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from importlib import resources

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

COMMON_PASSWORDS_RESOURCE = "common_passwords.txt"


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """Defaults: RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes),
    which is also argon2-cffi's default profile."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4
    hash_len: int = 32
    salt_len: int = 16

    @classmethod
    def for_tests(cls) -> Argon2Parameters:
        """Cheap parameters (still Argon2id) so test suites hash in microseconds."""
        return cls(time_cost=1, memory_cost_kib=64, parallelism=1)


class Argon2PasswordHasher:
    """The ``PasswordHasher`` port. Hashing runs in a worker thread (argon2 releases the
    GIL), so a login never stalls the event loop for the tens of milliseconds it costs."""

    def __init__(self, parameters: Argon2Parameters | None = None) -> None:
        self.parameters = parameters or Argon2Parameters()
        p = self.parameters
        self._argon2 = _Argon2(
            time_cost=p.time_cost,
            memory_cost=p.memory_cost_kib,
            parallelism=p.parallelism,
            hash_len=p.hash_len,
            salt_len=p.salt_len,
            type=Type.ID,
        )

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._argon2.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            # VerifyMismatchError is a VerificationError; InvalidHashError covers hashes
            # that are not Argon2 at all (a corrupt row must not become a 500).
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True


@functools.cache
def load_common_passwords() -> frozenset[str]:
    """The curated list shipped with the package, lower-cased."""
    text = (
        resources.files("hduce.adapters.security")
        .joinpath(COMMON_PASSWORDS_RESOURCE)
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
