"""pytest plugin: fixtures that give a throwaway Vietnamese PKI and signed documents.

Registered through the ``pytest11`` entry point, so installing huesign is enough.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from huesign.pki.algorithms import KeyAlgorithm
from huesign.pki.devca import DevelopmentCA, IssuedCertificate
from huesign.pki.identity import CitizenIdentity, Identifier
from huesign.pki.profiles import CertificateProfile
from huesign.sandbox.pki_services import bind_loopback, serve_pki_services

__all__ = [
    "agency_seal",
    "citizen",
    "huesign_pki",
    "officer",
    "pki_services",
    "pytest_addoption",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add huesign's command-line options."""
    group = parser.getgroup("huesign")
    group.addoption(
        "--huesign-keep-artifacts",
        metavar="DIR",
        default=None,
        help="keep the development CA and signed documents made by huesign fixtures in DIR",
    )


# --- development PKI ---------------------------------------------------------------------

_HUE = "Thành phố Huế"


@pytest.fixture(scope="session")
def huesign_pki(request: pytest.FixtureRequest) -> Iterator[DevelopmentCA]:
    """A development CA (EC P-256 keys), created once per test session.

    With ``--huesign-keep-artifacts DIR`` it is also saved to ``DIR/devca``, at the start
    and again at the end of the session (with everything issued and revoked meanwhile).
    """
    ca = DevelopmentCA.create(name="Huesign Test", key_algorithm=KeyAlgorithm.EC_P256)
    keep = request.config.getoption("--huesign-keep-artifacts")
    target = Path(keep) / "devca" if keep else None
    if target is not None:
        ca.save(target)
    yield ca
    if target is not None:
        ca.save(target)


@pytest.fixture(scope="session")
def citizen(huesign_pki: DevelopmentCA) -> IssuedCertificate:
    """A citizen of Hue with a signing certificate: CCCD 046190001234, name with diacritics."""
    identity = CitizenIdentity(
        common_name="Nguyễn Thị Hương Giang",
        identifiers=(Identifier.cccd("046190001234"),),
        province=_HUE,
        country="VN",
    )
    return huesign_pki.issue(identity, profile=CertificateProfile.CITIZEN)


@pytest.fixture(scope="session")
def officer(huesign_pki: DevelopmentCA) -> IssuedCertificate:
    """An officer of a Hue ward's people's committee, with an officer certificate."""
    identity = CitizenIdentity(
        common_name="Trần Văn Minh",
        identifiers=(Identifier.cccd("046085012345"),),
        organization="UBND phường Thuận Hóa",
        title="Chuyên viên",
        province=_HUE,
        country="VN",
    )
    return huesign_pki.issue(identity, profile=CertificateProfile.OFFICER)


@pytest.fixture(scope="session")
def agency_seal(huesign_pki: DevelopmentCA) -> IssuedCertificate:
    """The seal (organisation certificate) of a Hue ward's people's committee."""
    identity = CitizenIdentity(
        common_name="UBND phường Thuận Hóa",
        identifiers=(Identifier.tax_code("3001234503"), Identifier.budget_unit("1123456")),
        organization="UBND phường Thuận Hóa",
        province=_HUE,
        country="VN",
    )
    return huesign_pki.issue(identity, profile=CertificateProfile.SEAL)


@pytest.fixture(scope="session")
def pki_services() -> Iterator[DevelopmentCA]:
    """A development CA whose CRLs, OCSP responder and TSA answer over HTTP on loopback.

    The port is bound before the CA is created, so the CRL and OCSP addresses inside its
    certificates reach the running server; ``ca.tsa_url`` is the TSA.  Stopped at the end
    of the session.
    """
    sock = bind_loopback()
    try:
        port = sock.getsockname()[1]
        ca = DevelopmentCA.create(
            name="Huesign Services Test", base_url=f"http://127.0.0.1:{port}/pki"
        )
        with serve_pki_services(ca, sock=sock):
            yield ca
    finally:
        sock.close()
