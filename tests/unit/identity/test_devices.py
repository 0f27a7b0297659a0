"""Sessions and devices on the in-memory adapters: what a sign-in records, when it is a
new device, who may list and end sessions, and changing the password."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hduce.adapters.memory import InMemorySessionStore
from hduce.adapters.security.user_agents import UaParserClientNamer
from hduce.application.identity.devices import (
    ListSessions,
    RevokeOtherSessions,
    RevokeSession,
    SessionCloser,
    SessionRecorder,
)
from hduce.application.identity.password_change import ChangePassword, ChangePasswordCommand
from hduce.application.identity.sessions import (
    LoginCommand,
    RefreshTokens,
    SessionTokens,
    TokenPair,
)
from hduce.domain.errors import (
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from hduce.domain.events import NewDeviceSignedIn, PasswordChanged
from hduce.domain.identity import Actor, Role, User
from hduce.domain.sessions import SignInClient
from tests.unit.identity.support import PASSWORD, Kit

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CURL = "curl/8.5.0"


@dataclass
class Devices:
    kit: Kit

    def __post_init__(self) -> None:
        kit = self.kit
        self.store = InMemorySessionStore(kit.refresh_store)
        self.recorder = SessionRecorder(kit.uow_factory, self.store, UaParserClientNamer())
        # The kit's use cases, starting and refreshing sessions through the recorder.
        kit.sessions = SessionTokens(kit.tokens, kit.refresh_store, kit.policy, self.recorder)
        kit.login._sessions = kit.sessions
        self.refresh = RefreshTokens(
            kit.uow_factory,
            kit.clock,
            kit.tokens,
            kit.refresh_store,
            kit.denylist,
            kit.limiter,
            kit.policy,
            self.recorder,
        )
        self.closer = SessionCloser(kit.refresh_store, self.store, kit.denylist, kit.policy)
        self.list = ListSessions(kit.uow_factory, kit.clock, self.store)
        self.revoke = RevokeSession(kit.uow_factory, kit.clock, self.store, self.closer)
        self.revoke_others = RevokeOtherSessions(kit.uow_factory, kit.clock, self.closer)
        self.change_password = ChangePassword(
            kit.uow_factory,
            kit.clock,
            kit.hasher,
            kit.credentials,
            kit.limiter,
            self.store,
            self.closer,
            kit.policy,
        )

    async def sign_in(
        self,
        user_agent: str = FIREFOX,
        address: str = "203.0.113.7",
        email: str = "ana@example.org",
    ) -> TokenPair:
        return await self.kit.login(
            LoginCommand(email=email, password=PASSWORD, client_ip=address, user_agent=user_agent)
        )

    def new_devices(self) -> list[NewDeviceSignedIn]:
        return [
            row.event.payload
            for row in self.kit.store.outbox
            if isinstance(row.event.payload, NewDeviceSignedIn)
        ]


@pytest.fixture
def devices() -> Devices:
    return Devices(Kit())


async def test_a_sign_in_records_the_client_and_only_the_network(devices: Devices) -> None:
    user = await devices.kit.patient()
    pair = await devices.sign_in()
    [session] = (await devices.list(user.actor, user.id, current=pair.session_id)).sessions
    assert (session.id, session.client, session.network) == (
        pair.session_id,
        "Firefox on Linux",
        "203.0.113.0/24",
    )
    assert session.user_agent == FIREFOX
    assert "203.0.113.7" not in repr(session)


async def test_only_a_client_and_network_not_seen_before_is_a_new_device(
    devices: Devices,
) -> None:
    await devices.kit.patient()
    await devices.sign_in()  # the account's first session: every device is new then
    await devices.sign_in(address="203.0.113.99")  # same client, same /24
    assert devices.new_devices() == []

    phone = await devices.sign_in(CURL)
    elsewhere = await devices.sign_in(address="198.51.100.4")
    assert [(e.session_id, e.client, e.network) for e in devices.new_devices()] == [
        (phone.session_id, "curl", "203.0.113.0/24"),
        (elsewhere.session_id, "Firefox on Linux", "198.51.100.0/24"),
    ]
    audit = [e for e in devices.kit.store.audit.values() if e.action == "auth.new_device_signed_in"]
    assert len(audit) == 2


async def test_a_refresh_moves_the_last_use_and_records_a_session_begun_before(
    devices: Devices,
) -> None:
    user = await devices.kit.patient()
    # A session begun before sessions were recorded (no recorder at its sign-in).
    old = await SessionTokens(
        devices.kit.tokens, devices.kit.refresh_store, devices.kit.policy
    ).start(user, devices.kit.clock.now())
    devices.kit.advance(minutes=10)
    renewed = await devices.refresh(old.refresh_token, SignInClient("10.1.2.3", CURL))
    [session] = (await devices.list(user.actor, user.id)).sessions
    assert session.id == renewed.session_id == old.session_id
    assert (session.client, session.network) == ("curl", "10.1.2.0/24")
    assert session.last_used_at == devices.kit.clock.now()
    assert devices.new_devices() == []  # a refresh is no sign-in


async def test_only_the_owner_or_an_admin_sees_and_ends_sessions(devices: Devices) -> None:
    user = await devices.kit.patient()
    other = await devices.kit.patient("bea@example.org")
    admin = await devices.kit.account(Role.ADMIN, "root@example.org")
    pair = await devices.sign_in()
    with pytest.raises(PermissionDenied):
        await devices.list(other.actor, user.id)
    with pytest.raises(PermissionDenied):
        await devices.revoke(other.actor, user.id, pair.session_id)
    with pytest.raises(NotFound):  # another's session on one's own account
        await devices.revoke(other.actor, other.id, pair.session_id)
    listed = await devices.list(admin.actor, user.id, current=pair.session_id)
    assert listed.current is None and [s.id for s in listed.sessions] == [pair.session_id]

    await devices.revoke(admin.actor, user.id, pair.session_id)
    with pytest.raises(AuthenticationFailed):
        await devices.kit.authenticate(pair.access.token)
    with pytest.raises(AuthenticationFailed):
        await devices.refresh(pair.refresh_token)
    with pytest.raises(NotFound):
        await devices.revoke(admin.actor, user.id, pair.session_id)
    with pytest.raises(PermissionDenied):
        await devices.revoke_others(admin.actor, user.id, keep=pair.session_id)


async def _password_changed(devices: Devices, user: User) -> list[PasswordChanged]:
    return [
        row.event.payload
        for row in devices.kit.store.outbox
        if isinstance(row.event.payload, PasswordChanged) and row.event.aggregate_id == user.id
    ]


async def test_changing_the_password_ends_every_other_session(devices: Devices) -> None:
    user = await devices.kit.patient()
    current, other = await devices.sign_in(), await devices.sign_in(CURL)
    new = "a brand new passphrase 2030"

    with pytest.raises(InvalidInput) as wrong:
        await devices.change_password(
            user.actor, ChangePasswordCommand("not it", new, current.session_id)
        )
    assert wrong.value.field == "current_password"
    [failed] = [
        e for e in devices.kit.store.audit.values() if e.action == "auth.reauthentication_failed"
    ]
    assert failed.target_id == str(user.id)
    with pytest.raises(InvalidInput) as weak:
        await devices.change_password(
            user.actor, ChangePasswordCommand(PASSWORD, "qwertyuiop", current.session_id)
        )
    assert weak.value.field == "new_password"
    assert await _password_changed(devices, user) == []

    ended = await devices.change_password(
        user.actor, ChangePasswordCommand(PASSWORD, new, current.session_id)
    )
    assert ended == 1
    [event] = await _password_changed(devices, user)
    assert event.sessions_ended == 1
    await devices.kit.authenticate(current.access.token)
    with pytest.raises(AuthenticationFailed):
        await devices.kit.authenticate(other.access.token)
    with pytest.raises(AuthenticationFailed):
        await devices.refresh(other.refresh_token)
    with pytest.raises(AuthenticationFailed):
        await devices.sign_in()  # the old password
    assert await devices.kit.login(LoginCommand("ana@example.org", new))
    # Five attempts per account in 15 minutes, right or wrong (three made above).
    for _ in range(2):
        with pytest.raises(InvalidInput):
            await devices.change_password(
                user.actor, ChangePasswordCommand("not it", new, current.session_id)
            )
    with pytest.raises(RateLimited):
        await devices.change_password(
            user.actor, ChangePasswordCommand(new, "yet another passphrase", current.session_id)
        )


async def test_the_system_has_no_password_to_change(devices: Devices) -> None:
    with pytest.raises(PermissionDenied):
        await devices.change_password(Actor.system(), ChangePasswordCommand("a", "b"))
