"""Signed wallet notifications: sign (the wallet's side) and verify (the merchant's side).

The wallet POSTs a JSON event to the merchant's ``notify_url`` with the header
``Huesign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``.
:func:`verify_notification` checks the HMAC in constant time, refuses a timestamp outside
the tolerance, asks an optional :class:`ReplayGuard` whether this exact signed message was
seen before, and parses the body into a typed :class:`~huesign.client.models.WalletEvent`.

The wallet redelivers an event (same ``event.id``) with a fresh timestamp and signature when
the merchant did not answer 2xx: deduplicate on ``event.id``; the replay guard refuses only
an exact copy of a message already accepted.

>>> body = b'{"id": "evt_1"}'
>>> header = sign_notification(body, secret=b"k", timestamp=1700000000)
>>> header.startswith("t=1700000000,v1=")
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from typing import Protocol

from huesign.client.models import WalletEvent, from_json_dict
from huesign.errors import ServerError, WebhookVerificationError

__all__ = [
    "DEFAULT_TOLERANCE",
    "MAX_NOTIFICATION_SIZE",
    "SIGNATURE_HEADER",
    "MemoryReplayGuard",
    "ReplayGuard",
    "sign_notification",
    "verify_notification",
]

#: The header carrying the signature.
SIGNATURE_HEADER = "Huesign-Signature"
#: Seconds a notification's timestamp may differ from the receiver's clock.
DEFAULT_TOLERANCE = 300.0
#: Largest notification body accepted.
MAX_NOTIFICATION_SIZE = 64 << 10
_MAX_HEADER = 1024


class ReplayGuard(Protocol):
    """Remembers accepted notifications (e.g. in the merchant's database)."""

    def check_and_remember(self, signature: str, *, timestamp: int) -> bool:
        """Record ``signature``; return ``False`` if it was already recorded (a replay)."""


class MemoryReplayGuard:
    """An in-process :class:`ReplayGuard` remembering up to ``capacity`` recent signatures.

    Signatures older than the tolerance need no memory: their timestamp is refused anyway.
    """

    def __init__(self, *, capacity: int = 100_000) -> None:
        """Create an empty guard."""
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def check_and_remember(self, signature: str, *, timestamp: int) -> bool:
        """Record ``signature``; return ``False`` if it was already recorded."""
        with self._lock:
            if signature in self._seen:
                return False
            self._seen[signature] = timestamp
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True


def _mac(body: bytes, *, secret: bytes, timestamp: int) -> str:
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign_notification(body: bytes, *, secret: bytes, timestamp: int | None = None) -> str:
    """The ``Huesign-Signature`` header value for ``body`` (timestamp default: now)."""
    if not secret:
        raise ValueError("the notification secret must not be empty")
    when = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={when},v1={_mac(body, secret=secret, timestamp=when)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    if len(header) > _MAX_HEADER:
        raise WebhookVerificationError("the signature header is too long")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookVerificationError("the signature header has no timestamp or no v1 value")
    return timestamp, signatures


def verify_notification(
    body: bytes,
    header: str | None,
    *,
    secret: bytes,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
    replay_guard: ReplayGuard | None = None,
) -> WalletEvent:
    """Check a wallet notification and return its event.

    Args:
        body: the raw request body, exactly as received (before any JSON parsing).
        header: the ``Huesign-Signature`` header value.
        secret: the merchant's notification secret.
        tolerance: seconds of clock difference accepted.
        now: the receiver's clock (Unix seconds); default: now.
        replay_guard: remembers accepted signatures and refuses exact replays.

    Raises :class:`~huesign.errors.WebhookVerificationError` for a missing, malformed,
    forged, stale or replayed notification, or a body that is not a wallet event.
    """
    if header is None:
        raise WebhookVerificationError("the notification carries no signature header")
    if len(body) > MAX_NOTIFICATION_SIZE:
        raise WebhookVerificationError("the notification body is too large")
    timestamp, signatures = _parse_header(header)
    expected = _mac(body, secret=secret, timestamp=timestamp)
    matched = [s for s in signatures if hmac.compare_digest(expected, s)]
    if not matched:
        raise WebhookVerificationError("the notification signature does not match")
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance:
        raise WebhookVerificationError("the notification timestamp is outside the tolerance")
    try:
        event = from_json_dict(WalletEvent, json.loads(body))
    except (ValueError, UnicodeDecodeError, ServerError) as exc:
        raise WebhookVerificationError("the notification body is not a wallet event") from exc
    if replay_guard is not None and not replay_guard.check_and_remember(
        matched[0], timestamp=timestamp
    ):
        raise WebhookVerificationError("the notification was already received (a replay)")
    return event
