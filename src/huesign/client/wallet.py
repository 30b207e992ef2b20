"""Typed clients of the Hue-S wallet's payment API (``docs/api/wallet.yaml``).

A merchant (the portal, an agency's system) authenticates with its API key; a citizen
confirming a payment authenticates with a bearer token.  Notifications the wallet sends to the
merchant are checked with :func:`huesign.client.webhooks.verify_notification`.

>>> with WalletClient(base_url=url, api_key=key) as wallet:  # doctest: +SKIP
...     payment = wallet.payments.create(dossier_id=dossier.id)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Self

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
    Page,
    SyncHTTP,
)
from huesign.client._shell import (
    HTTPT,
    UNSET,
    AsyncClientShell,
    ClientShell,
    Resource,
    SyncClientShell,
    TransportT,
    changed_options,
    check_page_size,
    page_call,
    path_segment,
)
from huesign.client.models import Payment, PaymentState, Refund, from_json_dict

__all__ = ["AsyncPayments", "AsyncWalletClient", "Payments", "WalletClient"]


def _payment(response: APIResponse) -> Payment:
    return from_json_dict(Payment, response.json())


def _refund(response: APIResponse) -> Refund:
    return from_json_dict(Refund, response.json())


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
    limit = check_page_size(page_size)
    params: dict[str, str | int | None] = {
        "dossier_id": dossier_id,
        "state": None if state is None else PaymentState(state).value,
        "limit": limit,
    }
    return page_call(Payment, "/payments", params)


def _get_call(payment_id: str) -> Call[Payment]:
    return Call(APIRequest(method="GET", path=f"/payments/{path_segment(payment_id)}"), _payment)


def _confirm_call(payment_id: str, key: str | None) -> Call[Payment]:
    request = APIRequest.write(
        "POST", f"/payments/{path_segment(payment_id)}/confirm", json={}, idempotency_key=key
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
        "POST", f"/payments/{path_segment(payment_id)}/refunds", json=body, idempotency_key=key
    )
    return Call(request, _refund)


class Payments(Resource[SyncHTTP]):
    """Payments: ``wallet.payments``."""

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


class AsyncPayments(Resource[AsyncHTTP]):
    """Payments: ``wallet.payments`` (async)."""

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


class _Wallet(ClientShell[HTTPT, TransportT]):
    """The constructor and options of both wallet clients."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        transport: TransportT | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Open a connection pool to ``base_url``."""
        auth = _auth(api_key, token)
        self._connect(base_url, auth, timeout, max_retries, transport, headers)

    def with_options(
        self,
        *,
        api_key: str | object | None = UNSET,
        token: str | object | None = UNSET,
        timeout: float | object = UNSET,
        max_retries: int | object = UNSET,
        headers: dict[str, str] | object = UNSET,
    ) -> Self:
        """A client with some options changed, sharing this one's connection pool.

        Giving ``api_key`` or ``token`` replaces the credential.
        """
        options = changed_options(
            self.options, timeout=timeout, max_retries=max_retries, headers=headers
        )
        if api_key is not UNSET or token is not UNSET:
            options = attrs.evolve(options, auth=_auth(_str(api_key), _str(token)))
        return self._with_options(options)


class WalletClient(_Wallet[SyncHTTP, httpx.BaseTransport], SyncClientShell):
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

    def _bind(self, http: SyncHTTP) -> None:
        super()._bind(http)
        self.payments = Payments(http)


class AsyncWalletClient(_Wallet[AsyncHTTP, httpx.AsyncBaseTransport], AsyncClientShell):
    """An asyncio client of the wallet API (same arguments as :class:`WalletClient`)."""

    def _bind(self, http: AsyncHTTP) -> None:
        super()._bind(http)
        self.payments = AsyncPayments(http)
