"""The development CA issues certificates with key usages that no profile allows, on request.

``DevelopmentCA.issue`` and ``certify`` take ``key_usage`` and ``extended_key_usage`` to
replace the profile's: tests of validators need encryption-only or wrong-purpose certificates.
openssl judges what the certificate says, and ``validate_path`` refuses it for signing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.pki import (
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    Indication,
    KeyUsage,
    PrivateKey,
    RevocationData,
    RevocationSource,
    SubIndication,
    TrustStore,
    validate_path,
)
from judges import require_program

ENCRYPTION_ONLY = frozenset({KeyUsage.KEY_ENCIPHERMENT, KeyUsage.DATA_ENCIPHERMENT})
TIME_STAMPING = "1.3.6.1.5.5.7.3.8"
# Every bit an end entity may carry (key_cert_sign is for CAs).
END_ENTITY_BITS = tuple(u for u in KeyUsage if u is not KeyUsage.KEY_CERT_SIGN)


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create(name="Mục đích khoá")


def _person() -> CitizenIdentity:
    return CitizenIdentity(
        common_name="Hồ Thị Diệu Linh",
        identifiers=(Identifier.cccd("046190004567"),),
        country="VN",
    )


def test_key_usage_replaces_the_profile_bits(ca: DevelopmentCA) -> None:
    issued = ca.issue(_person(), key_usage=ENCRYPTION_ONLY)
    assert issued.certificate.key_usage == ENCRYPTION_ONLY


def test_key_usage_alone_keeps_the_profile_extended_key_usage(ca: DevelopmentCA) -> None:
    issued = ca.issue(_person(), key_usage=ENCRYPTION_ONLY)
    profile_eku = CertificateProfile.CITIZEN.rules.extended_key_usage
    assert issued.certificate.extended_key_usage == profile_eku


def test_without_overrides_the_profile_decides(ca: DevelopmentCA) -> None:
    issued = ca.issue(_person(), profile=CertificateProfile.SEAL)
    rules = CertificateProfile.SEAL.rules
    assert issued.certificate.key_usage == rules.key_usage
    assert issued.certificate.extended_key_usage == rules.extended_key_usage


def test_extended_key_usage_replaces_the_profile_oids(ca: DevelopmentCA) -> None:
    issued = ca.issue(_person(), extended_key_usage=[TIME_STAMPING])
    assert issued.certificate.extended_key_usage == (TIME_STAMPING,)
    assert issued.certificate.key_usage == CertificateProfile.CITIZEN.rules.key_usage


def test_an_empty_extended_key_usage_leaves_the_extension_out(ca: DevelopmentCA) -> None:
    issued = ca.issue(_person(), extended_key_usage=())
    assert issued.certificate.extended_key_usage is None


def test_certify_takes_the_overrides_for_a_key_held_elsewhere(ca: DevelopmentCA) -> None:
    key = PrivateKey.generate()
    cert = ca.certify(key.public_key, _person(), key_usage=[KeyUsage.KEY_AGREEMENT])
    assert cert.key_usage == {KeyUsage.KEY_AGREEMENT}
    assert cert.public_key == key.public_key
    assert cert in ca.issued


def test_the_issued_certificate_keeps_the_profile_it_was_asked_for(ca: DevelopmentCA) -> None:
    issued = ca.issue(_person(), profile=CertificateProfile.OFFICER, key_usage=ENCRYPTION_ONLY)
    assert issued.profile is CertificateProfile.OFFICER


@pytest.mark.parametrize(
    ("usages", "words"),
    [
        ((), "at least one bit"),
        ([KeyUsage.KEY_CERT_SIGN, KeyUsage.DIGITAL_SIGNATURE], "CA certificates"),
        ([KeyUsage.ENCIPHER_ONLY], "need key_agreement"),
        ([KeyUsage.DECIPHER_ONLY, KeyUsage.KEY_ENCIPHERMENT], "need key_agreement"),
    ],
)
def test_impossible_key_usages_are_refused_with_the_reason(
    ca: DevelopmentCA, usages: Iterable[KeyUsage], words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        ca.issue(_person(), key_usage=usages)


@pytest.mark.parametrize(
    "usages", [KeyUsage.DIGITAL_SIGNATURE, "digital_signature", ["digital_signature"]]
)
def test_key_usage_must_be_key_usage_members(ca: DevelopmentCA, usages: object) -> None:
    with pytest.raises(TypeError, match="KeyUsage"):
        ca.issue(_person(), key_usage=usages)  # type: ignore[arg-type]


def test_extended_key_usage_must_be_dotted_oids(ca: DevelopmentCA) -> None:
    with pytest.raises(ValueError, match="not a dotted OID"):
        ca.issue(_person(), extended_key_usage=["timeStamping"])


def test_extended_key_usage_must_not_be_one_string(ca: DevelopmentCA) -> None:
    with pytest.raises(TypeError, match="not one string"):
        ca.issue(_person(), extended_key_usage=TIME_STAMPING)


def test_an_encryption_only_certificate_fails_path_validation_for_signing(
    ca: DevelopmentCA,
) -> None:
    issued = ca.issue(_person(), key_usage=ENCRYPTION_ONLY)
    result = validate_path(
        issued.certificate,
        trust=TrustStore.from_certificates([ca.root]),
        intermediates=issued.chain,
        revocation=RevocationSource(RevocationData(crls=(ca.crl(), ca.crl("root")))),
    )
    assert result.indication is Indication.TOTAL_FAILED
    assert result.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE


def _allowed(usages: frozenset[KeyUsage]) -> bool:
    only = usages & {KeyUsage.ENCIPHER_ONLY, KeyUsage.DECIPHER_ONLY}
    return not only or KeyUsage.KEY_AGREEMENT in usages


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return PrivateKey.generate()


@settings(max_examples=25, deadline=None)
@given(usages=st.frozensets(st.sampled_from(END_ENTITY_BITS), min_size=1).filter(_allowed))
def test_every_allowed_key_usage_set_reads_back_from_the_certificate(
    ca: DevelopmentCA, key: PrivateKey, usages: frozenset[KeyUsage]
) -> None:
    issued = ca.issue(_person(), key=key, key_usage=usages)
    assert issued.certificate.key_usage == usages


def test_openssl_reads_the_replaced_key_usage(ca: DevelopmentCA, tmp_path: Path) -> None:
    openssl = require_program("openssl")
    issued = ca.issue(_person(), key_usage=ENCRYPTION_ONLY, extended_key_usage=[TIME_STAMPING])
    pem = tmp_path / "encryption.pem"
    pem.write_bytes(issued.certificate.to_pem())
    shown = subprocess.run(
        [openssl, "x509", "-in", str(pem), "-noout", "-ext", "keyUsage,extendedKeyUsage"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Key Encipherment, Data Encipherment" in shown
    assert "Digital Signature" not in shown
    assert "Time Stamping" in shown
    assert "E-mail Protection" not in shown
