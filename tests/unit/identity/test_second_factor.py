"""Two-factor sign-in: the domain's rules (property-based), the TOTP and sealing
adapters, and the use cases over in-memory adapters with a fixed clock."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hduce.adapters.memory.second_factor import InMemorySecondFactorStore
from hduce.adapters.security.totp import (
    AesGcmSecretSealer,
    PyotpOneTimePasswords,
    UnconfiguredSecretSealer,
)
from hduce.application.identity.policy import RateRule
from hduce.application.identity.sessions import Login, LoginCommand, Principal
from hduce.application.identity.two_factor.challenge import (
    AdminSecondFactorRule,
    SecondFactorGate,
    VerifyCommand,
    VerifySecondFactor,
)
from hduce.application.identity.two_factor.common import (
    SecondFactorCheck,
    SecondFactorPolicy,
    SecondFactorProof,
    SecondFactorTools,
)
from hduce.application.identity.two_factor.enrolment import (
    BeginEnrolment,
    ConfirmEnrolment,
    RemoveSecondFactor,
)
from hduce.domain.errors import (
    AuthenticationFailed,
    BusinessRuleViolation,
    InvalidInput,
    PermissionDenied,
    RateLimited,
)
from hduce.domain.identity import Role, User
from hduce.domain.second_factor import (
    RECOVERY_CODE_COUNT,
    SecondFactorEnrolmentRequired,
    SecondFactorRequired,
    format_recovery_code,
    hash_recovery_code,
    is_fresh_step,
    may_enrol,
    new_recovery_codes,
    normalise_recovery_code,
    normalise_totp_code,
)
from tests.unit.identity.support import PASSWORD, Kit

KEY = "unit-test-totp-key-unit-test-totp-key-0123"
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"

# ------------------------------------------------------------------ domain rules


def test_only_staff_may_enrol() -> None:
    assert may_enrol(Role.DOCTOR) and may_enrol(Role.ADMIN)
    assert not may_enrol(Role.PATIENT) and not may_enrol(Role.SYSTEM)


def test_recovery_codes_are_ten_distinct_80_bit_codes() -> None:
    codes = new_recovery_codes()
    assert len(codes) == RECOVERY_CODE_COUNT == len(set(codes))
    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(BASE32)


@given(
    raw=st.text(alphabet=BASE32, min_size=16, max_size=16),
    upper=st.lists(st.booleans(), min_size=16, max_size=16),
    separators=st.lists(st.sampled_from(["", "-", " "]), min_size=16, max_size=16),
)
def test_a_recovery_code_typed_any_way_hashes_the_same(
    raw: str, upper: list[bool], separators: list[str]
) -> None:
    typed = "".join(
        (char.upper() if up else char) + sep
        for char, up, sep in zip(raw, upper, separators, strict=True)
    )
    assert normalise_recovery_code(typed) == raw
    assert hash_recovery_code(typed) == hash_recovery_code(format_recovery_code(raw))


@given(st.text(max_size=40))
def test_anything_else_is_not_a_recovery_code(raw: str) -> None:
    code = normalise_recovery_code(raw)
    assert code is None or (len(code) == 16 and set(code) <= set(BASE32))


@given(st.text(max_size=12))
def test_a_totp_code_is_six_digits(raw: str) -> None:
    code = normalise_totp_code(raw)
    assert code is None or (len(code) == 6 and code.isascii() and code.isdigit())


def test_a_totp_code_may_be_typed_with_a_space() -> None:
    assert normalise_totp_code("123 456") == "123456"
    assert normalise_totp_code("12345") is None and normalise_totp_code("12345a") is None


@given(st.lists(st.integers(min_value=0, max_value=10**9), max_size=30))
def test_steps_are_accepted_strictly_increasing(steps: list[int]) -> None:
    last: int | None = None
    accepted: list[int] = []
    for step in steps:
        if is_fresh_step(step, last):
            accepted.append(step)
            last = step
    assert accepted == sorted(set(accepted))
    assert all(step <= (last or 0) for step in steps if step not in accepted)


# ------------------------------------------------------------------ adapters

otp = PyotpOneTimePasswords()


@given(st.integers(min_value=1_600_000_000, max_value=4_000_000_000), st.integers(-3, 3))
def test_a_code_matches_a_step_within_one_step_of_now(now: int, offset: int) -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    instant = datetime.fromtimestamp(now, UTC)
    totp = pyotp.TOTP(secret)
    current = totp.timecode(instant)
    code = totp.at(instant, counter_offset=offset)
    step = otp.matching_step(secret, code, instant)
    if abs(offset) <= 1:
        assert step is not None
    if step is not None:
        # Within the accepted window, and a step whose code it is (six digits may repeat).
        assert abs(step - current) <= 1
        assert totp.generate_otp(step) == code
    assert otp.matching_step(secret, "not a code", instant) is None


def test_secrets_are_160_bits_and_the_uri_names_the_account() -> None:
    secret = otp.new_secret()
    assert len(secret) == 32 and secret != otp.new_secret()
    uri = otp.provisioning_uri(secret, account="gp@example.org", issuer="HDUCE")
    assert uri.startswith("otpauth://totp/HDUCE:gp%40example.org?") and f"secret={secret}" in uri


def test_sealed_secrets_open_only_with_their_key_and_account() -> None:
    sealer = AesGcmSecretSealer(KEY)
    sealed = sealer.seal("JBSWY3DPEHPK3PXP", context="user-1")
    assert sealed.startswith("v1.") and "JBSWY3DPEHPK3PXP" not in sealed
    assert sealer.seal("JBSWY3DPEHPK3PXP", context="user-1") != sealed  # fresh nonce
    assert sealer.open(sealed, context="user-1") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(ValueError):
        sealer.open(sealed, context="user-2")
    with pytest.raises(ValueError):
        AesGcmSecretSealer(KEY + "-rotated").open(sealed, context="user-1")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(ValueError):
        sealer.open(tampered, context="user-1")
    with pytest.raises(ValueError):
        sealer.open("v0.whatever", context="user-1")


def test_without_a_key_nothing_is_sealed() -> None:
    with pytest.raises(BusinessRuleViolation) as refused:
        UnconfiguredSecretSealer().seal("JBSWY3DPEHPK3PXP", context="user-1")
    assert refused.value.code == "second-factor-unavailable"


# ------------------------------------------------------------------ use cases


@dataclass
class TwoFactorKit:
    kit: Kit = field(default_factory=Kit)
    policy: SecondFactorPolicy = field(default_factory=SecondFactorPolicy)
    sealer: AesGcmSecretSealer = field(default_factory=lambda: AesGcmSecretSealer(KEY))

    def __post_init__(self) -> None:
        kit = self.kit
        self.store = InMemorySecondFactorStore()
        self.tools = SecondFactorTools(
            self.store,
            otp,
            self.sealer,
            kit.cache,
            kit.limiter,
            kit.uow_factory,
            kit.clock,
            self.policy,
        )
        self.check = SecondFactorCheck(self.tools)
        self.gate = SecondFactorGate(self.tools)
        self.login = Login(
            kit.uow_factory,
            kit.clock,
            kit.hasher,
            kit.credentials,
            kit.limiter,
            kit.sessions,
            kit.policy,
            self.gate,
        )
        self.begin = BeginEnrolment(self.tools)
        self.confirm = ConfirmEnrolment(self.tools, self.check)
        self.remove = RemoveSecondFactor(self.tools, self.check)
        self.verify = VerifySecondFactor(self.tools, self.check, kit.sessions)
        self.rule = AdminSecondFactorRule(self.store, self.policy)

    async def principal(self, user: User) -> Principal:
        pair = await self.kit.sign_in(user.email)
        return await self.kit.authenticate(pair.access.token)

    async def enrolled(self, user: User) -> tuple[pyotp.TOTP, list[str], Principal]:
        principal = await self.principal(user)
        totp = pyotp.TOTP((await self.begin(principal)).secret)
        codes = await self.confirm(principal, totp.at(self.kit.clock.now()))
        self.kit.advance(seconds=30)
        return totp, codes, principal

    async def challenge(self, user: User) -> str:
        with pytest.raises(SecondFactorRequired) as required:
            await self.login(LoginCommand(email=user.email, password=PASSWORD))
        return required.value.challenge


async def test_patients_may_not_enrol() -> None:
    two = TwoFactorKit()
    patient = await two.kit.account(Role.PATIENT, "pat@example.org")
    with pytest.raises(PermissionDenied):
        await two.begin(await two.principal(patient))


async def test_an_enrolled_doctor_signs_in_with_a_code_once() -> None:
    two = TwoFactorKit()
    doctor = await two.kit.account(Role.DOCTOR, "gp@example.org")
    totp, codes, _ = await two.enrolled(doctor)
    assert len(codes) == RECOVERY_CODE_COUNT

    challenge = await two.challenge(doctor)
    code = totp.at(two.kit.clock.now())
    pair = await two.verify(VerifyCommand(challenge, SecondFactorProof(code=code)))
    assert pair.user.id == doctor.id
    assert await two.store.is_session_marked(pair.session_id)
    # The challenge is spent, and so is the code.
    with pytest.raises(AuthenticationFailed, match="expired or was used"):
        await two.verify(VerifyCommand(challenge, SecondFactorProof(code=code)))
    with pytest.raises(AuthenticationFailed, match="used already"):
        await two.verify(VerifyCommand(await two.challenge(doctor), SecondFactorProof(code=code)))


async def test_a_code_and_a_recovery_code_together_are_refused() -> None:
    two = TwoFactorKit()
    doctor = await two.kit.account(Role.DOCTOR, "gp@example.org")
    _, codes, _ = await two.enrolled(doctor)
    challenge = await two.challenge(doctor)
    with pytest.raises(InvalidInput):
        await two.verify(
            VerifyCommand(challenge, SecondFactorProof(code="123456", recovery_code=codes[0]))
        )
    with pytest.raises(InvalidInput):
        await two.verify(VerifyCommand(challenge, SecondFactorProof()))


async def test_a_changed_key_asks_for_a_recovery_code() -> None:
    two = TwoFactorKit()
    doctor = await two.kit.account(Role.DOCTOR, "gp@example.org")
    totp, codes, _ = await two.enrolled(doctor)
    # The same store, read with another HDUCE_TOTP_ENCRYPTION_KEY.
    tools = dataclasses.replace(two.tools, sealer=AesGcmSecretSealer(KEY + "-new"))
    check = SecondFactorCheck(tools)
    verify = VerifySecondFactor(tools, check, two.kit.sessions)
    challenge = await two.challenge(doctor)
    with pytest.raises(AuthenticationFailed, match="recovery code"):
        await verify(VerifyCommand(challenge, SecondFactorProof(code=totp.at(two.kit.clock.now()))))
    assert (await verify(VerifyCommand(challenge, SecondFactorProof(recovery_code=codes[0])))).user


async def test_the_admin_rule_reads_the_store_once_per_session() -> None:
    two = TwoFactorKit(policy=SecondFactorPolicy(require_admin=True))
    admin = await two.kit.account(Role.ADMIN, "root@example.org")
    principal = await two.principal(admin)
    with pytest.raises(SecondFactorEnrolmentRequired, match="enrol"):
        await two.rule.check(principal)
    totp, _, confirming = await two.enrolled(admin)
    await two.rule.check(confirming)  # the session that confirmed

    reads = 0
    original = two.store.is_session_marked

    async def counting(session_id: object) -> bool:
        nonlocal reads
        reads += 1
        return await original(session_id)  # type: ignore[arg-type]

    two.store.is_session_marked = counting  # type: ignore[method-assign]
    for _ in range(5):
        await two.rule.check(confirming)
    assert reads == 0  # remembered since the first check
    # A session opened before enrolment is refused, with its own explanation.
    with pytest.raises(SecondFactorEnrolmentRequired, match="sign in again"):
        await two.rule.check(principal)
    # Doctors are not bound by the policy.
    doctor = await two.kit.account(Role.DOCTOR, "gp@example.org")
    await two.rule.check(await two.principal(doctor))
    # Nor are admins when it is off.
    await AdminSecondFactorRule(two.store, SecondFactorPolicy()).check(principal)
    # And the policy keeps an admin from turning it off.
    with pytest.raises(BusinessRuleViolation) as refused:
        await two.remove(confirming, SecondFactorProof(code=totp.at(two.kit.clock.now())))
    assert refused.value.code == "second-factor-required-by-policy"


async def test_confirming_with_a_wrong_code_counts_as_a_failure() -> None:
    two = TwoFactorKit(policy=SecondFactorPolicy(failures_per_account=_rule(2)))
    doctor = await two.kit.account(Role.DOCTOR, "gp@example.org")
    principal = await two.principal(doctor)
    await two.begin(principal)
    for _ in range(2):
        with pytest.raises(InvalidInput):
            await two.confirm(principal, "000000")
    with pytest.raises(RateLimited):
        await two.confirm(principal, "000000")


def _rule(limit: int) -> RateRule:
    return RateRule(limit, 900)


def test_policy_defaults() -> None:
    policy = SecondFactorPolicy()
    assert policy.challenge_ttl == timedelta(minutes=5)
    assert policy.failures_per_challenge == 5 and policy.failures_per_account.limit == 10
