"""The shared HTTP core: retry decisions, error mapping, idempotency keys, size caps."""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.client._http import (
    APIKey,
    APIRequest,
    APIResponse,
    AsyncHTTP,
    BearerToken,
    Call,
    ClientOptions,
    Page,
    RetryPolicy,
    SyncHTTP,
    parse_retry_after,
    raise_for_status,
)
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

BASE = "http://api.test/v1"


def _json(response: APIResponse) -> object:
    return response.json()


def _shell(handler: object, *, max_retries: int = 2, **kw: object) -> tuple[SyncHTTP, list[float]]:
    options = ClientOptions(
        base_url=BASE,
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        max_retries=max_retries,
        **kw,  # type: ignore[arg-type]
    )
    shell = SyncHTTP(options)
    sleeps: list[float] = []
    shell._sleep = sleeps.append
    return shell, sleeps


def _problem(status: int, **extra: object) -> httpx.Response:
    body = {"type": "about:blank", "title": "Oops", "status": status, "detail": "why", **extra}
    return httpx.Response(
        status,
        json=body,
        headers={"content-type": "application/problem+json", "x-request-id": "req-1"},
    )


# --- retry policy (pure) ---------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(retry=st.integers(0, 20), jitter=st.floats(0, 1, exclude_max=True))
def test_backoff_stays_between_half_and_all_of_the_capped_exponential(
    retry: int, jitter: float
) -> None:
    policy = RetryPolicy(backoff=0.5, backoff_cap=4.0)
    ceiling = min(4.0, 0.5 * 2**retry)
    assert ceiling / 2 <= policy.delay(retry, jitter=jitter) <= ceiling


@settings(max_examples=25, deadline=None)
@given(after=st.floats(0, 1000))
def test_retry_after_wins_over_backoff_up_to_its_cap(after: float) -> None:
    policy = RetryPolicy(retry_after_cap=30.0)
    assert policy.delay(0, retry_after=after, jitter=0.5) == min(after, 30.0)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(status: int) -> None:
    assert RetryPolicy().retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_and_conflicts_are_final(status: int) -> None:
    assert not RetryPolicy().retryable_status(status)


def test_a_post_without_idempotency_key_is_never_retried() -> None:
    request = APIRequest(method="POST", path="/x")
    policy = RetryPolicy(max_retries=5)
    assert policy.next_delay(request, retry=0, status_code=503, retry_after=None, jitter=0) is None


def test_a_keyed_post_is_retried() -> None:
    request = APIRequest.write("POST", "/x")
    delay = RetryPolicy().next_delay(request, retry=0, status_code=None, retry_after=None, jitter=0)
    assert delay is not None


def test_a_retry_after_beyond_the_cap_is_not_waited_for() -> None:
    request = APIRequest(method="GET", path="/x")
    policy = RetryPolicy(retry_after_cap=10)
    assert policy.next_delay(request, retry=0, status_code=429, retry_after=60, jitter=0) is None


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(when, now=1_000_000) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_write_requests_get_a_fresh_key_each_logical_call() -> None:
    first, second = APIRequest.write("POST", "/x"), APIRequest.write("POST", "/x")
    assert first.idempotency_key
    assert second.idempotency_key
    assert first.idempotency_key != second.idempotency_key


def test_paths_with_dot_dot_are_refused() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        APIRequest(method="GET", path="/a/../b")


# --- error mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, HTTPStatusError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ConflictError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_error_statuses_map_to_the_error_tree(status: int, cls: type[HTTPStatusError]) -> None:
    response = APIResponse(
        status_code=status,
        headers={"Content-Type": "application/problem+json", "X-Request-ID": "req-9"},
        content=json.dumps({"title": "Nope", "detail": "because", "code": 1}).encode(),
    )
    with pytest.raises(cls) as caught:
        raise_for_status(response)
    assert type(caught.value) is cls
    assert caught.value.status_code == status
    assert caught.value.request_id == "req-9"
    assert caught.value.problem["detail"] == "because"
    assert "because" in str(caught.value)


def test_rate_limited_error_carries_retry_after() -> None:
    response = APIResponse(status_code=429, headers={"Retry-After": "12"}, content=b"")
    with pytest.raises(RateLimitedError) as caught:
        raise_for_status(response)
    assert caught.value.retry_after == 12.0


# --- the sync shell over MockTransport ---------------------------------------------------------


def test_503_then_success_returns_the_success_after_one_backoff() -> None:
    answers = iter([_problem(503), httpx.Response(200, json={"ok": True})])
    shell, sleeps = _shell(lambda request: next(answers))
    assert shell.send(Call(APIRequest(method="GET", path="/x"), _json)) == {"ok": True}
    assert len(sleeps) == 1


