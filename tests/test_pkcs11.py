"""PKCS11Signer against SoftHSM2: finding the token and key, signing, and every failure.

The tokens come from the ``softhsm_tokens`` fixture (huesign's pytest plugin): SoftHSM2 is an
outside program, so these tests skip without it, unless ``HUESIGN_REQUIRE_JUDGES=1``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pkcs11 import Mechanism

from huesign.errors import TokenError
from huesign.pki import (
    Certificate,
    DevelopmentCA,
    DigestToSign,
    HashAlgorithm,
    IssuedCertificate,
    PINStatus,
    PKCS11Signer,
    RSAPadding,
    SignatureAlgorithm,
    Signer,
    diagnose_token,
    list_tokens,
)
from huesign.pki.pkcs11 import _supported
from huesign.testing.softhsm import SoftHSMToken

PIN = "1234"


@pytest.fixture(scope="module")
def token(softhsm_tokens: Mapping[str, SoftHSMToken]) -> SoftHSMToken:
    return softhsm_tokens["citizen"]


def _certificate(token: SoftHSMToken, family: str) -> Certificate:
    found = [
        c
        for c in _token_certificates(token)
        if c.public_key.description.startswith(family) and not c.is_ca
    ]
    assert len(found) == 1
    return found[0]


def _token_certificates(token: SoftHSMToken) -> list[Certificate]:
    report = diagnose_token(token.module_path, token_label=token.label)
    return [e.certificate for e in report.entries if e.certificate is not None]


@pytest.fixture(scope="module")
def rsa_certificate(token: SoftHSMToken) -> Certificate:
    return _certificate(token, "rsa")


@pytest.fixture
def ec_signer(token: SoftHSMToken, citizen: IssuedCertificate) -> Iterator[PKCS11Signer]:
    with PKCS11Signer.open(
        token.module_path, pin=PIN, token_label=token.label, certificate=citizen.certificate
    ) as signer:
        yield signer


@pytest.fixture
def rsa_signer(token: SoftHSMToken, rsa_certificate: Certificate) -> Iterator[PKCS11Signer]:
    with PKCS11Signer.open(
        token.module_path, pin=PIN, token_label=token.label, certificate=rsa_certificate
    ) as signer:
        yield signer


def _request(message: bytes, algorithm: SignatureAlgorithm) -> DigestToSign:
    return DigestToSign.for_message(message, algorithm)


def _verifies(cert: Certificate, signature: bytes, request: DigestToSign) -> bool:
    return cert.public_key.verify(
        signature,
        request.digest,
        hash_algorithm=request.algorithm.hash_algorithm,
        rsa_padding=request.algorithm.rsa_padding or RSAPadding.PKCS1V15,
        prehashed=True,
    )


# -- discovery ------------------------------------------------------------------------------


def test_list_tokens_reports_each_token_with_its_pin_state(token: SoftHSMToken) -> None:
    states = {t.label: t.pin_status for t in list_tokens(token.module_path)}
    assert states["huesign-citizen"] is PINStatus.OK
    assert states["huesign-locked"] is PINStatus.LOCKED
    assert states["huesign-final-try"] is PINStatus.FINAL_TRY


def test_list_tokens_reports_the_signing_mechanisms(token: SoftHSMToken) -> None:
    info = next(t for t in list_tokens(token.module_path) if t.label == token.label)
    assert {"RSA_PKCS", "RSA_PKCS_PSS", "ECDSA"} <= set(info.mechanisms)
    assert info.initialized
    assert info.serial


def test_pin_status_maps_the_token_flags_to_remaining_tries() -> None:
    assert PINStatus.from_flags(0x00040000 | 0x00020000).remaining_tries == 0
    assert PINStatus.from_flags(0x00020008).remaining_tries == 1
    assert PINStatus.from_flags(0x00010008) is PINStatus.COUNT_LOW
    assert PINStatus.from_flags(0x00010008).remaining_tries is None
    assert PINStatus.from_flags(0x00000008) is PINStatus.OK
    assert PINStatus.from_flags(0) is PINStatus.NOT_INITIALIZED


def test_token_can_be_chosen_by_serial(token: SoftHSMToken, citizen: IssuedCertificate) -> None:
    serial = next(t.serial for t in list_tokens(token.module_path) if t.label == token.label)
    with PKCS11Signer.open(
        token.module_path, pin=PIN, token_serial=serial, certificate=citizen.certificate
    ) as signer:
        assert signer.token.label == token.label


def test_key_is_found_from_the_certificate_alone(ec_signer: PKCS11Signer) -> None:
    assert ec_signer.algorithms[0] is SignatureAlgorithm.ECDSA_SHA256


def test_token_signer_is_a_signer(ec_signer: PKCS11Signer) -> None:
    assert isinstance(ec_signer, Signer)


def test_caller_chain_is_ordered_from_the_issuer_up(
    token: SoftHSMToken, citizen: IssuedCertificate
) -> None:
    with PKCS11Signer.open(
        token.module_path,
        pin=PIN,
        token_label=token.label,
        certificate=citizen.certificate,
        chain=reversed(citizen.chain),
    ) as signer:
        assert signer.chain == citizen.chain


# -- signing --------------------------------------------------------------------------------


@pytest.mark.parametrize("hash_algorithm", list(HashAlgorithm))
def test_ecdsa_signature_from_the_token_verifies(
    ec_signer: PKCS11Signer, hash_algorithm: HashAlgorithm
) -> None:
    request = _request(b"to khai", SignatureAlgorithm.for_key("ec", hash_algorithm))
    signature = ec_signer.sign_digest(request)
    assert _verifies(ec_signer.certificate, signature, request)
    assert not _verifies(ec_signer.certificate, signature, _request(b"other", request.algorithm))


@pytest.mark.parametrize("padding", list(RSAPadding))
@pytest.mark.parametrize("hash_algorithm", list(HashAlgorithm))
def test_rsa_signature_from_the_token_verifies_with_its_padding(
    rsa_signer: PKCS11Signer, padding: RSAPadding, hash_algorithm: HashAlgorithm
) -> None:
    algorithm = SignatureAlgorithm.for_key("rsa", hash_algorithm, rsa_padding=padding)
    request = _request(b"don xin", algorithm)
    signature = rsa_signer.sign_digest(request)
    assert _verifies(rsa_signer.certificate, signature, request)
    other = RSAPadding.PSS if padding is RSAPadding.PKCS1V15 else RSAPadding.PKCS1V15
    assert not rsa_signer.certificate.public_key.verify(
        signature, request.digest, hash_algorithm=hash_algorithm, rsa_padding=other, prehashed=True
    )


def test_rsa_pkcs1v15_signatures_are_deterministic(rsa_signer: PKCS11Signer) -> None:
    request = _request(b"same", SignatureAlgorithm.RSA_PKCS1V15_SHA256)
    assert rsa_signer.sign_digest(request) == rsa_signer.sign_digest(request)


def test_preferred_padding_and_hash_come_first(
    token: SoftHSMToken, rsa_certificate: Certificate
) -> None:
    with PKCS11Signer.open(
        token.module_path,
        pin=PIN,
        token_label=token.label,
        certificate=rsa_certificate,
        rsa_padding=RSAPadding.PSS,
        hash_algorithm=HashAlgorithm.SHA384,
    ) as signer:
        assert signer.algorithms[0] is SignatureAlgorithm.RSA_PSS_SHA384
        assert SignatureAlgorithm.RSA_PKCS1V15_SHA256 in signer.algorithms


def test_a_batch_is_signed_in_order_in_one_session(ec_signer: PKCS11Signer) -> None:
    requests = [_request(f"ho so {i}".encode(), SignatureAlgorithm.ECDSA_SHA256) for i in range(5)]
    signatures = ec_signer.sign_digests(requests)
    assert len(signatures) == 5
    for signature, request in zip(signatures, requests, strict=True):
        assert _verifies(ec_signer.certificate, signature, request)


def test_one_signer_serves_several_threads(ec_signer: PKCS11Signer) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(10):
            request = _request(f"{n}-{i}".encode(), SignatureAlgorithm.ECDSA_SHA256)
            ok = _verifies(ec_signer.certificate, ec_signer.sign_digest(request), request)
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 40


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(message=st.binary(max_size=2048))
def test_any_message_signed_on_the_token_verifies(ec_signer: PKCS11Signer, message: bytes) -> None:
    request = _request(message, SignatureAlgorithm.ECDSA_SHA256)
    signature = ec_signer.sign_digest(request)
    assert _verifies(ec_signer.certificate, signature, request)
    flipped = hashlib.sha256(message + b"\x00").digest()
    assert not ec_signer.certificate.public_key.verify(signature, flipped, prehashed=True)


# -- lifetime -------------------------------------------------------------------------------


def test_close_is_idempotent_and_signing_after_it_fails(
    token: SoftHSMToken, citizen: IssuedCertificate
) -> None:
    signer = PKCS11Signer.open(
        token.module_path, pin=PIN, token_label=token.label, certificate=citizen.certificate
    )
    signer.close()
    signer.close()
    assert signer.closed
    with pytest.raises(TokenError, match="closed"):
        signer.sign_digest(_request(b"x", SignatureAlgorithm.ECDSA_SHA256))


def test_closing_logs_out_so_the_token_can_be_opened_again(
    token: SoftHSMToken, citizen: IssuedCertificate
) -> None:
    for _ in range(3):
        with PKCS11Signer.open(
            token.module_path, pin=PIN, token_label=token.label, certificate=citizen.certificate
        ) as signer:
            signer.sign_digest(_request(b"x", SignatureAlgorithm.ECDSA_SHA256))


def test_repr_names_token_and_holder_but_never_the_pin(ec_signer: PKCS11Signer) -> None:
    text = repr(ec_signer)
    assert "huesign-citizen" in text
    assert "Nguyễn Thị Hương Giang" in text
    assert "pin" not in text.lower()
    # The CCCD in the subject happens to contain the test PIN; what matters is that no
    # attribute of the signer holds it.
    assert PIN not in [v for v in vars(ec_signer).values() if isinstance(v, str | bytes)]
    assert all("pin" not in name.lower() for name in vars(ec_signer))


def test_a_second_signer_on_a_logged_in_token_is_refused(
    ec_signer: PKCS11Signer, token: SoftHSMToken, rsa_certificate: Certificate
) -> None:
    with pytest.raises(TokenError, match="already logged in"):
        PKCS11Signer.open(
            token.module_path, pin=PIN, token_label=token.label, certificate=rsa_certificate
        )


# -- failures -------------------------------------------------------------------------------


def test_missing_module_is_reported_by_path(tmp_path: Path) -> None:
    missing = tmp_path / "libnothing.so"
    with pytest.raises(TokenError, match="module not found") as caught:
        PKCS11Signer.open(missing, pin=PIN)
    assert str(missing) in str(caught.value)


def test_a_file_that_is_not_a_library_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "token.so"
    fake.write_text("not a library")
    with pytest.raises(TokenError, match="not a usable PKCS#11 module"):
        list_tokens(fake)


def test_unknown_token_label_lists_the_tokens_present(token: SoftHSMToken) -> None:
    with pytest.raises(TokenError, match="no token with label 'VNPT-CA'") as caught:
        PKCS11Signer.open(token.module_path, pin=PIN, token_label="VNPT-CA")
    assert "'huesign-citizen'" in str(caught.value)


def test_several_initialised_tokens_need_a_label_or_serial(token: SoftHSMToken) -> None:
    with pytest.raises(TokenError, match="several tokens match"):
        PKCS11Signer.open(token.module_path, pin=PIN)


def test_wrong_pin_says_how_many_tries_remain(softhsm_tokens: Mapping[str, SoftHSMToken]) -> None:
    final = softhsm_tokens["final_try"]
    with pytest.raises(TokenError, match="wrong PIN") as caught:
        PKCS11Signer.open(final.module_path, pin="0000", token_label=final.label)
    assert caught.value.remaining_tries == 1
    assert "0000" not in str(caught.value)


def test_locked_pin_is_refused_without_trying_it(
    softhsm_tokens: Mapping[str, SoftHSMToken],
) -> None:
    locked = softhsm_tokens["locked"]
    with pytest.raises(TokenError, match="locked") as caught:
        PKCS11Signer.open(locked.module_path, pin=locked.user_pin, token_label=locked.label)
    assert caught.value.remaining_tries == 0


def test_certificate_whose_key_is_elsewhere_is_refused(
    token: SoftHSMToken, huesign_pki: DevelopmentCA, citizen: IssuedCertificate
) -> None:
    other = huesign_pki.issue(citizen.certificate.identity)
    with pytest.raises(TokenError, match="no private key for the certificate"):
        PKCS11Signer.open(
            token.module_path, pin=PIN, token_label=token.label, certificate=other.certificate
        )


def test_certificate_stored_under_another_keys_id_is_not_paired_with_it(
    softhsm_tokens: Mapping[str, SoftHSMToken],
) -> None:
    mixed = softhsm_tokens["mixed"]
    stray_id = mixed.objects["stray"]
    report = diagnose_token(mixed.module_path, token_label=mixed.label)
    lost = next(e.certificate for e in report.entries if e.key_id == stray_id)
    assert lost is not None
    with pytest.raises(TokenError, match="no private key"):
        PKCS11Signer.open(mixed.module_path, pin=PIN, token_label=mixed.label, certificate=lost)


def test_several_signing_certificates_need_a_choice(token: SoftHSMToken) -> None:
    with pytest.raises(TokenError, match="2 signing certificates"):
        PKCS11Signer.open(token.module_path, pin=PIN, token_label=token.label)


def test_a_scheme_for_another_key_type_is_refused(ec_signer: PKCS11Signer) -> None:
    with pytest.raises(TokenError, match="cannot sign rsa-pss-sha256"):
        ec_signer.sign_digest(_request(b"x", SignatureAlgorithm.RSA_PSS_SHA256))
    with pytest.raises(TokenError, match="cannot sign ed25519"):
        ec_signer.sign_digest(_request(b"x", SignatureAlgorithm.ED25519))


def test_schemes_whose_mechanism_the_token_lacks_are_not_offered() -> None:
    without_pss = frozenset({Mechanism.RSA_PKCS, Mechanism.ECDSA})
    offered = _supported("rsa", without_pss, RSAPadding.PSS, HashAlgorithm.SHA256)
    assert offered[0] is SignatureAlgorithm.RSA_PKCS1V15_SHA256
    assert all(a.rsa_padding is RSAPadding.PKCS1V15 for a in offered)
    assert (
        _supported("ec", frozenset({Mechanism.RSA_PKCS}), RSAPadding.PSS, HashAlgorithm.SHA256)
        == ()
    )
