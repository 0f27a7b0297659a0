"""Check-in devices: kiosks and QR readers at a clinic's door that talk MQTT.

An admin registers a device (a name and where it stands); the device then proves
who it is in every message with its id and a secret it was given once. Only a hash
of the secret is stored (``hash_device_secret``). A revoked device is refused from
then on; its record stays, so the audit trail still names it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from hduce.domain.errors import InvalidInput
from hduce.domain.text import plain_text

#: Bytes of randomness in a device secret (256 bits, URL-safe base64 when shown).
SECRET_BYTES = 32
MAX_NAME_LENGTH = 120
MAX_LOCATION_LENGTH = 200


class DeviceStatus(StrEnum):
    #: Seen (any message) within the online window.
    ONLINE = "online"
    #: Seen before, but not within the online window.
    OFFLINE = "offline"
    #: Registered, never heard from.
    NEVER_SEEN = "never_seen"
    #: Refused from now on.
    REVOKED = "revoked"


def new_device_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_device_secret(secret: str) -> str:
    """SHA-256 of the secret, hex. A plain hash is enough here, unlike for passwords:
    the secret is 256 random bits, so there is nothing to guess by brute force, and
    each message is checked at the cost of one hash (not argon2's deliberate
    slowness on every kiosk message)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(slots=True, eq=False)
class Device:
    id: UUID
    name: str
    location: str
    secret_hash: str
    registered_at: datetime
    registered_by: UUID | None = None
    revoked_at: datetime | None = None
    last_seen_at: datetime | None = None

    @classmethod
    def register(
        cls,
        *,
        device_id: UUID,
        name: str,
        location: str,
        secret: str,
        now: datetime,
        registered_by: UUID | None,
    ) -> Device:
        clean_name = plain_text(name, "name")
        if not clean_name or len(clean_name) > MAX_NAME_LENGTH:
            raise InvalidInput(f"name must be 1 to {MAX_NAME_LENGTH} characters", field="name")
        clean_location = plain_text(location, "location")
        if not clean_location or len(clean_location) > MAX_LOCATION_LENGTH:
            raise InvalidInput(
                f"location must be 1 to {MAX_LOCATION_LENGTH} characters", field="location"
            )
        return cls(
            id=device_id,
            name=clean_name,
            location=clean_location,
            secret_hash=hash_device_secret(secret),
            registered_at=now,
            registered_by=registered_by,
        )

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def accepts(self, secret: str) -> bool:
        """True when ``secret`` is this device's and the device is not revoked
        (compared in constant time)."""
        matches = hmac.compare_digest(hash_device_secret(secret), self.secret_hash)
        return matches and not self.is_revoked

    def revoke(self, now: datetime) -> bool:
        """Revoke it; False when it was revoked already (nothing changes)."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = now
        return True

    def seen(self, now: datetime) -> None:
        if self.last_seen_at is None or now > self.last_seen_at:
            self.last_seen_at = now

    def status(self, now: datetime, online_within: timedelta) -> DeviceStatus:
        if self.revoked_at is not None:
            return DeviceStatus.REVOKED
        if self.last_seen_at is None:
            return DeviceStatus.NEVER_SEEN
        if now - self.last_seen_at <= online_within:
            return DeviceStatus.ONLINE
        return DeviceStatus.OFFLINE
