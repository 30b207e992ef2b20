"""The sandbox wallet: payments of dossier fees, refunds and signed merchant notifications.

Routes (under ``/wallet/v1``, see ``docs/api/wallet.yaml``): ``POST /payments`` (merchant API
key), ``GET /payments``, ``GET /payments/{id}``, ``POST /payments/{id}/confirm`` (the citizen
confirms in the wallet), ``POST /payments/{id}/refunds`` (merchant).

Each success and refund produces a notification signed with the merchant's secret
(:func:`huesign.client.webhooks.sign_notification`).  A payment created without
``notify_url`` belongs to the portal itself: the notification is recorded and its effect (the
dossier's fee is paid) is applied in the same transaction.  Otherwise it is POSTed to the
``notify_url`` after the commit, retried a few times.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from huesign.client.models import (
    Payment,
    PaymentState,
    WalletEvent,
    WalletEventType,
    to_json_dict,
)
from huesign.client.webhooks import SIGNATURE_HEADER, sign_notification
from huesign.sandbox._common import (
    Principal,
    Problem,
    SandboxState,
    authenticate,
    idempotent,
    iso,
    page_body,
    page_params,
    parse_json_object,
    read_body,
)
from huesign.sandbox.store import Transaction

__all__ = ["create_payment", "wallet_routes"]

_MAX_DESCRIPTION = 200
_MAX_URL = 2000
_COLUMNS = (
    "id, dossier_id, amount, refunded, state, description, notify_url, payer, created_at,"
    " updated_at"
)


def _payment(state: SandboxState, row: tuple[object, ...]) -> Payment:
    return Payment(
        id=str(row[0]),
        dossier_id=str(row[1]),
        amount=int(str(row[2])),
        refunded_amount=int(str(row[3])),
        state=PaymentState(str(row[4])),
        description=str(row[5]),
        pay_url=f"{state.public_url}/wallet/pay/{row[0]}",
        created_at=dt.datetime.fromisoformat(str(row[8])),
        updated_at=dt.datetime.fromisoformat(str(row[9])),
    )


def _load(state: SandboxState, tx: Transaction, payment_id: str) -> tuple[object, ...]:
    row = tx.one(f"SELECT {_COLUMNS} FROM payments WHERE id = ?", (payment_id,))  # noqa: S608
    if row is None:
        raise Problem(404, "Not Found", "no such payment", code="payment_not_found")
    return row


def create_payment(
    state: SandboxState,
    tx: Transaction,
    *,
    dossier_id: str,
    amount: int | None,
    description: str,
    notify_url: str | None,
) -> Payment:
    """Create a pending payment of a dossier's fee (inside ``tx``)."""
    dossier = tx.one("SELECT fee, paid, state FROM dossiers WHERE id = ?", (dossier_id,))
    if dossier is None:
        raise Problem(404, "Not Found", "no such dossier", code="dossier_not_found")
    fee, paid = int(str(dossier[0])), bool(dossier[1])
    if amount is not None and amount != fee:
        raise Problem(
            422,
            "Wrong amount",
            f"the fee of this dossier is {fee} VND",
            code="wrong_amount",
            extra={"fee": fee},
        )
    if fee <= 0:
        raise Problem(409, "Nothing to pay", "this dossier has no fee", code="no_fee")
    if paid:
        raise Problem(409, "Already paid", "the fee of this dossier is paid", code="already_paid")
    now = iso(state.now())
    payment_id = "pay_" + uuid.uuid4().hex
    tx.execute(
        f"INSERT INTO payments ({_COLUMNS}) VALUES (?, ?, ?, 0, ?, ?, ?, NULL, ?, ?)",  # noqa: S608
        (
            payment_id,
            dossier_id,
            fee,
            PaymentState.PENDING.value,
            description,
            notify_url,
            now,
            now,
        ),
    )
    return _payment(state, _load(state, tx, payment_id))


