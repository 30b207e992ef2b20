"""The development CA: what it issues, revokes, and answers (checked with our own parsers).

Independent checks with openssl live in ``test_devca_judges.py``.
"""

from __future__ import annotations

import datetime as dt
import doctest
import hashlib
import os
import stat
import threading
import unicodedata
from pathlib import Path

import pytest
from asn1crypto import cms as a_cms
from asn1crypto import core as a_core
from asn1crypto import ocsp as a_ocsp
from asn1crypto import tsp as a_tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huesign.errors import CertificateError, KeyLoadError
from huesign.pki import (
    DEVELOPMENT_CERTIFICATE_POLICY,
    DEVELOPMENT_TSA_POLICY,
    Certificate,
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    HashAlgorithm,
    Identifier,
    IssuedCertificate,
    KeyAlgorithm,
    KeyUsage,
    PrivateKey,
    RevocationReason,
)
from huesign.pki import devca as devca_module
from huesign.testing.strategies import identifiers

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
BASE = "https://pki.example.vn/dev"


def _person(name: str = "Lê Văn Tám", cccd: str = "046085000123") -> CitizenIdentity:
    return CitizenIdentity(common_name=name, identifiers=(Identifier.cccd(cccd),), country="VN")


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create(name="Kiểm thử", base_url=BASE + "/", now=NOW)


@pytest.fixture(scope="module")
def leaf(ca: DevelopmentCA) -> IssuedCertificate:
    return ca.issue(_person(), now=NOW)


@pytest.fixture(scope="module")
def leaf_key() -> PrivateKey:
    return PrivateKey.generate(KeyAlgorithm.EC_P256)


def _ocsp_request(cert: Certificate, issuer: Certificate, *, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        cert.to_cryptography(),
        issuer.to_cryptography(),
        hashes.SHA1(),  # noqa: S303 - the CertID hash every OCSP client sends
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _single(ca: DevelopmentCA, cert: Certificate, issuer: Certificate) -> ocsp.OCSPResponse:
    return ocsp.load_der_ocsp_response(ca.ocsp_response(_ocsp_request(cert, issuer), now=NOW))


def _tst_info(token: bytes) -> a_tsp.TSTInfo:
    content = a_cms.ContentInfo.load(token)["content"]
    return content["encap_content_info"]["content"].parsed


def _ts_request(digest: bytes, **fields: object) -> bytes:
    req = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        **fields,
    }
    return bytes(a_tsp.TimeStampReq(req).dump())


# --- the hierarchy ---------------------------------------------------------------------------


def test_root_is_a_self_signed_ca_with_path_length_one(ca: DevelopmentCA) -> None:
    root = ca.root
    assert root.is_self_issued
    assert root.is_signed_by(root)
    assert (root.is_ca, root.path_length) == (True, 1)
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Kiểm thử Root CA"
    assert root.identity.organization == "Kiểm thử"
    assert root.identity.country == "VN"


def test_intermediate_is_issued_by_root_with_path_length_zero(ca: DevelopmentCA) -> None:
    inter = ca.intermediate
    assert inter.is_issued_by(ca.root)
    assert (inter.is_ca, inter.path_length) == (True, 0)
    assert inter.identity.common_name == "Kiểm thử Issuing CA"
    assert inter.authority_key_identifier == ca.root.subject_key_identifier


def test_ca_certificates_may_sign_certificates_and_crls(ca: DevelopmentCA) -> None:
    for cert in ca.chain:
        assert cert.key_usage is not None
        assert {KeyUsage.KEY_CERT_SIGN, KeyUsage.CRL_SIGN} <= cert.key_usage


def test_intermediate_points_to_the_root_crl_and_certificate(ca: DevelopmentCA) -> None:
    assert ca.intermediate.crl_distribution_points == (BASE + "/crl/root.crl",)
    assert ca.intermediate.ca_issuer_urls == (BASE + "/certs/root.cer",)


def test_validity_starts_an_hour_before_now(ca: DevelopmentCA, leaf: IssuedCertificate) -> None:
    for cert in (ca.root, ca.intermediate, leaf.certificate):
        assert cert.not_before == NOW - dt.timedelta(hours=1)


