"""PKCS#12 bundles: round trips, files made by openssl, and typed errors that keep secrets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.errors import CertificateError, KeyLoadError
from huesign.pki import (
    Certificate,
    KeyAlgorithm,
    PKCS12Bundle,
    PrivateKey,
    load_certificates,
)
from huesign.testing.strategies import private_keys
from judges import run_openssl

PASSWORD = "Mật khẩu 2025!"


def _certify(
    subject: str, key: PrivateKey, issuer: tuple[str, PrivateKey] | None = None
) -> Certificate:
    """A minimal certificate for ``key``, self-signed unless ``issuer`` is given."""
    issuer_name, issuer_key = issuer or (subject, key)
    now = dt.datetime.now(dt.UTC)
    algorithm = None if issuer_key.algorithm is KeyAlgorithm.ED25519 else hashes.SHA256()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key.to_cryptography())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .sign(issuer_key.to_cryptography(), algorithm)
    )
    return Certificate.from_cryptography(cert)


@pytest.fixture(scope="session")
def root_key() -> PrivateKey:
    return PrivateKey.generate(KeyAlgorithm.EC_P256)


@pytest.fixture(scope="session")
def root(root_key: PrivateKey) -> Certificate:
    return _certify("Huesign Test Root", root_key)


@pytest.fixture(scope="session")
def bundle(root: Certificate, root_key: PrivateKey) -> PKCS12Bundle:
    key = PrivateKey.generate(KeyAlgorithm.EC_P256)
    cert = _certify("Nguyễn Thị Hương", key, issuer=("Huesign Test Root", root_key))
    return PKCS12Bundle(key=key, certificate=cert, chain=(root,), friendly_name="Chữ ký của Hương")


@pytest.fixture(scope="session")
def protected(bundle: PKCS12Bundle) -> bytes:
    return bundle.to_bytes(password=PASSWORD)


# -- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("encryption", ["aes256", "legacy"])
def test_round_trip_keeps_key_certificate_chain_and_name(
    bundle: PKCS12Bundle, encryption: str
) -> None:
    data = bundle.to_bytes(password=PASSWORD, encryption=encryption)  # type: ignore[arg-type]
    back = PKCS12Bundle.from_bytes(data, password=PASSWORD)
    assert back == bundle


def test_unprotected_bundle_loads_without_password(bundle: PKCS12Bundle) -> None:
    assert PKCS12Bundle.from_bytes(bundle.to_bytes(), password=None) == bundle


def test_bytes_password_equals_str_password(bundle: PKCS12Bundle, protected: bytes) -> None:
    assert PKCS12Bundle.from_bytes(protected, password=PASSWORD.encode()) == bundle


@pytest.mark.parametrize("password", ["a\0b", b"\0"])
def test_password_with_a_nul_character_is_a_value_error(
    protected: bytes, password: str | bytes
) -> None:
    with pytest.raises(ValueError, match="NUL"):
        PKCS12Bundle.from_bytes(protected, password=password)


def test_unknown_encryption_is_a_value_error(bundle: PKCS12Bundle) -> None:
    with pytest.raises(ValueError, match="unknown PKCS#12 encryption"):
        bundle.to_bytes(password="x", encryption="rc2")  # type: ignore[arg-type]


def test_save_is_owner_only_and_load_reads_it(bundle: PKCS12Bundle, tmp_path: Path) -> None:
    target = tmp_path / "id.p12"
    bundle.save(target, password=PASSWORD)
    assert target.stat().st_mode & 0o777 == 0o600
    assert PKCS12Bundle.load(target, password=PASSWORD) == bundle


def test_missing_file_is_a_key_load_error(tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError, match="cannot read PKCS#12 file"):
        PKCS12Bundle.load(tmp_path / "absent.p12", password=PASSWORD)


# -- errors ------------------------------------------------------------------------------------


def test_wrong_password_says_wrong_password(protected: bytes) -> None:
    with pytest.raises(KeyLoadError, match="wrong password"):
        PKCS12Bundle.from_bytes(protected, password="sai mật khẩu")


def test_missing_password_asks_for_it(protected: bytes) -> None:
    with pytest.raises(KeyLoadError, match="give its password"):
        PKCS12Bundle.from_bytes(protected, password=None)


def test_password_for_an_unprotected_file_is_refused(bundle: PKCS12Bundle) -> None:
    with pytest.raises(KeyLoadError, match="not password-protected"):
        PKCS12Bundle.from_bytes(bundle.to_bytes(), password=PASSWORD)


def test_empty_password_opens_a_file_protected_with_the_empty_password(
    bundle: PKCS12Bundle, tmp_path: Path
) -> None:
    (tmp_path / "key.pem").write_bytes(bundle.key.to_pem())
    (tmp_path / "cert.pem").write_bytes(bundle.certificate.to_pem())
    run_openssl(
        "pkcs12", "-export", "-inkey", str(tmp_path / "key.pem"),
        "-in", str(tmp_path / "cert.pem"), "-passout", "pass:", "-out", str(tmp_path / "e.p12"),
    )  # fmt: skip
    assert PKCS12Bundle.load(tmp_path / "e.p12", password="").key == bundle.key


def test_truncated_file_says_damaged_or_truncated(protected: bytes) -> None:
    with pytest.raises(KeyLoadError, match="damaged or truncated"):
        PKCS12Bundle.from_bytes(protected[: len(protected) - 40], password=PASSWORD)


def test_errors_never_contain_the_password(protected: bytes) -> None:
    wrong = "đây-là-mật-khẩu-sai"
    with pytest.raises(KeyLoadError) as info:
        PKCS12Bundle.from_bytes(protected, password=wrong)
    assert wrong not in str(info.value)
    assert PASSWORD not in str(info.value)


def test_oversized_input_is_refused() -> None:
    with pytest.raises(KeyLoadError, match="larger than"):
        PKCS12Bundle.from_bytes(b"\x30" * ((1 << 20) + 1), password=None)


def test_constructor_refuses_a_certificate_of_another_key(
    bundle: PKCS12Bundle, root: Certificate
) -> None:
    with pytest.raises(ValueError, match="does not belong to the key"):
        PKCS12Bundle(key=bundle.key, certificate=root)


def test_repr_names_the_subject_and_hides_secrets(bundle: PKCS12Bundle) -> None:
    text = repr(bundle)
    assert "CN=Nguyễn Thị Hương" in text
    assert "PRIVATE" not in text
    assert bundle.key.to_pem().decode() not in text
    assert str(bundle) == text


# -- openssl as an independent judge ---------------------------------------------------------


@pytest.mark.parametrize("encryption", ["aes256", "legacy"])
def test_openssl_reads_our_bundle(bundle: PKCS12Bundle, tmp_path: Path, encryption: str) -> None:
    target = tmp_path / "id.p12"
    target.write_bytes(bundle.to_bytes(password=PASSWORD, encryption=encryption))  # type: ignore[arg-type]
    extra = ["-legacy"] if encryption == "legacy" else []
    out = run_openssl("pkcs12", *extra, "-in", str(target), "-passin", f"pass:{PASSWORD}", "-nodes")
    assert PrivateKey.from_pem(out[out.index(b"-----BEGIN PRIVATE KEY") :]) == bundle.key
    assert set(load_certificates(out)) == {bundle.certificate, *bundle.chain}


def test_we_read_a_bundle_openssl_made(bundle: PKCS12Bundle, tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes(bundle.key.to_pem())
    (tmp_path / "cert.pem").write_bytes(bundle.certificate.to_pem())
    (tmp_path / "chain.pem").write_bytes(bundle.chain[0].to_pem())
    run_openssl(
        "pkcs12", "-export", "-inkey", str(tmp_path / "key.pem"),
        "-in", str(tmp_path / "cert.pem"), "-certfile", str(tmp_path / "chain.pem"),
        "-name", "huong", "-passout", "pass:1234", "-out", str(tmp_path / "id.p12"),
    )  # fmt: skip
    back = PKCS12Bundle.load(tmp_path / "id.p12", password="1234")
    assert (back.key, back.certificate, back.chain, back.friendly_name) == (
        bundle.key,
        bundle.certificate,
        bundle.chain,
        "huong",
    )


def test_file_without_a_key_is_a_key_load_error(bundle: PKCS12Bundle, tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_bytes(bundle.certificate.to_pem())
    run_openssl(
        "pkcs12", "-export", "-nokeys", "-in", str(tmp_path / "cert.pem"),
        "-passout", "pass:1234", "-out", str(tmp_path / "certs.p12"),
    )  # fmt: skip
    with pytest.raises(KeyLoadError, match="no private key"):
        PKCS12Bundle.load(tmp_path / "certs.p12", password="1234")


def test_file_whose_certificate_is_of_another_key_is_a_certificate_error(
    bundle: PKCS12Bundle, root: Certificate, tmp_path: Path
) -> None:
    (tmp_path / "key.pem").write_bytes(bundle.key.to_pem())
    (tmp_path / "other.pem").write_bytes(root.to_pem())
    run_openssl(
        "pkcs12", "-export", "-inkey", str(tmp_path / "key.pem"), "-nocerts",
        "-certfile", str(tmp_path / "other.pem"), "-passout", "pass:1234",
        "-out", str(tmp_path / "mismatch.p12"),
    )  # fmt: skip
    with pytest.raises(CertificateError, match="belongs to its key"):
        PKCS12Bundle.load(tmp_path / "mismatch.p12", password="1234")


def test_unmarked_certificate_of_the_key_is_found_among_the_others(
    bundle: PKCS12Bundle, tmp_path: Path
) -> None:
    (tmp_path / "key.pem").write_bytes(bundle.key.to_pem())
    (tmp_path / "all.pem").write_bytes(bundle.chain[0].to_pem() + bundle.certificate.to_pem())
    run_openssl(
        "pkcs12", "-export", "-inkey", str(tmp_path / "key.pem"), "-nocerts",
        "-certfile", str(tmp_path / "all.pem"), "-passout", "pass:1234",
        "-out", str(tmp_path / "loose.p12"),
    )  # fmt: skip
    back = PKCS12Bundle.load(tmp_path / "loose.p12", password="1234")
    assert (back.certificate, back.chain) == (bundle.certificate, bundle.chain)


# -- properties --------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    key=private_keys(),
    password=st.none()
    | st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=16),
    encryption=st.sampled_from(["aes256", "legacy"]),
)
def test_any_key_round_trips_through_pkcs12(
    key: PrivateKey, password: str | None, encryption: str
) -> None:
    original = PKCS12Bundle(key=key, certificate=_certify("Lê Văn Tám", key))
    data = original.to_bytes(password=password, encryption=encryption)  # type: ignore[arg-type]
    assert PKCS12Bundle.from_bytes(data, password=password) == original
