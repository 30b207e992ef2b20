"""Certificates: parsing every bundle format, reading fields and extensions, relations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from huesign.errors import CertificateError, HuesignError
from huesign.pki import (
    UID_OID,
    Certificate,
    KeyAlgorithm,
    KeyUsage,
    PrivateKey,
    TrustStore,
    load_certificates,
    load_certificates_file,
)
from judges import run_openssl

POLICY = "1.3.6.1.4.1.59999.1.2"
CDP = "http://127.0.0.1:8700/crl/issuing.crl"
OCSP = "http://127.0.0.1:8700/ocsp"
CA_ISSUERS = "http://127.0.0.1:8700/ca/issuing.cer"


@pytest.fixture(scope="session")
def pack() -> TrustStore:
    return TrustStore.vietnam(government=True)


@pytest.fixture(scope="session")
def root(pack: TrustStore) -> Certificate:
    return pack.anchors[0]


@pytest.fixture(scope="session")
def vnpt(pack: TrustStore) -> Certificate:
    return pack.intermediates[0]


@pytest.fixture(scope="session")
def government(pack: TrustStore) -> Certificate:
    return pack.anchors[1]


@pytest.fixture(scope="session")
def citizen() -> Certificate:
    """A citizen certificate with every extension huesign reads, built independently."""
    issuer_key = PrivateKey.generate(KeyAlgorithm.EC_P256)
    key = PrivateKey.generate(KeyAlgorithm.EC_P256)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Thành phố Huế"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Phan Thị Thu Hà"),
            x509.NameAttribute(UID_OID, "CCCD:046190000555"),
            x509.NameAttribute(UID_OID, "MST:0100109106"),
        ]
    )
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Huesign Test Issuing CA")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key.to_cryptography())
        .serial_number(0x1234ABCD)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")]
            ),
            critical=False,
        )
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(POLICY), None)]),
            critical=False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(CDP)], None, None, None)]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(OCSP)
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(CA_ISSUERS),
                    ),
                ]
            ),
            critical=False,
        )
        .sign(issuer_key.to_cryptography(), hashes.SHA256())
    )
    return Certificate.from_cryptography(cert)


# -- parsing ------------------------------------------------------------------------------------


def test_pem_and_der_give_the_same_certificate(root: Certificate) -> None:
    assert Certificate.from_pem(root.to_pem()) == Certificate.from_der(root.der) == root


def test_from_pem_accepts_text(root: Certificate) -> None:
    assert Certificate.from_pem(root.to_pem().decode()) == root


def test_from_pem_refuses_a_bundle(root: Certificate, vnpt: Certificate) -> None:
    with pytest.raises(CertificateError, match="expected one PEM certificate, found 2"):
        Certificate.from_pem(root.to_pem() + vnpt.to_pem())


def test_pem_bundle_gives_every_certificate_in_order(
    root: Certificate, vnpt: Certificate, government: Certificate
) -> None:
    bundle = b"junk before\n" + vnpt.to_pem() + root.to_pem() + government.to_pem()
    assert load_certificates(bundle) == (vnpt, root, government)


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_pkcs7_bundle_gives_every_certificate(
    root: Certificate, vnpt: Certificate, encoding: serialization.Encoding
) -> None:
    data = pkcs7.serialize_certificates([vnpt.to_cryptography(), root.to_cryptography()], encoding)
    assert set(load_certificates(data)) == {vnpt, root}


# openssl writes the SET OF certificates in file order (BER, not DER): read it without warning.
@pytest.mark.filterwarnings("error")
def test_openssl_p7b_is_read(root: Certificate, vnpt: Certificate, tmp_path: Path) -> None:
    (tmp_path / "chain.pem").write_bytes(vnpt.to_pem() + root.to_pem())
    p7b = run_openssl(
        "crl2pkcs7", "-nocrl", "-certfile", str(tmp_path / "chain.pem"),
        "-outform", "DER",
    )  # fmt: skip
    assert set(load_certificates(p7b)) == {vnpt, root}


def test_p7b_without_certificates_is_an_error() -> None:
    p7b = run_openssl("crl2pkcs7", "-nocrl", "-outform", "DER")
    with pytest.raises(CertificateError):
        load_certificates(p7b)


def test_openssl_pem_p7b_keeps_file_order(
    root: Certificate, vnpt: Certificate, tmp_path: Path
) -> None:
    (tmp_path / "chain.pem").write_bytes(vnpt.to_pem() + root.to_pem())
    p7b = run_openssl("crl2pkcs7", "-nocrl", "-certfile", str(tmp_path / "chain.pem"))
    assert load_certificates(b"Bundle from the provider\n" + p7b) == (vnpt, root)


def test_pkcs7_that_is_not_signed_data_is_an_error() -> None:
    data_content = cms.ContentInfo({"content_type": "data", "content": b"hello"}).dump()
    with pytest.raises(CertificateError):
        load_certificates(data_content)


def test_single_der_certificate_is_a_bundle_of_one(root: Certificate) -> None:
    assert load_certificates(root.der) == (root,)


def test_unknown_certificate_version_is_a_certificate_error(root: Certificate) -> None:
    der = bytearray(root.der)
    version = der.index(bytes.fromhex("a003020102"))  # [0] EXPLICIT INTEGER 2 (v3)
    der[version + 4] = 0x07
    with pytest.raises(CertificateError):
        Certificate.from_der(bytes(der))


def test_truncated_der_is_a_certificate_error(root: Certificate) -> None:
    with pytest.raises(CertificateError, match="damaged or truncated"):
        load_certificates(root.der[:-20])


def test_truncated_pem_is_a_certificate_error(root: Certificate) -> None:
    pem = root.to_pem()
    with pytest.raises(CertificateError):
        load_certificates(pem[: len(pem) // 2] + b"\n-----END CERTIFICATE-----\n")


def test_empty_input_is_a_certificate_error() -> None:
    with pytest.raises(CertificateError, match="empty input"):
        load_certificates(b"")


def test_pem_text_without_certificates_is_an_error() -> None:
    with pytest.raises(CertificateError, match="no PEM certificate"):
        load_certificates(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_oversized_input_is_refused() -> None:
    with pytest.raises(CertificateError, match="larger than"):
        load_certificates(b"0" * ((4 << 20) + 1))


def test_file_loader_reads_a_bundle(root: Certificate, vnpt: Certificate, tmp_path: Path) -> None:
    (tmp_path / "chain.pem").write_bytes(vnpt.to_pem() + root.to_pem())
    assert load_certificates_file(tmp_path / "chain.pem") == (vnpt, root)


def test_certificate_load_refuses_a_bundle_file(
    root: Certificate, vnpt: Certificate, tmp_path: Path
) -> None:
    (tmp_path / "chain.pem").write_bytes(vnpt.to_pem() + root.to_pem())
    with pytest.raises(CertificateError, match="expected one certificate, found 2"):
        Certificate.load(tmp_path / "chain.pem")


def test_missing_file_is_a_certificate_error(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="cannot read"):
        load_certificates_file(tmp_path / "absent.pem")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.cer").write_bytes(b"\x30\x82\x01")
    with pytest.raises(CertificateError, match=r"bad\.cer"):
        load_certificates_file(tmp_path / "bad.cer")


def test_non_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        load_certificates(42)  # type: ignore[arg-type]


# -- fields -------------------------------------------------------------------------------------


def test_fingerprint_matches_openssl(root: Certificate) -> None:
    out = run_openssl("x509", "-noout", "-fingerprint", "-sha256", stdin=root.to_pem())
    assert out.decode().strip().split("=", 1)[1] == root.sha256_fingerprint


def test_subject_text_matches_openssl_order(vnpt: Certificate) -> None:
    assert vnpt.subject_text == "C=VN,O=VIETNAM POSTS AND TELECOMMUNICATIONS GROUP,CN=VNPT-CA SHA2"


def test_validity_is_timezone_aware(vnpt: Certificate) -> None:
    assert vnpt.not_before == dt.datetime(2024, 8, 30, 3, 22, 57, tzinfo=dt.UTC)
    assert vnpt.not_after.tzinfo is not None


def test_is_valid_at_checks_the_period(vnpt: Certificate) -> None:
    assert vnpt.is_valid_at(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert not vnpt.is_valid_at(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def test_is_valid_at_refuses_naive_times(vnpt: Certificate) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        vnpt.is_valid_at(dt.datetime(2025, 1, 1))


def test_serial_number_and_signature_digest(citizen: Certificate) -> None:
    assert citizen.serial_number == 0x1234ABCD
    assert citizen.signature_hash_algorithm == "sha256"


def test_government_root_names_are_vietnamese(government: Certificate) -> None:
    assert government.identity.organization == "Ban Cơ yếu Chính phủ"


def test_identity_reads_every_uid(citizen: Certificate) -> None:
    assert (citizen.identity.cccd, citizen.identity.tax_code) == ("046190000555", "0100109106")


# -- extensions ---------------------------------------------------------------------------------


def test_key_usage_bits(citizen: Certificate) -> None:
    assert citizen.key_usage == {KeyUsage.DIGITAL_SIGNATURE, KeyUsage.NON_REPUDIATION}


def test_ca_key_usage(root: Certificate) -> None:
    assert root.key_usage is not None
    assert {KeyUsage.KEY_CERT_SIGN, KeyUsage.CRL_SIGN} <= root.key_usage


def test_extended_key_usage(citizen: Certificate) -> None:
    assert citizen.extended_key_usage == ("1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.10.3.12")


def test_absent_extensions_read_as_none_or_empty(government: Certificate) -> None:
    assert government.extended_key_usage is None
    assert government.ocsp_urls == ()
    assert not government.has_ocsp_no_check


def test_policies_crl_and_aia(citizen: Certificate) -> None:
    assert citizen.policies == (POLICY,)
    assert citizen.crl_distribution_points == (CDP,)
    assert citizen.ocsp_urls == (OCSP,)
    assert citizen.ca_issuer_urls == (CA_ISSUERS,)


def test_critical_extensions(citizen: Certificate) -> None:
    assert set(citizen.critical_extension_oids) == {"2.5.29.19", "2.5.29.15"}


def test_basic_constraints(root: Certificate, vnpt: Certificate, citizen: Certificate) -> None:
    assert (root.is_ca, vnpt.is_ca, citizen.is_ca) == (True, True, False)
    assert vnpt.path_length == 0


def test_key_identifiers_link_vnpt_to_the_root(root: Certificate, vnpt: Certificate) -> None:
    assert vnpt.authority_key_identifier == root.subject_key_identifier
    assert vnpt.subject_key_identifier is not None


# -- relations ----------------------------------------------------------------------------------


def test_vnpt_is_issued_by_the_national_root(root: Certificate, vnpt: Certificate) -> None:
    assert vnpt.is_issued_by(root)
    assert vnpt.is_signed_by(root)


def test_root_is_not_issued_by_vnpt(root: Certificate, vnpt: Certificate) -> None:
    assert not root.is_issued_by(vnpt)


def test_root_is_self_issued_and_vnpt_is_not(root: Certificate, vnpt: Certificate) -> None:
    assert (root.is_self_issued, vnpt.is_self_issued) == (True, False)


def test_government_root_did_not_sign_vnpt(government: Certificate, vnpt: Certificate) -> None:
    assert not vnpt.is_signed_by(government)


def test_equality_and_hash_follow_der(root: Certificate) -> None:
    again = Certificate.from_der(bytes(root.der))
    assert again == root
    assert len({again, root}) == 1


def test_repr_shows_subject_and_serial(citizen: Certificate) -> None:
    assert repr(citizen).endswith("serial=0x1234abcd>")
    assert "Phan Thị Thu Hà" in repr(citizen)


def test_public_key_of_a_dsa_certificate_is_a_certificate_error() -> None:
    signer = ec.generate_private_key(ec.SECP256R1())
    subject_key = dsa.generate_private_key(1024)  # noqa: S505 - only its public half is used
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DSA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(subject_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(signer, hashes.SHA256())
    )
    wrapped = Certificate.from_cryptography(cert)
    with pytest.raises(CertificateError, match="unsupported public key"):
        _ = wrapped.public_key


def test_all_loader_errors_share_the_huesign_base() -> None:
    assert issubclass(CertificateError, HuesignError)
