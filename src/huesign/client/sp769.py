"""A client for the NEAC "sp769" remote-signing protocol (VNPT SmartCA, the national eSign
gateway), sync and async, and the verifier of its webhook.

Every call is a JSON POST carrying the service provider's ``sp_id`` and ``sp_password``;
answers are wrapped as ``{"status_code", "message", "data"}``.  The flow of one signature:
``credentials/get_certificate`` (by ``user_id``, the citizen's CCCD or tax code) ->
``signatures/sign`` with ``sign_files[]`` (``data_to_be_signed`` as a **hex** hash, a
``doc_id`` each, ``sign_type: "hash"``) -> a transaction waiting for the citizen's
confirmation in the provider's app -> poll ``signatures/sign/{tran_id}/status`` (growing
intervals, up to a deadline) or receive the provider's webhook.

The webhook carries ``X-SP769-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` over
``"<t>." + body`` keyed with the sp secret; :func:`verify_sp769_webhook` checks it in constant time
and refuses stale timestamps.

>>> body = b'{"transaction_id": "t1", "tran_status": "REJECTED"}'
>>> headers = sign_sp769_webhook(body, secret="s", timestamp=1700000000)
>>> verify_sp769_webhook(body, headers, secret="s", now=1700000010).status.value
'REJECTED'
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import attrs
import httpx

from huesign.client._http import AsyncHTTP, SyncHTTP
from huesign.client._remote_flow import (
    MAX_RESPONSE_SIZE,
    Call,
    Flow,
    Reply,
    Wait,
    arun_flow,
    as_base64,
    as_list,
    as_mapping,
    as_str,
    run_flow,
)
from huesign.client._shell import (
    HTTPT,
    AsyncClientShell,
    ClientShell,
    SyncClientShell,
    TransportT,
)
from huesign.errors import (
    AuthorizationDeniedError,
    ConfirmationTimeoutError,
    RemoteSigningError,
    UserRejectedError,
    WebhookVerificationError,
)
from huesign.pki.certificates import Certificate

__all__ = [
    "SP769_SIGNATURE_HEADER",
    "AsyncSP769Client",
    "SP769Certificate",
    "SP769Client",
    "SP769File",
    "SP769Result",
    "SP769Signature",
    "SP769Status",
    "sign_sp769_webhook",
    "verify_sp769_webhook",
]

#: The header carrying the webhook's timestamp and HMAC.
SP769_SIGNATURE_HEADER = "X-SP769-Signature"
_MAX_FILES = 1000
_MAX_WEBHOOK_SIZE = 4 << 20
_MAX_POLL_INTERVAL = 10.0

T = TypeVar("T")


class SP769Status(enum.Enum):
    """Where a signing transaction stands."""

    WAITING = "WAITING_FOR_SIGNER_CONFIRM"
    SIGNED = "SIGNED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


@attrs.frozen(kw_only=True)
class SP769Certificate:
    """A certificate the provider holds for a user.

    Attributes:
        cert_id: the provider's identifier of the certificate.
        certificate: the signing certificate.
        chain: the issuing CA then the root, as the provider sent them.
        status: the provider's status text.
    """

    cert_id: str
    certificate: Certificate
    chain: tuple[Certificate, ...] = ()
    status: str = ""


@attrs.frozen(kw_only=True)
class SP769File:
    """One hash to sign.

    Attributes:
        doc_id: the caller's identifier of the document (echoed with its signature).
        digest: the hash to sign (sent as hex).
        file_type: the document type shown to the citizen (``pdf``, ``xml``, ``json``...).
    """

    doc_id: str
    digest: bytes
    file_type: str = "pdf"

    def to_json(self) -> dict[str, str]:
        """The ``sign_files[]`` entry."""
        return {
            "data_to_be_signed": self.digest.hex(),
            "doc_id": self.doc_id,
            "file_type": self.file_type,
            "sign_type": "hash",
        }


@attrs.frozen(kw_only=True)
class SP769Signature:
    """One returned signature: the document id and the raw signature value."""

    doc_id: str
    signature: bytes = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class SP769Result:
    """The state of a transaction: its status and, once signed, the signatures."""

    transaction_id: str
    status: SP769Status
    signatures: tuple[SP769Signature, ...] = ()


# --- protocol logic (no I/O) ------------------------------------------------------------------


def _check(reply: Reply | None) -> Mapping[str, object]:
    if reply is None:  # pragma: no cover - drivers answer every call
        raise RemoteSigningError("no answer")
    body = reply.body
    code = body.get("status_code", reply.status)
    message = body.get("message")
    text = message[:200] if isinstance(message, str) else f"http_{reply.status}"
    if reply.status >= 400 or code != 200:
        status = code if isinstance(code, int) else reply.status
        error = f"the sp769 provider refused: {text}"
        if status in (401, 403):
            raise AuthorizationDeniedError(error, provider_code=text)
        raise RemoteSigningError(error, provider_code=text)
    return as_mapping(body.get("data"), "data")


def _b64(value: object, what: str) -> bytes:
    return as_base64(value, what, sender="the sp769 provider")


def _certificate(entry: Mapping[str, object]) -> SP769Certificate:
    try:
        cert = Certificate.from_der(_b64(entry.get("cert_data"), "cert_data"))
        chain_data = entry.get("chain_data") or {}
        chain_map = as_mapping(chain_data, "chain_data")
        chain = tuple(
            Certificate.from_der(_b64(chain_map[name], name))
            for name in ("ca_cert", "root_cert")
            if name in chain_map
        )
    except ValueError as exc:
        raise RemoteSigningError("the sp769 provider sent an unreadable certificate") from exc
    status = entry.get("cert_status")
    return SP769Certificate(
        cert_id=as_str(entry.get("cert_id"), "cert_id"),
        certificate=cert,
        chain=chain,
        status=status if isinstance(status, str) else "",
    )


def _result(data: Mapping[str, object]) -> SP769Result:
    try:
        status = SP769Status(as_str(data.get("tran_status"), "tran_status"))
    except ValueError as exc:
        raise RemoteSigningError("the sp769 provider sent an unknown status") from exc
    signatures: list[SP769Signature] = []
    if status is SP769Status.SIGNED:
        for raw in as_list(data.get("signatures")):
            item = as_mapping(raw, "signatures[]")
            signatures.append(
                SP769Signature(
                    doc_id=as_str(item.get("doc_id"), "doc_id"),
                    signature=_b64(item.get("signature_value"), "signature_value"),
                )
            )
    return SP769Result(
        transaction_id=as_str(data.get("transaction_id"), "transaction_id"),
        status=status,
        signatures=tuple(signatures),
    )


def _final(result: SP769Result) -> SP769Result:
    if result.status is SP769Status.REJECTED:
        raise UserRejectedError("the citizen declined the signature", provider_code="REJECTED")
    if result.status is SP769Status.EXPIRED:
        raise ConfirmationTimeoutError(
            "the citizen did not confirm before the transaction expired", provider_code="EXPIRED"
        )
    return result


@attrs.frozen(kw_only=True, repr=False)
class _SP769Protocol:
    sp_id: str
    sp_password: str

    def _call(self, path: str, body: Mapping[str, object]) -> Call:
        return Call(path=path, json={"sp_id": self.sp_id, "sp_password": self.sp_password, **body})

    def certificates(self, user_id: str) -> Flow[tuple[SP769Certificate, ...]]:
        reply = yield self._call("credentials/get_certificate", {"user_id": user_id})
        data = _check(reply)
        entries = as_list(data.get("user_certificates"))
        return tuple(_certificate(as_mapping(e, "user_certificates[]")) for e in entries)

    def sign(self, user_id: str, files: Sequence[SP769File], description: str | None) -> Flow[str]:
        if not files or len(files) > _MAX_FILES:
            raise ValueError(f"give between 1 and {_MAX_FILES} files")
        if len({f.doc_id for f in files}) != len(files):
            raise ValueError("doc_id values must be unique within a transaction")
        body: dict[str, object] = {
            "user_id": user_id,
            "sign_files": [f.to_json() for f in files],
        }
        if description:
            body["transaction_desc"] = description[:500]
        reply = yield self._call("signatures/sign", body)
        return as_str(_check(reply).get("transaction_id"), "transaction_id")

    def status(self, transaction_id: str) -> Flow[SP769Result]:
        if not transaction_id.replace("-", "").isalnum() or len(transaction_id) > 128:
            raise ValueError("malformed transaction id")
        reply = yield self._call(f"signatures/sign/{transaction_id}/status", {})
        return _result(_check(reply))

    def wait(
        self,
        transaction_id: str,
        *,
        deadline: float,
        poll_interval: float,
        max_interval: float,
        clock: Callable[[], float],
    ) -> Flow[SP769Result]:
        interval = poll_interval
        while True:
            result = yield from self.status(transaction_id)
            if result.status is not SP769Status.WAITING:
                return _final(result)
            remaining = deadline - clock()
            if remaining <= 0:
                raise ConfirmationTimeoutError(
                    "the citizen did not confirm before the deadline", provider_code="WAITING"
                )
            yield Wait(seconds=min(interval, remaining))
            interval = min(interval * 1.5, max_interval)


# --- clients --------------------------------------------------------------------------------------


class _SP769(ClientShell[HTTPT, TransportT]):
    """What both sp769 clients share: the connection, the protocol and the polling flow."""

    def _setup(
        self,
        base_url: str,
        *,
        sp_id: str,
        sp_password: str,
        timeout: float,
        max_retries: int,
        headers: Mapping[str, str] | None,
        transport: TransportT | None,
        clock: Callable[[], float],
    ) -> None:
        self._protocol = _SP769Protocol(sp_id=sp_id, sp_password=sp_password)
        self._connect(base_url, None, timeout, max_retries, transport, headers, MAX_RESPONSE_SIZE)
        self._clock = clock

    def _wait(
        self,
        transaction_id: str,
        timeout: float,
        poll_interval: float,
        max_interval: float = _MAX_POLL_INTERVAL,
    ) -> Flow[SP769Result]:
        return self._protocol.wait(
            transaction_id,
            deadline=self._clock() + timeout,
            poll_interval=poll_interval,
            max_interval=max_interval,
            clock=self._clock,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.options.base_url!r} sp_id={self._protocol.sp_id!r}>"


class SP769Client(_SP769[SyncHTTP, httpx.BaseTransport], SyncClientShell):
    """A synchronous sp769 client.

    Args:
        base_url: the provider's address (the part before ``credentials/...``).
        sp_id: the service provider id.
        sp_password: the service provider secret (never printed).
        timeout: per-request timeout in seconds.
        max_retries: retries of idempotent calls after connection errors and 5xx.
        headers: extra headers sent with every request.
        transport: an ``httpx`` transport (tests).
        clock: monotonic seconds, for the polling deadline (tests inject a fake).
        sleep: how to pause between polls (tests inject a fake).
    """

    def __init__(
        self,
        base_url: str,
        *,
        sp_id: str,
        sp_password: str,
        timeout: float = 30.0,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Connect to ``base_url`` (nothing is sent until the first call)."""
        self._setup(
            base_url,
            sp_id=sp_id,
            sp_password=sp_password,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            transport=transport,
            clock=clock,
        )
        self._sleep = sleep

    def _run(self, flow: Flow[T]) -> T:
        return run_flow(self._http, flow, sleep=self._sleep)

    def certificates(self, user_id: str) -> tuple[SP769Certificate, ...]:
        """``credentials/get_certificate``: the user's certificates."""
        return self._run(self._protocol.certificates(user_id))

    def sign(
        self, user_id: str, files: Sequence[SP769File], *, description: str | None = None
    ) -> str:
        """``signatures/sign``: start a transaction for ``files``; return its id."""
        return self._run(self._protocol.sign(user_id, tuple(files), description))

    def status(self, transaction_id: str) -> SP769Result:
        """``signatures/sign/{tran_id}/status``: the transaction's state, once."""
        return self._run(self._protocol.status(transaction_id))

    def wait(
        self,
        transaction_id: str,
        *,
        timeout: float = 300.0,
        poll_interval: float = 2.0,
        max_interval: float = _MAX_POLL_INTERVAL,
    ) -> SP769Result:
        """Poll until the citizen answers; raise on rejection, expiry or the deadline."""
        return self._run(self._wait(transaction_id, timeout, poll_interval, max_interval))


