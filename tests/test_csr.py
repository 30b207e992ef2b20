"""Certificate requests: the immutable builder, profiles as requested extensions, openssl."""

from __future__ import annotations

import doctest
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import assume, given, settings

from huesign.errors import CertificateError
from huesign.pki import (
    CertificateProfile,
    CertificateRequest,
    CertificateRequestBuilder,
    CitizenIdentity,
    HashAlgorithm,
    Identifier,
    KeyAlgorithm,
    PrivateKey,
    RSAPadding,
)
from huesign.pki import csr as csr_module
from huesign.testing.strategies import citizen_identities
from judges import require_program, run_openssl

CITIZEN = CitizenIdentity(
    common_name="Tôn Nữ Thị Diệu Huyền",
    identifiers=(Identifier.cccd("046190001234"), Identifier.tax_code("0101245486")),
    province="Thành phố Huế",
    country="VN",
)
OFFICER = CitizenIdentity(
    common_name="Hoàng Văn Đức",
    identifiers=(Identifier.cccd("046085000321"),),
    organization="UBND phường Thuận Hoá",
    title="Cán bộ tư pháp",
    country="VN",
)
SEAL = CitizenIdentity(
    common_name="Sở Tư pháp thành phố Huế",
    identifiers=(Identifier.budget_unit("1054321"), Identifier.tax_code("3300101406")),
    organization="Sở Tư pháp thành phố Huế",
    country="VN",
    email="stp@hue.gov.vn",
)


@pytest.fixture(scope="session")
def keys() -> dict[KeyAlgorithm, PrivateKey]:
    algorithms = (KeyAlgorithm.EC_P256, KeyAlgorithm.ED25519, KeyAlgorithm.RSA_2048)
    return {a: PrivateKey.generate(a) for a in algorithms}


@pytest.fixture(scope="session")
def key(keys: dict[KeyAlgorithm, PrivateKey]) -> PrivateKey:
    return keys[KeyAlgorithm.EC_P256]


def _request(
    identity: CitizenIdentity, profile: CertificateProfile, key: PrivateKey
) -> CertificateRequest:
    return CertificateRequestBuilder().profile(profile).identity(identity).sign(key)


@pytest.fixture(scope="session")
def citizen_csr(key: PrivateKey) -> CertificateRequest:
    return _request(CITIZEN, CertificateProfile.CITIZEN, key)


# -- the builder --------------------------------------------------------------------------------


def test_each_call_returns_a_new_builder() -> None:
    empty = CertificateRequestBuilder()
    with_profile = empty.profile(CertificateProfile.CITIZEN)
    assert with_profile is not empty
    assert empty == CertificateRequestBuilder()


def test_setting_the_profile_twice_is_an_error() -> None:
    builder = CertificateRequestBuilder().profile(CertificateProfile.CITIZEN)
    with pytest.raises(ValueError, match="profile is already set"):
        builder.profile(CertificateProfile.OFFICER)


def test_setting_the_identity_twice_is_an_error() -> None:
    builder = CertificateRequestBuilder().identity(CITIZEN)
    with pytest.raises(ValueError, match="identity is already set"):
        builder.identity(CITIZEN)


def test_setting_email_addresses_twice_is_an_error() -> None:
    builder = CertificateRequestBuilder().email_addresses("a@hue.gov.vn")
    with pytest.raises(ValueError, match="already set"):
        builder.email_addresses("b@hue.gov.vn")


def test_sign_without_a_profile_says_what_is_missing(key: PrivateKey) -> None:
    with pytest.raises(ValueError, match="set the profile"):
        CertificateRequestBuilder().identity(CITIZEN).sign(key)


def test_sign_without_an_identity_says_what_is_missing(key: PrivateKey) -> None:
    with pytest.raises(ValueError, match="set the identity"):
        CertificateRequestBuilder().profile(CertificateProfile.CITIZEN).sign(key)


@pytest.mark.parametrize("profile", [CertificateProfile.ROOT, CertificateProfile.TSA])
def test_ca_and_service_profiles_cannot_be_requested(profile: CertificateProfile) -> None:
    with pytest.raises(ValueError, match="citizen, officer or seal"):
        CertificateRequestBuilder().profile(profile)


