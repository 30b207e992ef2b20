"""verify_cms against revocation served over real HTTP (the ``pki_services`` fixture).

Revoked signers before and after the signing time, with and without a timestamp; a revoked
intermediate; an OCSP responder that is down, in hard- and soft-fail mode.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    HashAlgorithm,
    Identifier,
    Indication,
    KeySigner,
    RevocationReason,
    SignatureLevel,
    SubIndication,
    TrustStore,
    ValidationReport,
    sign_cms,
    verify_cms,
)
from huesign.pki.fetch import HTTPFetcher
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.revocation import RevocationSource
from huesign.sandbox import bind_loopback, serve_pki_services

DATA = b"Don de nghi cap ban sao trich luc khai sinh"
NOW = dt.datetime.now(dt.UTC)


class PastTSA:
    """The development CA's TSA, stamping a fixed time in the past."""

    def __init__(self, ca: DevelopmentCA, when: dt.datetime) -> None:
        self.ca, self.when = ca, when

    def timestamp(
        self,
        message_imprint: bytes,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        nonce: int | None = None,
    ) -> bytes:
        return self.ca.timestamp(
            message_imprint, hash_algorithm=hash_algorithm, nonce=nonce, now=self.when
        )


def _signer(ca: DevelopmentCA, cccd: str) -> KeySigner:
    identity = CitizenIdentity(common_name="Phan Văn Lợi", identifiers=(Identifier.cccd(cccd),))
    issued = ca.issue(identity)
    return KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)


@pytest.fixture(scope="module")
def fetcher() -> Iterator[HTTPFetcher]:
    with HTTPFetcher(timeout=2.0) as f:
        yield f


def _verify(
    ca: DevelopmentCA,
    signature: bytes,
    fetcher: HTTPFetcher,
    mode: RevocationMode = RevocationMode.HARD_FAIL,
) -> ValidationReport:
    return verify_cms(
        signature,
        DATA,
        trust=TrustStore.from_certificates([ca.root]),
        policy=ValidationPolicy(revocation_mode=mode),
        revocation=RevocationSource(fetcher=fetcher),
    )


def test_good_signer_passes_with_revocation_evidence(
    pki_services: DevelopmentCA, fetcher: HTTPFetcher
) -> None:
    report = _verify(pki_services, sign_cms(DATA, _signer(pki_services, "046190000001")), fetcher)
    assert report.passed, report.errors
    assert report.revocation
    assert all(e.status == "good" for e in report.revocation)


def test_revoked_before_signing_without_timestamp_fails(
    pki_services: DevelopmentCA, fetcher: HTTPFetcher
) -> None:
    signer = _signer(pki_services, "046190000002")
    pki_services.revoke(signer.certificate, when=NOW - dt.timedelta(minutes=20))
    report = _verify(pki_services, sign_cms(DATA, signer), fetcher)
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication is SubIndication.REVOKED
    assert "Chứng thư số của người ký đã bị thu hồi." in report.summary("vi")


def test_revoked_after_claimed_signing_without_timestamp_is_indeterminate(
    pki_services: DevelopmentCA, fetcher: HTTPFetcher
) -> None:
    signer = _signer(pki_services, "046190000003")
    signature = sign_cms(DATA, signer, signing_time=NOW - dt.timedelta(minutes=30))
    pki_services.revoke(
        signer.certificate,
        reason=RevocationReason.KEY_COMPROMISE,
        when=NOW - dt.timedelta(minutes=10),
    )
    report = _verify(pki_services, signature, fetcher)
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication is SubIndication.REVOKED_NO_POE


def test_revoked_after_timestamp_still_passes(
    pki_services: DevelopmentCA, fetcher: HTTPFetcher
) -> None:
    signer = _signer(pki_services, "046190000004")
    stamped = NOW - dt.timedelta(minutes=30)
    signature = sign_cms(
        DATA, signer, signing_time=stamped, timestamp=PastTSA(pki_services, stamped)
    )
    pki_services.revoke(signer.certificate, when=NOW - dt.timedelta(minutes=10))
    report = _verify(pki_services, signature, fetcher)
    assert report.passed, report.errors
    assert report.level is SignatureLevel.B_T
    assert report.validation_time == report.proven_signing_time


def test_revoked_before_timestamp_fails(pki_services: DevelopmentCA, fetcher: HTTPFetcher) -> None:
    signer = _signer(pki_services, "046190000005")
    pki_services.revoke(signer.certificate, when=NOW - dt.timedelta(minutes=40))
    stamped = NOW - dt.timedelta(minutes=30)
    signature = sign_cms(DATA, signer, timestamp=PastTSA(pki_services, stamped))
    report = _verify(pki_services, signature, fetcher)
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication is SubIndication.REVOKED


def test_revoked_intermediate_fails(fetcher: HTTPFetcher) -> None:
    sock = bind_loopback()
    port = sock.getsockname()[1]
    ca = DevelopmentCA.create(name="Revoked Issuing", base_url=f"http://127.0.0.1:{port}/pki")
    try:
        with serve_pki_services(ca, sock=sock):
            signature = sign_cms(DATA, _signer(ca, "046190000006"))
            ca.revoke(ca.intermediate, reason=RevocationReason.CA_COMPROMISE)
            report = _verify(ca, signature, fetcher)
    finally:
        sock.close()
    assert not report.passed
    assert report.sub_indication in {SubIndication.REVOKED, SubIndication.REVOKED_CA_NO_POE}


@pytest.fixture(scope="module")
def unreachable_ca() -> DevelopmentCA:
    sock = bind_loopback()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    return DevelopmentCA.create(name="Down", base_url=f"http://127.0.0.1:{port}/pki")


def test_responder_down_in_hard_fail_mode_is_try_later(
    unreachable_ca: DevelopmentCA, fetcher: HTTPFetcher
) -> None:
    signature = sign_cms(DATA, _signer(unreachable_ca, "046190000007"))
    report = _verify(unreachable_ca, signature, fetcher, RevocationMode.HARD_FAIL)
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication is SubIndication.TRY_LATER


def test_responder_down_in_soft_fail_mode_passes_with_a_warning(
    unreachable_ca: DevelopmentCA, fetcher: HTTPFetcher
) -> None:
    signature = sign_cms(DATA, _signer(unreachable_ca, "046190000008"))
    report = _verify(unreachable_ca, signature, fetcher, RevocationMode.SOFT_FAIL)
    assert report.passed
    assert report.warnings


def test_tsa_over_http_gives_a_valid_timestamp(
    pki_services: DevelopmentCA, fetcher: HTTPFetcher
) -> None:
    signer = _signer(pki_services, "046190000009")
    report = _verify(pki_services, sign_cms(DATA, signer, timestamp=pki_services.tsa_url), fetcher)
    assert report.passed, report.errors
    assert report.level is SignatureLevel.B_T