def test_default_lifetimes_are_ten_five_and_one_years(
    ca: DevelopmentCA, leaf: IssuedCertificate
) -> None:
    def years(cert: Certificate) -> float:
        return (cert.not_after - cert.not_before).days / 365.25

    assert round(years(ca.root)) == 10
    assert round(years(ca.intermediate)) == 5
    assert (leaf.certificate.not_after - leaf.certificate.not_before).days == 365


def test_leaf_never_outlives_the_issuing_ca(ca: DevelopmentCA, leaf_key: PrivateKey) -> None:
    cert = ca.certify(leaf_key.public_key, _person(), validity=dt.timedelta(days=40000), now=NOW)
    assert cert.not_after == ca.intermediate.not_after


# --- end-entity profiles -----------------------------------------------------------------


def test_citizen_certificate_is_for_signing_only(leaf: IssuedCertificate) -> None:
    cert = leaf.certificate
    assert cert.key_usage == {KeyUsage.DIGITAL_SIGNATURE, KeyUsage.NON_REPUDIATION}
    assert not cert.is_ca
    assert ExtensionOID.BASIC_CONSTRAINTS.dotted_string in cert.critical_extension_oids


def test_leaf_names_its_issuer_key_and_revocation_services(
    ca: DevelopmentCA, leaf: IssuedCertificate
) -> None:
    cert = leaf.certificate
    assert cert.authority_key_identifier == ca.intermediate.subject_key_identifier
    assert cert.subject_key_identifier is not None
    assert cert.crl_distribution_points == (BASE + "/crl/issuing.crl",)
    assert cert.ocsp_urls == (BASE + "/ocsp",)
    assert cert.ca_issuer_urls == (BASE + "/certs/issuing.cer",)
    assert cert.policies == (DEVELOPMENT_CERTIFICATE_POLICY,)


def test_issued_certificate_carries_its_chain(ca: DevelopmentCA, leaf: IssuedCertificate) -> None:
    assert leaf.chain == (ca.intermediate, ca.root)
    assert leaf.full_chain[0] == leaf.certificate
    assert leaf.certificate.is_issued_by(ca.intermediate)
    assert leaf.key.public_key == leaf.certificate.public_key


def test_tsa_certificate_has_critical_timestamping_eku(ca: DevelopmentCA) -> None:
    tsa = ca.tsa_certificate
    assert tsa.extended_key_usage == (ExtendedKeyUsageOID.TIME_STAMPING.dotted_string,)
    assert ExtensionOID.EXTENDED_KEY_USAGE.dotted_string in tsa.critical_extension_oids
    assert tsa.is_issued_by(ca.intermediate)


def test_ocsp_responder_has_ocsp_signing_and_no_check(ca: DevelopmentCA) -> None:
    responder = ca.ocsp_responder_certificate
    assert responder.extended_key_usage == (ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string,)
    assert responder.has_ocsp_no_check
    assert responder.ocsp_urls == ()


@pytest.mark.parametrize("profile", [CertificateProfile.OFFICER, CertificateProfile.SEAL])
def test_officer_and_seal_follow_their_profile(
    ca: DevelopmentCA, leaf_key: PrivateKey, profile: CertificateProfile
) -> None:
    cert = ca.certify(leaf_key.public_key, _person(), profile=profile, now=NOW)
    assert cert.key_usage == profile.rules.key_usage
    assert cert.extended_key_usage == profile.rules.extended_key_usage


def test_serial_numbers_are_large_positive_and_distinct(
    ca: DevelopmentCA, leaf_key: PrivateKey
) -> None:
    serials = [ca.certify(leaf_key.public_key, _person()).serial_number for _ in range(5)]
    assert len(set(serials)) == 5
    assert all(s > 0 and s.bit_length() >= 64 for s in serials)


def test_issued_lists_the_certificates_below_the_root(
    ca: DevelopmentCA, leaf: IssuedCertificate
) -> None:
    issued = ca.issued
    assert ca.root not in issued
    assert {ca.intermediate, ca.tsa_certificate, leaf.certificate} <= set(issued)


