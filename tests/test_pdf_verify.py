"""verify_pdf: coverage, levels, LTV, modification policy, DocMDP and FieldMDP, reports."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from huesign.errors import SignatureValidationError
from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    Indication,
    IssuedCertificate,
    KeyAlgorithm,
    LTVStatus,
    ModificationPolicy,
    PDFValidationReport,
    PrivateKey,
    RevocationReason,
    ScopeKind,
    SignatureLevel,
    SubIndication,
    TrustStore,
    verify_pdf,
)
from huesign.pki.pdfdiff import ChangeKind
from huesign.pki.pdffields import Coverage
from huesign.pki.pdfobjects import PDFString
from huesign.pki.pdfslots import DocMDPPermission, FieldLock, LockAction
from huesign.testing.strategies import citizen_identities, private_keys
from padeshelpers import (
    OFFLINE,
    add_annotation,
    add_validation_data,
    crls_of,
    doc_timestamp,
    fill_field,
    make_pdf,
    sign,
    trust_of,
    update,
    validation_data,
    with_text_field,
)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pdfverify")


@pytest.fixture(scope="module")
def form(work: Path) -> Path:
    """A one-page form with an empty text field ``HoTen``."""
    return with_text_field(make_pdf(work / "plain.pdf"), work / "form.pdf")


@pytest.fixture(scope="module")
def signed(work: Path, form: Path, citizen: IssuedCertificate) -> Path:
    return sign(form, work / "signed.pdf", citizen)


def _verify(ca: DevelopmentCA, source: object, **kw: object) -> PDFValidationReport:
    options: dict[str, object] = {"policy": OFFLINE, "revocation": crls_of(ca), **kw}
    return verify_pdf(source, trust=trust_of(ca), **options)  # type: ignore[arg-type]


# --- what passes -------------------------------------------------------------------------


def test_single_signature_passes_and_covers_the_whole_file(
    huesign_pki: DevelopmentCA, signed: Path
) -> None:
    report = _verify(huesign_pki, signed)
    assert report.passed
    (sig,) = report.signatures
    assert sig.indication is Indication.TOTAL_PASSED
    assert sig.level is SignatureLevel.B_B
    assert sig.scope is not None
    assert sig.scope.kind is ScopeKind.FULL_DOCUMENT
    assert sig.pdf is not None
    assert sig.pdf.coverage is Coverage.WHOLE_FILE
    assert sig.pdf.field_name == "Signature1"
    assert sig.pdf.modifications == ()
    assert report.document_timestamps == ()


def test_signer_identity_is_reported(
    huesign_pki: DevelopmentCA, signed: Path, citizen: IssuedCertificate
) -> None:
    (sig,) = _verify(huesign_pki, signed).signatures
    assert sig.signer == citizen.certificate.identity


def test_path_bytes_and_file_object_give_the_same_verdict(
    huesign_pki: DevelopmentCA, signed: Path
) -> None:
    data = signed.read_bytes()
    at = dt.datetime.now(dt.UTC)
    reports = [_verify(huesign_pki, source, at=at) for source in (signed, data, io.BytesIO(data))]
    assert reports[0] == reports[1] == reports[2]
    assert reports[0].passed


def test_signature_timestamp_reaches_b_t_with_proven_time(
    huesign_pki: DevelopmentCA, form: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    out = sign(form, tmp_path / "bt.pdf", citizen, tsa=huesign_pki)
    (sig,) = _verify(huesign_pki, out).signatures
    assert sig.passed
    assert sig.level is SignatureLevel.B_T
    assert sig.proven_signing_time is not None
    assert sig.timestamps[0].valid


def test_three_signatures_in_sequence_all_pass(
    huesign_pki: DevelopmentCA,
    signed: Path,
    officer: IssuedCertificate,
    agency_seal: IssuedCertificate,
    tmp_path: Path,
) -> None:
    second = sign(signed, tmp_path / "2.pdf", officer, field="CanBo")
    third = sign(second, tmp_path / "3.pdf", agency_seal, field="DauCoQuan")
    report = _verify(huesign_pki, third)
    assert report.passed
    assert [s.pdf.field_name for s in report.signatures if s.pdf] == [
        "Signature1",
        "CanBo",
        "DauCoQuan",
    ]
    first = report.signatures[0]
    assert first.pdf is not None
    assert first.pdf.coverage is Coverage.WHOLE_REVISION
    assert first.scope is not None
    assert first.scope.kind is ScopeKind.PARTIAL_DOCUMENT
    assert {m.kind for m in first.pdf.modifications} == {ChangeKind.SIGNATURE}
    assert all(m.allowed for m in first.pdf.modifications)


def test_dss_and_document_timestamp_reach_b_lta_without_outside_data(
    huesign_pki: DevelopmentCA, form: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    bt = sign(form, tmp_path / "bt.pdf", citizen, tsa=huesign_pki)
    lt = add_validation_data(
        bt, tmp_path / "lt.pdf", validation_data(huesign_pki, [citizen.certificate])
    )
    lta = doc_timestamp(lt, tmp_path / "lta.pdf", huesign_pki)
    report = verify_pdf(lta, trust=trust_of(huesign_pki))  # hard-fail policy, no fetcher
    assert report.passed
    (sig,) = report.signatures
    assert sig.level is SignatureLevel.B_LTA
    assert sig.pdf is not None
    assert sig.pdf.ltv is LTVStatus.LTA
    (stamp,) = report.document_timestamps
    assert stamp.passed
    assert stamp.pdf is not None
    assert stamp.pdf.sub_filter == "ETSI.RFC3161"


def test_dss_alone_reaches_b_lt(
    huesign_pki: DevelopmentCA, form: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    bt = sign(form, tmp_path / "bt.pdf", citizen, tsa=huesign_pki)
    lt = add_validation_data(
        bt, tmp_path / "lt.pdf", validation_data(huesign_pki, [citizen.certificate])
    )
    (sig,) = verify_pdf(lt, trust=trust_of(huesign_pki)).signatures
    assert sig.passed
    assert sig.level is SignatureLevel.B_LT
    assert sig.pdf is not None
    assert sig.pdf.ltv is LTVStatus.LT


def test_signature_without_revocation_data_is_indeterminate_under_hard_fail(
    huesign_pki: DevelopmentCA, signed: Path
) -> None:
    (sig,) = verify_pdf(signed, trust=trust_of(huesign_pki)).signatures
    assert sig.indication is Indication.INDETERMINATE
    assert sig.sub_indication is SubIndication.TRY_LATER


def test_untrusted_root_gives_no_chain(signed: Path) -> None:
    other = DevelopmentCA.create(name="Other")
    report = verify_pdf(signed, trust=trust_of(other), policy=OFFLINE)
    assert not report.passed
    assert report.signatures[0].sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


# --- long-term validation ------------------------------------------------------------------


@pytest.fixture(scope="module")
def old_ca() -> DevelopmentCA:
    return DevelopmentCA.create(name="Old", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=200))


@pytest.fixture(scope="module")
def expired_signer(old_ca: DevelopmentCA) -> IssuedCertificate:
    identity = CitizenIdentity(
        common_name="Lê Văn Tám", identifiers=(Identifier.cccd("046095004321"),), country="VN"
    )
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    return old_ca.issue(identity, validity=dt.timedelta(days=30), now=start)


def _signed_long_ago(
    ca: DevelopmentCA, who: IssuedCertificate, form: Path, out_dir: Path, *, archive: bool
) -> Path:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    out = sign(form, out_dir / "old.pdf", who, signing_time=start + dt.timedelta(days=1))
    if not archive:
        return out
    then = start + dt.timedelta(days=2)
    lt = add_validation_data(
        out, out_dir / "old-lt.pdf", validation_data(ca, [who.certificate], now=then)
    )
    return doc_timestamp(lt, out_dir / "old-lta.pdf", ca, now=then)


def test_expired_certificate_without_archive_timestamp_does_not_pass(
    old_ca: DevelopmentCA, expired_signer: IssuedCertificate, form: Path, tmp_path: Path
) -> None:
    out = _signed_long_ago(old_ca, expired_signer, form, tmp_path, archive=False)
    (sig,) = _verify(old_ca, out, policy=None).signatures
    assert sig.indication is Indication.INDETERMINATE
    assert sig.sub_indication is SubIndication.OUT_OF_BOUNDS_NO_POE


def test_expired_certificate_passes_with_archive_timestamp(
    old_ca: DevelopmentCA, expired_signer: IssuedCertificate, form: Path, tmp_path: Path
) -> None:
    out = _signed_long_ago(old_ca, expired_signer, form, tmp_path, archive=True)
    report = _verify(old_ca, out, policy=None)
    assert report.passed
    (sig,) = report.signatures
    stamp_time = report.document_timestamps[0].proven_signing_time
    assert sig.validation_time == stamp_time
    assert "validated_with_poe" in {w.code for w in sig.warnings}


def test_revocation_after_archive_timestamp_keeps_the_signature_valid(
    form: Path, tmp_path: Path
) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    ca = DevelopmentCA.create(name="Revoking", now=start)
    identity = CitizenIdentity(
        common_name="Phan Thị Na", identifiers=(Identifier.cccd("046195007777"),), country="VN"
    )
    who = ca.issue(identity, now=start)
    out = _signed_long_ago(ca, who, form, tmp_path, archive=True)
    ca.revoke(
        who.certificate,
        reason=RevocationReason.KEY_COMPROMISE,
        when=start + dt.timedelta(days=5),
    )
    without_archive = sign(form, tmp_path / "plain.pdf", who, signing_time=start)
    assert _verify(ca, without_archive, policy=None).signatures[0].sub_indication in {
        SubIndication.REVOKED,
        SubIndication.REVOKED_NO_POE,
    }
    assert _verify(ca, out, policy=None).passed


# --- modifications after signing ------------------------------------------------------------


def test_form_fill_after_signature_fails_under_the_strict_policy(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    filled = fill_field(signed, tmp_path / "filled.pdf", "HoTen", "Nguyễn Văn B")
    (sig,) = _verify(huesign_pki, filled).signatures
    assert sig.indication is Indication.TOTAL_FAILED
    assert sig.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
    error = next(e for e in sig.errors if e.code == "forbidden_modification")
    assert "form field value filled" in error.message_en
    assert sig.pdf is not None
    assert [m.kind for m in sig.pdf.modifications if not m.allowed] == [ChangeKind.FORM_FILL]


def test_form_fill_passes_under_the_form_filling_policy(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    filled = fill_field(signed, tmp_path / "filled.pdf", "HoTen", "Nguyễn Văn B")
    report = _verify(huesign_pki, filled, modifications=ModificationPolicy.FORM_FILLING)
    assert report.passed


def test_docmdp_no_changes_forbids_a_later_signature(
    huesign_pki: DevelopmentCA,
    form: Path,
    citizen: IssuedCertificate,
    officer: IssuedCertificate,
    tmp_path: Path,
) -> None:
    certified = sign(form, tmp_path / "c.pdf", citizen, certify=DocMDPPermission.NO_CHANGES)
    second = sign(certified, tmp_path / "c2.pdf", officer, field="S2")
    first, _ = _verify(huesign_pki, second).signatures
    assert first.pdf is not None
    assert first.pdf.certification
    assert first.pdf.docmdp == 1
    assert first.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE


def test_docmdp_no_changes_still_allows_validation_data_and_timestamps(
    huesign_pki: DevelopmentCA, form: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    certified = sign(form, tmp_path / "c.pdf", citizen, certify=DocMDPPermission.NO_CHANGES)
    lt = add_validation_data(
        certified, tmp_path / "lt.pdf", validation_data(huesign_pki, [citizen.certificate])
    )
    lta = doc_timestamp(lt, tmp_path / "lta.pdf", huesign_pki)
    assert _verify(huesign_pki, lta).passed


def test_docmdp_form_filling_forbids_annotations_even_under_form_filling_policy(
    huesign_pki: DevelopmentCA, form: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    certified = sign(form, tmp_path / "c.pdf", citizen, certify=DocMDPPermission.FORM_FILLING)
    annotated = add_annotation(certified, tmp_path / "a.pdf")
    filled = fill_field(certified, tmp_path / "f.pdf", "HoTen", "Trần Thị C")
    mode = ModificationPolicy.FORM_FILLING
    assert not _verify(huesign_pki, annotated, modifications=mode).passed
    assert _verify(huesign_pki, filled, modifications=mode).passed


def test_field_lock_forbids_filling_the_locked_field(
    huesign_pki: DevelopmentCA, form: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    lock = FieldLock(action=LockAction.INCLUDE, fields=("HoTen",))
    locked = sign(form, tmp_path / "l.pdf", citizen, lock=lock)
    filled = fill_field(locked, tmp_path / "f.pdf", "HoTen", "Trần Thị C")
    report = _verify(huesign_pki, filled, modifications=ModificationPolicy.FORM_FILLING)
    (sig,) = report.signatures
    assert sig.pdf is not None
    assert sig.pdf.locked_fields == ("HoTen",)
    assert sig.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
    assert "field locked" in sig.errors[-1].message_en


def test_metadata_change_is_allowed_with_a_warning(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    def retitle(reader: object, writer: object) -> None:
        from huesign.pki.pdfreader import PDFReader
        from huesign.pki.pdfwriter import IncrementalWriter

        assert isinstance(reader, PDFReader)
        assert isinstance(writer, IncrementalWriter)
        info = reader.trailer["Info"]
        writer.update(info, reader.get_dict(info).updated(Title=PDFString.from_text("Đơn")))  # type: ignore[arg-type]

    out = update(signed, tmp_path / "meta.pdf", retitle)
    (sig,) = _verify(huesign_pki, out).signatures
    assert sig.passed
    assert "metadata_modification" in {w.code for w in sig.warnings}


# --- the report --------------------------------------------------------------------------------


def test_report_json_round_trip_is_exact(
    huesign_pki: DevelopmentCA, signed: Path, officer: IssuedCertificate, tmp_path: Path
) -> None:
    filled = fill_field(
        sign(signed, tmp_path / "2.pdf", officer, field="S2"), tmp_path / "f.pdf", "HoTen", "X"
    )
    report = _verify(huesign_pki, filled)
    assert PDFValidationReport.from_json(report.to_json()) == report


def test_malformed_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="PDF validation report"):
        PDFValidationReport.from_json('{"signatures": 3}')


def test_document_without_signatures_does_not_pass(huesign_pki: DevelopmentCA, form: Path) -> None:
    report = _verify(huesign_pki, form)
    assert report.signatures == ()
    assert not report.passed
    assert "no digital signature" in report.summary("en")
    with pytest.raises(SignatureValidationError) as info:
        report.raise_for_failure()
    assert info.value.report.sub_indication is SubIndication.SIGNED_DATA_NOT_FOUND


def test_raise_for_failure_returns_the_report_when_it_passed(
    huesign_pki: DevelopmentCA, signed: Path
) -> None:
    report = _verify(huesign_pki, signed)
    assert report.raise_for_failure() is report


def test_raise_for_failure_carries_the_failing_signature(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    filled = fill_field(signed, tmp_path / "f.pdf", "HoTen", "X")
    with pytest.raises(SignatureValidationError) as info:
        _verify(huesign_pki, filled).raise_for_failure()
    assert info.value.report.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE


def test_summary_names_each_signature_in_vietnamese(
    huesign_pki: DevelopmentCA, signed: Path
) -> None:
    text = _verify(huesign_pki, signed).summary("vi")
    assert text.startswith("Chữ ký 1 (Signature1):")
    assert "Chữ ký số hợp lệ." in text


def test_naive_validation_time_is_refused(huesign_pki: DevelopmentCA, signed: Path) -> None:
    with pytest.raises(ValueError, match="timezone"):
        verify_pdf(signed, trust=TrustStore.vietnam(), at=dt.datetime(2026, 1, 1))


def test_modification_policy_must_be_the_enum(signed: Path) -> None:
    with pytest.raises(TypeError):
        verify_pdf(signed, trust=TrustStore.vietnam(), modifications="strict")  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(identity=citizen_identities(), key=private_keys(algorithms=[KeyAlgorithm.EC_P256]))
def test_generated_signers_verify_and_report_their_identity(
    huesign_pki: DevelopmentCA, form: Path, tmp_path_factory: pytest.TempPathFactory,
    identity: CitizenIdentity, key: PrivateKey,
) -> None:  # fmt: skip
    who = huesign_pki.issue(identity, key=key, allow_long_names=True)
    out = sign(form, tmp_path_factory.mktemp("gen") / "s.pdf", who)
    (sig,) = _verify(huesign_pki, out).signatures
    assert sig.passed
    assert sig.signer == who.certificate.identity
