"""Hostile input never makes verify_cms raise: it reports TOTAL_FAILED / FORMAT_FAILURE."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Indication,
    KeySigner,
    SubIndication,
    TrustStore,
    ValidationReport,
    sign_cms,
    verify_cms,
)
from huesign.pki.policy import RevocationMode, ValidationPolicy

DATA = b"hostile input test"
POLICY = ValidationPolicy(revocation_mode=RevocationMode.OFFLINE)


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create(name="Hostile")


@pytest.fixture(scope="module")
def signature(ca: DevelopmentCA) -> bytes:
    issued = ca.issue(CitizenIdentity(common_name="Trần Thị B"))
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    return sign_cms(DATA, signer, timestamp=ca)


def _verify(ca: DevelopmentCA, blob: bytes, data: bytes | None = DATA) -> ValidationReport:
    return verify_cms(blob, data, trust=TrustStore.from_certificates([ca.root]), policy=POLICY)


def _is_format_failure(report: ValidationReport) -> bool:
    return (
        report.indication is Indication.TOTAL_FAILED
        and report.sub_indication is SubIndication.FORMAT_FAILURE
    )


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(blob=st.binary(max_size=2048))
def test_random_bytes_are_a_format_failure(ca: DevelopmentCA, blob: bytes) -> None:
    assert _is_format_failure(_verify(ca, blob))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=4000))
def test_truncated_signatures_are_a_format_failure(
    ca: DevelopmentCA, signature: bytes, cut: int
) -> None:
    cut = min(cut, len(signature) - 1)
    assert _is_format_failure(_verify(ca, signature[:cut]))


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_flipped_bits_never_raise_and_rarely_pass(
    ca: DevelopmentCA, signature: bytes, position: int, bit: int
) -> None:
    mutated = bytearray(signature)
    mutated[position % len(mutated)] ^= 1 << bit
    report = _verify(ca, bytes(mutated))
    assert isinstance(report, ValidationReport)
    if report.passed:
        # Only bytes outside what the signer signed may change without failing: the
        # unsigned timestamp (then no longer valid) or the embedded chain's unsigned parts.
        assert report.proven_signing_time is None or report.timestamps


def test_huge_declared_length_is_a_format_failure(ca: DevelopmentCA) -> None:
    assert _is_format_failure(_verify(ca, b"\x30\x84\x7f\xff\xff\xff" + b"\x00" * 16))


def test_deep_nesting_is_a_format_failure(ca: DevelopmentCA) -> None:
    assert _is_format_failure(_verify(ca, b"\x30\x80" * 20000))


def test_wrong_content_type_is_a_format_failure(ca: DevelopmentCA) -> None:
    # ContentInfo { id-data, [0] OCTET STRING "x" }
    blob = (
        bytes.fromhex("3014")
        + bytes.fromhex("06092a864886f70d010701")
        + bytes.fromhex("a0070405" + "7878787878")
    )
    assert _is_format_failure(_verify(ca, blob))


def test_signature_of_another_type_is_rejected(ca: DevelopmentCA) -> None:
    assert _is_format_failure(_verify(ca, ca.root.der))