def test_issue_uses_the_given_key(ca: DevelopmentCA, leaf_key: PrivateKey) -> None:
    issued = ca.issue(_person(), key=leaf_key)
    assert issued.certificate.public_key == leaf_key.public_key


def test_issue_refuses_both_key_and_key_algorithm(ca: DevelopmentCA, leaf_key: PrivateKey) -> None:
    with pytest.raises(ValueError, match="not both"):
        ca.issue(_person(), key=leaf_key, key_algorithm=KeyAlgorithm.EC_P256)


def test_certify_refuses_a_ca_profile(ca: DevelopmentCA, leaf_key: PrivateKey) -> None:
    with pytest.raises(ValueError, match="end-entity"):
        ca.certify(leaf_key.public_key, _person(), profile=CertificateProfile.INTERMEDIATE)


def test_certify_refuses_an_empty_identity(ca: DevelopmentCA, leaf_key: PrivateKey) -> None:
    with pytest.raises(ValueError, match="empty"):
        ca.certify(leaf_key.public_key, CitizenIdentity())


def test_create_refuses_ed25519() -> None:
    with pytest.raises(ValueError, match="RSA or ECDSA"):
        DevelopmentCA.create(key_algorithm=KeyAlgorithm.ED25519)


def test_rsa_ca_issues_verifiable_certificates() -> None:
    rsa_ca = DevelopmentCA.create(name="RSA", key_algorithm=KeyAlgorithm.RSA_2048)
    issued = rsa_ca.issue(_person(), key_algorithm=KeyAlgorithm.EC_P256)
    assert rsa_ca.intermediate.public_key.algorithm is KeyAlgorithm.RSA_2048
    assert issued.certificate.is_issued_by(rsa_ca.intermediate)


# --- names -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def names_ca() -> DevelopmentCA:
    # Its own CA: certificates with long names stay out of the CA that the saving tests load.
    return DevelopmentCA.create(name="Tên dài")


LONG_NAME = "Công ty Trách nhiệm Hữu hạn Một thành viên Dịch vụ Công ích Thừa Thiên Huế"


def test_common_name_over_64_characters_is_refused(
    names_ca: DevelopmentCA, leaf_key: PrivateKey
) -> None:
    assert len(LONG_NAME) > 64
    with pytest.raises(ValueError, match="RFC 5280 allows 64"):
        names_ca.certify(leaf_key.public_key, _person(LONG_NAME))


@pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning")
def test_long_common_name_is_issued_unchanged_when_allowed(
    names_ca: DevelopmentCA, leaf_key: PrivateKey
) -> None:
    cert = names_ca.certify(leaf_key.public_key, _person(LONG_NAME), allow_long_names=True)
    assert cert.identity.common_name == LONG_NAME


@pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning")
def test_limit_counts_characters_not_utf8_bytes(
    names_ca: DevelopmentCA, leaf_key: PrivateKey
) -> None:
    name = "Tôn Nữ " + "Ngọc Diệp " * 5 + "Huế"  # 60 characters, more than 64 UTF-8 bytes
    assert len(name) <= 64 < len(name.encode())
    assert names_ca.certify(leaf_key.public_key, _person(name)).identity.common_name == name


_VI_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")  # grave acute tilde hook dot


@st.composite
def _vietnamese_words(draw: st.DrawFn) -> str:
    letters = draw(st.lists(st.sampled_from(_VI_LETTERS), min_size=1, max_size=7))
    tone = draw(st.sampled_from(_TONES))
    word = "".join(letters).capitalize() + tone
    return unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), word)


_names = st.lists(_vietnamese_words(), min_size=1, max_size=12).map(" ".join)


# Parsing a CN over 64 UTF-8 bytes makes cryptography warn; RFC 5280 counts characters.
LONG_CN_WARNING = "ignore:Attribute's length must be:UserWarning"


