"""The pki layer's fetcher against a real loopback HTTP server."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from tests.pkihelpers import crl, issue

from huesign.errors import RevocationFetchError
from huesign.pki import CachingFetcher, Fetcher, HTTPFetcher, OfflineFetcher


class _Server:
    """A loopback server whose routes are set per test; it counts requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.hits: dict[str, int] = {}
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                with server.lock:
                    server.hits[self.path] = server.hits.get(self.path, 0) + 1
                if server.delay:
                    time.sleep(server.delay)
                status, body, headers = server.routes.get(self.path, (404, b"missing", {}))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if headers.get("Transfer-Encoding") == "chunked":
                    for start in range(0, len(body), 4096):
                        chunk = body[start : start + 4096]
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                with server.lock:
                    server.bodies.append(self.rfile.read(length))
                self._answer()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.close()


@pytest.fixture
def fresh(server: _Server) -> _Server:
    server.routes.clear()
    server.hits.clear()
    server.bodies.clear()
    server.delay = 0.0
    return server


def test_get_returns_the_body(fresh: _Server) -> None:
    fresh.routes["/crl"] = (200, b"crl-bytes", {})
    with HTTPFetcher() as fetcher:
        assert fetcher.fetch(fresh.url + "/crl") == b"crl-bytes"


def test_post_sends_body_and_content_type(fresh: _Server) -> None:
    fresh.routes["/ocsp"] = (200, b"answer", {})
    with HTTPFetcher() as fetcher:
        got = fetcher.fetch(
            fresh.url + "/ocsp",
            method="POST",
            body=b"request",
            content_type="application/ocsp-request",
        )
    assert got == b"answer"
    assert fresh.bodies == [b"request"]


def test_error_status_raises_with_the_url(fresh: _Server) -> None:
    with HTTPFetcher() as fetcher, pytest.raises(RevocationFetchError, match="HTTP 404") as info:
        fetcher.fetch(fresh.url + "/nothing")
    assert info.value.url == fresh.url + "/nothing"


def test_declared_oversize_response_is_refused(fresh: _Server) -> None:
    fresh.routes["/big"] = (200, b"x" * 5000, {})
    with (
        HTTPFetcher(max_response_size=1000) as fetcher,
        pytest.raises(RevocationFetchError, match="larger than 1000"),
    ):
        fetcher.fetch(fresh.url + "/big")


def test_streamed_oversize_response_is_refused(fresh: _Server) -> None:
    fresh.routes["/stream"] = (200, b"y" * 50_000, {"Transfer-Encoding": "chunked"})
    with (
        HTTPFetcher(max_response_size=10_000) as fetcher,
        pytest.raises(RevocationFetchError, match="larger than"),
    ):
        fetcher.fetch(fresh.url + "/stream")


def test_slow_server_times_out(fresh: _Server) -> None:
    fresh.routes["/slow"] = (200, b"late", {})
    fresh.delay = 1.0
    started = time.perf_counter()
    with HTTPFetcher(timeout=0.2) as fetcher, pytest.raises(RevocationFetchError, match="timed"):
        fetcher.fetch(fresh.url + "/slow")
    assert time.perf_counter() - started < 0.9


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/crl", "file:///etc/passwd", "ldap://x/y", "nope"])
def test_only_http_and_https_urls_are_fetched(url: str) -> None:
    with HTTPFetcher() as fetcher, pytest.raises(RevocationFetchError, match="http"):
        fetcher.fetch(url)


def test_connection_refused_becomes_a_fetch_error() -> None:
    with HTTPFetcher(timeout=1) as fetcher, pytest.raises(RevocationFetchError):
        fetcher.fetch("http://127.0.0.1:9/crl")


def test_redirects_are_not_followed(fresh: _Server) -> None:
    fresh.routes["/moved"] = (302, b"", {"Location": "file:///etc/passwd"})
    with HTTPFetcher() as fetcher, pytest.raises(RevocationFetchError, match="302"):
        fetcher.fetch(fresh.url + "/moved")


def test_injected_client_is_used_and_not_closed(fresh: _Server) -> None:
    fresh.routes["/crl"] = (200, b"via client", {})
    with httpx.Client() as client:
        HTTPFetcher(client=client).close()
        assert HTTPFetcher(client=client).fetch(fresh.url + "/crl") == b"via client"


