"""``huesign forms``: list, show, fill, render, sign and open from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formhelpers import CERTIFICATE_BYTES, TODAY, birth_attachment, birth_values
from huesign.cli import main
from huesign.pki import CitizenIdentity, DevelopmentCA, Identifier

PASSWORD = "mật khẩu Hue-S"


@pytest.fixture
def workdir(tmp_path: Path, pki_services: DevelopmentCA) -> Path:
    identity = CitizenIdentity(
        common_name="Nguyễn Văn An", identifiers=(Identifier.cccd("046090000123"),)
    )
    citizen = pki_services.issue(identity)
    data = {
        "procedure": {"code": "1.001193", "version": "2025.1"},
        "values": birth_values(),
        "attachments": [birth_attachment().to_dict()],
    }
    (tmp_path / "data.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "scan.pdf").write_bytes(CERTIFICATE_BYTES)
    (tmp_path / "id.p12").write_bytes(citizen.to_pkcs12(password=PASSWORD))
    (tmp_path / "root.pem").write_bytes(pki_services.root.to_pem())
    return tmp_path


def _data_args(workdir: Path, command: str) -> list[str]:
    return ["forms", command, "1.001193", "--data", str(workdir / "data.json"),
            "--today", TODAY.isoformat()]  # fmt: skip


def _sign(workdir: Path, *extra: str) -> int:
    return main(
        [*_data_args(workdir, "sign"), "--p12", str(workdir / "id.p12"), "--password", PASSWORD,
         "--attach", f"att-1={workdir / 'scan.pdf'}", "--out", str(workdir / "signed.pdf"),
         *extra]
    )  # fmt: skip


def _open(path: Path, workdir: Path, *extra: str) -> int:
    return main(["forms", "open", str(path), "--trust", str(workdir / "root.pem"), *extra])


def test_list_searches_without_diacritics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "list", "--search", "dang ky khai sinh"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "1.001193  Đăng ký khai sinh (Birth registration)"


def test_list_without_a_match_exits_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "list", "--search", "không có thủ tục này"]) == 1


def test_list_json_gives_every_procedure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "list", "--json"]) == 0
    codes = [p["code"] for p in json.loads(capsys.readouterr().out)]
    assert "1.001193" in codes
    assert len(codes) == 6


def test_show_prints_fields_and_documents(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "show", "1.001193"]) == 0
    out = capsys.readouterr().out
    assert "Đăng ký khai sinh" in out
    assert "Giấy chứng sinh" in out
    assert "* full_name [text]" in out


def test_show_of_an_unknown_code_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "show", "9.999999"]) == 2
    assert "no procedure" in capsys.readouterr().err


def test_fill_of_valid_data_prints_the_normalised_submission(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_data_args(workdir, "fill"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is True
    assert result["submission"]["values"]["applicant"]["phone"] == "+84905123456"


def test_fill_lists_every_error_with_path_and_code(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = birth_values()
    values["applicant"]["cccd"] = "12"  # type: ignore[index]
    del values["child"]
    (workdir / "bad.json").write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
    code = main(["forms", "fill", "1.001193", "--data", str(workdir / "bad.json"),
                 "--today", TODAY.isoformat(), "--json"])  # fmt: skip
    assert code == 1
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is False
    found = {(e["path"], e["code"]) for e in result["errors"]}
    assert ("applicant.cccd", "invalid_cccd") in found
    assert ("child", "required") in found
    assert all(e["message_vi"] and e["message_en"] for e in result["errors"])


def test_fill_errors_in_text_go_to_stderr(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "empty.json").write_text("{}", encoding="utf-8")
    code = main(["forms", "fill", "1.001193", "--data", str(workdir / "empty.json")])
    assert code == 1
    err = capsys.readouterr().err
    assert "applicant: " in err
    assert "[required]" in err


def test_render_writes_a_pdf(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = workdir / "form.pdf"
    assert main([*_data_args(workdir, "render"), "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    assert main([*_data_args(workdir, "render"), "--out", str(out)]) == 2  # no --force


def test_sign_then_open_prints_the_data(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _sign(workdir) == 0
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    assert _open(workdir / "signed.pdf", workdir, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accepted"] is True
    assert result["submission"]["values"]["child"]["full_name"] == "Nguyễn Ngọc Hân"


def test_sign_with_asic_then_open_the_container(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asic = workdir / "dossier.asice"
    assert _sign(workdir, "--asic", str(asic)) == 0
    capsys.readouterr()
    assert _open(asic, workdir) == 0
    assert "Hồ sơ hợp lệ / dossier accepted" in capsys.readouterr().out


def test_open_of_an_unsigned_form_exits_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "form.pdf"
    assert main([*_data_args(workdir, "render"), "--out", str(out)]) == 0
    assert _open(out, workdir) == 1
    assert "dossier refused" in capsys.readouterr().out


def test_sign_with_a_bad_attach_option_is_a_usage_error(workdir: Path) -> None:
    assert _sign(workdir, "--attach", "no-equals-sign") == 2