@pytest.mark.filterwarnings(LONG_CN_WARNING)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_names, ids=st.lists(identifiers(), min_size=1, max_size=5))
def test_identities_round_trip_through_issuance(
    names_ca: DevelopmentCA, leaf_key: PrivateKey, name: str, ids: list[Identifier]
) -> None:
    identity = CitizenIdentity(common_name=name, identifiers=ids, country="VN")
    nfc = unicodedata.normalize("NFC", name)
    if len(nfc) > 64:
        with pytest.raises(ValueError, match="RFC 5280"):
            names_ca.certify(leaf_key.public_key, identity)
    cert = names_ca.certify(leaf_key.public_key, identity, allow_long_names=len(nfc) > 64)
    parsed = cert.identity
    assert parsed.common_name == nfc
    assert parsed.identifiers == tuple(ids)
    assert parsed == identity


# --- revocation and CRLs ---------------------------------------------------------------------


@pytest.fixture
def fresh_ca() -> DevelopmentCA:
    return DevelopmentCA.create(name="Thu hồi", now=NOW)


def test_revoke_records_time_and_reason(fresh_ca: DevelopmentCA) -> None:
    issued = fresh_ca.issue(_person(), now=NOW)
    entry = fresh_ca.revoke(issued.certificate, reason=RevocationReason.KEY_COMPROMISE, when=NOW)
    assert fresh_ca.revocation(issued.certificate.serial_number) == entry
    assert (entry.revoked_at, entry.reason) == (NOW, RevocationReason.KEY_COMPROMISE)


def test_revoking_an_unknown_serial_is_refused(fresh_ca: DevelopmentCA) -> None:
    with pytest.raises(ValueError, match="not issued"):
        fresh_ca.revoke(12345)


def test_revoking_twice_is_refused(fresh_ca: DevelopmentCA) -> None:
    issued = fresh_ca.issue(_person())
    fresh_ca.revoke(issued.certificate)
    with pytest.raises(ValueError, match="already revoked"):
        fresh_ca.revoke(issued.certificate)


def test_crl_lists_revoked_serial_with_reason(fresh_ca: DevelopmentCA) -> None:
    issued = fresh_ca.issue(_person(), now=NOW)
    fresh_ca.revoke(issued.certificate, reason=RevocationReason.SUPERSEDED, when=NOW)
    crl = x509.load_der_x509_crl(fresh_ca.crl(now=NOW + dt.timedelta(minutes=1)))
    entry = crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.superseded
    assert entry.revocation_date_utc == NOW


def test_crl_is_signed_by_the_issuing_ca_and_valid_seven_days(fresh_ca: DevelopmentCA) -> None:
    crl = x509.load_der_x509_crl(fresh_ca.crl(now=NOW))
    assert crl.is_signature_valid(fresh_ca.intermediate.public_key.to_cryptography())  # type: ignore[arg-type]
    assert crl.issuer == fresh_ca.intermediate.subject
    assert crl.next_update_utc == NOW + dt.timedelta(days=7)
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == fresh_ca.intermediate.subject_key_identifier


def test_unspecified_reason_is_left_out_of_the_crl(fresh_ca: DevelopmentCA) -> None:
    issued = fresh_ca.issue(_person(), now=NOW)
    fresh_ca.revoke(issued.certificate, when=NOW)
    crl = x509.load_der_x509_crl(fresh_ca.crl(now=NOW))
    entry = crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
    assert entry is not None
    assert len(entry.extensions) == 0


def test_root_crl_lists_a_revoked_intermediate(fresh_ca: DevelopmentCA) -> None:
    fresh_ca.revoke(fresh_ca.intermediate, reason=RevocationReason.CA_COMPROMISE, when=NOW)
    root_crl = x509.load_der_x509_crl(fresh_ca.crl("root", now=NOW))
    issuing_crl = x509.load_der_x509_crl(fresh_ca.crl(now=NOW))
    serial = fresh_ca.intermediate.serial_number
    assert root_crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert issuing_crl.get_revoked_certificate_by_serial_number(serial) is None


def test_later_crls_have_larger_numbers(fresh_ca: DevelopmentCA) -> None:
    def number(der: bytes) -> int:
        crl = x509.load_der_x509_crl(der)
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    later = NOW + dt.timedelta(hours=1)
    assert number(fresh_ca.crl(now=later)) > number(fresh_ca.crl(now=NOW))


