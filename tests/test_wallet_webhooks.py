"""Verifying wallet notifications: forged, stale and replayed ones are refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.client import (
    MemoryReplayGuard,
    Payment,
    PaymentState,
    WalletEvent,
    WalletEventType,
    sign_notification,
    verify_notification,
)
from huesign.client.models import to_json_dict
from huesign.errors import WebhookVerificationError

SECRET = b"whsec_test"
NOW = 1_800_000_000


def _body(amount: int = 15000) -> bytes:
    at = dt.datetime.fromtimestamp(NOW, dt.UTC)
    payment = Payment(
        id="pay_1", dossier_id="dos_1", amount=amount, state=PaymentState.SUCCEEDED,
        created_at=at, updated_at=at,
    )  # fmt: skip
    event = WalletEvent(
        id="evt_1", type=WalletEventType.PAYMENT_SUCCEEDED, created_at=at, payment=payment
    )
    return json.dumps(to_json_dict(event)).encode()


def test_a_genuine_notification_gives_its_typed_event() -> None:
    body = _body()
    event = verify_notification(
        body, sign_notification(body, secret=SECRET, timestamp=NOW), secret=SECRET, now=NOW
    )
    assert event.payment.amount == 15000
    assert event.type is WalletEventType.PAYMENT_SUCCEEDED


def test_a_changed_amount_is_refused() -> None:
    header = sign_notification(_body(), secret=SECRET, timestamp=NOW)
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_notification(_body(amount=1), header, secret=SECRET, now=NOW)


def test_a_signature_with_another_secret_is_refused() -> None:
    body = _body()
    header = sign_notification(body, secret=b"guess", timestamp=NOW)
    with pytest.raises(WebhookVerificationError):
        verify_notification(body, header, secret=SECRET, now=NOW)


def test_a_moved_timestamp_breaks_the_signature() -> None:
    body = _body()
    mac = sign_notification(body, secret=SECRET, timestamp=NOW).split("v1=")[1]
    with pytest.raises(WebhookVerificationError):
        verify_notification(body, f"t={NOW + 10},v1={mac}", secret=SECRET, now=NOW)


def test_a_stale_notification_is_refused() -> None:
    body = _body()
    header = sign_notification(body, secret=SECRET, timestamp=NOW - 301)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_notification(body, header, secret=SECRET, now=NOW)


def test_an_exact_replay_is_refused_by_the_guard() -> None:
    body = _body()
    header = sign_notification(body, secret=SECRET, timestamp=NOW)
    guard = MemoryReplayGuard()
    verify_notification(body, header, secret=SECRET, now=NOW, replay_guard=guard)
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify_notification(body, header, secret=SECRET, now=NOW + 1, replay_guard=guard)


def test_a_redelivery_with_a_fresh_signature_passes_and_keeps_the_event_id() -> None:
    body = _body()
    guard = MemoryReplayGuard()
    first = verify_notification(
        body, sign_notification(body, secret=SECRET, timestamp=NOW), secret=SECRET, now=NOW,
        replay_guard=guard,
    )  # fmt: skip
    again = verify_notification(
        body, sign_notification(body, secret=SECRET, timestamp=NOW + 5), secret=SECRET,
        now=NOW + 5, replay_guard=guard,
    )  # fmt: skip
    assert first.id == again.id


@pytest.mark.parametrize("header", [None, "", "t=abc,v1=00", "v1=00", "t=1", "x" * 2000])
def test_missing_or_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_notification(_body(), header, secret=SECRET, now=NOW)


def test_a_signed_body_that_is_not_an_event_is_refused() -> None:
    body = b'{"hello": "world"}'
    header = sign_notification(body, secret=SECRET, timestamp=NOW)
    with pytest.raises(WebhookVerificationError, match="not a wallet event"):
        verify_notification(body, header, secret=SECRET, now=NOW)


@settings(max_examples=40, deadline=None)
@given(flip=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_of_the_body_is_refused(flip: int, bit: int) -> None:
    body = bytearray(_body())
    header = sign_notification(bytes(body), secret=SECRET, timestamp=NOW)
    body[flip % len(body)] ^= 1 << bit
    with pytest.raises(WebhookVerificationError):
        verify_notification(bytes(body), header, secret=SECRET, now=NOW)
