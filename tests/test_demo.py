"""``huesign demo``: the citizen's whole journey against an embedded sandbox.

The demo runs in process through ``main`` (and once as the installed program); what it writes
is checked with ``verify_pdf`` and with the independent judges (pdfsig with the demo CA's root
in an NSS database, qpdf).  A test needing a judge skips when it is missing, and fails instead
when ``HUESIGN_REQUIRE_JUDGES=1``.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from huesign.cli import main
from huesign.cli._journey import Journey
from huesign.pki import (
    Certificate,
    RevocationMode,
    TrustStore,
    ValidationPolicy,
    load_certificates_file,
    verify_pdf,
)
from judges import nss_db, pdfsig, qpdf_check, require_program

STEPS = [
    "sandbox",
    "citizen",
    "procedure",
    "form",
    "sign",
    "submit",
    "payment",
    "tracking",
    "result",
]


def _demo(*args: str | Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["demo", *map(str, args)])
    return code, stdout.getvalue(), stderr.getvalue()


def _json_run(work: Path, *args: str) -> dict[str, Any]:
    code, out, err = _demo("--json", "--out", work, *args)
    report: dict[str, Any] = json.loads(out)
    report["exit_code"] = code
    report["stderr"] = err
    return report


def _trust(files: dict[str, str]) -> TrustStore:
    roots = load_certificates_file(files["root"])
    return TrustStore.from_certificates(
        roots, intermediates=load_certificates_file(files["intermediate"])
    )


# The sandbox is gone once the demo ends: revocation data can no longer be fetched.
OFFLINE = ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # One default run (CSC remote signing) shared by the tests that read its report and files.
    return _json_run(tmp_path_factory.mktemp("demo") / "work")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    # The same journey with the sandbox still answering (pdfsig asks its OCSP responder).
    work = tmp_path_factory.mktemp("live")
    with contextlib.ExitStack() as resources:
        journey = Journey(work=work, resources=resources)
        for step in (
            journey.start_sandbox,
            journey.connect_citizen,
            journey.find_procedure,
            journey.fill_form,
            journey.sign_form,
            journey.submit,
            journey.pay,
            journey.track,
            journey.verify_result,
        ):
            step()
        yield journey


@pytest.fixture(scope="module")
def demo_nssdb(live: Journey, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = Path(live.files["root"]).read_bytes()
    return nss_db(tmp_path_factory.mktemp("nssdb"), root, nickname="demo-root")


def _pdfsig(nssdb: str, path: str) -> str:
    return pdfsig(Path(path), nssdb).output


# -- the JSON report ------------------------------------------------------------------------


def test_demo_json_passes_every_step_and_exits_zero(demo: dict[str, Any]) -> None:
    assert demo["exit_code"] == 0, demo["stderr"]
    assert demo["ok"] is True
    assert demo["failed_step"] is None
    assert [(s["name"], s["ok"]) for s in demo["steps"]] == [(name, True) for name in STEPS]


def test_demo_json_has_the_documented_keys(demo: dict[str, Any]) -> None:
    assert {"ok", "steps", "dossier", "verdicts", "files"} <= set(demo)
    for step in demo["steps"]:
        assert {"name", "ok", "duration_ms", "detail"} <= set(step)
        assert isinstance(step["duration_ms"], int)
        assert step["detail"]
    assert {"code", "fee", "paid", "state"} <= set(demo["dossier"])
    assert {"form", "result"} <= set(demo["verdicts"])
    assert {"signed_form", "agency_result", "ca_directory"} <= set(demo["files"])


def test_demo_writes_every_file_it_reports(demo: dict[str, Any]) -> None:
    for path in demo["files"].values():
        assert Path(path).exists(), path
    work = Path(demo["work_directory"])
    assert all(Path(p).is_relative_to(work) for p in demo["files"].values())
    assert (Path(demo["files"]["ca_directory"]) / "root.pem").is_file()


def test_demo_finishes_in_a_few_seconds(demo: dict[str, Any]) -> None:
    assert sum(s["duration_ms"] for s in demo["steps"]) < 20_000


def test_demo_finds_the_procedure_by_words_without_diacritics(demo: dict[str, Any]) -> None:
    detail = demo["steps"][STEPS.index("procedure")]["detail"]
    assert "'dang ky tam tru' -> 1.004194" in detail
    assert demo["dossier"]["procedure_code"] == "1.004194"
    assert demo["dossier"]["procedure_vi"] == "Đăng ký tạm trú"


def test_demo_validation_catches_the_wrong_first_draft_in_vietnamese(
    demo: dict[str, Any],
) -> None:
    errors = {e["path"]: e for e in demo["draft_errors"]}
    assert {"applicant.cccd", "applicant.phone", "commitment"} <= set(errors)
    assert errors["applicant.cccd"]["message_vi"] == "Số CCCD phải gồm 12 chữ số."
    assert errors["applicant.cccd"]["code"] == "invalid_cccd"


def test_demo_citizen_is_a_hue_resident_with_a_vietnamese_name(demo: dict[str, Any]) -> None:
    citizen = demo["citizen"]
    assert citizen["name"] == "Hoàng Thị Thu Hà"
    assert citizen["cccd"].startswith("046")
    assert citizen["province"] == "Thành phố Huế"
    assert citizen["signing"] == "csc"


def test_demo_provisions_its_own_citizen_rather_than_the_sandbox_default(
    demo: dict[str, Any],
) -> None:
    assert demo["citizen"]["cccd"] == "046194008817"
    assert demo["citizen"]["credential"] == "CSC credential cred-046194008817, SCAL 2"
    assert demo["verdicts"]["portal"]["signer"] == "Hoàng Thị Thu Hà"


def test_demo_form_data_is_for_the_online_channel_at_a_hue_address(demo: dict[str, Any]) -> None:
    data = json.loads(Path(demo["files"]["form_data"]).read_text(encoding="utf-8"))
    assert data["procedure"]["code"] == "1.004194"
    assert data["values"]["channel"] == "online"
    assert data["values"]["residence_address"]["province_code"] == "46"
    assert data["values"]["applicant"]["cccd"] == demo["citizen"]["cccd"]


def test_demo_masks_the_pin_and_never_prints_it(demo: dict[str, Any]) -> None:
    pin = demo["citizen"]["pin"]
    assert set(pin) == {"•"}
    text = json.dumps(demo, ensure_ascii=False)
    assert '"123456"' not in text
    assert "Bearer" not in text


def test_demo_shows_the_same_verification_code_as_the_provider(demo: dict[str, Any]) -> None:
    confirmation = demo["confirmation"]
    assert re.fullmatch(r"\d{4}", confirmation["verification_code"])
    assert confirmation["shown_by_provider"] == confirmation["verification_code"]


def test_demo_portal_accepts_the_signed_form(demo: dict[str, Any]) -> None:
    portal = demo["verdicts"]["portal"]
    assert portal["passed"] is True
    assert portal["indication"] == "TOTAL_PASSED"
    assert portal["signer"] == "Hoàng Thị Thu Hà"


def test_demo_pays_the_fee_and_tracks_the_dossier_to_its_result(demo: dict[str, Any]) -> None:
    dossier = demo["dossier"]
    assert dossier["fee"] == 7000  # the online channel's fee, read from the signed form
    assert dossier["paid"] is True
    assert dossier["payment_state"] == "succeeded"
    assert dossier["history"][-3:] == ["received", "processing", "result_ready"]
    assert dossier["state"] == "result_ready"
    assert re.fullmatch(r"H46\.\d{6}\.\d{6}", dossier["code"])


def test_demo_verdicts_are_given_in_vietnamese_and_english(demo: dict[str, Any]) -> None:
    for key in ("form", "result"):
        verdict = demo["verdicts"][key]
        assert verdict["indication"] == "TOTAL_PASSED"
        assert "Chữ ký số hợp lệ." in verdict["summary_vi"]
        assert "The digital signature is valid." in verdict["summary_en"]
    assert demo["verdicts"]["form"]["level"] == "B-T"
    assert demo["verdicts"]["result"]["signer"] == "UBND phường Thuận Hóa"


def test_demo_signed_form_verifies_with_verify_pdf(demo: dict[str, Any]) -> None:
    files = demo["files"]
    report = verify_pdf(files["signed_form"], trust=_trust(files), policy=OFFLINE)
    assert report.passed, report.summary("en")
    signature = report.signatures[0]
    assert signature.signer is not None
    assert signature.signer.cccd == demo["citizen"]["cccd"]
    assert signature.proven_signing_time is not None  # B-T: the sandbox TSA's timestamp
    assert signature.pdf is not None
    assert signature.pdf.field_name == "citizen_signature"


def test_demo_agency_result_verifies_with_verify_pdf(demo: dict[str, Any]) -> None:
    files = demo["files"]
    report = verify_pdf(files["agency_result"], trust=_trust(files), policy=OFFLINE)
    assert report.passed, report.summary("en")


def test_demo_result_is_not_trusted_without_the_demo_root(demo: dict[str, Any]) -> None:
    report = verify_pdf(demo["files"]["agency_result"], trust=TrustStore.vietnam(), policy=OFFLINE)
    assert not report.passed


def test_demo_signed_form_passes_qpdf_check(demo: dict[str, Any]) -> None:
    qpdf_check(Path(demo["files"]["signed_form"]))


def test_demo_signed_form_has_a_visible_stamp_with_the_citizens_name(
    demo: dict[str, Any],
) -> None:
    done = subprocess.run(
        [require_program("pdftotext"), demo["files"]["signed_form"], "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Hoàng Thị Thu Hà" in done.stdout


# -- pdfsig, while the sandbox answers ------------------------------------------------------


def test_pdfsig_trusts_the_citizens_signed_form(live: Journey, demo_nssdb: str) -> None:
    output = _pdfsig(demo_nssdb, live.files["signed_form"])
    assert "Signature is Valid." in output
    assert "Certificate is Trusted." in output
    assert "Total document signed" in output


def test_pdfsig_trusts_the_agencys_result(live: Journey, demo_nssdb: str) -> None:
    output = _pdfsig(demo_nssdb, live.files["agency_result"])
    assert "Signature is Valid." in output
    assert "Certificate is Trusted." in output
    assert "UBND phường Thuận Hóa" in output


# -- options --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sp769", "p12"])
def test_each_signing_mode_completes_the_journey(mode: str, tmp_path: Path) -> None:
    report = _json_run(tmp_path / "work", "--signing", mode)
    assert report["exit_code"] == 0, report["stderr"]
    assert all(s["ok"] for s in report["steps"])
    assert report["signing"] == mode
    assert report["verdicts"]["form"]["signer"] == "Hoàng Thị Thu Hà"
    assert report["dossier"]["fee"] == 7000
    if mode == "p12":
        p12 = Path(report["files"]["pkcs12"])
        assert p12.stat().st_mode & 0o077 == 0
        assert set(report["citizen"]["p12_password"]) == {"•"}


def test_a_citizen_who_rejects_stops_the_run_at_the_signing_step(tmp_path: Path) -> None:
    report = _json_run(tmp_path / "work", "--citizen-answer", "reject")
    assert report["exit_code"] == 1
    assert report["ok"] is False
    assert report["failed_step"] == "sign"
    statuses = {s["name"]: s["status"] for s in report["steps"]}
    assert statuses["form"] == "passed"
    assert statuses["sign"] == "failed"
    assert [statuses[n] for n in STEPS[STEPS.index("sign") + 1 :]] == ["skipped"] * 4
    assert "error: step 'sign' failed" in report["stderr"]
    assert "signed_form" not in report["files"]


def test_rejecting_is_a_usage_error_with_a_key_file(tmp_path: Path) -> None:
    code, out, err = _demo("--signing", "p12", "--citizen-answer", "reject", "--out", tmp_path)
    assert code == 2
    assert out == ""
    assert "--citizen-answer" in err


def test_demo_prints_numbered_steps_and_a_bilingual_summary(tmp_path: Path) -> None:
    code, out, _ = _demo("--out", tmp_path / "demo")
    assert code == 0
    assert "[1/9] Khởi động môi trường thử nghiệm / Start the embedded sandbox ... đạt / ok" in out
    assert "[9/9] " in out
    assert "Kết quả / Result: ĐẠT / PASSED (9/9 bước đạt / steps passed)" in out
    assert re.search(r"Hồ sơ / Dossier: H46\.\d{6}\.\d{6}", out)
    assert "Lệ phí / Fee: 7,000 VND (đã nộp / paid)" in out
    assert "Số CCCD phải gồm 12 chữ số. / A CCCD number has 12 digits." in out
    assert f"Tờ khai đã ký / Signed form: {tmp_path / 'demo' / 'signed-form.pdf'}" in out
    assert "123456" not in out


def test_demo_in_english_prints_no_vietnamese_titles(tmp_path: Path) -> None:
    code, out, _ = _demo("--lang", "en", "--signing", "p12", "--out", tmp_path / "demo")
    assert code == 0
    assert "[1/9] Start the embedded sandbox ... ok" in out
    assert "Khởi động" not in out
    assert "Result: PASSED (9/9 steps passed)" in out


def test_demo_without_out_keeps_a_fresh_temporary_directory_and_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    code, out, _ = _demo("--json", "--signing", "p12")
    assert code == 0
    work = Path(json.loads(out)["work_directory"])
    assert work.parent == tmp_path
    assert work.name.startswith("huesign-demo-")
    assert (work / "signed-form.pdf").is_file()


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    code, out, err = _demo("--out", tmp_path)
    assert code == 2
    assert "not empty" in err
    assert out == ""
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_installed_console_script_runs_the_demo(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("huesign")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "huesign.cli"]
    result = subprocess.run(
        [*command, "demo", "--json", "--out", str(tmp_path / "demo")],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout.decode("utf-8"))
    assert report["ok"] is True
    assert Path(report["files"]["agency_result"]).is_file()


def test_the_citizen_certificate_file_holds_the_signers_certificate(
    demo: dict[str, Any],
) -> None:
    certificate = Certificate.from_pem(Path(demo["files"]["certificate"]).read_bytes())
    assert certificate.identity.cccd == demo["citizen"]["cccd"]
