"""Signers: the Signer protocol, KeySigner (memory and PKCS#12) and the async adapter."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from huesign.errors import KeyLoadError, SigningError
from huesign.pki import (
    AsyncSigner,
    CitizenIdentity,
    DevelopmentCA,
    DigestToSign,
    HashAlgorithm,
    IssuedCertificate,
    KeyAlgorithm,
    KeySigner,
    PrivateKey,
    RSAPadding,
    SignatureAlgorithm,
    Signer,
    as_async_signer,
)
from huesign.pki.signers import MAX_BATCH_SIZE


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create(name="Signers")


@pytest.fixture(scope="module")
def issued(ca: DevelopmentCA) -> IssuedCertificate:
    return ca.issue(CitizenIdentity(common_name="Lê Thị Hoa"))


@pytest.fixture(scope="module")
def signer(issued: IssuedCertificate) -> KeySigner:
    return KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)


def _request(message: bytes, algorithm: SignatureAlgorithm) -> DigestToSign:
    return DigestToSign.for_message(message, algorithm)


def test_key_signer_is_a_signer(signer: KeySigner) -> None:
    assert isinstance(signer, Signer)


def test_async_adapter_is_an_async_signer_and_signs(signer: KeySigner) -> None:
    adapter = as_async_signer(signer)
    assert isinstance(adapter, AsyncSigner)
    request = _request(b"form", SignatureAlgorithm.ECDSA_SHA256)
    signature = asyncio.run(adapter.sign_digest(request))
    assert signer.certificate.public_key.verify(signature, b"form")


def test_ec_key_prefers_ecdsa_sha256(signer: KeySigner) -> None:
    assert signer.algorithms[0] is SignatureAlgorithm.ECDSA_SHA256
    assert all(a.key_family == "ec" for a in signer.algorithms)


def test_rsa_key_lists_the_preferred_padding_first() -> None:
    key = PrivateKey.generate(KeyAlgorithm.RSA_2048)
    found = KeySigner.supported_algorithms_for(key, rsa_padding=RSAPadding.PSS)
    assert found[0] is SignatureAlgorithm.RSA_PSS_SHA256
    assert SignatureAlgorithm.RSA_PKCS1V15_SHA512 in found


def test_ed25519_key_signs_only_pure_eddsa() -> None:
    key = PrivateKey.generate(KeyAlgorithm.ED25519)
    assert KeySigner.supported_algorithms_for(key) == (SignatureAlgorithm.ED25519,)


def test_ed25519_request_needs_the_message() -> None:
    with pytest.raises(ValueError, match="message"):
        DigestToSign(digest=bytes(64), algorithm=SignatureAlgorithm.ED25519)


def test_digest_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        DigestToSign(digest=bytes(20), algorithm=SignatureAlgorithm.ECDSA_SHA256)


def test_message_that_does_not_match_the_digest_is_refused() -> None:
    with pytest.raises(ValueError, match="does not match"):
        DigestToSign(
            digest=hashlib.sha256(b"a").digest(),
            algorithm=SignatureAlgorithm.ECDSA_SHA256,
            message=b"b",
        )


def test_signature_from_the_digest_alone_verifies(signer: KeySigner) -> None:
    digest = hashlib.sha384(b"data").digest()
    request = DigestToSign(digest=digest, algorithm=SignatureAlgorithm.ECDSA_SHA384)
    signature = signer.sign_digest(request)
    assert signer.certificate.public_key.verify(
        signature, b"data", hash_algorithm=HashAlgorithm.SHA384
    )


def test_batch_signs_in_order(signer: KeySigner) -> None:
    requests = [_request(bytes([i]), SignatureAlgorithm.ECDSA_SHA256) for i in range(3)]
    signatures = signer.sign_digests(requests)
    assert len(signatures) == 3
    assert all(
        signer.certificate.public_key.verify(s, bytes([i])) for i, s in enumerate(signatures)
    )


def test_batch_size_is_bounded(signer: KeySigner) -> None:
    request = _request(b"x", SignatureAlgorithm.ECDSA_SHA256)
    with pytest.raises(ValueError, match="at most"):
        signer.sign_digests([request] * (MAX_BATCH_SIZE + 1))


def test_algorithm_of_another_key_family_is_a_signing_error(signer: KeySigner) -> None:
    with pytest.raises(SigningError):
        signer.sign_digest(_request(b"x", SignatureAlgorithm.RSA_PSS_SHA256))


def test_certificate_of_another_key_is_refused(issued: IssuedCertificate) -> None:
    with pytest.raises(ValueError, match="not for this key"):
        KeySigner(key=PrivateKey.generate(KeyAlgorithm.EC_P256), certificate=issued.certificate)


def test_pkcs12_round_trip_gives_the_same_signer(issued: IssuedCertificate) -> None:
    loaded = KeySigner.from_pkcs12(issued.to_pkcs12(password="mật khẩu"), "mật khẩu")
    assert loaded.certificate == issued.certificate
    assert loaded.key == issued.key
    assert loaded.chain[0] == issued.chain[0]


def test_pkcs12_with_a_wrong_password_is_a_key_load_error(issued: IssuedCertificate) -> None:
    with pytest.raises(KeyLoadError):
        KeySigner.from_pkcs12(issued.to_pkcs12(password="right"), "wrong")


def test_repr_shows_no_private_material(signer: KeySigner) -> None:
    text = repr(signer)
    assert "PRIVATE" not in text
    assert signer.key.to_pem().decode() not in text
    assert "Lê Thị Hoa" in text


def test_verification_code_is_four_digits_and_stable() -> None:
    request = _request(b"ho so", SignatureAlgorithm.ECDSA_SHA256)
    code = request.verification_code
    assert len(code) == 4
    assert code.isdigit()
    assert _request(b"ho so", SignatureAlgorithm.ECDSA_SHA256).verification_code == code


def test_signature_algorithm_for_key_maps_families() -> None:
    assert SignatureAlgorithm.for_key(KeyAlgorithm.EC_P384, HashAlgorithm.SHA384) is (
        SignatureAlgorithm.ECDSA_SHA384
    )
    assert SignatureAlgorithm.for_key(KeyAlgorithm.ED25519) is SignatureAlgorithm.ED25519
    assert SignatureAlgorithm.ED25519.hash_algorithm is HashAlgorithm.SHA512
    assert SignatureAlgorithm.RSA_PSS_SHA512.rsa_padding is RSAPadding.PSS
