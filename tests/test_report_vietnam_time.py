"""Report summaries show Vietnam time, and say why a signature timestamp could not be used."""

from __future__ import annotations

import datetime as dt

import pytest

from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    Indication,
    IssuedCertificate,
    KeySigner,
    OfflineFetcher,
    RevocationMode,
    RevocationSource,
    SubIndication,
    TimestampSummary,
    TrustStore,
    ValidationPolicy,
    ValidationReport,
    sign_cms,
    verify_cms,
)
from huesign.pki.stamp import format_vietnam_time

DATA = b"To khai dang ky thuong tru"
SIGNED = dt.datetime(2026, 11, 28, 10, 5, 15, tzinfo=dt.UTC)


def _report(*, proven: bool) -> ValidationReport:
    return ValidationReport(
        indication=Indication.TOTAL_PASSED,
        validation_time=SIGNED,
        claimed_signing_time=SIGNED,
        proven_signing_time=SIGNED if proven else None,
    )


def test_vietnamese_summary_shows_timestamped_time_in_vietnam_time() -> None:
    text = _report(proven=True).summary(lang="vi")
    assert "Thời điểm ký (có dấu thời gian): 28/11/2026 17:05:15 (GMT+7)." in text
    assert "UTC" not in text


def test_english_summary_shows_claimed_time_in_vietnam_time() -> None:
    text = _report(proven=False).summary(lang="en")
    assert "Signing time claimed by the signer: 28/11/2026 17:05:15 (GMT+7)." in text


def test_stamp_and_report_share_one_clock_format() -> None:
    assert format_vietnam_time(SIGNED, seconds=True) == "28/11/2026 17:05:15 (GMT+7)"
    assert format_vietnam_time(SIGNED) == "28/11/2026 17:05 (GMT+7)"


def test_timestamp_reason_survives_a_json_round_trip() -> None:
    summary = TimestampSummary(time=SIGNED, valid=False, reason="TSA certificate TRY_LATER: x")
    report = ValidationReport(
        indication=Indication.INDETERMINATE,
        sub_indication=SubIndication.TRY_LATER,
        validation_time=SIGNED,
        timestamps=[summary],
    )
    again = ValidationReport.from_json(report.to_json())
    assert again == report
    assert again.timestamps[0].reason == "TSA certificate TRY_LATER: x"


@pytest.fixture(scope="module")
def unreachable_report() -> ValidationReport:
    # Revocation of every certificate (the TSA's too) is unknown: nothing answers offline.
    ca = DevelopmentCA.create(name="Unreachable TSA", base_url="http://127.0.0.1:9/pki")
    issued = ca.issue(
        CitizenIdentity(common_name="Lê Thị Hoa", identifiers=(Identifier.cccd("046190000021"),))
    )
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    signature = sign_cms(DATA, signer, timestamp=ca)
    return verify_cms(
        signature,
        DATA,
        trust=TrustStore.from_certificates([ca.root]),
        policy=ValidationPolicy(revocation_mode=RevocationMode.HARD_FAIL),
        revocation=RevocationSource(fetcher=OfflineFetcher()),
    )


def test_unvalidated_timestamp_keeps_the_tsa_failure_as_its_reason(
    unreachable_report: ValidationReport,
) -> None:
    (summary,) = unreachable_report.timestamps
    assert not summary.valid
    assert summary.reason is not None
    assert summary.reason.startswith("TSA certificate TRY_LATER")


def test_unvalidated_timestamp_is_reported_as_not_validated_rather_than_invalid(
    unreachable_report: ValidationReport,
) -> None:
    codes = [w.code for w in unreachable_report.warnings]
    assert "timestamp_unverified" in codes
    assert "timestamp_invalid" not in codes
    text = unreachable_report.summary(lang="en")
    assert "The signature timestamp could not be validated, so it was not used" in text
    assert "TRY_LATER" in text
    assert "is not valid and was ignored" not in text


def test_valid_timestamp_has_no_reason(
    huesign_pki: DevelopmentCA, citizen: IssuedCertificate
) -> None:
    signer = KeySigner(key=citizen.key, certificate=citizen.certificate, chain=citizen.chain)
    report = verify_cms(
        sign_cms(DATA, signer, timestamp=huesign_pki),
        DATA,
        trust=TrustStore.from_certificates([huesign_pki.root]),
        policy=ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL),
    )
    assert report.passed, report.errors
    assert report.timestamps[0].valid
    assert report.timestamps[0].reason is None
