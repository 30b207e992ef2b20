"""The one network interface of the pki layer: fetching CRLs, OCSP responses and the like.

Everything in :mod:`huesign.pki` that needs the network takes a :class:`Fetcher`.  Use
:class:`HTTPFetcher` (httpx, with timeouts and a response size limit), wrap it in a
:class:`CachingFetcher` to reuse answers, or pass :class:`OfflineFetcher` to forbid the network.

>>> OfflineFetcher().fetch("http://ca.example/crl")
Traceback (most recent call last):
huesign.errors.RevocationFetchError: network access is disabled (offline): http://ca.example/crl
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

import attrs
import httpx
from cryptography import x509

from huesign.errors import RevocationFetchError

__all__ = [
    "DEFAULT_MAX_RESPONSE_SIZE",
    "CachingFetcher",
    "Fetcher",
    "HTTPFetcher",
    "OfflineFetcher",
]

#: Largest response body accepted by :class:`HTTPFetcher` (big national CRLs are a few MiB).
DEFAULT_MAX_RESPONSE_SIZE = 16 << 20

Method = Literal["GET", "POST"]


@runtime_checkable
class Fetcher(Protocol):
    """Fetches a URL and returns the response body, or raises RevocationFetchError."""

    def fetch(
        self,
        url: str,
        *,
        method: Method = "GET",
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        """Return the body of a successful (2xx) response to ``method url``."""
        ...


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise RevocationFetchError(f"not a valid URL: {exc}", url=url) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RevocationFetchError("only http and https URLs are fetched", url=url)


@attrs.frozen(kw_only=True)
class OfflineFetcher:
    """A fetcher that never touches the network: every fetch raises RevocationFetchError."""

    def fetch(
        self,
        url: str,
        *,
        method: Method = "GET",
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        """Always raise :class:`~huesign.errors.RevocationFetchError`."""
        raise RevocationFetchError(f"network access is disabled (offline): {url}", url=url)


class HTTPFetcher:
    """Fetch over HTTP(S) with httpx: bounded time, bounded size, http and https only.

    Args:
        client: an ``httpx.Client`` to use (not closed by this object); by default one is
            created and closed by :meth:`close` or the context manager.
        transport: an httpx transport for the created client (tests, proxies).
        timeout: seconds for connecting and for each read.
        max_response_size: largest accepted body in bytes.
        user_agent: the User-Agent header.
    """

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        user_agent: str = "huesign",
    ) -> None:
        if timeout <= 0 or max_response_size <= 0:
            raise ValueError("timeout and max_response_size must be positive")
        if client is not None and transport is not None:
            raise ValueError("give either client or transport, not both")
        self._owns_client = client is None
        self._client = client or httpx.Client(
            transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False
        )
        self._timeout = timeout
        self._max = max_response_size
        self._user_agent = user_agent

    def __enter__(self) -> HTTPFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client if this fetcher created it."""
        if self._owns_client:
            self._client.close()

    def _check_size(self, size: int, url: str) -> None:
        if size > self._max:
            message = f"response larger than {self._max} bytes from {url}"
            raise RevocationFetchError(message, url=url)

    def fetch(
        self,
        url: str,
        *,
        method: Method = "GET",
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        """Return the body of a successful response; raise RevocationFetchError otherwise."""
        _check_url(url)
        if method not in ("GET", "POST"):
            raise ValueError("method must be GET or POST")
        headers = {"User-Agent": self._user_agent}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            with self._client.stream(
                method, url, content=body, headers=headers, timeout=self._timeout
            ) as response:
                if not 200 <= response.status_code < 300:
                    raise RevocationFetchError(f"HTTP {response.status_code} from {url}", url=url)
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit():
                    self._check_size(int(declared), url)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    self._check_size(size, url)
                    chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise RevocationFetchError(f"timed out fetching {url}", url=url) from exc
        except httpx.HTTPError as exc:
            raise RevocationFetchError(f"cannot fetch {url}: {exc}", url=url) from exc
        return b"".join(chunks)


def _crl_expiry(data: bytes) -> float | None:
    """Seconds until a DER CRL's nextUpdate, or ``None`` when ``data`` is not a CRL."""
    try:
        crl = x509.load_der_x509_crl(data)
        next_update = crl.next_update_utc
    except (ValueError, TypeError):
        return None
    if next_update is None:
        return None
    return (next_update - dt.datetime.now(dt.UTC)).total_seconds()


class CachingFetcher:
    """A thread-safe TTL and LRU cache in front of another fetcher.

    GET responses are cached for ``ttl`` seconds, or until a CRL's nextUpdate when that
    comes sooner; POST responses (OCSP requests carry a nonce) are cached only when
    ``cache_post`` is set.  Failures are not cached.

    Args:
        fetcher: the fetcher asked on a miss.
        ttl: seconds an answer stays fresh.
        max_entries: most answers kept (least recently used dropped first).
        cache_post: also cache POST answers, keyed by URL and body.
        clock: a monotonic clock (for tests).
    """

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        ttl: float = 300.0,
        max_entries: int = 256,
        cache_post: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_entries <= 0:
            raise ValueError("ttl and max_entries must be positive")
        self._fetcher = fetcher
        self._ttl = ttl
        self._max = max_entries
        self._cache_post = cache_post
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[tuple[str, str, bytes], tuple[float, bytes]] = (
            collections.OrderedDict()
        )
        self.hits = 0
        self.misses = 0

    def fetch(
        self,
        url: str,
        *,
        method: Method = "GET",
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        """Return a fresh cached answer or ask the wrapped fetcher."""
        cacheable = method == "GET" or self._cache_post
        key = (method, url, body or b"")
        if cacheable:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry[0] > self._clock():
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return entry[1]
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
        data = self._fetcher.fetch(url, method=method, body=body, content_type=content_type)
        if cacheable:
            ttl = self._ttl
            crl_left = _crl_expiry(data) if method == "GET" else None
            if crl_left is not None:
                ttl = min(ttl, crl_left)
            if ttl > 0:
                with self._lock:
                    self._entries[key] = (self._clock() + ttl, data)
                    self._entries.move_to_end(key)
                    while len(self._entries) > self._max:
                        self._entries.popitem(last=False)
        return data

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._entries.clear()
