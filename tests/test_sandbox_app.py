"""The combined sandbox app: request ids, problem details, admin endpoints, mounted services."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest

from huesign.client import AsyncPortalClient, Dossier, DossierState
from huesign.pki import Certificate, DevelopmentCA
from huesign.sandbox import RunningSandbox, create_sandbox_app, sandbox_parts


def test_every_response_carries_a_request_id(sandbox: RunningSandbox) -> None:
    ok = httpx.get(sandbox.base_url + "/sandbox/health")
    missing = httpx.get(sandbox.portal_url + "/procedures")
    assert ok.json() == {"status": "ok"}
    assert ok.headers["x-request-id"] != missing.headers["x-request-id"]


def test_errors_are_rfc9457_problems_naming_the_request(sandbox: RunningSandbox) -> None:
    response = httpx.get(sandbox.portal_url + "/procedures")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    problem = response.json()
    assert problem["status"] == 401
    assert problem["instance"] == "urn:uuid:" + response.headers["x-request-id"]


def test_a_malformed_json_body_is_a_400_problem(sandbox: RunningSandbox) -> None:
    response = httpx.post(
        sandbox.portal_url + "/dossiers",
        content=b"{not json",
        headers={"Authorization": f"Bearer {sandbox.credentials.citizen_token}"},
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("bad_json")


def test_an_oversized_json_body_is_refused_before_reading_it(sandbox: RunningSandbox) -> None:
    response = httpx.post(
        sandbox.portal_url + "/dossiers",
        content=b"[" + b"0," * (1 << 20) + b"0]",
        headers={
            "Authorization": f"Bearer {sandbox.credentials.citizen_token}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/sandbox/advance", "/sandbox/citizens"])
def test_admin_endpoints_refuse_a_citizen(sandbox: RunningSandbox, path: str) -> None:
    response = httpx.post(
        sandbox.base_url + path,
        json={},
        headers={"Authorization": f"Bearer {sandbox.credentials.citizen_token}"},
    )
    assert response.status_code == 403


def test_the_ca_services_answer_at_the_addresses_in_its_certificates(
    sandbox: RunningSandbox,
) -> None:
    crl = httpx.get(sandbox.ca.crl_url("issuing"))
    issuer = httpx.get(sandbox.ca.certificate_url("issuing"))
    assert crl.status_code == 200
    assert crl.headers["content-type"] == "application/pkix-crl"
    assert Certificate.from_der(issuer.content) == sandbox.ca.intermediate


def test_the_remote_signing_provider_is_mounted_when_built_in(sandbox: RunningSandbox) -> None:
    pytest.importorskip("huesign.sandbox.signing", reason="no signing provider in this build")
    info = httpx.post(sandbox.signing_url + "/csc/v1/info", json={})
    assert info.status_code == 200
    assert info.json()["specs"] == "1.0.4.0"


def test_credentials_are_not_shown_in_reprs(sandbox: RunningSandbox) -> None:
    shown = repr(sandbox) + repr(sandbox.parts.state)
    for secret in (
        sandbox.credentials.citizen_token,
        sandbox.credentials.merchant_api_key,
        sandbox.credentials.notification_secret,
    ):
        assert secret not in shown


def test_the_sandbox_clock_dates_dossiers_and_appointments(huesign_pki: DevelopmentCA) -> None:
    friday = dt.datetime(2026, 1, 2, 9, 0, tzinfo=dt.UTC)
    parts = sandbox_parts(huesign_pki, clock=lambda: friday)
    transport = httpx.ASGITransport(app=create_sandbox_app(parts))
    creds = parts.credentials

    async def run() -> tuple[Dossier, Dossier]:
        async with AsyncPortalClient(
            base_url="http://sandbox.test/portal/v1", token=creds.citizen_token,
            transport=transport,
        ) as portal:  # fmt: skip
            created = await portal.dossiers.create(procedure_code="1.001193")
            with parts.state.store.transaction() as tx:
                tx.execute("UPDATE dossiers SET state = 'submitted' WHERE id = ?", (created.id,))
            async with httpx.AsyncClient(transport=transport) as admin:
                await admin.post(
                    "http://sandbox.test/sandbox/advance",
                    json={"dossier_id": created.id},
                    headers={"Authorization": f"Bearer {creds.admin_token}"},
                )
            return created, await portal.dossiers.get(created.id)

    created, received = asyncio.run(run())
    assert created.created_at == friday
    assert received.state is DossierState.RECEIVED
    assert received.appointment == dt.date(2026, 1, 5)  # one working day after a Friday
