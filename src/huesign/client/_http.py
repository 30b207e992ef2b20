"""The HTTP core shared by every huesign client: protocol logic once, two thin I/O shells.

Everything that decides *what* to send and *what a response means* is free of I/O and lives
here once: :class:`APIRequest` describes one logical call (method, path, query, JSON or
streamed body, whether it is a write that carries an ``Idempotency-Key``), :class:`Call`
pairs it with the function that turns the response into a typed value, :class:`RetryPolicy`
decides whether and when to try again, and :func:`raise_for_status` maps an error response
to the :mod:`huesign.errors` tree (with the status, the RFC 9457 problem and the request id).

:class:`SyncHTTP` and :class:`AsyncHTTP` are the only places that touch the network.  They
have the same method names (``send``, ``paginate``, ``close``, ``with_options``) so that a
client's sync and async resources are thin, line-for-line twins::

    class Things:                        class AsyncThings:
        def get(self, *, id: str):           async def get(self, *, id: str):
            return self._http.send(              return await self._http.send(
                get_thing_call(id))                  get_thing_call(id))

How to write a client on this core (the portal, the wallet and the remote-signing clients do
exactly this):

1. Build a :class:`ClientOptions` (``base_url``, ``timeout``, ``max_retries``, ``transport``,
   ``headers``, ``auth`` = :class:`BearerToken` or :class:`APIKey`).
2. Write one function per operation that returns a ``Call[T]``: an :class:`APIRequest` and a
   parser ``(APIResponse) -> T``.  Writes use ``APIRequest.write(...)`` which generates the
   ``Idempotency-Key`` once; the shells reuse that same key on every retry.
3. ``SyncHTTP(options).send(call)`` / ``await AsyncHTTP(options).send(call)`` perform it with
   bounded, jittered retries (connection errors, timeouts, 408, 429 and 5xx; never 409; a
   ``POST``/``PATCH`` only when it carries an ``Idempotency-Key``), honouring
   ``Retry-After``.  Failures raise :class:`~huesign.errors.TransportError`,
   :class:`~huesign.errors.RequestTimeout` or an :class:`~huesign.errors.HTTPStatusError`
   subclass, always ``from`` the httpx exception.
4. ``paginate(first_call, next_call)`` walks cursor pages lazily.
5. Write the client once, generic over the shell, on :class:`huesign.client._shell.ClientShell`
   (options, ``with_options`` sharing the pool, closing, context management); the blocking
   and asyncio twins only bind their resources.

Response bodies are read with a size cap (:attr:`ClientOptions.max_response_size`); request
bodies given as a :class:`~pathlib.Path` are streamed from disk in chunks and re-opened for
each attempt.  Secrets (tokens, API keys) never appear in a repr or an error message.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Generic, TypeVar

import attrs
import httpx

from huesign.errors import (
    AuthenticationError,
    ConflictError,
    HTTPStatusError,
    NotFoundError,
    RateLimitedError,
    RequestTimeout,
    ServerError,
    TransportError,
)

__all__ = [
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_TIMEOUT",
    "IDEMPOTENCY_HEADER",
    "REQUEST_ID_HEADER",
    "APIKey",
    "APIRequest",
    "APIResponse",
    "AsyncHTTP",
    "BearerToken",
    "Call",
    "ClientOptions",
    "Page",
    "RetryPolicy",
    "SyncHTTP",
    "new_idempotency_key",
    "parse_retry_after",
    "raise_for_status",
]

T = TypeVar("T")

#: Default timeout of one attempt, in seconds.
DEFAULT_TIMEOUT = 30.0
#: Largest response body read by default (64 MiB).
DEFAULT_MAX_RESPONSE_SIZE = 64 << 20
#: The header carrying a write's idempotency key.
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: The header carrying the server's request id.
REQUEST_ID_HEADER = "X-Request-ID"

_CHUNK = 64 << 10
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_MAX_PROBLEM_SIZE = 64 << 10


def new_idempotency_key() -> str:
    """A fresh random idempotency key (a UUID4 string)."""
    return str(uuid.uuid4())


def _strip_slash(url: str) -> str:
    return str(url).rstrip("/")


def _upper(value: str) -> str:
    return str(value).upper()


def _headers(values: Mapping[str, str]) -> dict[str, str]:
    return {str(k): str(v) for k, v in values.items()}


def _lower_headers(values: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in values.items()}


def _params(values: Mapping[str, str | int | None]) -> dict[str, str | int | None]:
    return dict(values)


# --- credentials ---------------------------------------------------------------------------


@attrs.frozen
class BearerToken:
    """An OAuth2 bearer token sent as ``Authorization: Bearer <token>`` (never printed)."""

    token: str = attrs.field(repr=False)

    def headers(self) -> dict[str, str]:
        """The headers that carry this credential."""
        return {"Authorization": f"Bearer {self.token}"}


@attrs.frozen
class APIKey:
    """An API key sent in a header (default ``X-API-Key``; the key is never printed)."""

    key: str = attrs.field(repr=False)
    header: str = "X-API-Key"

    def headers(self) -> dict[str, str]:
        """The headers that carry this credential."""
        return {self.header: self.key}


# --- options and retry policy ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Bounded retries with capped, jittered exponential backoff honouring ``Retry-After``.

    Attributes:
        max_retries: retries after the first attempt (0 disables retrying).
        backoff: the first delay in seconds, doubled on each retry.
        backoff_cap: the largest computed delay.
        retry_after_cap: the longest ``Retry-After`` honoured; a server asking for longer
            gets no retry (the error, with its ``retry_after``, goes to the caller).
    """

    max_retries: int = attrs.field(default=2, validator=attrs.validators.in_(range(11)))
    backoff: float = attrs.field(default=0.25, validator=attrs.validators.ge(0.0))
    backoff_cap: float = attrs.field(default=8.0, validator=attrs.validators.ge(0.0))
    retry_after_cap: float = attrs.field(default=60.0, validator=attrs.validators.ge(0.0))

    def may_retry(self, request: APIRequest) -> bool:
        """Whether ``request`` is safe to repeat: an idempotent method or a keyed write."""
        return request.method in _SAFE_METHODS or request.idempotency_key is not None

    def retryable_status(self, status_code: int) -> bool:
        """408, 429 and 5xx are retried; every other status (409 included) is final."""
        return status_code in (408, 429) or 500 <= status_code <= 599

    def delay(self, retry: int, *, retry_after: float | None = None, jitter: float) -> float:
        """Seconds to wait before retry number ``retry`` (0-based).

        ``jitter`` in ``[0, 1)`` spreads clients apart: the delay is between half and all of
        the capped exponential backoff.  A server's ``Retry-After`` wins when given.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        ceiling = min(self.backoff_cap, self.backoff * (2.0**retry))
        return ceiling * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))

    def next_delay(
        self,
        request: APIRequest,
        *,
        retry: int,
        status_code: int | None,
        retry_after: float | None,
        jitter: float,
    ) -> float | None:
        """The delay before retrying, or ``None`` when the outcome is final.

        ``status_code`` is ``None`` for a transport failure (connection error, timeout).
        """
        if retry >= self.max_retries or not self.may_retry(request):
            return None
        if status_code is not None and not self.retryable_status(status_code):
            return None
        if retry_after is not None and retry_after > self.retry_after_cap:
            return None
        return self.delay(retry, retry_after=retry_after, jitter=jitter)


Transport = httpx.BaseTransport | httpx.AsyncBaseTransport


@attrs.frozen(kw_only=True)
class ClientOptions:
    """How a client reaches its server.

    Attributes:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/portal/v1``.
        timeout: seconds for each attempt (connect, read, write and pool).
        max_retries: retries after the first attempt.
        transport: an httpx transport (sync for sync clients, async for async ones); tests
            use it to shape rare server behaviour.
        headers: extra headers sent with every request.
        auth: the credential (:class:`BearerToken` or :class:`APIKey`), or ``None``.
        max_response_size: the largest response body read, in bytes.
        retry: backoff settings (``max_retries`` above overrides its ``max_retries``).
    """

    base_url: str = attrs.field(converter=_strip_slash)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, validator=attrs.validators.gt(0.0))
    max_retries: int = attrs.field(default=2, validator=attrs.validators.in_(range(11)))
    transport: Transport | None = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers, repr=False)
    auth: BearerToken | APIKey | None = attrs.field(default=None, repr=False)
    max_response_size: int = attrs.field(
        default=DEFAULT_MAX_RESPONSE_SIZE, validator=attrs.validators.gt(0)
    )
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)

    @base_url.validator
    def _check_url(self, _: object, value: str) -> None:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy with this client's ``max_retries``."""
        return attrs.evolve(self.retry, max_retries=self.max_retries)

    def request_headers(self, request: APIRequest) -> dict[str, str]:
        """Every header of one attempt: defaults, credential, idempotency key, the call's."""
        headers = {"Accept": "application/json, application/problem+json"}
        headers.update(self.headers)
        if self.auth is not None:
            headers.update(self.auth.headers())
        if request.idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = request.idempotency_key
        headers.update(request.headers)
        return headers


