"""The combined sandbox app: request ids, problem details, admin endpoints, mounted services."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt

import attrs
import httpx
import pytest

from huesign.client import (
    AsyncPortalClient,
    CSCClient,
    CSCSigner,
    Dossier,
    DossierState,
    PortalClient,
    SP769Client,
    SP769Signer,
)
from huesign.pki import (
    Certificate,
    DevelopmentCA,
    IssuedCertificate,
    RevocationMode,
    TrustStore,
    ValidationPolicy,
    sign_cms,
    verify_cms,
)
from huesign.sandbox import (
    RunningSandbox,
    SandboxCredential,
    SigningSandboxState,
    create_sandbox_app,
    sandbox_parts,
    serve_sandbox,
)


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


# --- provisioned citizens ---------------------------------------------------------------------


def test_a_provisioned_citizen_has_a_certificate_from_the_sandbox_ca(
    sandbox: RunningSandbox,
) -> None:
    citizen = sandbox.add_citizen(name="Phan Thị Mai", cccd="046196004321")
    identity = citizen.issued.certificate.identity
    assert identity.common_name == "Phan Thị Mai"
    assert identity.cccd == "046196004321"
    assert identity.province == "Thành phố Huế"
    assert citizen.issued.certificate.is_issued_by(sandbox.ca.intermediate)
    assert citizen in sandbox.citizens


def test_a_provisioned_citizen_uses_the_portal_with_her_own_token(
    sandbox: RunningSandbox,
) -> None:
    citizen = sandbox.add_citizen(name="Phan Thị Mai", cccd="046196004322")
    with PortalClient(base_url=sandbox.portal_url, token=citizen.token) as portal:
        dossier = portal.dossiers.create(procedure_code="1.004873")
        assert [d.id for d in portal.dossiers.list()] == [dossier.id]


def test_a_provisioned_citizen_signs_through_the_csc_provider(sandbox: RunningSandbox) -> None:
    citizen = sandbox.add_citizen(name="Phan Thị Mai", cccd="046196004323")
    account = citizen.credential
    with CSCClient(sandbox.signing_url) as csc:
        csc.login(account.user_id, account.password)
        assert csc.list_credentials() == (account.credential_id,)
        signer = CSCSigner.connect(csc, account.credential_id, pin=account.pin)
        signature = sign_cms(b"to khai", signer)
    report = verify_cms(
        signature,
        b"to khai",
        trust=TrustStore.from_certificates(
            [sandbox.ca.root], intermediates=[sandbox.ca.intermediate]
        ),
        policy=ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL),
    )
    assert report.passed, report.summary("en")
    assert report.signer is not None
    assert report.signer.cccd == "046196004323"
    shown = sandbox.signing.confirmations[-1]
    assert (shown.user_id, shown.protocol) == ("046196004323", "csc")


def test_a_provisioned_citizen_is_known_to_the_sp769_service(sandbox: RunningSandbox) -> None:
    citizen = sandbox.add_citizen(name="Phan Thị Mai", cccd="046196004324")
    signing = sandbox.signing
    with SP769Client(
        sandbox.signing_url + "/sp769", sp_id=signing.sp_id, sp_password=signing.sp_password
    ) as sp:
        signer = SP769Signer.connect(sp, citizen.credential.user_id, poll_interval=0.01)
    assert signer.certificate == citizen.issued.certificate


def test_adding_a_cccd_again_keeps_the_certificate_and_gives_a_new_token(
    sandbox: RunningSandbox,
) -> None:
    first = sandbox.add_citizen(name="Phan Thị Mai", cccd="046196004325")
    again = sandbox.add_citizen(name="Phan Thị Mai", cccd="046196004325")
    assert again.issued.certificate == first.issued.certificate
    assert again.token != first.token
    with pytest.raises(ValueError, match="another test citizen"):
        sandbox.add_citizen(name="Someone Else", cccd="046196004325")


@pytest.mark.parametrize(
    ("name", "cccd"), [("Phan Thị Mai", "04619600432"), ("", "046196004326"), ("x" * 101, "0")]
)
def test_a_citizen_needs_a_twelve_digit_cccd_and_a_name(
    sandbox: RunningSandbox, name: str, cccd: str
) -> None:
    with pytest.raises(ValueError, match=r"CCCD|name"):
        sandbox.add_citizen(name=name, cccd=cccd)


def test_the_admin_endpoint_provisions_a_citizen_over_http(sandbox: RunningSandbox) -> None:
    response = httpx.post(
        sandbox.base_url + "/sandbox/citizens",
        json={"cccd": "046196004327", "name": "Phan Thị Mai"},
        headers={"Authorization": f"Bearer {sandbox.credentials.admin_token}"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["subject"] == "CCCD:046196004327"
    assert body["credential_id"] == "cred-046196004327"
    assert body["user_id"] == "046196004327"
    certificate = Certificate.from_pem(body["certificate"].encode())
    assert certificate.identity.common_name == "Phan Thị Mai"


def test_the_admin_endpoint_refuses_a_cccd_taken_by_another_name(sandbox: RunningSandbox) -> None:
    sandbox.add_citizen(name="Phan Thị Mai", cccd="046196004328")
    response = httpx.post(
        sandbox.base_url + "/sandbox/citizens",
        json={"cccd": "046196004328", "name": "Võ Văn Kiệt"},
        headers={"Authorization": f"Bearer {sandbox.credentials.admin_token}"},
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


def test_serve_sandbox_provisions_the_citizens_it_is_given(huesign_pki: DevelopmentCA) -> None:
    with serve_sandbox(citizens={"046301000777": "Ngô Bảo Châu"}) as running:
        names = {c.cccd: c.name for c in running.citizens}
        ids = running.signing.by_user("046301000777")
    assert names == {"046190001234": "Nguyễn Thị Hương Giang", "046301000777": "Ngô Bảo Châu"}
    assert [c.credential_id for c in ids] == ["cred-046301000777"]


def test_a_citizens_token_is_not_shown_in_its_repr(sandbox: RunningSandbox) -> None:
    citizen = sandbox.citizens[0]
    assert citizen.token == sandbox.credentials.citizen_token
    assert citizen.token not in repr(citizen)
    assert citizen.name in repr(citizen)


def _state() -> SigningSandboxState:
    return SigningSandboxState(
        [], sp_id="sp", sp_password="pw", client_id="client", client_secret="secret"
    )


def test_add_credential_keeps_every_credential_registered_from_many_threads(
    citizen: IssuedCertificate,
) -> None:
    state = _state()
    made = [
        SandboxCredential(credential_id=f"cred-{n}", user_id=f"user-{n}", issued=citizen)
        for n in range(64)
    ]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(state.add_credential, made))
    assert sorted(state.credentials) == sorted(c.credential_id for c in made)


def test_add_credential_refuses_another_credential_under_a_taken_id(
    citizen: IssuedCertificate,
) -> None:
    state = _state()
    first = SandboxCredential(credential_id="cred-1", user_id="user-1", issued=citizen)
    state.add_credential(first)
    state.add_credential(first)
    with pytest.raises(ValueError, match="already registered"):
        state.add_credential(attrs.evolve(first, user_id="someone-else"))
    assert state.credentials == {"cred-1": first}


def test_add_credential_never_mutates_a_mapping_a_reader_holds(
    citizen: IssuedCertificate,
) -> None:
    state = _state()
    before = state.credentials
    state.add_credential(SandboxCredential(credential_id="c", user_id="u", issued=citizen))
    assert before == {}
    assert state.by_user("u")[0].credential_id == "c"