def test_concurrent_issuance_records_every_serial(fresh_ca: DevelopmentCA) -> None:
    key = PrivateKey.generate(KeyAlgorithm.EC_P256)
    results: list[int] = []

    def work() -> None:
        for _ in range(5):
            results.append(fresh_ca.certify(key.public_key, _person()).serial_number)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    issued = {c.serial_number for c in fresh_ca.issued}
    assert len(results) == 20
    assert set(results) <= issued


# --- OCSP ----------------------------------------------------------------------------------


def test_ocsp_says_good_for_an_issued_certificate(
    ca: DevelopmentCA, leaf: IssuedCertificate
) -> None:
    resp = _single(ca, leaf.certificate, ca.intermediate)
    assert resp.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert resp.serial_number == leaf.certificate.serial_number


def test_ocsp_says_revoked_with_time_and_reason(fresh_ca: DevelopmentCA) -> None:
    issued = fresh_ca.issue(_person(), now=NOW)
    fresh_ca.revoke(issued.certificate, reason=RevocationReason.KEY_COMPROMISE, when=NOW)
    resp = _single(fresh_ca, issued.certificate, fresh_ca.intermediate)
    assert resp.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_time_utc == NOW
    assert resp.revocation_reason is x509.ReasonFlags.key_compromise


def test_ocsp_says_unknown_for_a_serial_never_issued(
    ca: DevelopmentCA, leaf_key: PrivateKey
) -> None:
    stranger = DevelopmentCA.create(name="Khác").certify(leaf_key.public_key, _person())
    # Same issuer name and key hash as ours, but a serial our CA never issued.
    forged = x509.CertificateBuilder(
        issuer_name=ca.intermediate.subject,
        subject_name=stranger.subject,
        public_key=leaf_key.public_key.to_cryptography(),  # type: ignore[arg-type]
        serial_number=stranger.serial_number,
        not_valid_before=NOW,
        not_valid_after=NOW + dt.timedelta(days=1),
    ).sign(leaf_key.to_cryptography(), hashes.SHA256())  # type: ignore[arg-type]
    resp = _single(ca, Certificate.from_cryptography(forged), ca.intermediate)
    assert resp.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def test_ocsp_response_is_signed_by_the_delegated_responder(
    ca: DevelopmentCA, leaf: IssuedCertificate
) -> None:
    resp = _single(ca, leaf.certificate, ca.intermediate)
    assert [Certificate.from_cryptography(c) for c in resp.certificates] == [
        ca.ocsp_responder_certificate
    ]
    key = ca.ocsp_responder_certificate.public_key
    assert key.verify(resp.signature, resp.tbs_response_bytes)


def test_ocsp_answers_for_the_intermediate_with_the_root_key(ca: DevelopmentCA) -> None:
    resp = _single(ca, ca.intermediate, ca.root)
    assert resp.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert ca.root.public_key.verify(resp.signature, resp.tbs_response_bytes)


def test_ocsp_echoes_the_nonce(ca: DevelopmentCA, leaf: IssuedCertificate) -> None:
    nonce = os.urandom(16)
    der = ca.ocsp_response(_ocsp_request(leaf.certificate, ca.intermediate, nonce=nonce))
    resp = ocsp.load_der_ocsp_response(der)
    assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce


def test_ocsp_this_and_next_update(ca: DevelopmentCA, leaf: IssuedCertificate) -> None:
    resp = _single(ca, leaf.certificate, ca.intermediate)
    assert resp.this_update_utc == NOW
    assert resp.next_update_utc == NOW + dt.timedelta(hours=12)