def test_offline_fetcher_never_fetches(fresh: _Server) -> None:
    fresh.routes["/crl"] = (200, b"x", {})
    with pytest.raises(RevocationFetchError, match="offline"):
        OfflineFetcher().fetch(fresh.url + "/crl")
    assert fresh.hits == {}


def test_fetchers_satisfy_the_protocol() -> None:
    with HTTPFetcher() as http:
        for fetcher in (http, OfflineFetcher(), CachingFetcher(OfflineFetcher())):
            assert isinstance(fetcher, Fetcher)


def test_cache_serves_a_repeated_get_without_asking_again(fresh: _Server) -> None:
    fresh.routes["/crl"] = (200, b"cached", {})
    with HTTPFetcher() as http:
        cache = CachingFetcher(http)
        assert cache.fetch(fresh.url + "/crl") == b"cached"
        assert cache.fetch(fresh.url + "/crl") == b"cached"
    assert fresh.hits["/crl"] == 1
    assert (cache.hits, cache.misses) == (1, 1)


def test_cache_entries_expire_after_the_ttl(fresh: _Server) -> None:
    fresh.routes["/crl"] = (200, b"v1", {})
    now = [1000.0]
    with HTTPFetcher() as http:
        cache = CachingFetcher(http, ttl=60, clock=lambda: now[0])
        cache.fetch(fresh.url + "/crl")
        now[0] += 61
        fresh.routes["/crl"] = (200, b"v2", {})
        assert cache.fetch(fresh.url + "/crl") == b"v2"
    assert fresh.hits["/crl"] == 2


def test_cache_keeps_a_crl_no_longer_than_its_next_update(fresh: _Server) -> None:
    ca = issue("CN=Cache CA")
    now = dt.datetime.now(dt.UTC)
    soon = crl(
        ca, this_update=now - dt.timedelta(hours=1), next_update=now + dt.timedelta(seconds=30)
    )
    fresh.routes["/soon.crl"] = (200, soon, {})
    clock = [0.0]
    with HTTPFetcher() as http:
        cache = CachingFetcher(http, ttl=3600, clock=lambda: clock[0])
        cache.fetch(fresh.url + "/soon.crl")
        clock[0] += 120  # past nextUpdate, well within the TTL
        cache.fetch(fresh.url + "/soon.crl")
    assert fresh.hits["/soon.crl"] == 2


def test_cache_does_not_store_posts_by_default(fresh: _Server) -> None:
    fresh.routes["/ocsp"] = (200, b"resp", {})
    with HTTPFetcher() as http:
        cache = CachingFetcher(http)
        cache.fetch(fresh.url + "/ocsp", method="POST", body=b"q")
        cache.fetch(fresh.url + "/ocsp", method="POST", body=b"q")
    assert fresh.hits["/ocsp"] == 2


def test_cache_drops_the_least_recently_used_entry(fresh: _Server) -> None:
    for name in ("a", "b", "c"):
        fresh.routes[f"/{name}"] = (200, name.encode(), {})
    with HTTPFetcher() as http:
        cache = CachingFetcher(http, max_entries=2)
        cache.fetch(fresh.url + "/a")
        cache.fetch(fresh.url + "/b")
        cache.fetch(fresh.url + "/a")
        cache.fetch(fresh.url + "/c")  # evicts b
        cache.fetch(fresh.url + "/a")
        cache.fetch(fresh.url + "/b")
    assert fresh.hits == {"/a": 1, "/b": 2, "/c": 1}


def test_cache_does_not_remember_failures(fresh: _Server) -> None:
    with HTTPFetcher() as http:
        cache = CachingFetcher(http)
        with pytest.raises(RevocationFetchError):
            cache.fetch(fresh.url + "/later")
        fresh.routes["/later"] = (200, b"now", {})
        assert cache.fetch(fresh.url + "/later") == b"now"


def test_cache_is_safe_to_share_between_threads(fresh: _Server) -> None:
    fresh.routes["/shared"] = (200, b"same", {})
    results: list[bytes] = []
    with HTTPFetcher() as http:
        cache = CachingFetcher(http)

        def worker() -> None:
            for _ in range(20):
                results.append(cache.fetch(fresh.url + "/shared"))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [b"same"] * 160
    assert cache.hits + cache.misses == 160
    assert fresh.hits["/shared"] == cache.misses
