"""ValidationReport: JSON round trip, plain-language summaries, raise_for_failure."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.errors import PKIError, SignatureValidationError
from huesign.pki import (
    CertificateSummary,
    CitizenIdentity,
    Identifier,
    Indication,
    ReportMessage,
    RevocationEvidence,
    ScopeKind,
    SignatureLevel,
    SignatureScope,
    SubIndication,
    TimestampSummary,
    ValidationReport,
)

T0 = dt.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)
SIGNER = CitizenIdentity(
    common_name="Nguyễn Văn Bình",
    identifiers=(Identifier.cccd("046085000123"), Identifier.tax_code("3301234567")),
    province="Thành phố Huế",
    country="VN",
)
CERT = CertificateSummary(
    subject="CN=Nguyễn Văn Bình",
    issuer="CN=Issuing CA",
    serial_number="1f",
    not_before=T0,
    not_after=T0 + dt.timedelta(days=365),
    sha256="ab" * 32,
)


def _passed(**changes: object) -> ValidationReport:
    fields: dict[str, object] = {
        "indication": Indication.TOTAL_PASSED,
        "validation_time": T0,
        "signer": SIGNER,
        "signer_certificate": CERT,
        "chain": [CERT],
        "claimed_signing_time": T0,
        "proven_signing_time": T0 + dt.timedelta(seconds=2),
        "timestamps": [TimestampSummary(time=T0, valid=True, tsa=CERT, hash_algorithm="sha256")],
        "level": SignatureLevel.B_T,
        "digest_algorithm": "sha256",
        "signature_algorithm": "ecdsa-sha256",
        "scope": SignatureScope(kind=ScopeKind.DETACHED, size=10),
        "revocation": [
            RevocationEvidence(certificate_sha256="ab" * 32, source="ocsp", status="good")
        ],
        "warnings": [ReportMessage(code="w", message_vi="Cảnh báo", message_en="Warning")],
    }
    fields.update(changes)
    return ValidationReport(**fields)  # type: ignore[arg-type]


def test_json_round_trip_is_exact() -> None:
    report = _passed()
    assert ValidationReport.from_json(report.to_json()) == report


def test_json_keeps_vietnamese_letters_readable() -> None:
    assert "Nguyễn Văn Bình" in _passed().to_json()


def test_json_with_unknown_keys_is_refused() -> None:
    data = json.loads(_passed().to_json())
    data["surprise"] = 1
    with pytest.raises(ValueError, match="not a huesign validation report"):
        ValidationReport.from_json(json.dumps(data))


@settings(max_examples=40, deadline=None)
@given(
    sub=st.sampled_from(SubIndication),
    name=st.text(max_size=40),
    seconds=st.integers(min_value=0, max_value=10**9),
    micro=st.integers(min_value=0, max_value=999_999),
)
def test_any_failed_report_round_trips(
    sub: SubIndication, name: str, seconds: int, micro: int
) -> None:
    when = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        seconds=seconds, microseconds=micro
    )
    report = ValidationReport(
        indication=sub.indication,
        sub_indication=sub,
        validation_time=when,
        signer=CitizenIdentity(common_name=name or None),
        errors=[ReportMessage(code="x", message_vi=name, message_en=name)],
    )
    assert ValidationReport.from_json(report.to_json()) == report


def test_vietnamese_summary_names_signer_and_time() -> None:
    text = _passed().summary(lang="vi")
    assert text.startswith("Chữ ký số hợp lệ.")
    assert "Nguyễn Văn Bình (CCCD ********0123)" in text
    assert "01/03/2026 15:30:17 (GMT+7)" in text
    assert "Lưu ý: Cảnh báo" in text


def test_english_summary_of_a_failure_gives_the_reason() -> None:
    report = ValidationReport(
        indication=Indication.TOTAL_FAILED,
        sub_indication=SubIndication.HASH_FAILURE,
        validation_time=T0,
        errors=[ReportMessage(code="h", message_vi="Đã sửa", message_en="Changed after signing")],
    )
    assert report.summary(lang="en").splitlines() == [
        "The digital signature is NOT valid.",
        "Changed after signing",
    ]


def test_raise_for_failure_returns_a_passed_report() -> None:
    report = _passed()
    assert report.raise_for_failure() is report


def test_raise_for_failure_raises_a_pki_error_with_the_report() -> None:
    report = ValidationReport(
        indication=Indication.INDETERMINATE,
        sub_indication=SubIndication.TRY_LATER,
        validation_time=T0,
    )
    with pytest.raises(PKIError) as info:
        report.raise_for_failure()
    assert isinstance(info.value, SignatureValidationError)
    assert info.value.report is report


def test_passed_report_cannot_carry_a_sub_indication() -> None:
    with pytest.raises(ValueError, match="sub-indication"):
        ValidationReport(
            indication=Indication.TOTAL_PASSED,
            sub_indication=SubIndication.GENERIC,
            validation_time=T0,
        )


def test_summary_refuses_unknown_languages() -> None:
    with pytest.raises(ValueError, match="lang"):
        _passed().summary(lang="fr")  # type: ignore[arg-type]