@pytest.mark.parametrize("garbage", [b"", b"garbage", b"\x30\x03\x02\x01\x01", b"\x30" * 70000])
def test_ocsp_answers_garbage_with_malformed_request(ca: DevelopmentCA, garbage: bytes) -> None:
    resp = ocsp.load_der_ocsp_response(ca.ocsp_response(garbage))
    assert resp.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ocsp_answers_a_negative_serial_with_malformed_request(
    ca: DevelopmentCA, leaf: IssuedCertificate
) -> None:
    valid = ocsp.load_der_ocsp_request(_ocsp_request(leaf.certificate, ca.intermediate))
    cert_id = {
        "hash_algorithm": {"algorithm": "sha1"},
        "issuer_name_hash": valid.issuer_name_hash,
        "issuer_key_hash": valid.issuer_key_hash,
        "serial_number": -5,
    }
    request = a_ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}})
    resp = ocsp.load_der_ocsp_response(ca.ocsp_response(request.dump()))
    assert resp.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ocsp_refuses_another_cas_certificates(ca: DevelopmentCA, fresh_ca: DevelopmentCA) -> None:
    issued = fresh_ca.issue(_person())
    der = ca.ocsp_response(_ocsp_request(issued.certificate, fresh_ca.intermediate))
    assert ocsp.load_der_ocsp_response(der).response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED


# --- RFC 3161 timestamps -------------------------------------------------------------------

DIGEST = hashlib.sha256(b"to khai khai sinh").digest()


def test_timestamp_token_states_imprint_policy_and_accuracy(ca: DevelopmentCA) -> None:
    info = _tst_info(ca.timestamp(DIGEST, now=NOW))
    assert info["message_imprint"]["hashed_message"].native == DIGEST
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert info["policy"].dotted == DEVELOPMENT_TSA_POLICY
    assert info["accuracy"]["seconds"].native == 1
    assert info["gen_time"].native == NOW


def test_timestamp_token_echoes_the_nonce(ca: DevelopmentCA) -> None:
    assert _tst_info(ca.timestamp(DIGEST, nonce=987654321))["nonce"].native == 987654321


def test_timestamp_token_names_the_tsa_certificate_in_ess_cert_id_v2(ca: DevelopmentCA) -> None:
    signed = a_cms.ContentInfo.load(ca.timestamp(DIGEST))["content"]
    attrs = signed["signer_infos"][0]["signed_attrs"]
    ess = next(a for a in attrs if a["type"].native == "signing_certificate_v2")
    cert_id = ess["values"][0]["certs"][0]
    assert cert_id["cert_hash"].native == hashlib.sha256(ca.tsa_certificate.der).digest()
    assert cert_id["issuer_serial"]["serial_number"].native == ca.tsa_certificate.serial_number


def test_timestamp_signature_verifies_with_the_tsa_key(ca: DevelopmentCA) -> None:
    signer = a_cms.ContentInfo.load(ca.timestamp(DIGEST))["content"]["signer_infos"][0]
    signed_attrs = signer["signed_attrs"].untag().dump()
    key = ca.tsa_certificate.public_key
    assert key.verify(signer["signature"].native, signed_attrs)


def test_timestamp_token_embeds_the_certificate_only_when_asked(ca: DevelopmentCA) -> None:
    def certs(token: bytes) -> list[bytes]:
        signed = a_cms.ContentInfo.load(token)["content"]
        return [c.chosen.dump() for c in signed["certificates"] or []]

    assert certs(ca.timestamp(DIGEST)) == [ca.tsa_certificate.der]
    assert certs(ca.timestamp(DIGEST, include_certificate=False)) == []


def test_timestamp_refuses_an_imprint_of_the_wrong_length(ca: DevelopmentCA) -> None:
    with pytest.raises(ValueError, match="32"):
        ca.timestamp(DIGEST[:20])


def test_timestamp_accepts_sha512_imprints(ca: DevelopmentCA) -> None:
    digest = hashlib.sha512(b"x").digest()
    info = _tst_info(ca.timestamp(digest, hash_algorithm=HashAlgorithm.SHA512))
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha512"


def test_timestamp_response_grants_a_request_and_echoes_its_nonce(ca: DevelopmentCA) -> None:
    resp = a_tsp.TimeStampResp.load(
        ca.timestamp_response(_ts_request(DIGEST, nonce=77, cert_req=True))
    )
    assert resp["status"]["status"].native == "granted"
    info = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == 77
    assert len(resp["time_stamp_token"]["content"]["certificates"]) == 1


