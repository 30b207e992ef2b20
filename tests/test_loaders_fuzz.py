"""Every loader turns random, truncated or bit-flipped input into a typed huesign error.

A loader either returns a usable object or raises a :class:`~huesign.errors.HuesignError`
subclass; no ``ValueError`` from cryptography or asn1crypto ever reaches the caller.
"""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huesign.errors import HuesignError
from huesign.pki import (
    Certificate,
    CertificateProfile,
    CertificateRequest,
    CertificateRequestBuilder,
    CitizenIdentity,
    Identifier,
    KeyAlgorithm,
    PKCS12Bundle,
    PrivateKey,
    PublicKey,
    load_certificates,
)

PASSWORD = "1234"
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def _corpus() -> dict[str, bytes]:
    """Valid encodings of every kind the loaders read."""
    key = PrivateKey.generate(KeyAlgorithm.EC_P256)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Đỗ Thị Lan"),
            x509.NameAttribute(NameOID.USER_ID, "CCCD:046190000888"),
        ]
    )
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key.to_cryptography())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key.to_cryptography()),
            critical=False,
        )
        .sign(key.to_cryptography(), hashes.SHA256())
    )
    wrapped = Certificate.from_cryptography(cert)
    identity = CitizenIdentity(
        common_name="Đỗ Thị Lan", identifiers=(Identifier.cccd("046190000888"),), country="VN"
    )
    csr = CertificateRequestBuilder().profile(CertificateProfile.CITIZEN).identity(identity)
    request = csr.sign(key)
    bundle = PKCS12Bundle(key=key, certificate=wrapped)
    return {
        "key-pem": key.to_pem(),
        "key-der": key.to_der(),
        "key-pem-encrypted": key.to_pem(password=PASSWORD),
        "key-der-encrypted": key.to_der(password=PASSWORD),
        "public-pem": key.public_key.to_pem(),
        "public-der": key.public_key.to_der(),
        "cert-pem": wrapped.to_pem(),
        "cert-der": wrapped.der,
        "p7b-der": pkcs7.serialize_certificates([cert], serialization.Encoding.DER),
        "p7b-pem": pkcs7.serialize_certificates([cert], serialization.Encoding.PEM),
        "p12": bundle.to_bytes(password=PASSWORD),
        "p12-plain": bundle.to_bytes(),
        "csr-pem": request.to_pem(),
        "csr-der": request.to_der(),
    }


def _use_certificate(cert: Certificate) -> None:
    """Read everything a caller may read; each may only fail with a huesign error."""
    for read in (
        lambda: cert.identity,
        lambda: cert.public_key,
        lambda: cert.key_usage,
        lambda: cert.extended_key_usage,
        lambda: cert.policies,
        lambda: cert.is_ca,
        lambda: cert.subject_key_identifier,
        lambda: cert.authority_key_identifier,
        lambda: cert.crl_distribution_points,
        lambda: cert.ocsp_urls,
        lambda: cert.extension_oids,
        lambda: cert.is_signed_by(cert),
        lambda: repr(cert),
    ):
        try:
            read()
        except HuesignError:
            continue


def _pkcs12(data: bytes) -> object:
    return PKCS12Bundle.from_bytes(data, password=PASSWORD)


def _load_key_file(data: bytes) -> object:
    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / "key"
        target.write_bytes(data)
        return PrivateKey.load(target, password=PASSWORD)


def _certificates(data: bytes) -> object:
    found = load_certificates(data)
    for cert in found:
        _use_certificate(cert)
    return found


def _certificate_pem(data: bytes) -> object:
    cert = Certificate.from_pem(data)
    _use_certificate(cert)
    return cert


def _certificate_der(data: bytes) -> object:
    cert = Certificate.from_der(data)
    _use_certificate(cert)
    return cert


def _request(loader: Callable[[bytes], CertificateRequest]) -> Callable[[bytes], object]:
    def load(data: bytes) -> object:
        csr = loader(data)
        return (csr.identity, csr.profile, csr.is_signature_valid, csr.email_addresses, repr(csr))

    return load


LOADERS: dict[str, Callable[[bytes], object]] = {
    "PrivateKey.from_pem": lambda d: PrivateKey.from_pem(d, password=PASSWORD),
    "PrivateKey.from_pem-nopass": lambda d: PrivateKey.from_pem(d),
    "PrivateKey.from_der": lambda d: PrivateKey.from_der(d, password=PASSWORD),
    "PrivateKey.from_der-nopass": lambda d: PrivateKey.from_der(d),
    "PrivateKey.load": _load_key_file,
    "PublicKey.from_pem": PublicKey.from_pem,
    "PublicKey.from_der": PublicKey.from_der,
    "Certificate.from_pem": _certificate_pem,
    "Certificate.from_der": _certificate_der,
    "load_certificates": _certificates,
    "PKCS12Bundle.from_bytes": _pkcs12,
    "CertificateRequest.from_pem": _request(CertificateRequest.from_pem),
    "CertificateRequest.from_der": _request(CertificateRequest.from_der),
}


def _only_typed_errors(loader: Callable[[bytes], object], data: bytes) -> None:
    try:
        loader(data)
    except HuesignError:
        return


@pytest.mark.parametrize("loader", list(LOADERS), ids=str)
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_give_typed_errors(loader: str, data: bytes) -> None:
    _only_typed_errors(LOADERS[loader], data)


@pytest.mark.parametrize("loader", list(LOADERS), ids=str)
@FUZZ
@given(data=st.data())
def test_truncated_encodings_give_typed_errors(loader: str, data: st.DataObject) -> None:
    sample = _corpus()[data.draw(st.sampled_from(sorted(_corpus())), label="kind")]
    cut = data.draw(st.integers(0, len(sample) - 1), label="cut")
    _only_typed_errors(LOADERS[loader], sample[:cut])


@pytest.mark.parametrize("loader", list(LOADERS), ids=str)
@FUZZ
@given(data=st.data())
def test_bit_flipped_encodings_give_typed_errors(loader: str, data: st.DataObject) -> None:
    sample = bytearray(_corpus()[data.draw(st.sampled_from(sorted(_corpus())), label="kind")])
    flips = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(sample) - 1), st.integers(0, 7)), min_size=1, max_size=4
        ),
        label="flips",
    )
    for position, bit in flips:
        sample[position] ^= 1 << bit
    _only_typed_errors(LOADERS[loader], bytes(sample))


@pytest.mark.parametrize(
    ("kind", "loader"),
    [
        ("key-pem", "PrivateKey.from_pem-nopass"),
        ("key-der-encrypted", "PrivateKey.from_der"),
        ("public-der", "PublicKey.from_der"),
        ("cert-pem", "Certificate.from_pem"),
        ("p7b-der", "load_certificates"),
        ("p12", "PKCS12Bundle.from_bytes"),
        ("csr-der", "CertificateRequest.from_der"),
    ],
)
def test_unmodified_encodings_load(kind: str, loader: str) -> None:
    assert LOADERS[loader](_corpus()[kind]) is not None
