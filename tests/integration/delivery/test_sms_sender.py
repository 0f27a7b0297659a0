"""``HttpSmsSender`` against a real HTTP server speaking the Twilio-style API
(``sms_provider.py``), configured the way production is: from ``HDUCE_SMS_*``."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from hduce.adapters.sms import HttpSmsSender, SmsDeliveryFailed
from hduce.bootstrap.settings import Settings, SmsSettings
from tests.integration.delivery.sms_provider import LocalSmsProvider, serve
from tests.services import free_port

FROM = "+15005550006"
TO = "+593991234567"
BODY = "Cita confirmada – Dr. Lucía Romero, miércoles 9 de enero, 10:00 ✔"


@pytest.fixture
def sms_provider() -> Iterator[LocalSmsProvider]:
    with serve(LocalSmsProvider()) as provider:
        yield provider


def sms_settings(api_url: str, account_sid: str, auth_token: str) -> SmsSettings:
    settings = Settings.from_env(
        {
            "HDUCE_SMS_API_URL": api_url,
            "HDUCE_SMS_ACCOUNT_SID": account_sid,
            "HDUCE_SMS_AUTH_TOKEN": auth_token,
            "HDUCE_SMS_FROM": FROM,
        }
    )
    assert settings.delivery.sms is not None
    return settings.delivery.sms


def sender_for(provider: LocalSmsProvider, *, auth_token: str | None = None) -> HttpSmsSender:
    token = provider.auth_token if auth_token is None else auth_token
    return HttpSmsSender(sms_settings(provider.api_url, provider.account_sid, token), timeout=5)


def assert_no_secret(error: SmsDeliveryFailed, *tokens: str, account_sid: str) -> None:
    for token in tokens:
        basic = base64.b64encode(f"{account_sid}:{token}".encode()).decode()
        for shown in (str(error), repr(error), str(error.args)):
            assert token not in shown
            assert basic not in shown


async def test_a_message_is_posted_as_a_form_with_basic_auth(
    sms_provider: LocalSmsProvider,
) -> None:
    sender = sender_for(sms_provider)
    try:
        await sender.send(to=TO, body=BODY)
    finally:
        await sender.aclose()

    [received] = sms_provider.messages()
    assert (received.account_sid, received.to, received.from_, received.body) == (
        sms_provider.account_sid,
        TO,
        FROM,
        BODY,
    )
    assert received.content_type.startswith("application/x-www-form-urlencoded")
    assert sms_provider.refused == []


async def test_a_refused_number_raises_with_the_providers_code_and_message(
    sms_provider: LocalSmsProvider,
) -> None:
    sender = sender_for(sms_provider)
    try:
        with pytest.raises(SmsDeliveryFailed) as caught:
            await sender.send(to="+15005550001", body=BODY)
    finally:
        await sender.aclose()

    error = caught.value
    assert (error.status, error.code) == (400, "21211")
    assert str(error) == (
        "SMS provider answered 400 (error 21211): "
        "The 'To' number +15005550001 is not a valid phone number."
    )
    assert_no_secret(error, sms_provider.auth_token, account_sid=sms_provider.account_sid)
    assert sms_provider.messages() == []


async def test_wrong_credentials_raise_without_showing_the_token(
    sms_provider: LocalSmsProvider,
) -> None:
    wrong = "not-the-right-token-0123456789"
    sender = sender_for(sms_provider, auth_token=wrong)
    try:
        with pytest.raises(SmsDeliveryFailed) as caught:
            await sender.send(to=TO, body=BODY)
    finally:
        await sender.aclose()

    error = caught.value
    assert (error.status, error.code) == (401, "20003")
    assert str(error) == "SMS provider answered 401 (error 20003): Authenticate"
    assert_no_secret(error, wrong, sms_provider.auth_token, account_sid=sms_provider.account_sid)
    assert sms_provider.messages() == []


async def test_credentials_a_provider_echoes_back_are_scrubbed(
    sms_provider: LocalSmsProvider,
) -> None:
    sms_provider.echo_credentials_in_errors = True
    sender = sender_for(sms_provider)
    try:
        with pytest.raises(SmsDeliveryFailed) as caught:
            await sender.send(to="+15005550001", body=BODY)
    finally:
        await sender.aclose()

    # The provider really did quote them...
    [refusal] = sms_provider.refused
    assert sms_provider.auth_token in refusal["message"]
    # ...and the error does not.
    assert_no_secret(caught.value, sms_provider.auth_token, account_sid=sms_provider.account_sid)
    assert "***" in str(caught.value)


async def test_an_unreachable_provider_raises() -> None:
    port = free_port()  # nothing listens there
    sender = HttpSmsSender(
        sms_settings(f"http://127.0.0.1:{port}/2010-04-01", "AC00", "a-token-never-shown"),
        timeout=5,
    )
    try:
        with pytest.raises(SmsDeliveryFailed, match="SMS provider unreachable: ConnectError") as c:
            await sender.send(to=TO, body=BODY)
    finally:
        await sender.aclose()
    assert c.value.status is None
    assert "a-token-never-shown" not in str(c.value)


async def test_the_sender_closes_only_the_client_it_created(
    sms_provider: LocalSmsProvider,
) -> None:
    owned = sender_for(sms_provider)
    await owned.aclose()
    assert owned.is_closed

    async with httpx.AsyncClient() as client:
        borrowed = HttpSmsSender(
            sms_settings(sms_provider.api_url, sms_provider.account_sid, sms_provider.auth_token),
            client=client,
        )
        await borrowed.aclose()
        assert not client.is_closed
        await borrowed.send(to=TO, body="still usable")
    assert [m.body for m in sms_provider.messages()] == ["still usable"]
