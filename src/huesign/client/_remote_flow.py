"""Sans-I/O plumbing of the remote-signing clients: flows and the drivers that run them.

A *flow* is a generator that yields :class:`Call` (an HTTP request to make) and
:class:`Wait` (a pause between polls) and receives a :class:`Reply` for each call.  It holds
all of a protocol's logic; :func:`run_flow` and :func:`arun_flow` run it over the shared
blocking or asyncio HTTP shell, so the CSC and sp769 clients are written once for both
worlds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Generic, TypeVar
from urllib.parse import urlencode

import attrs

from huesign.client import _http
from huesign.errors import HTTPStatusError, RemoteSigningError

__all__ = [
    "MAX_RESPONSE_SIZE",
    "Call",
    "Flow",
    "Reply",
    "Wait",
    "arun_flow",
    "as_base64",
    "as_int",
    "as_list",
    "as_mapping",
    "as_str",
    "run_flow",
]

#: Largest provider answer read (certificate chains and up to a thousand signatures).
MAX_RESPONSE_SIZE = 4 << 20

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Call:
    """One HTTP POST a flow needs: a JSON body (or a form), relative to the base URL."""

    path: str
    json: Mapping[str, object] | None = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    method: str = "POST"


@attrs.frozen(kw_only=True)
class Wait:
    """A pause between two polls."""

    seconds: float


@attrs.frozen(kw_only=True)
class Reply:
    """A decoded answer: the HTTP status and the JSON object (empty when there was none)."""

    status: int
    body: Mapping[str, object]


Flow = Generator[Call | Wait, Reply | None, T]


def as_str(value: object, what: str) -> str:
    """``value`` when it is a string, else a :class:`RemoteSigningError` naming ``what``."""
    if not isinstance(value, str):
        raise RemoteSigningError(f"the provider's answer has no usable {what}")
    return value


def as_int(value: object, what: str) -> int:
    """``value`` as an int (ints and digit strings), else a :class:`RemoteSigningError`."""
    if isinstance(value, bool):
        raise RemoteSigningError(f"the provider's answer has no usable {what}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 12:
        return int(value)
    raise RemoteSigningError(f"the provider's answer has no usable {what}")


def as_list(value: object) -> list[object]:
    """``value`` when it is a JSON array, else a :class:`RemoteSigningError`."""
    if not isinstance(value, list):
        raise RemoteSigningError("the provider's answer lacks an expected list")
    return value


def as_base64(value: object, what: str, *, sender: str) -> bytes:
    """``value`` decoded from base64, else a :class:`RemoteSigningError` naming ``sender``."""
    try:
        return base64.b64decode(as_str(value, what), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RemoteSigningError(f"{sender} sent a malformed {what}") from exc


def as_mapping(value: object, what: str) -> Mapping[str, object]:
    """``value`` when it is a JSON object, else a :class:`RemoteSigningError`."""
    if not isinstance(value, Mapping):
        raise RemoteSigningError(f"the provider's answer has no usable {what}")
    return value


def _decode(status: int, content: bytes) -> Reply:
    if not content.strip():
        return Reply(status=status, body={})
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        if status >= 400:
            return Reply(status=status, body={})
        raise RemoteSigningError("the provider answered with something that is not JSON") from exc
    if not isinstance(body, dict):
        if status >= 400:
            return Reply(status=status, body={})
        raise RemoteSigningError("the provider's answer is not a JSON object")
    return Reply(status=status, body=body)


def _api_request(call: Call) -> _http.APIRequest:
    headers = dict(call.headers)
    if call.form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        content = urlencode(dict(call.form)).encode("ascii")
        return _http.APIRequest(
            method=call.method, path="/" + call.path, content=content, headers=headers
        )
    return _http.APIRequest(
        method=call.method, path="/" + call.path, json=call.json, headers=headers
    )


def _error_reply(exc: HTTPStatusError) -> Reply:
    # A provider's refusals (4xx) carry its own error body, which the flow maps; a server
    # failure or a rate limit keeps the shared core's typed error.
    if exc.status_code >= 500 or exc.status_code == 429:
        raise exc
    return Reply(status=exc.status_code, body=dict(exc.problem))


@attrs.frozen
class _Done(Generic[T]):
    value: T


def _step(flow: Flow[T], answer: Reply | None) -> Call | Wait | _Done[T]:
    try:
        return flow.send(answer)
    except StopIteration as stop:
        return _Done(stop.value)


# The drivers: 4xx answers come back to the flow as a Reply (each protocol has its own error
# bodies); 5xx and 429 raise the core's ServerError and RateLimitedError; connection failures
# and timeouts raise TransportError and RequestTimeout.


def run_flow(
    http: _http.SyncHTTP, flow: Flow[T], *, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run ``flow`` to completion over a blocking HTTP shell and return its result."""
    with contextlib.closing(flow):
        answer: Reply | None = None
        while not isinstance(step := _step(flow, answer), _Done):
            if isinstance(step, Wait):
                sleep(step.seconds)
                answer = None
                continue
            try:
                response = http.request(_api_request(step))
            except HTTPStatusError as exc:
                answer = _error_reply(exc)
            else:
                answer = _decode(response.status_code, response.content)
        return step.value


async def arun_flow(
    http: _http.AsyncHTTP,
    flow: Flow[T],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``flow`` to completion over an asyncio HTTP shell and return its result."""
    with contextlib.closing(flow):
        answer: Reply | None = None
        while not isinstance(step := _step(flow, answer), _Done):
            if isinstance(step, Wait):
                await sleep(step.seconds)
                answer = None
                continue
            try:
                response = await http.request(_api_request(step))
            except HTTPStatusError as exc:
                answer = _error_reply(exc)
            else:
                answer = _decode(response.status_code, response.content)
        return step.value