def test_citizen_request_needs_a_personal_identifier(key: PrivateKey) -> None:
    anonymous = CitizenIdentity(common_name="Lê Văn Tám", country="VN")
    with pytest.raises(ValueError, match="needs a CCCD"):
        _request(anonymous, CertificateProfile.CITIZEN, key)


def test_officer_request_needs_an_organisation(key: PrivateKey) -> None:
    with pytest.raises(ValueError, match="organisation"):
        _request(CITIZEN, CertificateProfile.OFFICER, key)


def test_seal_request_needs_an_organisation_code(key: PrivateKey) -> None:
    with pytest.raises(ValueError, match="MST"):
        _request(OFFICER, CertificateProfile.SEAL, key)


def test_request_needs_a_common_name(key: PrivateKey) -> None:
    nameless = CitizenIdentity(identifiers=(Identifier.cccd("046190001234"),))
    with pytest.raises(ValueError, match="no common name"):
        _request(nameless, CertificateProfile.CITIZEN, key)


def test_builder_rejects_a_non_key() -> None:
    builder = CertificateRequestBuilder().profile(CertificateProfile.CITIZEN).identity(CITIZEN)
    with pytest.raises(TypeError):
        builder.sign(b"not a key")  # type: ignore[arg-type]


# -- the request --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identity", "profile"),
    [
        (CITIZEN, CertificateProfile.CITIZEN),
        (OFFICER, CertificateProfile.OFFICER),
        (SEAL, CertificateProfile.SEAL),
    ],
    ids=["citizen", "officer", "seal"],
)
def test_requested_extensions_name_the_profile(
    key: PrivateKey, identity: CitizenIdentity, profile: CertificateProfile
) -> None:
    csr = _request(identity, profile, key)
    assert csr.profile is profile
    assert csr.key_usage == profile.rules.key_usage
    assert csr.extended_key_usage == profile.rules.extended_key_usage


def test_identity_round_trips_with_every_uid(citizen_csr: CertificateRequest) -> None:
    assert citizen_csr.identity == CITIZEN
    assert citizen_csr.identity.tax_code == "0101245486"


def test_public_key_is_the_signing_key(citizen_csr: CertificateRequest, key: PrivateKey) -> None:
    assert citizen_csr.public_key == key.public_key


@pytest.mark.parametrize(
    "algorithm",
    [KeyAlgorithm.EC_P256, KeyAlgorithm.ED25519, KeyAlgorithm.RSA_2048],
    ids=lambda a: a.value,
)
def test_signature_is_valid_for_each_key_type(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm
) -> None:
    assert _request(CITIZEN, CertificateProfile.CITIZEN, keys[algorithm]).is_signature_valid


def test_hash_algorithm_is_used(key: PrivateKey) -> None:
    csr = (
        CertificateRequestBuilder()
        .profile(CertificateProfile.CITIZEN)
        .identity(CITIZEN)
        .sign(key, hash_algorithm=HashAlgorithm.SHA384)
    )
    assert csr.to_cryptography().signature_hash_algorithm.name == "sha384"  # type: ignore[union-attr]


def test_rsa_pss_request_verifies(keys: dict[KeyAlgorithm, PrivateKey]) -> None:
    csr = (
        CertificateRequestBuilder()
        .profile(CertificateProfile.CITIZEN)
        .identity(CITIZEN)
        .sign(keys[KeyAlgorithm.RSA_2048], rsa_padding=RSAPadding.PSS)
    )
    assert csr.is_signature_valid


def test_identity_email_becomes_a_subject_alternative_name(key: PrivateKey) -> None:
    assert _request(SEAL, CertificateProfile.SEAL, key).email_addresses == ("stp@hue.gov.vn",)


def test_explicit_email_addresses_replace_the_identity_email(key: PrivateKey) -> None:
    csr = (
        CertificateRequestBuilder()
        .profile(CertificateProfile.SEAL)
        .identity(SEAL)
        .email_addresses("vanthu@hue.gov.vn", "stp@hue.gov.vn")
        .sign(key)
    )
    assert csr.email_addresses == ("vanthu@hue.gov.vn", "stp@hue.gov.vn")