# --- requests, responses, calls ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class APIRequest:
    """One logical call; the same object (and idempotency key) is sent on every attempt.

    Attributes:
        method: the HTTP method, upper case.
        path: the path below the client's ``base_url`` (starting with ``/``).
        params: the query parameters (``None`` values are left out).
        json: a JSON body, or ``None``.
        content: a raw body: bytes, or a file path streamed from disk in chunks.
        headers: headers of this call only (e.g. ``Content-Type`` of an upload).
        idempotency_key: set for writes; makes a ``POST`` safe to retry.
    """

    method: str = attrs.field(converter=_upper)
    path: str = attrs.field()
    params: Mapping[str, str | int | None] = attrs.field(factory=dict, converter=_params)
    json: object | None = None
    content: bytes | Path | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    idempotency_key: str | None = attrs.field(default=None, repr=False)

    @path.validator
    def _check_path(self, _: object, value: str) -> None:
        if not value.startswith("/") or ".." in value.split("/"):
            raise ValueError("path must start with / and must not contain '..'")

    @classmethod
    def write(
        cls,
        method: str,
        path: str,
        *,
        json: object | None = None,
        content: bytes | Path | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> APIRequest:
        """A write carrying an ``Idempotency-Key`` (a new one unless given)."""
        return cls(
            method=method,
            path=path,
            json=json,
            content=content,
            headers=headers or {},
            idempotency_key=idempotency_key or new_idempotency_key(),
        )

    def query(self) -> dict[str, str]:
        """The query parameters with ``None`` dropped and values as strings."""
        return {k: str(v) for k, v in self.params.items() if v is not None}


@attrs.frozen(kw_only=True)
class APIResponse:
    """A complete response: status, headers (lower-case names) and body."""

    status_code: int
    headers: Mapping[str, str] = attrs.field(converter=_lower_headers)
    content: bytes = attrs.field(repr=False)

    @property
    def request_id(self) -> str | None:
        """The server's request id, when it sent one."""
        return self.headers.get(REQUEST_ID_HEADER.lower())

    def json(self) -> object:
        """The body parsed as JSON; a malformed body raises :class:`ServerError`."""
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ServerError(
                "the server sent a body that is not JSON",
                status_code=self.status_code,
                request_id=self.request_id,
            ) from exc


@attrs.frozen
class Call(Generic[T]):
    """A request and the function that turns its successful response into a ``T``."""

    request: APIRequest
    parse: Callable[[APIResponse], T]


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a cursor-paged listing.

    Attributes:
        items: the items of this page.
        next_cursor: the cursor of the next page, ``None`` on the last one.
        next_call: the call that fetches the next page, ``None`` on the last one.
    """

    items: tuple[T, ...]
    next_cursor: str | None = None
    next_call: Call[Page[T]] | None = attrs.field(default=None, repr=False, eq=False)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), else ``None``."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _problem(response: APIResponse) -> dict[str, object]:
    ctype = response.headers.get("content-type", "")
    if "json" not in ctype or len(response.content) > _MAX_PROBLEM_SIZE:
        return {}
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def raise_for_status(response: APIResponse) -> None:
    """Raise the :mod:`huesign.errors` exception that matches an error status; else return."""
    status = response.status_code
    if status < 400:
        return
    problem = _problem(response)
    title = str(problem.get("title") or httpx.codes.get_reason_phrase(status) or "error")
    detail = problem.get("detail")
    message = f"{status} {title}" + (f": {detail}" if detail else "")
    request_id = response.request_id
    if status == 429:
        raise RateLimitedError(
            message,
            problem=problem,
            request_id=request_id,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    cls: type[HTTPStatusError] = HTTPStatusError
    if status in (401, 403):
        cls = AuthenticationError
    elif status == 404:
        cls = NotFoundError
    elif status in (409, 422):
        cls = ConflictError
    elif status >= 500:
        cls = ServerError
    raise cls(message, status_code=status, problem=problem, request_id=request_id)


def _url(options: ClientOptions, request: APIRequest) -> str:
    return options.base_url + request.path


def _body_kwargs(request: APIRequest) -> dict[str, object]:
    if request.json is not None:
        return {"content": json.dumps(request.json).encode(), "ctype": "application/json"}
    return {"content": request.content, "ctype": None}


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


async def _afile_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, _CHUNK):
            yield chunk


def _build(
    client: httpx.Client | httpx.AsyncClient, options: ClientOptions, request: APIRequest
) -> httpx.Request:
    headers = options.request_headers(request)
    body = _body_kwargs(request)
    content = body["content"]
    if body["ctype"] is not None:
        headers.setdefault("Content-Type", str(body["ctype"]))
    stream: object
    if isinstance(content, Path):
        headers["Content-Length"] = str(content.stat().st_size)
        chunks = _file_chunks if isinstance(client, httpx.Client) else _afile_chunks
        stream = chunks(content)
    else:
        stream = content
    return client.build_request(
        request.method,
        _url(options, request),
        params=request.query(),
        headers=headers,
        content=stream,  # type: ignore[arg-type]
        timeout=options.timeout,
    )


def _too_large(options: ClientOptions) -> TransportError:
    return TransportError(f"the response is larger than {options.max_response_size} bytes")


def _transport_error(exc: httpx.TransportError) -> TransportError:
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"the request timed out ({type(exc).__name__})")
    return TransportError(f"the request failed: {type(exc).__name__}")


def _settle(
    policy: RetryPolicy,
    request: APIRequest,
    retry: int,
    outcome: APIResponse | TransportError,
    rng: random.Random,
) -> APIResponse | float:
    """The response to return, or the delay before the next attempt; raises when final."""
    status: int | None = None
    retry_after: float | None = None
    if isinstance(outcome, APIResponse):
        if outcome.status_code < 400:
            return outcome
        status = outcome.status_code
        retry_after = parse_retry_after(outcome.headers.get("retry-after"))
    wait = policy.next_delay(
        request, retry=retry, status_code=status, retry_after=retry_after, jitter=rng.random()
    )
    if wait is not None:
        return wait
    if isinstance(outcome, TransportError):
        raise outcome
    raise_for_status(outcome)
    raise AssertionError("unreachable: an error status always raises")


def _add_chunk(body: bytearray, chunk: bytes, options: ClientOptions) -> None:
    body.extend(chunk)
    if len(body) > options.max_response_size:
        raise _too_large(options)


# --- the shells ------------------------------------------------------------------------------


class SyncHTTP:
    """The blocking shell: performs :class:`Call` objects with retries over ``httpx.Client``."""

    def __init__(self, options: ClientOptions, *, _client: httpx.Client | None = None) -> None:
        """Open a connection pool for ``options`` (``transport`` must be a sync transport)."""
        if options.transport is not None and not isinstance(options.transport, httpx.BaseTransport):
            raise TypeError("a sync client needs an httpx.BaseTransport")
        self.options = options
        self._owns = _client is None
        self._client = _client or httpx.Client(transport=options.transport)
        self._rng = random.Random()  # noqa: S311 - jitter, not a secret
        self._sleep: Callable[[float], None] = time.sleep

    def with_options(self, options: ClientOptions) -> SyncHTTP:
        """A shell with other options sharing this one's connection pool (not closing it)."""
        shell = SyncHTTP(options, _client=self._client)
        shell._sleep = self._sleep
        return shell

    def close(self) -> None:
        """Close the connection pool (only if this shell opened it)."""
        if self._owns:
            self._client.close()

    def _attempt(self, request: APIRequest) -> APIResponse:
        built = _build(self._client, self.options, request)
        try:
            response = self._client.send(built, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    _add_chunk(body, chunk, self.options)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise _transport_error(exc) from exc
        return APIResponse(
            status_code=response.status_code, headers=response.headers, content=bytes(body)
        )

    def request(self, request: APIRequest) -> APIResponse:
        """Send ``request`` with retries; return the successful response or raise."""
        policy = self.options.policy
        retry = 0
        while True:
            try:
                outcome: APIResponse | TransportError = self._attempt(request)
            except TransportError as exc:
                outcome = exc
            step = _settle(policy, request, retry, outcome, self._rng)
            if isinstance(step, APIResponse):
                return step
            self._sleep(step)
            retry += 1

    def send(self, call: Call[T]) -> T:
        """Perform ``call`` and parse its response."""
        return call.parse(self.request(call.request))

    def paginate(self, first: Call[Page[T]]) -> Iterator[T]:
        """Yield every item of a cursor-paged listing, fetching pages lazily."""
        call: Call[Page[T]] | None = first
        while call is not None:
            page = self.send(call)
            yield from page.items
            call = page.next_call


class AsyncHTTP:
    """The asyncio shell: the same methods as :class:`SyncHTTP`, awaited."""

    def __init__(self, options: ClientOptions, *, _client: httpx.AsyncClient | None = None) -> None:
        """Open a connection pool for ``options`` (``transport`` must be an async one)."""
        if options.transport is not None and not isinstance(
            options.transport, httpx.AsyncBaseTransport
        ):
            raise TypeError("an async client needs an httpx.AsyncBaseTransport")
        self.options = options
        self._owns = _client is None
        self._client = _client or httpx.AsyncClient(transport=options.transport)
        self._rng = random.Random()  # noqa: S311 - jitter, not a secret
        self._sleep: Callable[[float], object] = asyncio.sleep

    def with_options(self, options: ClientOptions) -> AsyncHTTP:
        """A shell with other options sharing this one's connection pool (not closing it)."""
        shell = AsyncHTTP(options, _client=self._client)
        shell._sleep = self._sleep
        return shell

    async def close(self) -> None:
        """Close the connection pool (only if this shell opened it)."""
        if self._owns:
            await self._client.aclose()

    async def _attempt(self, request: APIRequest) -> APIResponse:
        built = _build(self._client, self.options, request)
        try:
            response = await self._client.send(built, stream=True)
            try:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    _add_chunk(body, chunk, self.options)
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise _transport_error(exc) from exc
        return APIResponse(
            status_code=response.status_code, headers=response.headers, content=bytes(body)
        )

    async def request(self, request: APIRequest) -> APIResponse:
        """Send ``request`` with retries; return the successful response or raise."""
        policy = self.options.policy
        retry = 0
        while True:
            try:
                outcome: APIResponse | TransportError = await self._attempt(request)
            except TransportError as exc:
                outcome = exc
            step = _settle(policy, request, retry, outcome, self._rng)
            if isinstance(step, APIResponse):
                return step
            pause = self._sleep(step)
            if asyncio.iscoroutine(pause):
                await pause
            retry += 1

    async def send(self, call: Call[T]) -> T:
        """Perform ``call`` and parse its response."""
        return call.parse(await self.request(call.request))

    async def paginate(self, first: Call[Page[T]]) -> AsyncIterator[T]:
        """Yield every item of a cursor-paged listing, fetching pages lazily."""
        call: Call[Page[T]] | None = first
        while call is not None:
            page = await self.send(call)
            for item in page.items:
                yield item
            call = page.next_call