class AsyncSP769Client(_SP769[AsyncHTTP, httpx.AsyncBaseTransport], AsyncClientShell):
    """The asynchronous twin of :class:`SP769Client` (same arguments, same methods)."""

    def __init__(
        self,
        base_url: str,
        *,
        sp_id: str,
        sp_password: str,
        timeout: float = 30.0,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Connect to ``base_url`` (nothing is sent until the first call)."""
        self._setup(
            base_url,
            sp_id=sp_id,
            sp_password=sp_password,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            transport=transport,
            clock=clock,
        )
        self._sleep = asyncio.sleep if sleep is None else sleep

    async def _run(self, flow: Flow[T]) -> T:
        return await arun_flow(self._http, flow, sleep=self._sleep)

    async def certificates(self, user_id: str) -> tuple[SP769Certificate, ...]:
        """``credentials/get_certificate``: the user's certificates."""
        return await self._run(self._protocol.certificates(user_id))

    async def sign(
        self, user_id: str, files: Sequence[SP769File], *, description: str | None = None
    ) -> str:
        """``signatures/sign``: start a transaction for ``files``; return its id."""
        return await self._run(self._protocol.sign(user_id, tuple(files), description))

    async def status(self, transaction_id: str) -> SP769Result:
        """``signatures/sign/{tran_id}/status``: the transaction's state, once."""
        return await self._run(self._protocol.status(transaction_id))

    async def wait(
        self,
        transaction_id: str,
        *,
        timeout: float = 300.0,
        poll_interval: float = 2.0,
        max_interval: float = _MAX_POLL_INTERVAL,
    ) -> SP769Result:
        """Poll until the citizen answers; raise on rejection, expiry or the deadline."""
        return await self._run(self._wait(transaction_id, timeout, poll_interval, max_interval))


# --- webhook --------------------------------------------------------------------------------------


def _mac(body: bytes, secret: str, timestamp: int) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_sp769_webhook(body: bytes, *, secret: str, timestamp: int) -> dict[str, str]:
    """The headers a provider sends with webhook ``body`` (the sandbox uses this)."""
    return {SP769_SIGNATURE_HEADER: f"t={timestamp},v1={_mac(body, secret, timestamp)}"}


def verify_sp769_webhook(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str,
    now: float | None = None,
    tolerance: float = 300.0,
) -> SP769Result:
    """Check a webhook's HMAC (constant time) and timestamp, then parse the transaction.

    Raises :class:`~huesign.errors.WebhookVerificationError` for a missing, forged or stale
    signature, and :class:`~huesign.errors.RemoteSigningError` for a malformed body.
    """
    if len(body) > _MAX_WEBHOOK_SIZE:
        raise WebhookVerificationError("the webhook body is too large")
    lowered = {k.lower(): v for k, v in headers.items()}
    header = lowered.get(SP769_SIGNATURE_HEADER.lower(), "")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or len(stamp) > 12 or not given:
        raise WebhookVerificationError("the webhook carries no usable signature")
    timestamp = int(stamp)
    if not hmac.compare_digest(_mac(body, secret, timestamp), given):
        raise WebhookVerificationError("the webhook signature does not match")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("the webhook timestamp is outside the tolerance")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RemoteSigningError("the webhook body is not JSON") from exc
    return _result(as_mapping(data, "webhook body"))
