"""Signed attributes that bind the signature to its certificate and algorithm are enforced.

Each signature here is cryptographically valid over its signed attributes; only what those
attributes claim is wrong, so the verdict must come from the binding checks themselves.
"""

from __future__ import annotations

import hashlib

from huesign.pki import (
    HashAlgorithm,
    IssuedCertificate,
    SignatureAlgorithm,
    SubIndication,
    TrustStore,
    verify_cms,
)
from huesign.pki import _cms_build as build

DATA = "Tờ khai đăng ký tạm trú".encode()


def _signature(
    signer: IssuedCertificate,
    *,
    named: IssuedCertificate,
    protected: SignatureAlgorithm,
    used: SignatureAlgorithm = SignatureAlgorithm.ECDSA_SHA256,
) -> bytes:
    attributes = build.signed_attributes(
        message_digest=hashlib.sha256(DATA).digest(),
        hash_algorithm=HashAlgorithm.SHA256,
        algorithm=protected,
        certificate=named.certificate,
        signing_time=None,
    )
    value = signer.key.sign(attributes, hash_algorithm=used.hash_algorithm)
    return build.signed_data(
        hash_algorithm=HashAlgorithm.SHA256,
        algorithm=used,
        certificate=signer.certificate,
        certificates=signer.chain,
        signed_attrs=attributes,
        signature=value,
        content=None,
    )


def _codes(signature: bytes, trust: TrustStore) -> tuple[SubIndication | None, list[str]]:
    report = verify_cms(signature, DATA, trust=trust)
    return report.sub_indication, [e.code for e in report.errors]


def test_the_well_bound_control_signature_fails_only_for_revocation(
    citizen: IssuedCertificate, trust: TrustStore
) -> None:
    sub, codes = _codes(
        _signature(citizen, named=citizen, protected=SignatureAlgorithm.ECDSA_SHA256), trust
    )
    assert "signing_certificate_mismatch" not in codes
    assert "algorithm_protection_mismatch" not in codes
    assert sub is SubIndication.TRY_LATER  # no revocation source given, hard-fail default


def test_signing_certificate_v2_naming_another_certificate_is_refused(
    citizen: IssuedCertificate, officer: IssuedCertificate, trust: TrustStore
) -> None:
    sub, codes = _codes(
        _signature(citizen, named=officer, protected=SignatureAlgorithm.ECDSA_SHA256), trust
    )
    assert "signing_certificate_mismatch" in codes
    assert sub is SubIndication.NO_SIGNING_CERTIFICATE_FOUND


def test_algorithm_protection_naming_another_algorithm_is_refused(
    citizen: IssuedCertificate, trust: TrustStore
) -> None:
    sub, codes = _codes(
        _signature(citizen, named=citizen, protected=SignatureAlgorithm.ECDSA_SHA384), trust
    )
    assert "algorithm_protection_mismatch" in codes
    assert sub is SubIndication.SIG_CRYPTO_FAILURE