def test_pem_and_der_round_trip(citizen_csr: CertificateRequest) -> None:
    assert CertificateRequest.from_pem(citizen_csr.to_pem()) == citizen_csr
    assert CertificateRequest.from_der(citizen_csr.to_der()) == citizen_csr
    assert CertificateRequest.from_pem(citizen_csr.to_pem().decode()) == citizen_csr


def test_flipped_signature_bit_makes_the_signature_invalid(
    citizen_csr: CertificateRequest,
) -> None:
    der = bytearray(citizen_csr.to_der())
    der[-3] ^= 0x01
    assert not CertificateRequest.from_der(bytes(der)).is_signature_valid


def test_garbage_is_a_certificate_error() -> None:
    with pytest.raises(CertificateError, match="not a readable DER certificate request"):
        CertificateRequest.from_der(b"\x30\x03\x02\x01\x00")


def test_pem_without_a_request_is_a_certificate_error() -> None:
    with pytest.raises(CertificateError, match="not a readable PEM certificate request"):
        CertificateRequest.from_pem(b"hello")


def test_repr_shows_the_subject(citizen_csr: CertificateRequest) -> None:
    assert repr(citizen_csr).startswith("<CertificateRequest subject='")
    assert "Tôn Nữ Thị Diệu Huyền" in repr(citizen_csr)


# -- openssl as an independent judge ---------------------------------------------------------


@pytest.mark.parametrize(
    "algorithm",
    [KeyAlgorithm.EC_P256, KeyAlgorithm.ED25519, KeyAlgorithm.RSA_2048],
    ids=lambda a: a.value,
)
def test_openssl_verifies_the_request(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm, tmp_path: Path
) -> None:
    target = tmp_path / "req.pem"
    target.write_bytes(_request(OFFICER, CertificateProfile.OFFICER, keys[algorithm]).to_pem())
    done = subprocess.run(
        [require_program("openssl"), "req", "-in", str(target), "-verify", "-noout"],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"verify OK" in done.stdout + done.stderr


def test_openssl_rejects_a_tampered_request(
    citizen_csr: CertificateRequest, tmp_path: Path
) -> None:
    der = bytearray(citizen_csr.to_der())
    der[-3] ^= 0x01
    target = tmp_path / "req.der"
    target.write_bytes(bytes(der))
    openssl = require_program("openssl")
    done = subprocess.run(
        [openssl, "req", "-inform", "DER", "-in", str(target), "-verify", "-noout"],
        capture_output=True,
        check=False,
    )
    # openssl 3 exits 0 here; the verdict is in its message.
    assert b"verify failure" in done.stdout + done.stderr


def test_openssl_reads_each_uid_and_the_vietnamese_name(
    citizen_csr: CertificateRequest, tmp_path: Path
) -> None:
    target = tmp_path / "req.pem"
    target.write_bytes(citizen_csr.to_pem())
    out = run_openssl(
        "req", "-in", target, "-noout", "-subject", "-nameopt", "utf8,sep_multiline"
    ).decode("utf-8")
    assert "CN=Tôn Nữ Thị Diệu Huyền" in out
    assert "UID=CCCD:046190001234" in out
    assert "UID=MST:0101245486" in out


def test_openssl_sees_the_requested_key_usage(
    citizen_csr: CertificateRequest, tmp_path: Path
) -> None:
    target = tmp_path / "req.pem"
    target.write_bytes(citizen_csr.to_pem())
    out = run_openssl("req", "-in", target, "-noout", "-text").decode()
    assert "Digital Signature, Non Repudiation" in out
    assert "E-mail Protection" in out


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(identity=citizen_identities(with_organization=False))
def test_any_citizen_identity_round_trips_through_a_request(identity: CitizenIdentity) -> None:
    assume(identity.cccd or identity.cmnd or identity.passport or identity.tax_code)
    csr = _request(identity, CertificateProfile.CITIZEN, PrivateKey.generate(KeyAlgorithm.ED25519))
    assert csr.identity == identity
    assert CertificateRequest.from_der(csr.to_der()).identity == identity


@pytest.mark.parametrize("module", [csr_module], ids=lambda m: m.__name__)
def test_module_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
