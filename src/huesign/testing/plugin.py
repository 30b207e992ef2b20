"""pytest plugin: fixtures that give a throwaway Vietnamese PKI and signed documents.

Registered through the ``pytest11`` entry point, so installing huesign is enough.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest
from fpdf import FPDF

from huesign.client.csc import CSCClient
from huesign.client.portal import AsyncPortalClient, PortalClient
from huesign.client.remote import CSCSigner
from huesign.client.wallet import WalletClient
from huesign.pki.algorithms import KeyAlgorithm
from huesign.pki.devca import DevelopmentCA, IssuedCertificate
from huesign.pki.identity import CitizenIdentity, Identifier
from huesign.pki.pades import sign_pdf
from huesign.pki.profiles import CertificateProfile
from huesign.pki.signers import KeySigner
from huesign.sandbox.pki_services import bind_loopback, serve_pki_services
from huesign.sandbox.server import RunningSandbox, serve_sandbox
from huesign.sandbox.signing import (
    RunningSigningSandbox,
    SandboxCredential,
    create_signing_app,
    serve_signing_sandbox,
)
from huesign.testing import softhsm

__all__ = [
    "agency_seal",
    "async_portal_client",
    "citizen",
    "csc_signer",
    "huesign_artifacts",
    "huesign_pki",
    "officer",
    "pki_services",
    "portal_client",
    "pytest_addoption",
    "sandbox",
    "signed_pdf",
    "signing_sandbox",
    "softhsm_token",
    "softhsm_tokens",
    "wallet_client",
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


# --- artefacts ---------------------------------------------------------------------------


def _kept_directory(config: pytest.Config) -> Path | None:
    """``--huesign-keep-artifacts DIR`` (``DIR/<worker>`` under pytest-xdist), or ``None``."""
    keep = config.getoption("--huesign-keep-artifacts")
    if not keep:
        return None
    # Each xdist worker runs its own session fixtures (its own CA): keep them apart.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    directory = Path(keep) / worker if worker else Path(keep)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def huesign_artifacts(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The directory where huesign fixtures (and your tests) leave files for inspection.

    ``DIR`` given with ``--huesign-keep-artifacts DIR`` (``DIR/gw0``... under pytest-xdist,
    one per worker), kept after the run; otherwise a temporary directory of the session.
    """
    kept = _kept_directory(request.config)
    return kept if kept is not None else tmp_path_factory.mktemp("huesign-artifacts")


# --- development PKI ---------------------------------------------------------------------

_HUE = "Thành phố Huế"