def _notify(
    state: SandboxState,
    tx: Transaction,
    payment: Payment,
    kind: WalletEventType,
    notify_url: str | None,
) -> tuple[str, bytes, str] | None:
    event = WalletEvent(
        id="evt_" + uuid.uuid4().hex, type=kind, created_at=state.now(), payment=payment
    )
    body = json.dumps(to_json_dict(event), ensure_ascii=False).encode()
    secret = state.credentials.notification_secret.encode()
    signature = sign_notification(body, secret=secret, timestamp=int(state.now().timestamp()))
    tx.execute(
        "INSERT INTO notifications (id, payment_id, event, body, signature, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (event.id, payment.id, kind.value, body, signature, iso(state.now())),
    )
    if notify_url is None:
        if kind is WalletEventType.PAYMENT_SUCCEEDED:
            tx.execute(
                "UPDATE dossiers SET paid = 1, updated_at = ? WHERE id = ?",
                (iso(state.now()), payment.dossier_id),
            )
        return None
    return notify_url, body, signature


async def _deliver(url: str, body: bytes, signature: str, secret: bytes) -> None:
    async with httpx.AsyncClient(timeout=5.0) as client:
        for attempt in range(3):
            header = signature if attempt == 0 else sign_notification(body, secret=secret)
            try:
                response = await client.post(
                    url,
                    content=body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: header},
                )
            except httpx.HTTPError:
                response = None
            if response is not None and response.is_success:
                return
            await asyncio.sleep(0.2 * (attempt + 1))