class _TimeStampResp(a_core.Sequence):
    # asn1crypto's schema makes the token mandatory; RFC 3161 leaves it out of rejections.
    _fields = [  # noqa: RUF012
        ("status", a_tsp.PKIStatusInfo),
        ("time_stamp_token", a_cms.ContentInfo, {"optional": True}),
    ]


def _failure(der: bytes) -> set[str]:
    status = _TimeStampResp.load(der)["status"]
    assert status["status"].native == "rejection"
    return set(status["fail_info"].native)


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01", b"\x30\x00", b"\x30" * 70000])
def test_timestamp_response_rejects_garbage(ca: DevelopmentCA, garbage: bytes) -> None:
    assert _failure(ca.timestamp_response(garbage)) == {"bad_request"}


def test_timestamp_response_rejects_another_policy(ca: DevelopmentCA) -> None:
    der = ca.timestamp_response(_ts_request(DIGEST, req_policy="1.2.3.4"))
    assert _failure(der) == {"unaccepted_policy"}


def test_timestamp_response_rejects_sha1_imprints(ca: DevelopmentCA) -> None:
    req = a_tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha1"},
                "hashed_message": hashlib.sha1(b"x").digest(),  # noqa: S324
            },
        }
    )
    assert _failure(ca.timestamp_response(req.dump())) == {"bad_alg"}


def test_timestamp_response_rejects_a_short_imprint(ca: DevelopmentCA) -> None:
    assert _failure(ca.timestamp_response(_ts_request(DIGEST[:31]))) == {"bad_data_format"}


# --- hostile requests ------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=300), flip=st.integers(min_value=0, max_value=10_000))
def test_services_never_raise_on_arbitrary_or_damaged_requests(
    ca: DevelopmentCA, leaf: IssuedCertificate, data: bytes, flip: int
) -> None:
    valid_ocsp = _ocsp_request(leaf.certificate, ca.intermediate, nonce=b"n" * 16)
    valid_ts = _ts_request(DIGEST, nonce=5, cert_req=True)
    for request in (data, _damaged(valid_ocsp, flip), _damaged(valid_ts, flip)):
        assert ocsp.load_der_ocsp_response(ca.ocsp_response(request)) is not None
        assert _TimeStampResp.load(ca.timestamp_response(request))["status"].native is not None


def _damaged(data: bytes, position: int) -> bytes:
    index = position % len(data)
    return data[:index] + bytes([data[index] ^ 0x41]) + data[index + 1 :]


# --- persistence -----------------------------------------------------------------------------


def test_saved_ca_loads_with_the_same_certificates(ca: DevelopmentCA, tmp_path: Path) -> None:
    ca.save(tmp_path)
    loaded = DevelopmentCA.load(tmp_path)
    assert loaded.chain == ca.chain
    assert (loaded.tsa_certificate, loaded.ocsp_responder_certificate) == (
        ca.tsa_certificate,
        ca.ocsp_responder_certificate,
    )
    assert (loaded.name, loaded.base_url) == ("Kiểm thử", BASE)


def test_saved_keys_are_owner_only(ca: DevelopmentCA, tmp_path: Path) -> None:
    ca.save(tmp_path)
    for key_file in tmp_path.glob("*.key.pem"):
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_revocations_survive_save_and_load(fresh_ca: DevelopmentCA, tmp_path: Path) -> None:
    issued = fresh_ca.issue(_person(), now=NOW)
    entry = fresh_ca.revoke(issued.certificate, reason=RevocationReason.KEY_COMPROMISE, when=NOW)
    fresh_ca.save(tmp_path)
    loaded = DevelopmentCA.load(tmp_path)
    assert loaded.revocations == (entry,)
    resp = _single(loaded, issued.certificate, loaded.intermediate)
    assert resp.certificate_status is ocsp.OCSPCertStatus.REVOKED


def test_loaded_ca_still_knows_what_it_issued(ca: DevelopmentCA, tmp_path: Path) -> None:
    issued = ca.issue(_person())
    ca.save(tmp_path)
    loaded = DevelopmentCA.load(tmp_path)
    resp = _single(loaded, issued.certificate, loaded.intermediate)
    assert resp.certificate_status is ocsp.OCSPCertStatus.GOOD