def test_every_retry_reuses_the_same_idempotency_key() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Idempotency-Key"])
        return _problem(503) if len(seen) < 3 else httpx.Response(201, json={})

    shell, _ = _shell(handler)
    request = APIRequest.write("POST", "/things", json={"a": 1})
    shell.send(Call(request, _json))
    assert seen == [request.idempotency_key] * 3


def test_409_is_raised_without_retrying() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _problem(409)

    shell, _ = _shell(handler)
    with pytest.raises(ConflictError):
        shell.send(Call(APIRequest.write("POST", "/x"), _json))
    assert len(calls) == 1


def test_retries_are_bounded_then_the_last_error_is_raised() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _problem(502)

    shell, sleeps = _shell(handler, max_retries=3)
    with pytest.raises(ServerError) as caught:
        shell.send(Call(APIRequest(method="GET", path="/x"), _json))
    assert len(calls) == 4
    assert len(sleeps) == 3
    assert caught.value.request_id == "req-1"


def test_retry_after_header_sets_the_wait() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200)])
    shell, sleeps = _shell(lambda request: next(answers))
    shell.request(APIRequest(method="GET", path="/x"))
    assert sleeps == [3.0]


def test_connection_errors_become_transport_errors_from_httpx() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    shell, sleeps = _shell(handler, max_retries=1)
    with pytest.raises(TransportError) as caught:
        shell.request(APIRequest(method="GET", path="/x"))
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(sleeps) == 1


def test_a_server_that_never_answers_raises_request_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections in the backlog, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        shell = SyncHTTP(ClientOptions(base_url=url, timeout=0.2, max_retries=0))
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            shell.request(APIRequest(method="GET", path="/slow"))
        assert time.monotonic() - started < 5
        shell.close()
    finally:
        listener.close()


def test_responses_beyond_the_size_cap_are_refused() -> None:
    shell, _ = _shell(lambda request: httpx.Response(200, content=b"x" * 5000),
                      max_response_size=1000)  # fmt: skip
    with pytest.raises(TransportError, match="larger than 1000"):
        shell.request(APIRequest(method="GET", path="/big"))


def test_credentials_are_sent_but_never_shown() -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200)

    shell, _ = _shell(handler, auth=BearerToken("s3cr3t-token"))
    shell.request(APIRequest(method="GET", path="/me"))
    assert seen[0]["Authorization"] == "Bearer s3cr3t-token"
    assert "s3cr3t" not in repr(shell.options)
    assert "k3y" not in repr(APIKey("k3y"))


def test_a_path_body_is_streamed_from_disk_on_every_attempt(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(b"0123456789" * 100_000)
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        return _problem(503) if len(bodies) == 1 else httpx.Response(201, json={})

    shell, _ = _shell(handler)
    shell.request(APIRequest.write("PUT", "/files/big", content=source))
    assert bodies == [source.read_bytes()] * 2


def test_pages_are_followed_lazily() -> None:
    pages = {None: (["a", "b"], "c2"), "c2": (["c"], None)}
    fetched: list[str | None] = []

    def call(cursor: str | None) -> Call[Page[str]]:
        def parse(_: APIResponse) -> Page[str]:
            fetched.append(cursor)
            items, following = pages[cursor]
            return Page(
                items=tuple(items),
                next_cursor=following,
                next_call=None if following is None else call(following),
            )

        return Call(APIRequest(method="GET", path="/p", params={"cursor": cursor}), parse)

    shell, _ = _shell(lambda request: httpx.Response(200, json={}))
    iterator = shell.paginate(call(None))
    assert next(iterator) == "a"
    assert fetched == [None]
    assert list(iterator) == ["b", "c"]
    assert fetched == [None, "c2"]


def test_a_sync_shell_refuses_an_async_transport() -> None:
    with pytest.raises(TypeError):
        SyncHTTP(ClientOptions(base_url=BASE, transport=httpx.AsyncHTTPTransport()))


# --- the async shell -------------------------------------------------------------------------


def test_async_shell_retries_with_the_same_key_like_the_sync_one() -> None:
    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Idempotency-Key"])
        return _problem(503) if len(seen) == 1 else httpx.Response(201, json={"n": 1})

    async def run() -> object:
        shell = AsyncHTTP(ClientOptions(base_url=BASE, transport=httpx.MockTransport(handler)))
        sleeps: list[float] = []
        shell._sleep = sleeps.append
        try:
            return await shell.send(Call(APIRequest.write("POST", "/x"), _json))
        finally:
            await shell.close()

    assert asyncio.run(run()) == {"n": 1}
    assert len(seen) == 2
    assert seen[0] == seen[1]