@pytest.fixture(scope="session")
def huesign_pki(request: pytest.FixtureRequest) -> Iterator[DevelopmentCA]:
    """A development CA (EC P-256 keys), created once per test session.

    With ``--huesign-keep-artifacts DIR`` it is also saved to ``DIR/devca`` (see
    :func:`huesign_artifacts`), at the start and again at the end of the session (with
    everything issued and revoked meanwhile).
    """
    ca = DevelopmentCA.create(name="Huesign Test", key_algorithm=KeyAlgorithm.EC_P256)
    kept = _kept_directory(request.config)
    target = kept / "devca" if kept is not None else None
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
def signed_pdf(citizen: IssuedCertificate, huesign_artifacts: Path) -> Path:
    """A one-page declaration signed by :func:`citizen` (invisible PAdES B-B signature).

    Saved as ``citizen-signed.pdf`` in :func:`huesign_artifacts`; verify it with
    ``TrustStore.from_certificates([huesign_pki.root])`` and ``huesign_pki``'s CRLs.
    """
    pdf = FPDF()
    pdf.set_creation_date(dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    for line in ("To khai dang ky tam tru", "Ho va ten: Nguyen Thi Huong Giang"):
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    signer = KeySigner(key=citizen.key, certificate=citizen.certificate, chain=citizen.chain)
    target = huesign_artifacts / "citizen-signed.pdf"
    sign_pdf(bytes(pdf.output()), signer, output=target)
    return target


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


# --- SoftHSM2 tokens -----------------------------------------------------------------------

# SoftHSM2 keeps token flags in its own store under this vendor attribute (CKA_VENDOR_DEFINED
# + 0x534B), as a big-endian CK_ULONG.  It never locks a PIN itself, so the fixture sets the
# flags a hardware token shows after wrong PINs.
_SOFTHSM_FLAGS_ATTRIBUTE = struct.pack(">QQ", 0x8000534B, 2)
_SOFTHSM_LABEL_ATTRIBUTE = struct.pack(">QQQ", 0x80005349, 3, 32)
_CKF_USER_PIN_FINAL_TRY = 0x00020000
_CKF_USER_PIN_LOCKED = 0x00040000


def _raise_softhsm_flags(tokendir: Path, label: str, flags: int) -> None:
    wanted = _SOFTHSM_LABEL_ATTRIBUTE + label.encode("utf-8").ljust(32)
    for store in tokendir.glob("*/token.object"):
        data = bytearray(store.read_bytes())
        if wanted not in data:
            continue
        at = data.index(_SOFTHSM_FLAGS_ATTRIBUTE) + len(_SOFTHSM_FLAGS_ATTRIBUTE)
        (current,) = struct.unpack(">Q", data[at : at + 8])
        data[at : at + 8] = struct.pack(">Q", current | flags)
        store.write_bytes(bytes(data))
        return
    raise LookupError(f"no SoftHSM2 token labelled {label!r} in {tokendir}")


@pytest.fixture(scope="session")
def softhsm_tokens(
    huesign_pki: DevelopmentCA,
    citizen: IssuedCertificate,
    tmp_path_factory: pytest.TempPathFactory,
) -> Mapping[str, softhsm.SoftHSMToken]:
    """SoftHSM2 tokens for the session, by role (user PIN ``1234``, SO PIN ``5678``):

    - ``"citizen"``: the :func:`citizen`'s EC key (label ``citizen-ec``) and an RSA-2048
      citizen key (``citizen-rsa``), each with its certificate under a shared ``CKA_ID``;
    - ``"locked"``: an empty token whose user PIN is reported locked;
    - ``"final_try"``: an empty token that reports one PIN try left;
    - ``"mixed"``: a certificate stored under the ``CKA_ID`` of another key (so neither has
      its partner) and an expired certificate with its key.

    SoftHSM2 reads ``SOFTHSM2_CONF`` once per process, so every token is made before the
    module is first loaded, and this process keeps ``SOFTHSM2_CONF`` pointing at them.
    Skips when SoftHSM2 is missing, or fails when ``HUESIGN_REQUIRE_JUDGES=1``.
    """
    if softhsm.find_softhsm_module() is None or shutil.which("softhsm2-util") is None:
        if os.environ.get("HUESIGN_REQUIRE_JUDGES") == "1":
            pytest.fail("SoftHSM2 is required here (HUESIGN_REQUIRE_JUDGES=1) but not installed")
        pytest.skip("SoftHSM2 is not installed (apt-get install softhsm2)")
    root = tmp_path_factory.mktemp("softhsm")
    # This process's SoftHSM2 must see these tokens, not a configuration of the machine's.
    os.environ.pop("SOFTHSM2_CONF", None)
    rsa_citizen = huesign_pki.issue(
        CitizenIdentity(
            common_name="Lê Văn Thành",
            identifiers=(Identifier.cccd("046092004321"),),
            province=_HUE,
            country="VN",
        ),
        key_algorithm=KeyAlgorithm.RSA_2048,
    )
    stray = huesign_pki.issue(citizen.certificate.identity)
    lost = huesign_pki.issue(citizen.certificate.identity)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    expired = huesign_pki.issue(
        citizen.certificate.identity, now=past, validity=dt.timedelta(days=30)
    )
    made = {
        role: softhsm.create_softhsm_token(root, label=f"huesign-{role.replace('_', '-')}")
        for role in ("locked", "final_try", "mixed")
    }
    tokendir = root / "tokens"
    _raise_softhsm_flags(tokendir, "huesign-locked", _CKF_USER_PIN_LOCKED)
    _raise_softhsm_flags(tokendir, "huesign-final-try", _CKF_USER_PIN_FINAL_TRY)
    made["citizen"] = softhsm.create_softhsm_token(
        root,
        label="huesign-citizen",
        objects=[
            ("citizen-ec", citizen.key, citizen.certificate),
            ("citizen-rsa", rsa_citizen.key, rsa_citizen.certificate),
        ],
    )
    # The module is loaded now: the remaining objects go in through the same process.
    made["mixed"] = softhsm.import_into_token(
        made["mixed"],
        [("stray", stray.key, lost.certificate), ("expired", expired.key, expired.certificate)],
    )
    return made


@pytest.fixture(scope="session")
def softhsm_token(softhsm_tokens: Mapping[str, softhsm.SoftHSMToken]) -> softhsm.SoftHSMToken:
    """The SoftHSM2 token holding the citizens' EC and RSA keys (see :func:`softhsm_tokens`)."""
    return softhsm_tokens["citizen"]


# --- portal and wallet sandbox -------------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """The whole sandbox (portal, wallet, PKI services, signing provider) on loopback.

    One per session, with an in-memory store and its own development CA; tests create
    their own dossiers and never depend on each other's.
    """
    with serve_sandbox() as running:
        yield running


@pytest.fixture
def portal_client(sandbox: RunningSandbox) -> Iterator[PortalClient]:
    """A :class:`~huesign.client.PortalClient` of :func:`sandbox` as its test citizen."""
    with PortalClient(
        base_url=sandbox.portal_url, token=sandbox.credentials.citizen_token
    ) as client:
        yield client


@pytest.fixture
async def async_portal_client(sandbox: RunningSandbox) -> AsyncIterator[AsyncPortalClient]:
    """An :class:`~huesign.client.AsyncPortalClient` of :func:`sandbox` as its test citizen
    (use it from ``@pytest.mark.anyio`` tests)."""
    async with AsyncPortalClient(
        base_url=sandbox.portal_url, token=sandbox.credentials.citizen_token
    ) as client:
        yield client


@pytest.fixture
def wallet_client(sandbox: RunningSandbox) -> Iterator[WalletClient]:
    """A :class:`~huesign.client.WalletClient` of :func:`sandbox` with the merchant's key."""
    with WalletClient(
        base_url=sandbox.wallet_url, api_key=sandbox.credentials.merchant_api_key
    ) as client:
        yield client


# --- remote signing ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def signing_sandbox(
    huesign_pki: DevelopmentCA, citizen: IssuedCertificate
) -> Iterator[RunningSigningSandbox]:
    """The remote-signing sandbox (CSC v1/v2 and sp769) on loopback, for the ``citizen``.

    The citizen's credential is ``cred-046190001234`` (user ``046190001234``, password
    ``password``, PIN ``123456``, SCAL 2).  The sp769 account is ``huesign-sp`` /
    ``sandbox-sp-secret``.  Stopped at the end of the session.
    """
    app = create_signing_app(huesign_pki, citizens=[SandboxCredential.for_citizen(citizen)])
    with serve_signing_sandbox(app) as running:
        yield running


@pytest.fixture(scope="session")
def csc_signer(signing_sandbox: RunningSigningSandbox) -> Iterator[CSCSigner]:
    """A :class:`~huesign.client.CSCSigner` for the ``citizen``'s SCAL 2 credential (CSC v1)."""
    with CSCClient(signing_sandbox.base_url) as client:
        client.login("046190001234", "password")
        yield CSCSigner.connect(client, "cred-046190001234", pin="123456")
