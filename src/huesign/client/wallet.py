"""Typed clients of the Hue-S wallet's payment API (``docs/api/wallet.yaml``).

A merchant (the portal, an agency's system) authenticates with its API key; a citizen
confirming a payment authenticates with a bearer token.  Notifications the wallet sends to the
merchant are checked with :func:`huesign.client.webhooks.verify_notification`.

>>> with WalletClient(base_url=url, api_key=key) as wallet:  # doctest: +SKIP
...     payment = wallet.payments.create(dossier_id=dossier.id)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import attrs
import httpx

from huesign.client._http import (
    DEFAULT_TIMEOUT,
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
from huesign.client.models import Payment, PaymentState, Refund, from_json_dict
from huesign.errors import ServerError

__all__ = ["AsyncPayments", "AsyncWalletClient", "Payments", "WalletClient"]

_UNSET = object()


def _seg(value: str) -> str:
    if not value or len(value) > 200:
        raise ValueError("an identifier must be 1-200 characters")
    return quote(value, safe="")


def _payment(response: APIResponse) -> Payment:
    return from_json_dict(Payment, response.json())


def _refund(response: APIResponse) -> Refund:
    return from_json_dict(Refund, response.json())


def _payments_page(params: dict[str, str | int | None]) -> Call[Page[Payment]]:
    def parse(response: APIResponse) -> Page[Payment]:
        body = response.json()
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise ServerError("the server sent a malformed page", status_code=200)
        cursor = body.get("next_cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise ServerError("the server sent a malformed cursor", status_code=200)
        return Page(
            items=tuple(from_json_dict(Payment, item) for item in body["items"]),
            next_cursor=cursor,
            next_call=None if cursor is None else _payments_page({**params, "cursor": cursor}),
        )

    return Call(APIRequest(method="GET", path="/payments", params=params), parse)


def _create_call(
    dossier_id: str,
    amount: int | None,
    description: str | None,
    notify_url: str | None,
    key: str | None,
) -> Call[Payment]:
    if amount is not None and (isinstance(amount, bool) or amount <= 0):
        raise ValueError("amount must be a positive whole number of VND")
    body: dict[str, object] = {"dossier_id": dossier_id}
    for name, value in (("amount", amount), ("description", description),
                        ("notify_url", notify_url)):  # fmt: skip
        if value is not None:
            body[name] = value
    return Call(APIRequest.write("POST", "/payments", json=body, idempotency_key=key), _payment)


def _list_call(
    dossier_id: str | None, state: PaymentState | None, page_size: int
) -> Call[Page[Payment]]:
    if not 1 <= page_size <= 100:
        raise ValueError("page_size must be from 1 to 100")
    return _payments_page(
        {
            "dossier_id": dossier_id,
            "state": None if state is None else PaymentState(state).value,
            "limit": page_size,
        }
    )


def _get_call(payment_id: str) -> Call[Payment]:
    return Call(APIRequest(method="GET", path=f"/payments/{_seg(payment_id)}"), _payment)


def _confirm_call(payment_id: str, key: str | None) -> Call[Payment]:
    request = APIRequest.write(
        "POST", f"/payments/{_seg(payment_id)}/confirm", json={}, idempotency_key=key
    )
    return Call(request, _payment)


def _refund_call(
    payment_id: str, amount: int | None, reason: str | None, key: str | None
) -> Call[Refund]:
    body: dict[str, object] = {}
    if amount is not None:
        body["amount"] = amount
    if reason is not None:
        body["reason"] = reason
    request = APIRequest.write(
        "POST", f"/payments/{_seg(payment_id)}/refunds", json=body, idempotency_key=key
    )
    return Call(request, _refund)


class Payments:
    """Payments: ``wallet.payments``."""

    def __init__(self, http: SyncHTTP) -> None:
        """Bind to a client's HTTP shell."""
        self._http = http

    def create(
        self,
        *,
        dossier_id: str,
        amount: int | None = None,
        description: str | None = None,
        notify_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        """Create a pending payment of a dossier's fee (merchant)."""
        call = _create_call(dossier_id, amount, description, notify_url, idempotency_key)
        return self._http.send(call)

    def get(self, payment_id: str) -> Payment:
        """The payment ``payment_id``."""
        return self._http.send(_get_call(payment_id))

    def list(
        self,
        *,
        dossier_id: str | None = None,
        state: PaymentState | None = None,
        page_size: int = 20,
    ) -> Iterator[Payment]:
        """Payments (filtered), fetched page by page as you iterate (merchant)."""
        return self._http.paginate(_list_call(dossier_id, state, page_size))

    def confirm(self, payment_id: str, *, idempotency_key: str | None = None) -> Payment:
        """Pay: the citizen confirms the payment from their wallet."""
        return self._http.send(_confirm_call(payment_id, idempotency_key))

    def refund(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Refund:
        """Refund ``amount`` (default: all that is left) of a payment (merchant)."""
        return self._http.send(_refund_call(payment_id, amount, reason, idempotency_key))


class AsyncPayments:
    """Payments: ``wallet.payments`` (async)."""

    def __init__(self, http: AsyncHTTP) -> None:
        """Bind to a client's HTTP shell."""
        self._http = http

    async def create(
        self,
        *,
        dossier_id: str,
        amount: int | None = None,
        description: str | None = None,
        notify_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        """Create a pending payment of a dossier's fee (merchant)."""
        call = _create_call(dossier_id, amount, description, notify_url, idempotency_key)
        return await self._http.send(call)

    async def get(self, payment_id: str) -> Payment:
        """The payment ``payment_id``."""
        return await self._http.send(_get_call(payment_id))

    def list(
        self,
        *,
        dossier_id: str | None = None,
        state: PaymentState | None = None,
        page_size: int = 20,
    ) -> AsyncIterator[Payment]:
        """Payments (filtered), fetched page by page as you iterate (merchant)."""
        return self._http.paginate(_list_call(dossier_id, state, page_size))

    async def confirm(self, payment_id: str, *, idempotency_key: str | None = None) -> Payment:
        """Pay: the citizen confirms the payment from their wallet."""
        return await self._http.send(_confirm_call(payment_id, idempotency_key))

    async def refund(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Refund:
        """Refund ``amount`` (default: all that is left) of a payment (merchant)."""
        return await self._http.send(_refund_call(payment_id, amount, reason, idempotency_key))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _auth(api_key: str | None, token: str | None) -> APIKey | BearerToken | None:
    if api_key is not None and token is not None:
        raise ValueError("give api_key (merchant) or token (citizen), not both")
    if api_key is not None:
        return APIKey(api_key)
    return None if token is None else BearerToken(token)


def _options(
    base_url: str,
    api_key: str | None,
    token: str | None,
    timeout: float,
    max_retries: int,
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
    headers: dict[str, str] | None,
) -> ClientOptions:
    return ClientOptions(
        base_url=base_url,
        auth=_auth(api_key, token),
        timeout=timeout,
        max_retries=max_retries,
        transport=transport,
        headers=headers or {},
    )


def _evolve(options: ClientOptions, **changes: object) -> ClientOptions:
    return attrs.evolve(options, **{k: v for k, v in changes.items() if v is not _UNSET})  # type: ignore[arg-type]


class WalletClient:
    """A blocking client of the wallet API.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/wallet/v1``.
        api_key: the merchant's API key (create, list, refund).
        token: a citizen's bearer token (confirm, get).
        timeout: seconds for each attempt.
        max_retries: retries of a failed attempt (writes keep their idempotency key).
        transport: an ``httpx.BaseTransport`` (tests).
        headers: extra headers on every request.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Open a connection pool to ``base_url``."""
        options = _options(base_url, api_key, token, timeout, max_retries, transport, headers)
        self._bind(SyncHTTP(options))

    def _bind(self, http: SyncHTTP) -> None:
        self._http = http
        self.payments = Payments(http)

    def __repr__(self) -> str:
        return f"WalletClient(base_url={self._http.options.base_url!r})"

    @property
    def options(self) -> ClientOptions:
        """The options in force."""
        return self._http.options

    def with_options(
        self,
        *,
        api_key: str | object | None = _UNSET,
        token: str | object | None = _UNSET,
        timeout: float | object = _UNSET,
        max_retries: int | object = _UNSET,
        headers: dict[str, str] | object = _UNSET,
    ) -> WalletClient:
        """A client with some options changed, sharing this one's connection pool.

        Giving ``api_key`` or ``token`` replaces the credential.
        """
        options = _evolve(
            self._http.options, timeout=timeout, max_retries=max_retries, headers=headers
        )
        if api_key is not _UNSET or token is not _UNSET:
            options = attrs.evolve(options, auth=_auth(_str(api_key), _str(token)))
        client = object.__new__(WalletClient)
        client._bind(self._http.with_options(options))
        return client

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> WalletClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncWalletClient:
    """An asyncio client of the wallet API (same arguments as :class:`WalletClient`)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Open a connection pool to ``base_url``."""
        options = _options(base_url, api_key, token, timeout, max_retries, transport, headers)
        self._bind(AsyncHTTP(options))

    def _bind(self, http: AsyncHTTP) -> None:
        self._http = http
        self.payments = AsyncPayments(http)

    def __repr__(self) -> str:
        return f"AsyncWalletClient(base_url={self._http.options.base_url!r})"

    @property
    def options(self) -> ClientOptions:
        """The options in force."""
        return self._http.options

    def with_options(
        self,
        *,
        api_key: str | object | None = _UNSET,
        token: str | object | None = _UNSET,
        timeout: float | object = _UNSET,
        max_retries: int | object = _UNSET,
        headers: dict[str, str] | object = _UNSET,
    ) -> AsyncWalletClient:
        """A client with some options changed, sharing this one's connection pool.

        Giving ``api_key`` or ``token`` replaces the credential.
        """
        options = _evolve(
            self._http.options, timeout=timeout, max_retries=max_retries, headers=headers
        )
        if api_key is not _UNSET or token is not _UNSET:
            options = attrs.evolve(options, auth=_auth(_str(api_key), _str(token)))
        client = object.__new__(AsyncWalletClient)
        client._bind(self._http.with_options(options))
        return client

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.close()

    async def __aenter__(self) -> AsyncWalletClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