def _text(data: dict[str, object], name: str, limit: int, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise Problem(
            422,
            "Invalid request",
            f"{name} must be a string of 1 to {limit} characters",
            code="invalid_field",
            extra={"field": name},
        )
    return value


def _amount(data: dict[str, object], name: str = "amount") -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**12:
        raise Problem(
            422,
            "Invalid request",
            f"{name} must be a positive whole number of VND",
            code="invalid_field",
            extra={"field": name},
        )
    return value


def wallet_routes(state: SandboxState) -> list[Route]:
    """The wallet's routes, to mount under ``/wallet/v1``."""

    def visible(principal: Principal, tx: Transaction, row: tuple[object, ...]) -> None:
        if principal.role == "merchant":
            return
        owner = tx.one("SELECT owner FROM dossiers WHERE id = ?", (row[1],))
        if owner is None or owner[0] != principal.subject:
            raise Problem(404, "Not Found", "no such payment", code="payment_not_found")

    async def create(request: Request) -> Response:
        principal = authenticate(state, request, "merchant")
        body = await read_body(request)
        data = parse_json_object(body)
        dossier_id = _text(data, "dossier_id", 64, required=True) or ""
        amount = _amount(data)
        description = _text(data, "description", _MAX_DESCRIPTION) or "Lệ phí hồ sơ"
        notify_url = _text(data, "notify_url", _MAX_URL)
        if notify_url is not None and not notify_url.startswith(("http://", "https://")):
            raise Problem(
                422,
                "Invalid request",
                "notify_url must be an http(s) URL",
                code="invalid_field",
                extra={"field": "notify_url"},
            )

        def run(tx: Transaction) -> tuple[int, object]:
            payment = create_payment(
                state,
                tx,
                dossier_id=dossier_id,
                amount=amount,
                description=description,
                notify_url=notify_url,
            )
            return 201, to_json_dict(payment)

        return idempotent(state, request, principal, (body,), run)

    async def get(request: Request) -> Response:
        principal = authenticate(state, request, "merchant", "citizen")
        with state.store.transaction() as tx:
            row = _load(state, tx, request.path_params["payment_id"])
            visible(principal, tx, row)
        return JSONResponse(to_json_dict(_payment(state, row)))

    async def list_(request: Request) -> Response:
        authenticate(state, request, "merchant")
        limit, offset = page_params(request)
        where, params = [], []
        dossier_id = request.query_params.get("dossier_id")
        if dossier_id is not None:
            where.append("dossier_id = ?")
            params.append(dossier_id)
        status = request.query_params.get("state")
        if status is not None:
            if status not in {s.value for s in PaymentState}:
                raise Problem(400, "Bad Request", "unknown state", code="bad_filter")
            where.append("state = ?")
            params.append(status)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with state.store.transaction() as tx:
            rows = tx.all(
                f"SELECT {_COLUMNS} FROM payments{clause}"  # noqa: S608
                " ORDER BY created_at, id LIMIT ? OFFSET ?",
                (*params, limit + 1, offset),
            )
        items: list[object] = [to_json_dict(_payment(state, r)) for r in rows[:limit]]
        return JSONResponse(page_body(items, limit=limit, offset=offset, more=len(rows) > limit))

    async def confirm(request: Request) -> Response:
        principal = authenticate(state, request, "citizen")
        payment_id = request.path_params["payment_id"]
        await read_body(request)
        deliveries: list[tuple[str, bytes, str]] = []

        def run(tx: Transaction) -> tuple[int, object]:
            row = _load(state, tx, payment_id)
            visible(principal, tx, row)
            if row[4] != PaymentState.PENDING.value:
                raise Problem(409, "Not pending", f"the payment is {row[4]}", code="not_pending")
            paid = tx.one("SELECT paid FROM dossiers WHERE id = ?", (row[1],))
            if paid is not None and bool(paid[0]):
                raise Problem(
                    409, "Already paid", "the dossier's fee is already paid", code="already_paid"
                )
            tx.execute(
                "UPDATE payments SET state = ?, payer = ?, updated_at = ? WHERE id = ?",
                (PaymentState.SUCCEEDED.value, principal.subject, iso(state.now()), payment_id),
            )
            payment = _payment(state, _load(state, tx, payment_id))
            target = row[6] if row[6] is None else str(row[6])
            sent = _notify(state, tx, payment, WalletEventType.PAYMENT_SUCCEEDED, target)
            if sent is not None:
                deliveries.append(sent)
            return 200, to_json_dict(payment)

        response = idempotent(state, request, principal, (payment_id.encode(),), run)
        return _with_deliveries(state, response, deliveries)

    async def refund(request: Request) -> Response:
        principal = authenticate(state, request, "merchant")
        payment_id = request.path_params["payment_id"]
        body = await read_body(request)
        data = parse_json_object(body)
        amount = _amount(data)
        reason = _text(data, "reason", _MAX_DESCRIPTION) or ""
        deliveries: list[tuple[str, bytes, str]] = []

        def run(tx: Transaction) -> tuple[int, object]:
            row = _load(state, tx, payment_id)
            if row[4] not in (PaymentState.SUCCEEDED.value, PaymentState.PARTIALLY_REFUNDED.value):
                raise Problem(
                    409, "Not refundable", f"the payment is {row[4]}", code="not_refundable"
                )
            total, refunded = int(str(row[2])), int(str(row[3]))
            value = total - refunded if amount is None else amount
            if value > total - refunded:
                raise Problem(
                    422,
                    "Too much",
                    f"at most {total - refunded} VND can be refunded",
                    code="refund_too_large",
                )
            done = refunded + value
            new_state = PaymentState.REFUNDED if done == total else PaymentState.PARTIALLY_REFUNDED
            tx.execute(
                "UPDATE payments SET refunded = ?, state = ?, updated_at = ? WHERE id = ?",
                (done, new_state.value, iso(state.now()), payment_id),
            )
            payment = _payment(state, _load(state, tx, payment_id))
            target = row[6] if row[6] is None else str(row[6])
            sent = _notify(state, tx, payment, WalletEventType.PAYMENT_REFUNDED, target)
            if sent is not None:
                deliveries.append(sent)
            return 201, {"payment": to_json_dict(payment), "amount": value, "reason": reason}

        response = idempotent(state, request, principal, (body,), run)
        return _with_deliveries(state, response, deliveries)

    return [
        Route("/payments", create, methods=["POST"]),
        Route("/payments", list_, methods=["GET"]),
        Route("/payments/{payment_id}", get, methods=["GET"]),
        Route("/payments/{payment_id}/confirm", confirm, methods=["POST"]),
        Route("/payments/{payment_id}/refunds", refund, methods=["POST"]),
    ]


def _with_deliveries(
    state: SandboxState, response: Response, deliveries: list[tuple[str, bytes, str]]
) -> Response:
    if deliveries:
        secret = state.credentials.notification_secret.encode()
        url, body, signature = deliveries[0]
        response.background = BackgroundTask(_deliver, url, body, signature, secret)
    return response