def test_loaded_ca_issues_under_the_same_intermediate(ca: DevelopmentCA, tmp_path: Path) -> None:
    ca.save(tmp_path)
    issued = DevelopmentCA.load(tmp_path).issue(_person())
    assert issued.certificate.is_issued_by(ca.intermediate)


def test_load_or_create_reuses_the_saved_ca(tmp_path: Path) -> None:
    first = DevelopmentCA.load_or_create(tmp_path / "ca", name="Lần đầu")
    second = DevelopmentCA.load_or_create(tmp_path / "ca", name="ignored")
    assert second.root == first.root
    assert second.name == "Lần đầu"


def test_loading_a_directory_without_a_ca_fails(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match=r"ca\.json"):
        DevelopmentCA.load(tmp_path)


def test_loading_damaged_revocations_fails(ca: DevelopmentCA, tmp_path: Path) -> None:
    ca.save(tmp_path)
    (tmp_path / "revocations.json").write_text('[{"serial_number": "zz"}]')
    with pytest.raises(CertificateError, match="damaged"):
        DevelopmentCA.load(tmp_path)


def test_loading_a_naive_revocation_time_fails(fresh_ca: DevelopmentCA, tmp_path: Path) -> None:
    fresh_ca.revoke(fresh_ca.issue(_person()).certificate)
    fresh_ca.save(tmp_path)
    path = tmp_path / "revocations.json"
    path.write_text(path.read_text().replace("+00:00", ""))
    with pytest.raises(CertificateError, match="damaged"):
        DevelopmentCA.load(tmp_path)


def test_loading_a_mismatched_key_fails(ca: DevelopmentCA, tmp_path: Path) -> None:
    ca.save(tmp_path)
    PrivateKey.generate(KeyAlgorithm.EC_P256).save(tmp_path / "tsa.key.pem")
    with pytest.raises(KeyLoadError, match="does not match"):
        DevelopmentCA.load(tmp_path)


# --- values and fixtures -------------------------------------------------------------------


def test_issued_certificate_repr_shows_no_key_material(leaf: IssuedCertificate) -> None:
    text = repr(leaf)
    assert "citizen" in text
    assert "PRIVATE" not in text
    assert leaf.key.to_pem().decode().splitlines()[1] not in text


def test_pkcs12_export_round_trips(leaf: IssuedCertificate) -> None:
    data = leaf.to_pkcs12(password="1234", friendly_name="Lê Văn Tám")
    key, cert, extra = pkcs12.load_key_and_certificates(data, b"1234")
    assert cert is not None
    assert Certificate.from_cryptography(cert) == leaf.certificate
    assert key is not None
    assert PrivateKey.from_cryptography(key) == leaf.key
    assert [Certificate.from_cryptography(c) for c in extra] == list(leaf.chain)


def test_chain_pem_lists_the_issuers(leaf: IssuedCertificate) -> None:
    assert leaf.chain_pem() == b"".join(c.to_pem() for c in leaf.chain)


def test_citizen_fixture_is_a_hue_citizen(citizen: IssuedCertificate) -> None:
    identity = citizen.certificate.identity
    assert identity.cccd is not None
    assert identity.cccd.startswith("046")
    assert identity.common_name == unicodedata.normalize("NFC", "Nguyễn Thị Hương Giang")
    assert citizen.profile is CertificateProfile.CITIZEN


def test_officer_and_seal_fixtures_share_the_session_ca(
    huesign_pki: DevelopmentCA, officer: IssuedCertificate, agency_seal: IssuedCertificate
) -> None:
    assert officer.certificate.is_issued_by(huesign_pki.intermediate)
    assert agency_seal.certificate.is_issued_by(huesign_pki.intermediate)
    assert agency_seal.certificate.identity.tax_code == "3001234503"
    assert officer.certificate.identity.organization == "UBND phường Thuận Hóa"


def test_module_examples_run() -> None:
    result = doctest.testmod(devca_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
