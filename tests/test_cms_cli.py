"""``huesign cms sign`` and ``huesign cms verify`` end to end (revocation over loopback HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huesign.cli import main
from huesign.pki import CitizenIdentity, DevelopmentCA, Identifier

PASSWORD = "Hue-S 2026 bí mật"


@pytest.fixture
def workdir(tmp_path: Path, pki_services: DevelopmentCA) -> Path:
    identity = CitizenIdentity(
        common_name="Tôn Nữ Thị Ninh", identifiers=(Identifier.cccd("046196007890"),)
    )
    issued = pki_services.issue(identity)
    (tmp_path / "id.p12").write_bytes(issued.to_pkcs12(password=PASSWORD))
    (tmp_path / "root.pem").write_bytes(pki_services.root.to_pem())
    (tmp_path / "form.txt").write_text("Đơn đăng ký thường trú\n", encoding="utf-8")
    return tmp_path


def _sign(workdir: Path, *extra: str) -> int:
    return main(
        ["cms", "sign", str(workdir / "form.txt"), "--p12", str(workdir / "id.p12"), *extra]
    )


def _verify(workdir: Path, *extra: str) -> int:
    return main(
        ["cms", "verify", str(workdir / "form.txt"), "--signature", str(workdir / "form.txt.p7s"),
         "--trust", str(workdir / "root.pem"), *extra]
    )  # fmt: skip


def test_sign_then_verify_exits_zero(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUESIGN_P12_PASSWORD", PASSWORD)
    assert _sign(workdir) == 0
    assert _verify(workdir) == 0
    out, err = capsys.readouterr()
    assert "Chữ ký số hợp lệ." in out
    assert PASSWORD not in out + err


def test_verify_of_changed_file_exits_one(workdir: Path, pki_services: DevelopmentCA) -> None:
    (workdir / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    assert (
        _sign(workdir, "--password-file", str(workdir / "pw"), "--tsa", pki_services.tsa_url) == 0
    )
    (workdir / "form.txt").write_text("changed", encoding="utf-8")
    assert _verify(workdir) == 1


def test_verify_json_prints_the_report(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _sign(workdir, "--password", PASSWORD, "--attached") == 0
    capsys.readouterr()
    code = main(
        ["cms", "verify", str(workdir / "form.txt.p7s"), "--trust", str(workdir / "root.pem"),
         "--json"]
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["indication"] == "TOTAL_PASSED"
    assert report["signer"]["identifiers"] == ["CCCD:046196007890"]


def test_wrong_password_fails_without_echoing_it(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _sign(workdir, "--password", "sai-mat-khau-123") == 1
    _, err = capsys.readouterr()
    assert err.startswith("error:")
    assert "sai-mat-khau-123" not in err


def test_existing_output_is_not_overwritten_without_force(workdir: Path) -> None:
    (workdir / "form.txt.p7s").write_bytes(b"keep")
    assert _sign(workdir, "--password", PASSWORD) == 2
    assert (workdir / "form.txt.p7s").read_bytes() == b"keep"
