"""Argon2id hashing and JWT access tokens (joserfc): every claim is checked."""

from __future__ import annotations

import base64
import json
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey

from hduce.adapters.security import tokens as token_module
from hduce.adapters.security.passwords import Argon2Parameters, Argon2PasswordHasher
from hduce.adapters.security.tokens import JoseAccessTokens, SigningKeyError
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Role

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
SECRET = "s" * 40
USER, SESSION = UUID(int=7), UUID(int=8)


# ------------------------------------------------------------------ Argon2


async def test_argon2id_hash_verify_and_rehash() -> None:
    cheap = Argon2PasswordHasher(Argon2Parameters.for_tests())
    hashed = await cheap.hash("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert await cheap.verify(hashed, "correct horse battery staple")
    assert not await cheap.verify(hashed, "correct horse battery stapler")
    assert not cheap.needs_rehash(hashed)
    stronger = Argon2PasswordHasher(Argon2Parameters(time_cost=2, memory_cost_kib=128))
    assert stronger.needs_rehash(hashed)
    assert await stronger.verify(hashed, "correct horse battery staple")  # old hashes still work


@pytest.mark.parametrize("garbage", ["", "not a hash", "$argon2id$v=19$broken", "$2b$12$abc"])
async def test_unusable_hashes_never_raise(garbage: str) -> None:
    hasher = Argon2PasswordHasher(Argon2Parameters.for_tests())
    assert not await hasher.verify(garbage, "whatever-password")
    assert hasher.needs_rehash(garbage)


def test_default_parameters_follow_rfc_9106() -> None:
    parameters = Argon2PasswordHasher().parameters
    assert (parameters.time_cost, parameters.memory_cost_kib, parameters.parallelism) == (
        3,
        65536,
        4,
    )


# ------------------------------------------------------------------ HS256


def _hs256(**overrides: object) -> JoseAccessTokens:
    options: dict[str, object] = {
        "issuer": "hduce",
        "audience": "hduce-api",
        "ttl": timedelta(minutes=15),
    }
    options.update(overrides)
    return JoseAccessTokens.with_secret(SECRET, **options)  # type: ignore[arg-type]


def _segments(token: str) -> tuple[dict[str, object], dict[str, object]]:
    header, payload, _ = token.split(".")

    def decode(part: str) -> dict[str, object]:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    return decode(header), decode(payload)


def test_issue_and_verify_round_trip() -> None:
    tokens = _hs256()
    issued = tokens.issue(user_id=USER, role=Role.DOCTOR, now=NOW, session_id=SESSION)
    header, claims = _segments(issued.token)
    assert header == {"alg": "HS256", "typ": "at+jwt"}
    assert set(claims) == {"iss", "aud", "sub", "role", "iat", "exp", "jti", "sid"}
    assert issued.expires_in == 900
    verified = tokens.verify(issued.token, now=NOW + timedelta(minutes=14))
    assert (verified.user_id, verified.role, verified.jti, verified.session_id) == (
        USER,
        Role.DOCTOR,
        issued.jti,
        SESSION,
    )
    assert verified.expires_at == NOW + timedelta(minutes=15)


def test_expired_tokens_are_refused_after_the_leeway() -> None:
    tokens = _hs256()
    issued = tokens.issue(user_id=USER, role=Role.PATIENT, now=NOW)
    tokens.verify(issued.token, now=NOW + timedelta(minutes=15, seconds=20))  # within leeway
    with pytest.raises(AuthenticationFailed, match="expired"):
        tokens.verify(issued.token, now=NOW + timedelta(minutes=16))


def test_tokens_from_the_future_are_refused() -> None:
    tokens = _hs256()
    issued = tokens.issue(user_id=USER, role=Role.PATIENT, now=NOW + timedelta(hours=1))
    with pytest.raises(AuthenticationFailed):
        tokens.verify(issued.token, now=NOW)


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens joserfc decodes from now on (a full check), in order."""
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(value: str, *args: object, **kwargs: object) -> jwt.Token:
        decoded.append(value)
        return real_decode(value, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting_decode)
    return decoded


def test_a_token_verified_once_is_not_decoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = _hs256()
    issued = tokens.issue(user_id=USER, role=Role.DOCTOR, now=NOW, session_id=SESSION)
    first = tokens.verify(issued.token, now=NOW)
    decoded = _count_decodes(monkeypatch)
    assert tokens.verify(issued.token, now=NOW + timedelta(minutes=10)) == first
    assert decoded == []
    # A token never seen is checked in full, then remembered as well.
    other = tokens.issue(user_id=USER, role=Role.PATIENT, now=NOW)
    assert tokens.verify(other.token, now=NOW).role is Role.PATIENT
    assert tokens.verify(other.token, now=NOW).role is Role.PATIENT
    assert decoded == [other.token]


def test_a_remembered_token_is_refused_once_its_times_no_longer_hold() -> None:
    tokens = _hs256()
    issued = tokens.issue(user_id=USER, role=Role.PATIENT, now=NOW)
    tokens.verify(issued.token, now=NOW + timedelta(minutes=5))
    # A clock set back: "issued in the future", as a token never seen would be.
    with pytest.raises(AuthenticationFailed, match="invalid"):
        tokens.verify(issued.token, now=NOW - timedelta(minutes=5))
    tokens.verify(issued.token, now=NOW + timedelta(minutes=15, seconds=29))  # within leeway
    with pytest.raises(AuthenticationFailed, match="expired"):
        tokens.verify(issued.token, now=NOW + timedelta(minutes=15, seconds=30))


def test_remembered_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_module, "VERIFIED_TOKENS_KEPT", 3)
    tokens = _hs256()
    issued = [tokens.issue(user_id=USER, role=Role.PATIENT, now=NOW).token for _ in range(5)]
    for token in issued:
        tokens.verify(token, now=NOW)
    decoded = _count_decodes(monkeypatch)
    for token in reversed(issued):
        tokens.verify(token, now=NOW)
    # The three newest were remembered; the two oldest are checked in full again.
    assert decoded == [issued[1], issued[0]]


@pytest.mark.parametrize(
    "other",
    [
        {"issuer": "someone-else"},
        {"audience": "another-api"},
    ],
)
def test_issuer_and_audience_are_checked(other: dict[str, str]) -> None:
    issued = _hs256(**other).issue(user_id=USER, role=Role.ADMIN, now=NOW)
    with pytest.raises(AuthenticationFailed):
        _hs256().verify(issued.token, now=NOW)


def _sign(claims: dict[str, object], header: dict[str, object] | None = None) -> str:
    return jwt.encode(
        header or {"alg": "HS256", "typ": "at+jwt"},
        claims,
        OctKey.import_key(SECRET.encode()),
        algorithms=["HS256"],
    )


def _claims(**overrides: object) -> dict[str, object]:
    now = int(NOW.timestamp())
    claims: dict[str, object] = {
        "iss": "hduce",
        "aud": "hduce-api",
        "sub": str(USER),
        "role": "patient",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def test_a_correctly_signed_handmade_token_passes() -> None:
    assert _hs256().verify(_sign(_claims()), now=NOW).user_id == USER


@pytest.mark.parametrize(
    "claims",
    [
        _claims(sub=None),
        _claims(jti=None),
        _claims(iat=None),
        _claims(exp=None),
        _claims(iss=None),
        _claims(aud=None),
        _claims(role=None),
        _claims(role="system"),
        _claims(role="superuser"),
        _claims(sub="not-a-uuid"),
        _claims(aud=["other-api"]),
        _claims(exp="tomorrow"),
    ],
)
def test_every_claim_is_required_and_checked(claims: dict[str, object]) -> None:
    with pytest.raises(AuthenticationFailed):
        _hs256().verify(_sign(claims), now=NOW)


def test_the_token_type_is_checked() -> None:
    with pytest.raises(AuthenticationFailed):
        _hs256().verify(_sign(_claims(), {"alg": "HS256", "typ": "JWT"}), now=NOW)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "x" * 9000, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."],
)
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(AuthenticationFailed):
        _hs256().verify(token, now=NOW)


def test_tampered_payload_is_refused() -> None:
    token = _hs256().issue(user_id=USER, role=Role.PATIENT, now=NOW).token
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(AuthenticationFailed):
        _hs256().verify(f"{header}.{forged}.{signature}", now=NOW)


# ------------------------------------------------------------------ asymmetric keys


def _pem(algorithm: str) -> bytes:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA", "Ed25519"])
def test_asymmetric_tokens_verify_with_the_published_jwks(algorithm: str, tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(_pem(algorithm))
    tokens = JoseAccessTokens.with_private_key_file(
        key_file,
        algorithm=algorithm,
        issuer="hduce",
        audience="hduce-api",
        ttl=timedelta(minutes=5),
    )
    issued = tokens.issue(user_id=USER, role=Role.ADMIN, now=NOW)
    assert tokens.verify(issued.token, now=NOW).role is Role.ADMIN

    document = tokens.jwks()
    assert document is not None and len(document["keys"]) == 1
    public = document["keys"][0]
    assert public["kid"] == tokens.kid and public["alg"] == algorithm and public["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(public)  # no private material
    header, _ = _segments(issued.token)
    assert header["kid"] == tokens.kid
    # A third party verifies with the JWKS alone.
    keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
    with warnings.catch_warnings():  # joserfc warns that "EdDSA" is deprecated (RFC 9864)
        warnings.simplefilter("ignore")
        decoded = jwt.decode(issued.token, keys, algorithms=[algorithm])
    assert decoded.claims["sub"] == str(USER)


def test_hs256_publishes_nothing() -> None:
    assert _hs256().jwks() is None


def test_algorithm_confusion_is_refused(tmp_path: Path) -> None:
    """An HS256 token keyed with the *public* RSA key must not pass as RS256."""
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(_pem("RS256"))
    tokens = JoseAccessTokens.with_private_key_file(
        key_file, algorithm="RS256", issuer="hduce", audience="hduce-api", ttl=timedelta(minutes=5)
    )
    document = tokens.jwks()
    assert document is not None
    public_pem = json.dumps(document["keys"][0]).encode()
    forged = jwt.encode(
        {"alg": "HS256", "typ": "at+jwt", "kid": tokens.kid},
        _claims(role="admin"),
        OctKey.import_key(public_pem),
        algorithms=["HS256"],
    )
    with pytest.raises(AuthenticationFailed):
        tokens.verify(forged, now=NOW)


def test_bad_key_files_fail_at_startup(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(_pem("Ed25519"))
    with pytest.raises(SigningKeyError):
        JoseAccessTokens.with_private_key_file(
            key_file, algorithm="RS256", issuer="i", audience="a", ttl=timedelta(minutes=5)
        )
    with pytest.raises(SigningKeyError):
        JoseAccessTokens.with_private_key_file(
            tmp_path / "missing.pem", algorithm="RS256", issuer="i", audience="a", ttl=timedelta(1)
        )
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(SigningKeyError):
        JoseAccessTokens.with_private_key_file(
            tmp_path / "junk.pem", algorithm="ES256", issuer="i", audience="a", ttl=timedelta(1)
        )
