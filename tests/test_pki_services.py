"""The development CA's CRL, OCSP and TSA over HTTP (starlette app and uvicorn server)."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from huesign.pki import CitizenIdentity, DevelopmentCA
from huesign.sandbox import MAX_PKI_REQUEST_SIZE, create_pki_app, serve_pki_services


def _ocsp_request(ca: DevelopmentCA) -> tuple[bytes, x509.Certificate]:
    leaf = ca.issue(CitizenIdentity(common_name="Võ Thị Sáu")).certificate.to_cryptography()
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        leaf, ca.intermediate.to_cryptography(), hashes.SHA256()
    )
    return builder.build().public_bytes(serialization.Encoding.DER), leaf


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create(name="Services", base_url="http://127.0.0.1:9/pki")


@pytest.fixture(scope="module")
def client(ca: DevelopmentCA) -> Iterator[httpx.Client]:
    with serve_pki_services(ca) as base_url, httpx.Client(base_url=base_url, timeout=5) as c:
        yield c


def test_app_routes_follow_the_ca_addresses(ca: DevelopmentCA) -> None:
    paths = {getattr(r, "path", None) for r in create_pki_app(ca).routes}
    assert {"/pki/crl/issuing.crl", "/pki/crl/root.crl", "/pki/ocsp", "/pki/tsa"} <= paths


def test_issuing_crl_is_served_as_der(client: httpx.Client, ca: DevelopmentCA) -> None:
    response = client.get("/crl/issuing.crl")
    assert response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.issuer == ca.intermediate.subject


def test_root_crl_is_served_at_the_root_address(client: httpx.Client, ca: DevelopmentCA) -> None:
    response = client.get("/crl/root.crl")
    assert x509.load_der_x509_crl(response.content).issuer == ca.root.subject


def test_ocsp_post_answers_good(client: httpx.Client, ca: DevelopmentCA) -> None:
    request, leaf = _ocsp_request(ca)
    response = client.post(
        "/ocsp", content=request, headers={"content-type": "application/ocsp-request"}
    )
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.serial_number == leaf.serial_number
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD


def test_ocsp_get_with_base64_path_answers_too(client: httpx.Client, ca: DevelopmentCA) -> None:
    request, _ = _ocsp_request(ca)
    encoded = base64.b64encode(request).decode().replace("/", "%2F").replace("+", "%2B")
    response = client.get(f"/ocsp/{encoded}")
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL


def test_tsa_requires_the_timestamp_query_type(client: httpx.Client) -> None:
    response = client.post("/tsa", content=b"x", headers={"content-type": "text/plain"})
    assert response.status_code == 415


def test_oversized_requests_are_refused(client: httpx.Client) -> None:
    body = b"\x00" * (MAX_PKI_REQUEST_SIZE + 1)
    response = client.post(
        "/ocsp", content=body, headers={"content-type": "application/ocsp-request"}
    )
    assert response.status_code == 413


def test_garbage_to_the_tsa_gets_a_rejection_not_an_error(client: httpx.Client) -> None:
    response = client.post(
        "/tsa", content=b"garbage", headers={"content-type": "application/timestamp-query"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/timestamp-reply"


def test_server_serves_over_loopback_and_stops(ca: DevelopmentCA) -> None:
    with serve_pki_services(ca) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/pki")
        response = httpx.get(f"{base_url}/crl/issuing.crl", timeout=5)
        assert response.status_code == 200
        port = httpx.URL(base_url).port
    assert port is not None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_fixture_ca_addresses_reach_the_server(pki_services: DevelopmentCA) -> None:
    leaf = pki_services.issue(CitizenIdentity(common_name="Đặng Thùy Trâm")).certificate
    (crl_url,) = leaf.crl_distribution_points
    crl = x509.load_der_x509_crl(httpx.get(crl_url, timeout=5).content)
    assert crl.issuer == pki_services.intermediate.subject
