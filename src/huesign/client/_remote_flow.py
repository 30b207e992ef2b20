"""Sans-I/O plumbing of the remote-signing clients: flows and the drivers that run them.

A *flow* is a generator that yields :class:`Call` (an HTTP request to make) and
:class:`Wait` (a pause between polls) and receives a :class:`Reply` for each call.  It holds
all of a protocol's logic; :class:`FlowDriver` runs it with a synchronous or an asynchronous
``httpx`` client, so the CSC and sp769 clients are written once for both worlds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import TypeVar
from urllib.parse import urlencode

import attrs
import httpx

from huesign.client import _http
from huesign.errors import HTTPStatusError, RemoteSigningError

__all__ = [
    "MAX_RESPONSE_SIZE",
    "Call",
    "Flow",
    "FlowDriver",
    "Reply",
    "Wait",
    "as_int",
    "as_list",
    "as_mapping",
    "as_str",
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


class FlowDriver:
    """Runs flows over the shared HTTP core (:mod:`huesign.client._http`), sync or async.

    4xx answers come back to the flow as a :class:`Reply` (each protocol has its own error
    bodies); 5xx and 429 raise the core's :class:`~huesign.errors.ServerError` and
    :class:`~huesign.errors.RateLimitedError`; connection failures and timeouts raise
    :class:`~huesign.errors.TransportError` and :class:`~huesign.errors.RequestTimeout`.
    """

    def __init__(
        self,
        options: _http.ClientOptions,
        *,
        asynchronous: bool,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Open the connection pool described by ``options``."""
        self.base_url = options.base_url
        self._sync = None if asynchronous else _http.SyncHTTP(options)
        self._async = _http.AsyncHTTP(options) if asynchronous else None
        self._sleep = sleep
        self._async_sleep = async_sleep

    @staticmethod
    def options(
        base_url: str,
        *,
        timeout: float,
        max_retries: int,
        headers: Mapping[str, str] | None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
    ) -> _http.ClientOptions:
        """Client options with the remote-signing defaults (response size cap)."""
        return _http.ClientOptions(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            headers=dict(headers or {}),
            transport=transport,
            max_response_size=MAX_RESPONSE_SIZE,
        )

    def _send(self, call: Call) -> Reply:
        assert self._sync is not None, "a synchronous driver is needed"
        try:
            response = self._sync.request(_api_request(call))
        except HTTPStatusError as exc:
            return _error_reply(exc)
        return _decode(response.status_code, response.content)

    async def _asend(self, call: Call) -> Reply:
        assert self._async is not None, "an asynchronous driver is needed"
        try:
            response = await self._async.request(_api_request(call))
        except HTTPStatusError as exc:
            return _error_reply(exc)
        return _decode(response.status_code, response.content)

    def run(self, flow: Flow[T]) -> T:
        """Run ``flow`` to completion synchronously and return its result."""
        try:
            step = next(flow)
            while True:
                if isinstance(step, Wait):
                    self._sleep(step.seconds)
                    step = flow.send(None)
                else:
                    step = flow.send(self._send(step))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()

    async def arun(self, flow: Flow[T]) -> T:
        """Run ``flow`` to completion in the event loop and return its result."""
        try:
            step = next(flow)
            while True:
                if isinstance(step, Wait):
                    await self._async_sleep(step.seconds)
                    step = flow.send(None)
                else:
                    step = flow.send(await self._asend(step))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()

    def close(self) -> None:
        """Close the synchronous connection pool."""
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Close the asynchronous connection pool."""
        if self._async is not None:
            await self._async.close()
