"""The wallet client against the sandbox, and signed notifications to a merchant."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest

from huesign.client import (
    PaymentState,
    PortalClient,
    WalletClient,
    WalletEventType,
    verify_notification,
)
from huesign.client.webhooks import SIGNATURE_HEADER, MemoryReplayGuard
from huesign.errors import AuthenticationError, ConflictError, NotFoundError
from huesign.pki import KeySigner, sign_cms
from huesign.sandbox import RunningSandbox

FORM = b"%PDF-1.7\n% wallet\n"


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[bytes, str | None]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers.get(SIGNATURE_HEADER)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def merchant() -> Iterator[tuple[str, list[tuple[bytes, str | None]]]]:
    received: list[tuple[bytes, str | None]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/notify", received
    finally:
        server.shutdown()
        server.server_close()


def _fee_dossier(sandbox: RunningSandbox) -> str:
    issued = sandbox.parts.citizen
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    with PortalClient(
        base_url=sandbox.portal_url, token=sandbox.credentials.citizen_token
    ) as portal:
        dossier = portal.dossiers.create(procedure_code="1.004873")
        portal.dossiers.attach_form(dossier.id, document=FORM, signature=sign_cms(FORM, signer))
        return portal.dossiers.submit(dossier.id).id


def _citizen_wallet(sandbox: RunningSandbox) -> WalletClient:
    return WalletClient(base_url=sandbox.wallet_url, token=sandbox.credentials.citizen_token)


def test_a_merchant_creates_a_pending_payment_of_the_fee(
    sandbox: RunningSandbox, wallet_client: WalletClient
) -> None:
    dossier_id = _fee_dossier(sandbox)
    payment = wallet_client.payments.create(dossier_id=dossier_id)
    assert payment.state is PaymentState.PENDING
    assert payment.amount == 15000
    assert payment.pay_url.endswith(payment.id)
    assert wallet_client.payments.get(payment.id) == payment


def test_a_wrong_amount_is_refused(sandbox: RunningSandbox, wallet_client: WalletClient) -> None:
    dossier_id = _fee_dossier(sandbox)
    with pytest.raises(ConflictError) as caught:
        wallet_client.payments.create(dossier_id=dossier_id, amount=1000)
    assert caught.value.problem["fee"] == 15000


def test_confirming_marks_the_dossier_paid_once(
    sandbox: RunningSandbox, wallet_client: WalletClient
) -> None:
    dossier_id = _fee_dossier(sandbox)
    payment = wallet_client.payments.create(dossier_id=dossier_id)
    with _citizen_wallet(sandbox) as wallet:
        assert wallet.payments.confirm(payment.id).state is PaymentState.SUCCEEDED
        with pytest.raises(ConflictError):
            wallet.payments.confirm(payment.id)
    with pytest.raises(ConflictError, match="paid"):
        wallet_client.payments.create(dossier_id=dossier_id)


def test_a_refund_in_two_parts_ends_refunded(
    sandbox: RunningSandbox, wallet_client: WalletClient
) -> None:
    dossier_id = _fee_dossier(sandbox)
    payment = wallet_client.payments.create(dossier_id=dossier_id)
    with _citizen_wallet(sandbox) as wallet:
        wallet.payments.confirm(payment.id)
    part = wallet_client.payments.refund(payment.id, amount=5000, reason="một phần")
    assert part.payment.state is PaymentState.PARTIALLY_REFUNDED
    rest = wallet_client.payments.refund(payment.id)
    assert rest.amount == 10000
    assert rest.payment.state is PaymentState.REFUNDED
    with pytest.raises(ConflictError):
        wallet_client.payments.refund(payment.id, amount=1)


def test_payments_list_filters_by_state(
    sandbox: RunningSandbox, wallet_client: WalletClient
) -> None:
    for _ in range(3):
        wallet_client.payments.create(dossier_id=_fee_dossier(sandbox))
    pending = list(wallet_client.payments.list(state=PaymentState.PENDING, page_size=2))
    assert len(pending) >= 3
    assert {p.state for p in pending} == {PaymentState.PENDING}


def test_a_citizen_cannot_list_payments(sandbox: RunningSandbox) -> None:
    with _citizen_wallet(sandbox) as wallet, pytest.raises(AuthenticationError):
        list(wallet.payments.list())


def test_an_unknown_payment_is_not_found(wallet_client: WalletClient) -> None:
    with pytest.raises(NotFoundError):
        wallet_client.payments.get("pay_nope")


def test_the_merchant_receives_a_signed_notification_it_can_verify(
    sandbox: RunningSandbox,
    wallet_client: WalletClient,
    merchant: tuple[str, list[tuple[bytes, str | None]]],
) -> None:
    url, received = merchant
    dossier_id = _fee_dossier(sandbox)
    payment = wallet_client.payments.create(dossier_id=dossier_id, notify_url=url)
    with _citizen_wallet(sandbox) as wallet:
        wallet.payments.confirm(payment.id)
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.02)
    body, header = received[0]
    event = verify_notification(
        body,
        header,
        secret=sandbox.credentials.notification_secret.encode(),
        replay_guard=MemoryReplayGuard(),
    )
    assert event.type is WalletEventType.PAYMENT_SUCCEEDED
    assert event.payment.id == payment.id
    assert event.payment.amount == json.loads(body)["payment"]["amount"] == 15000
