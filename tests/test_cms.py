"""sign_cms and verify_cms in process: levels, algorithms, streaming and every failure verdict.

Revocation here uses CRLs supplied by the caller (offline policy); revocation over real HTTP
is in ``test_cms_services.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import cms as a_cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huesign.errors import SignatureValidationError, SigningError
from huesign.pki import (
    CertificateProfile,
    CitizenIdentity,
    CommitmentType,
    DevelopmentCA,
    DigestToSign,
    HashAlgorithm,
    Identifier,
    Indication,
    KeyAlgorithm,
    KeySigner,
    RSAPadding,
    SignatureAlgorithm,
    SignatureLevel,
    SignerLocation,
    SubIndication,
    TrustStore,
    ValidationReport,
    as_async_signer,
    sign_cms,
    sign_cms_async,
    verify_cms,
)
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.revocation import RevocationData, RevocationSource

DATA = "Tờ khai đăng ký khai sinh — Phường Thuận Hóa, Huế".encode() * 20
OFFLINE = ValidationPolicy(revocation_mode=RevocationMode.OFFLINE)


def _person(cccd: str = "046190001234") -> CitizenIdentity:
    return CitizenIdentity(
        common_name="Nguyễn Thị Hương Giang", identifiers=(Identifier.cccd(cccd),), country="VN"
    )


def _signer(ca: DevelopmentCA, algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256) -> KeySigner:
    issued = ca.issue(_person(), key_algorithm=algorithm)
    return KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)


def _verify(
    ca: DevelopmentCA, signature: bytes, data: object = DATA, **kw: object
) -> ValidationReport:
    revocation = RevocationSource(RevocationData(crls=[ca.crl(), ca.crl("root")]))
    return verify_cms(
        signature,
        data,  # type: ignore[arg-type]
        trust=TrustStore.from_certificates([ca.root]),
        policy=OFFLINE,
        revocation=revocation,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create(name="CMS Test")


@pytest.fixture(scope="module")
def signer(ca: DevelopmentCA) -> KeySigner:
    return _signer(ca)


@pytest.fixture(scope="module")
def rsa_signer(ca: DevelopmentCA) -> KeySigner:
    return _signer(ca, KeyAlgorithm.RSA_2048)


# --- what passes -------------------------------------------------------------------------


def test_detached_signature_passes_at_level_b_b(ca: DevelopmentCA, signer: KeySigner) -> None:
    report = _verify(ca, sign_cms(DATA, signer))
    assert report.indication is Indication.TOTAL_PASSED
    assert report.level is SignatureLevel.B_B
    assert report.signer is not None
    assert report.signer.cccd == "046190001234"
    assert [c.subject for c in report.chain][-1] == ca.root.subject_text


def test_attached_signature_carries_the_content_and_passes(
    ca: DevelopmentCA, signer: KeySigner
) -> None:
    signature = sign_cms(DATA, signer, attached=True)
    parsed = a_cms.ContentInfo.load(signature)
    assert parsed["content"]["encap_content_info"]["content"].native == DATA
    assert _verify(ca, signature, None).passed


def test_timestamped_signature_reaches_b_t_with_proven_time(
    ca: DevelopmentCA, signer: KeySigner
) -> None:
    report = _verify(ca, sign_cms(DATA, signer, timestamp=ca))
    assert report.passed
    assert report.level is SignatureLevel.B_T
    assert report.proven_signing_time is not None
    assert report.timestamps[0].valid


@pytest.mark.parametrize(
    ("key_algorithm", "algorithm"),
    [
        (KeyAlgorithm.RSA_2048, SignatureAlgorithm.RSA_PKCS1V15_SHA256),
        (KeyAlgorithm.RSA_2048, SignatureAlgorithm.RSA_PSS_SHA256),
        (KeyAlgorithm.RSA_2048, SignatureAlgorithm.RSA_PKCS1V15_SHA512),
        (KeyAlgorithm.EC_P256, SignatureAlgorithm.ECDSA_SHA384),
        (KeyAlgorithm.EC_P384, SignatureAlgorithm.ECDSA_SHA512),
        (KeyAlgorithm.ED25519, SignatureAlgorithm.ED25519),
    ],
)
def test_each_supported_algorithm_signs_and_verifies(
    ca: DevelopmentCA,
    rsa_signer: KeySigner,
    key_algorithm: KeyAlgorithm,
    algorithm: SignatureAlgorithm,
) -> None:
    signer = rsa_signer if key_algorithm is KeyAlgorithm.RSA_2048 else _signer(ca, key_algorithm)
    report = _verify(ca, sign_cms(DATA, signer, algorithm=algorithm))
    assert report.passed, report.errors
    assert report.signature_algorithm == algorithm.value
    assert report.digest_algorithm == algorithm.hash_algorithm.value


def test_optional_attributes_keep_the_signature_valid(ca: DevelopmentCA, signer: KeySigner) -> None:
    signature = sign_cms(
        DATA,
        signer,
        commitment_type=CommitmentType.PROOF_OF_APPROVAL,
        signer_location=SignerLocation(country="VN", locality="Huế", postal_address=["Lê Lợi"]),
        claimed_roles=["Công dân"],
    )
    attrs = a_cms.ContentInfo.load(signature)["content"]["signer_infos"][0]["signed_attrs"]
    oids = {a["type"].dotted for a in attrs}
    assert {"1.2.840.113549.1.9.16.2.16", "1.2.840.113549.1.9.16.2.17"} <= oids
    assert "0.4.0.19122.1.1" in oids
    assert _verify(ca, signature).passed


def test_signed_attributes_include_algorithm_protection_and_signing_certificate_v2(
    signer: KeySigner,
) -> None:
    signer_info = a_cms.ContentInfo.load(sign_cms(DATA, signer))["content"]["signer_infos"][0]
    names = {a["type"].native for a in signer_info["signed_attrs"]}
    assert {"cms_algorithm_protection", "signing_certificate_v2", "signing_time"} <= names


def test_async_signing_gives_a_valid_signature(ca: DevelopmentCA, signer: KeySigner) -> None:
    signature = asyncio.run(sign_cms_async(DATA, as_async_signer(signer), timestamp=ca))
    report = _verify(ca, signature)
    assert report.passed
    assert report.level is SignatureLevel.B_T


# --- streaming ---------------------------------------------------------------------------


def test_file_path_and_chunks_are_hashed_like_bytes(
    ca: DevelopmentCA, signer: KeySigner, tmp_path: Path
) -> None:
    path = tmp_path / "form.bin"
    path.write_bytes(DATA)
    signature = sign_cms(path, signer)
    assert _verify(ca, signature, io.BytesIO(DATA)).passed
    assert _verify(ca, signature, iter([DATA[:100], DATA[100:]])).passed
    assert _verify(ca, signature, path).passed


def test_memory_does_not_grow_with_streamed_data(signer: KeySigner) -> None:
    chunk = b"\x00" * (1 << 20)

    def chunks() -> Iterator[bytes]:
        for _ in range(48):
            yield chunk

    tracemalloc.start()
    try:
        sign_cms(chunks(), signer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # 48 MiB hashed, a few MiB at most held


# --- failures ----------------------------------------------------------------------------


def test_tampered_content_is_a_hash_failure(ca: DevelopmentCA, signer: KeySigner) -> None:
    report = _verify(ca, sign_cms(DATA, signer), DATA + b".")
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication is SubIndication.HASH_FAILURE


def test_tampered_signature_value_is_a_crypto_failure(
    ca: DevelopmentCA, rsa_signer: KeySigner
) -> None:
    info = a_cms.ContentInfo.load(sign_cms(DATA, rsa_signer))
    signer_info = info["content"]["signer_infos"][0]
    value = bytearray(signer_info["signature"].native)
    value[10] ^= 1
    signer_info["signature"] = bytes(value)
    report = _verify(ca, info.dump(force=True))
    assert report.sub_indication is SubIndication.SIG_CRYPTO_FAILURE


def test_detached_signature_without_data_has_no_signed_data(
    ca: DevelopmentCA, signer: KeySigner
) -> None:
    report = _verify(ca, sign_cms(DATA, signer), None)
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication is SubIndication.SIGNED_DATA_NOT_FOUND


def test_untrusted_root_gives_no_chain(ca: DevelopmentCA, signer: KeySigner) -> None:
    other = DevelopmentCA.create(name="Other Root")
    report = verify_cms(
        sign_cms(DATA, signer),
        DATA,
        trust=TrustStore.from_certificates([other.root]),
        policy=OFFLINE,
    )
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


def test_expired_signer_certificate_without_timestamp_does_not_pass() -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=800)
    old_ca = DevelopmentCA.create(name="Old CA", now=past)
    issued = old_ca.issue(_person(), validity=dt.timedelta(days=30), now=past)
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    report = _verify(old_ca, sign_cms(DATA, signer, signing_time=past))
    assert not report.passed
    assert report.sub_indication in {
        SubIndication.EXPIRED,
        SubIndication.OUT_OF_BOUNDS_NO_POE,
        SubIndication.OUT_OF_BOUNDS_NOT_REVOKED,
    }


def test_tsa_certificate_cannot_sign_documents(ca: DevelopmentCA) -> None:
    issued = ca.issue(_person(), profile=CertificateProfile.TSA)
    tsa = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    report = _verify(ca, sign_cms(DATA, tsa))
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE


def test_signer_returning_a_wrong_signature_is_refused(
    ca: DevelopmentCA, signer: KeySigner
) -> None:
    class Liar:
        certificate = signer.certificate
        chain = signer.chain
        algorithms = signer.algorithms

        def sign_digest(self, request: DigestToSign) -> bytes:
            return b"\x30\x06\x02\x01\x01\x02\x01\x01"

        def sign_digests(self, requests: object) -> tuple[bytes, ...]:
            raise NotImplementedError

    with pytest.raises(SigningError):
        sign_cms(DATA, Liar())


def test_unknown_algorithm_for_the_signer_is_a_value_error(signer: KeySigner) -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        sign_cms(DATA, signer, algorithm=SignatureAlgorithm.RSA_PSS_SHA256)


def test_raise_for_failure_carries_the_report(ca: DevelopmentCA, signer: KeySigner) -> None:
    report = _verify(ca, sign_cms(DATA, signer), b"other")
    with pytest.raises(SignatureValidationError) as info:
        report.raise_for_failure()
    assert info.value.report is report


def test_openssl_style_signature_without_attributes_verifies(
    ca: DevelopmentCA, signer: KeySigner
) -> None:
    # RFC 5652 allows a SignerInfo without signed attributes: the signature covers the data.
    info = a_cms.ContentInfo.load(sign_cms(DATA, signer, attached=True))
    signer_info = info["content"]["signer_infos"][0]
    request = DigestToSign.for_message(DATA, SignatureAlgorithm.ECDSA_SHA256)
    signer_info["signed_attrs"] = None
    signer_info["signature"] = signer.sign_digest(request)
    report = _verify(ca, info.dump(force=True), None)
    assert report.passed
    assert report.level is None
    assert any(w.code == "no_signing_certificate_v2" for w in report.warnings)


def test_hash_choice_follows_the_signer_preference(ca: DevelopmentCA) -> None:
    issued = ca.issue(_person(), key_algorithm=KeyAlgorithm.RSA_2048)
    signer = KeySigner(
        key=issued.key,
        certificate=issued.certificate,
        chain=issued.chain,
        rsa_padding=RSAPadding.PSS,
        hash_algorithm=HashAlgorithm.SHA384,
    )
    report = _verify(ca, sign_cms(DATA, signer))
    assert report.signature_algorithm == "rsa-pss-sha384"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=4096), attached=st.booleans(), flip=st.integers(min_value=0))
def test_generated_signatures_verify_and_changed_data_does_not(
    ca: DevelopmentCA, signer: KeySigner, data: bytes, attached: bool, flip: int
) -> None:
    signature = sign_cms(data, signer, attached=attached)
    assert _verify(ca, signature, None if attached else data).passed
    changed = bytearray(data + b"!")
    changed[flip % len(changed)] ^= 0x01
    report = _verify(ca, signature, bytes(changed))
    assert report.sub_indication is SubIndication.HASH_FAILURE


def test_explicit_validation_time_is_used_and_stated(ca: DevelopmentCA, signer: KeySigner) -> None:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    report = _verify(ca, sign_cms(DATA, signer), at=when)
    assert report.passed
    assert report.validation_time == when


def test_intermediate_given_separately_completes_the_chain(ca: DevelopmentCA) -> None:
    issued = ca.issue(_person())
    bare = KeySigner(key=issued.key, certificate=issued.certificate)  # no chain embedded
    signature = sign_cms(DATA, bare)
    assert not _verify(ca, signature).passed
    assert _verify(ca, signature, extra_certificates=[ca.intermediate]).passed
