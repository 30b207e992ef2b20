"""The part every client twin shares: its HTTP shell, options, closing and context management.

A client is a :class:`ClientShell` over :class:`~huesign.client._http.SyncHTTP` or
:class:`~huesign.client._http.AsyncHTTP`.  The API-specific part (constructor arguments,
``with_options``, the resources or protocol methods) is written once in a generic class per
API; the blocking and asyncio twins add only what differs, by mixing in
:class:`SyncClientShell` (``close``, ``with``) or :class:`AsyncClientShell` (``aclose``,
``async with``) and binding their own resources::

    class _Portal(ClientShell[HTTPT, TransportT]):      # __init__, with_options
        ...

    class PortalClient(_Portal[SyncHTTP, httpx.BaseTransport], SyncClientShell):
        def _bind(self, http: SyncHTTP) -> None: ...      # sync resources

The REST clients (portal, wallet) also share here the small pieces of request building that
their ``_*_call`` functions use: :func:`path_segment`, :func:`model_call` and
:func:`page_call`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, Self, TypeVar
from urllib.parse import quote

import attrs
import httpx

from huesign.client._http import (
    DEFAULT_MAX_RESPONSE_SIZE,
    APIKey,
    APIRequest,
    APIResponse,
    AsyncHTTP,
    BearerToken,
    Call,
    ClientOptions,
    Page,
    SyncHTTP,
)
from huesign.client.models import from_json_dict
from huesign.errors import ServerError

__all__ = [
    "HTTPT",
    "UNSET",
    "AsyncClientShell",
    "ClientShell",
    "Resource",
    "SyncClientShell",
    "TransportT",
    "changed_options",
    "check_page_size",
    "model_call",
    "page_call",
    "path_segment",
]

T = TypeVar("T")

#: The default of ``with_options`` arguments: "keep what the client has".
UNSET = object()

#: The HTTP shell a client drives: blocking or asyncio.
HTTPT = TypeVar("HTTPT", SyncHTTP, AsyncHTTP)
#: The httpx transport that shell accepts.
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)


class ClientShell(Generic[HTTPT, TransportT]):
    """A client bound to one HTTP shell; what the sync and async twins share."""

    _http: HTTPT

    def _open(self, options: ClientOptions) -> HTTPT:
        """Open the HTTP shell (a new connection pool) for ``options``."""
        raise NotImplementedError

    def _bind(self, http: HTTPT) -> None:
        """Use ``http``; twins override it to build their resources on it too."""
        self._http = http

    def _connect(
        self,
        base_url: str,
        auth: BearerToken | APIKey | None,
        timeout: float,
        max_retries: int,
        transport: TransportT | None,
        headers: Mapping[str, str] | None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        """Open a connection pool for these options and bind to it."""
        options = ClientOptions(
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            transport=transport,
            headers=headers or {},
            max_response_size=max_response_size,
        )
        self._bind(self._open(options))

    def _with_options(self, options: ClientOptions) -> Self:
        """A client of the same kind with ``options``, sharing this one's connection pool.

        For clients whose whole state is their HTTP shell (and the resources bound to it).
        """
        client = object.__new__(type(self))
        client._bind(self._http.with_options(options))
        return client

    @property
    def options(self) -> ClientOptions:
        """The options in force."""
        return self._http.options

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._http.options.base_url!r})"


class SyncClientShell(ClientShell[SyncHTTP, httpx.BaseTransport]):
    """A blocking client: ``close()`` and ``with`` close the connection pool."""

    def _open(self, options: ClientOptions) -> SyncHTTP:
        """Open a blocking HTTP shell for ``options``."""
        return SyncHTTP(options)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncClientShell(ClientShell[AsyncHTTP, httpx.AsyncBaseTransport]):
    """An asyncio client: ``aclose()`` and ``async with`` close the connection pool."""

    def _open(self, options: ClientOptions) -> AsyncHTTP:
        """Open an asyncio HTTP shell for ``options``."""
        return AsyncHTTP(options)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def changed_options(
    options: ClientOptions,
    *,
    timeout: float | object = UNSET,
    max_retries: int | object = UNSET,
    headers: dict[str, str] | object = UNSET,
) -> ClientOptions:
    """``options`` with the arguments that are not :data:`UNSET` changed."""
    changes = {"timeout": timeout, "max_retries": max_retries, "headers": headers}
    kept = {name: value for name, value in changes.items() if value is not UNSET}
    return attrs.evolve(options, **kept)  # type: ignore[arg-type]


class Resource(Generic[HTTPT]):
    """A group of operations of a client (``portal.dossiers``), on the client's HTTP shell."""

    _http: HTTPT

    def __init__(self, http: HTTPT) -> None:
        """Bind to a client's HTTP shell."""
        self._http = http


# --- request building shared by the REST clients ---------------------------------------------


def path_segment(value: str) -> str:
    """``value`` quoted as one path segment; an empty or over-long identifier is refused."""
    if not value or len(value) > 200:
        raise ValueError("an identifier must be 1-200 characters")
    return quote(value, safe="")


def check_page_size(page_size: int) -> int:
    """``page_size`` when it is from 1 to 100, else a :class:`ValueError`."""
    if not 1 <= page_size <= 100:
        raise ValueError("page_size must be from 1 to 100")
    return page_size


def model_call(cls: type[T], request: APIRequest) -> Call[T]:
    """A call whose JSON answer is one ``cls``."""
    return Call(request, lambda response: from_json_dict(cls, response.json()))


def page_call(cls: type[T], path: str, params: dict[str, str | int | None]) -> Call[Page[T]]:
    """A ``GET`` of one cursor page of ``cls`` items; the page carries the call of the next."""

    def parse(response: APIResponse) -> Page[T]:
        body = response.json()
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise ServerError("the server sent a malformed page", status_code=200)
        items = tuple(from_json_dict(cls, item) for item in body["items"])
        cursor = body.get("next_cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise ServerError("the server sent a malformed cursor", status_code=200)
        following = None if cursor is None else page_call(cls, path, {**params, "cursor": cursor})
        return Page(items=items, next_cursor=cursor, next_call=following)

    return Call(APIRequest(method="GET", path=path, params=params), parse)
