"""Revocation checking: CRLs (RFC 5280 6.3) and OCSP (RFC 6960), offline and over HTTP."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from tests.pkihelpers import NOW, Chain, Node, crl, issue, standard_chain

from huesign.pki import (
    Certificate,
    CitizenIdentity,
    DevelopmentCA,
    HTTPFetcher,
    Identifier,
    IssuedCertificate,
    RevocationData,
    RevocationMode,
    RevocationReason,
    RevocationSource,
    RevocationSourceType,
    RevocationStatus,
    SubIndication,
    TrustStore,
    ValidationPolicy,
    build_ocsp_request,
    validate_path,
)
from huesign.pki.fetch import Method
from judges import require_program

HARD = ValidationPolicy()
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return standard_chain("Revocation")


def run(
    chain: Chain,
    leaf: Node | None = None,
    *crls: bytes,
    policy: ValidationPolicy = HARD,
    at: dt.datetime = NOW,
    extra: tuple[Node, ...] = (),
):
    return validate_path(
        (leaf or chain.leaf).cert,
        trust=TrustStore.from_certificates([chain.root.cert]),
        intermediates=[chain.intermediate.cert, *(n.cert for n in extra)],
        at=at,
        policy=policy,
        revocation=RevocationSource(RevocationData(crls=crls)),
    )


# -- CRLs ----------------------------------------------------------------------------------


def test_crl_listing_the_leaf_makes_it_revoked_with_time_reason_and_evidence(chain: Chain) -> None:
    leaf = issue("CN=Revoked Citizen", chain.intermediate, ca=False)
    when = NOW - 10 * DAY
    leaf_crl = crl(chain.intermediate, [(leaf.cert, when)])
    result = run(chain, leaf, crl(chain.root), leaf_crl)
    assert result.sub_indication is SubIndication.REVOKED
    check = result.revocation[0]
    assert check.certificate == leaf.cert
    assert check.status is RevocationStatus.REVOKED
    assert check.source is RevocationSourceType.CRL
    assert check.revocation_time == when
    assert check.reason == "keyCompromise"
    assert check.evidence == (leaf_crl,)


def test_revoked_intermediate_is_revoked_ca_no_poe(chain: Chain) -> None:
    root_crl = crl(chain.root, [(chain.intermediate.cert, NOW - DAY)])
    result = run(chain, None, root_crl, crl(chain.intermediate))
    assert result.sub_indication is SubIndication.REVOKED_CA_NO_POE
    assert "Revocation Issuing CA" in result.errors[0]


def test_revocation_after_the_validation_time_only_warns(chain: Chain) -> None:
    leaf = issue("CN=Later Revoked", chain.intermediate, ca=False)
    later = crl(chain.intermediate, [(leaf.cert, NOW + DAY)], this_update=NOW + 2 * DAY)
    result = run(chain, leaf, crl(chain.root), later)
    assert result.valid
    assert any("revoked after the validation time" in w for w in result.warnings)


def test_crl_signed_by_another_key_is_not_used(chain: Chain) -> None:
    impostor = issue("CN=Revocation Issuing CA,O=Huesign Tests,C=VN")
    forged = crl(chain.intermediate, signer=impostor.key)
    result = run(chain, None, crl(chain.root), forged)
    assert result.sub_indication is SubIndication.TRY_LATER


def test_stale_crl_is_not_used(chain: Chain) -> None:
    stale = crl(chain.intermediate, this_update=NOW - 30 * DAY, next_update=NOW - 20 * DAY)
    assert run(chain, None, crl(chain.root), stale).sub_indication is SubIndication.TRY_LATER


def test_crl_issued_after_the_validation_time_is_used(chain: Chain) -> None:
    later = crl(chain.intermediate, this_update=NOW + 5 * DAY, next_update=NOW + 6 * DAY)
    assert run(chain, None, crl(chain.root), later).valid


def test_crl_with_unknown_critical_extension_is_not_used(chain: Chain) -> None:
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.7"), b"\x05\x00")
    bad = crl(chain.intermediate, extensions=[(odd, True)])
    assert run(chain, None, crl(chain.root), bad).sub_indication is SubIndication.TRY_LATER


def test_crl_entry_with_unknown_critical_extension_is_not_used(chain: Chain) -> None:
    leaf = issue("CN=Odd Entry", chain.intermediate, ca=False)
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.8"), b"\x05\x00")
    bad = crl(chain.intermediate, [(leaf.cert, NOW - DAY)], entry_extensions=[(odd, True)])
    assert run(chain, leaf, crl(chain.root), bad).sub_indication is SubIndication.TRY_LATER


def test_unreadable_crl_bytes_are_ignored_not_raised(chain: Chain) -> None:
    result = run(chain, None, b"\x30\x03garbage", crl(chain.root), crl(chain.intermediate))
    assert result.valid


def test_soft_fail_turns_missing_revocation_data_into_a_warning(chain: Chain) -> None:
    result = run(
        chain,
        None,
        crl(chain.root),
        policy=ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL),
    )
    assert result.valid
    assert result.revocation[0].status is RevocationStatus.UNKNOWN
    assert any("revocation status unknown" in w for w in result.warnings)


def test_crl_signed_by_a_separate_validated_crl_signer_is_used(chain: Chain) -> None:
    signer = issue(
        "CN=Revocation Issuing CA,O=Huesign Tests,C=VN",
        chain.root,
        key_usage="ca",
    )
    leaf = issue("CN=Separate Keys", chain.intermediate, ca=False)
    by_signer = crl(Node(signer.cert, signer.key), [(leaf.cert, NOW - DAY)])
    result = run(chain, leaf, crl(chain.root), by_signer, extra=(signer,))
    assert result.sub_indication is SubIndication.REVOKED


def test_crl_signer_without_crl_sign_usage_is_not_trusted(chain: Chain) -> None:
    signer = issue("CN=Revocation Issuing CA,O=Huesign Tests,C=VN", chain.root, key_usage="sign")
    by_signer = crl(Node(signer.cert, signer.key))
    result = run(chain, None, crl(chain.root), by_signer, extra=(signer,))
    assert result.sub_indication is SubIndication.TRY_LATER


def test_delta_crl_revocation_is_seen(chain: Chain) -> None:
    leaf = issue("CN=Delta Revoked", chain.intermediate, ca=False)
    base = crl(chain.intermediate, number=10)
    delta = crl(
        chain.intermediate,
        [(leaf.cert, NOW - DAY)],
        number=11,
        extensions=[(x509.DeltaCRLIndicator(10), True)],
    )
    result = run(chain, leaf, crl(chain.root), base, delta)
    assert result.sub_indication is SubIndication.REVOKED
    assert result.revocation[0].evidence == (base, delta)


def test_delta_crl_remove_from_crl_lifts_a_hold(chain: Chain) -> None:
    leaf = issue("CN=On Hold", chain.intermediate, ca=False)
    base = crl(
        chain.intermediate,
        [(leaf.cert, NOW - 5 * DAY)],
        number=20,
        reason=x509.ReasonFlags.certificate_hold,
    )
    delta = crl(
        chain.intermediate,
        [(leaf.cert, NOW - DAY)],
        number=21,
        reason=x509.ReasonFlags.remove_from_crl,
        extensions=[(x509.DeltaCRLIndicator(20), True)],
    )
    assert run(chain, leaf, crl(chain.root), base).sub_indication is SubIndication.REVOKED
    assert run(chain, leaf, crl(chain.root), base, delta).valid


def test_a_delta_crl_alone_is_not_a_complete_crl(chain: Chain) -> None:
    delta = crl(chain.intermediate, number=31, extensions=[(x509.DeltaCRLIndicator(30), True)])
    assert run(chain, None, crl(chain.root), delta).sub_indication is SubIndication.TRY_LATER


# -- OCSP (development CA) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def devca() -> DevelopmentCA:
    return DevelopmentCA.create(name="Revocation Test")


def _citizen(ca: DevelopmentCA, cccd: str) -> IssuedCertificate:
    return ca.issue(CitizenIdentity(common_name="Lê Thị Hoa", identifiers=(Identifier.cccd(cccd),)))


def _ocsp_validate(
    ca: DevelopmentCA, leaf: Certificate, *responses: bytes, policy: ValidationPolicy = HARD
):
    return validate_path(
        leaf,
        trust=TrustStore.from_certificates([ca.root]),
        intermediates=[ca.intermediate],
        policy=policy,
        revocation=RevocationSource(RevocationData(ocsp_responses=responses)),
    )


def _answers(ca: DevelopmentCA, leaf: Certificate) -> tuple[bytes, bytes]:
    return (
        ca.ocsp_response(build_ocsp_request(leaf, ca.intermediate)),
        ca.ocsp_response(build_ocsp_request(ca.intermediate, ca.root, hash_algorithm="sha256")),
    )


def test_ocsp_good_from_a_delegated_responder_validates(devca: DevelopmentCA) -> None:
    leaf = _citizen(devca, "046090000101").certificate
    result = _ocsp_validate(devca, leaf, *_answers(devca, leaf))
    assert result.valid, result.errors
    assert [c.source for c in result.revocation] == [RevocationSourceType.OCSP] * 2


def test_ocsp_revoked_gives_time_and_reason(devca: DevelopmentCA) -> None:
    leaf = _citizen(devca, "046090000102").certificate
    devca.revoke(leaf, reason=RevocationReason.KEY_COMPROMISE)
    result = _ocsp_validate(devca, leaf, *_answers(devca, leaf))
    assert result.sub_indication is SubIndication.REVOKED
    assert result.revocation[0].reason == "keyCompromise"
    assert result.revocation[0].revocation_time is not None


def test_ocsp_response_about_another_certificate_is_not_used(devca: DevelopmentCA) -> None:
    leaf = _citizen(devca, "046090000103").certificate
    other = _citizen(devca, "046090000104").certificate
    _, for_ca = _answers(devca, leaf)
    wrong = devca.ocsp_response(build_ocsp_request(other, devca.intermediate))
    assert _ocsp_validate(devca, leaf, wrong, for_ca).sub_indication is SubIndication.TRY_LATER


def test_tampered_ocsp_response_is_not_used(devca: DevelopmentCA) -> None:
    leaf = _citizen(devca, "046090000105").certificate
    good, for_ca = _answers(devca, leaf)
    tampered = good[:-5] + bytes(b ^ 0x55 for b in good[-5:])
    assert _ocsp_validate(devca, leaf, tampered, for_ca).sub_indication is SubIndication.TRY_LATER


def test_ocsp_responder_without_ocsp_signing_is_not_trusted(devca: DevelopmentCA) -> None:
    leaf = _citizen(devca, "046090000106")
    _, for_ca = _answers(devca, leaf.certificate)
    # A certificate the issuing CA gave to a citizen cannot answer for other citizens.
    forged = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf.certificate.to_cryptography(),
            issuer=devca.intermediate.to_cryptography(),
            algorithm=hashes.SHA1(),  # noqa: S303
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=dt.datetime.now(dt.UTC),
            next_update=dt.datetime.now(dt.UTC) + DAY,
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, leaf.certificate.to_cryptography())
        .certificates([leaf.certificate.to_cryptography()])
        .sign(leaf.key.to_cryptography(), hashes.SHA256())  # type: ignore[arg-type]
        .public_bytes(serialization.Encoding.DER)
    )
    result = _ocsp_validate(devca, leaf.certificate, forged, for_ca)
    assert result.sub_indication is SubIndication.TRY_LATER


def test_ocsp_request_is_readable_by_openssl(devca: DevelopmentCA, tmp_path: Path) -> None:
    openssl = require_program("openssl")
    leaf = _citizen(devca, "046090000107").certificate
    (tmp_path / "req.der").write_bytes(
        build_ocsp_request(leaf, devca.intermediate, nonce=b"n" * 16)
    )
    done = subprocess.run(
        [openssl, "ocsp", "-reqin", "req.der", "-req_text"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"{leaf.serial_number:X}" in done.stdout.replace(":", "").upper()
    assert "Nonce" in done.stdout


# -- over HTTP (the sandbox's PKI services on loopback) -------------------------------------


class CountingFetcher:
    """Counts the requests it passes on to a real fetcher."""

    def __init__(self, inner: HTTPFetcher) -> None:
        self.inner = inner
        self.calls = 0

    def fetch(
        self,
        url: str,
        *,
        method: Method = "GET",
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        self.calls += 1
        return self.inner.fetch(url, method=method, body=body, content_type=content_type)


def _network(ca: DevelopmentCA, leaf: Certificate, mode: RevocationMode, fetcher: CountingFetcher):
    return validate_path(
        leaf,
        trust=TrustStore.from_certificates([ca.root]),
        intermediates=[ca.intermediate],
        policy=ValidationPolicy(revocation_mode=mode),
        revocation=RevocationSource(fetcher=fetcher),
    )


def test_hard_fail_fetches_ocsp_over_http(pki_services: DevelopmentCA) -> None:
    leaf = _citizen(pki_services, "046090000201").certificate
    with HTTPFetcher(timeout=5) as http:
        fetcher = CountingFetcher(http)
        result = _network(pki_services, leaf, RevocationMode.HARD_FAIL, fetcher)
    assert result.valid, result.errors
    assert result.revocation[0].source is RevocationSourceType.OCSP
    assert fetcher.calls >= 1


def test_revocation_is_seen_over_http(pki_services: DevelopmentCA) -> None:
    leaf = _citizen(pki_services, "046090000202").certificate
    pki_services.revoke(leaf)
    with HTTPFetcher(timeout=5) as http:
        result = _network(pki_services, leaf, RevocationMode.HARD_FAIL, CountingFetcher(http))
    assert result.sub_indication is SubIndication.REVOKED


def test_offline_mode_never_uses_the_network(pki_services: DevelopmentCA) -> None:
    leaf = _citizen(pki_services, "046090000203").certificate
    with HTTPFetcher(timeout=5) as http:
        fetcher = CountingFetcher(http)
        result = _network(pki_services, leaf, RevocationMode.OFFLINE, fetcher)
    assert fetcher.calls == 0
    assert result.sub_indication is SubIndication.TRY_LATER


def test_unreachable_responder_is_try_later_in_hard_fail(devca: DevelopmentCA) -> None:
    leaf = _citizen(devca, "046090000204").certificate  # points at a port nobody serves
    with HTTPFetcher(timeout=1) as http:
        result = _network(devca, leaf, RevocationMode.HARD_FAIL, CountingFetcher(http))
    assert result.sub_indication is SubIndication.TRY_LATER
    assert "asked" in result.errors[0]


# -- the independent judge ---------------------------------------------------------------------


@pytest.mark.parametrize("revoked", [False, True])
def test_openssl_agrees_on_crl_revocation(chain: Chain, tmp_path: Path, revoked: bool) -> None:
    openssl = require_program("openssl")
    leaf = issue("CN=Judged", chain.intermediate, ca=False)
    listed = [(leaf.cert, NOW - DAY)] if revoked else []
    crls = (crl(chain.root), crl(chain.intermediate, listed))
    pem = b"".join(x509.load_der_x509_crl(c).public_bytes(serialization.Encoding.PEM) for c in crls)
    (tmp_path / "crls.pem").write_bytes(pem)
    (tmp_path / "root.pem").write_bytes(chain.root.cert.to_pem())
    (tmp_path / "inter.pem").write_bytes(chain.intermediate.cert.to_pem())
    (tmp_path / "leaf.pem").write_bytes(leaf.cert.to_pem())
    done = subprocess.run(
        [openssl, "verify", "-CAfile", "root.pem", "-untrusted", "inter.pem", "-crl_check_all",
         "-CRLfile", "crls.pem", "-attime", str(int(NOW.timestamp())), "-purpose", "any",
         "leaf.pem"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    ours = run(chain, leaf, *crls)
    assert (done.returncode == 0) is ours.valid is (not revoked)
