"""Fixtures shared by the test files: the independent judges and what they need.

Plain helpers (``require_program``, ``pdfsig``, ``nss_db``...) live in ``judges.py`` so that
helper functions, not only tests, can call them.
"""

from __future__ import annotations

import pytest

from huesign.pki import (
    DevelopmentCA,
    IssuedCertificate,
    KeySigner,
    RevocationData,
    RevocationSource,
    TrustStore,
)
from huesign.testing.softhsm import find_softhsm_module
from judges import Run, missing, nss_db, program_runner


@pytest.fixture(scope="session")
def openssl() -> Run:
    """``openssl`` as a function of its arguments (skips, or fails in CI, when missing)."""
    return program_runner("openssl")


@pytest.fixture(scope="session")
def nssdb(pki_services: DevelopmentCA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database (``sql:DIR``) trusting the root of ``pki_services``, for ``pdfsig``."""
    return nss_db(tmp_path_factory.mktemp("nssdb"), pki_services.root.to_pem())


@pytest.fixture
def softhsm_module() -> str:
    """The SoftHSM2 PKCS#11 module path (skips, or fails in CI, when SoftHSM2 is missing)."""
    module = find_softhsm_module()
    if module is None:
        missing("SoftHSM2", "softhsm2")
    return module


# --- the development PKI as most signing tests use it --------------------------------------
# A test module may define a fixture of the same name to use something else.


@pytest.fixture(scope="session")
def signer(citizen: IssuedCertificate) -> KeySigner:
    """The ``citizen`` fixture's key and chain as a signer."""
    return KeySigner(key=citizen.key, certificate=citizen.certificate, chain=citizen.chain)


@pytest.fixture(scope="session")
def trust(huesign_pki: DevelopmentCA) -> TrustStore:
    """A trust store holding only the development root of ``huesign_pki``."""
    return TrustStore.from_certificates([huesign_pki.root])


@pytest.fixture(scope="session")
def revocation(huesign_pki: DevelopmentCA) -> RevocationSource:
    """Offline revocation data: the current CRLs of ``huesign_pki``'s issuing CA and root."""
    return RevocationSource(RevocationData(crls=[huesign_pki.crl(), huesign_pki.crl("root")]))
