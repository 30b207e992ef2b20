"""``huesign pdf sign``, ``verify`` and ``extend`` end to end (TSA, OCSP and CRLs over loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huesign.cli import main
from huesign.pki import CitizenIdentity, DevelopmentCA, Identifier
from padeshelpers import make_pdf

PASSWORD = "Hue-S 2026 bí mật"


@pytest.fixture
def workdir(tmp_path: Path, pki_services: DevelopmentCA) -> Path:
    identity = CitizenIdentity(
        common_name="Tôn Nữ Thị Ninh", identifiers=(Identifier.cccd("046196007890"),)
    )
    issued = pki_services.issue(identity)
    (tmp_path / "id.p12").write_bytes(issued.to_pkcs12(password=PASSWORD))
    (tmp_path / "root.pem").write_bytes(pki_services.root.to_pem())
    make_pdf(tmp_path / "form.pdf")
    return tmp_path


def _sign(workdir: Path, *extra: str, out: str = "signed.pdf") -> int:
    return main(
        ["pdf", "sign", str(workdir / "form.pdf"), str(workdir / out),
         "--p12", str(workdir / "id.p12"), "--password", PASSWORD, *extra]
    )  # fmt: skip


def _verify_json(
    workdir: Path, capsys: pytest.CaptureFixture[str], name: str = "signed.pdf"
) -> tuple[int, dict[str, list[dict[str, object]]]]:
    capsys.readouterr()
    code = main(
        ["pdf", "verify", str(workdir / name), "--trust", str(workdir / "root.pem"), "--json"]
    )
    return code, json.loads(capsys.readouterr().out)


def test_sign_then_verify_exits_zero(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _sign(workdir) == 0
    code = main(
        ["pdf", "verify", str(workdir / "signed.pdf"), "--trust", str(workdir / "root.pem")]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "Chữ ký số hợp lệ." in out
    assert "The digital signature is valid." in out
    assert PASSWORD not in out + err


def test_visible_b_lta_signature_verifies_at_b_lta(
    workdir: Path, pki_services: DevelopmentCA, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        _sign(
            workdir,
            "--level", "B-LTA", "--tsa", pki_services.tsa_url, "--visible",
            "--rect", "300,40,560,120", "--reason", "Nộp hồ sơ", "--location", "Huế",
        )
        == 0
    )  # fmt: skip
    code, report = _verify_json(workdir, capsys)
    assert code == 0
    (sig,) = report["signatures"]
    assert sig["level"] == "B-LTA"
    assert len(report["document_timestamps"]) == 1


def test_field_option_names_the_signature_field(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _sign(workdir, "--field", "NguoiNop") == 0
    code, report = _verify_json(workdir, capsys)
    assert code == 0
    assert report["signatures"][0]["pdf"]["field_name"] == "NguoiNop"  # type: ignore[index]


def test_level_above_b_b_without_tsa_is_a_usage_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _sign(workdir, "--level", "B-T") == 2
    assert "--tsa" in capsys.readouterr().err
    assert not (workdir / "signed.pdf").exists()


def test_bad_rectangle_is_a_usage_error(workdir: Path) -> None:
    assert _sign(workdir, "--visible", "--rect", "1,2,3") == 2


def test_existing_output_is_not_overwritten_without_force(workdir: Path) -> None:
    (workdir / "signed.pdf").write_bytes(b"keep")
    assert _sign(workdir) == 2
    assert (workdir / "signed.pdf").read_bytes() == b"keep"


def test_wrong_password_fails_without_echoing_it(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["pdf", "sign", str(workdir / "form.pdf"), str(workdir / "s.pdf"),
         "--p12", str(workdir / "id.p12"), "--password", "sai-mat-khau-123"]
    )  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 1
    assert "sai-mat-khau-123" not in err


def test_verify_of_changed_file_exits_one(workdir: Path) -> None:
    assert _sign(workdir) == 0
    data = (workdir / "signed.pdf").read_bytes()
    (workdir / "signed.pdf").write_bytes(data + b"\n1 0 obj\n<<>>\nendobj\n")
    assert (
        main(["pdf", "verify", str(workdir / "signed.pdf"), "--trust", str(workdir / "root.pem")])
        == 1
    )


def test_verify_of_unsigned_file_exits_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _verify_json(workdir, capsys, "form.pdf")
    assert code == 1
    assert report["signatures"] == []


def test_verify_in_english_only(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _sign(workdir) == 0
    capsys.readouterr()
    main(["pdf", "verify", str(workdir / "signed.pdf"), "--trust", str(workdir / "root.pem"),
          "--lang", "en"])  # fmt: skip
    out = capsys.readouterr().out
    assert "The digital signature is valid." in out
    assert "Chữ ký" not in out


def test_extend_in_place_reaches_b_lta(
    workdir: Path, pki_services: DevelopmentCA, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _sign(workdir) == 0
    target = str(workdir / "signed.pdf")
    code = main(["pdf", "extend", target, "--level", "B-LTA", "--tsa", pki_services.tsa_url,
                 "--trust", str(workdir / "root.pem")])  # fmt: skip
    assert code == 0
    code, report = _verify_json(workdir, capsys)
    assert code == 0
    assert report["signatures"][0]["level"] == "B-LTA"


def test_extend_to_a_new_file_leaves_the_original(
    workdir: Path, pki_services: DevelopmentCA
) -> None:
    assert _sign(workdir) == 0
    before = (workdir / "signed.pdf").read_bytes()
    out = workdir / "extended.pdf"
    code = main(["pdf", "extend", str(workdir / "signed.pdf"), "--level", "B-LTA",
                 "--tsa", pki_services.tsa_url, "--out", str(out),
                 "--trust", str(workdir / "root.pem")])  # fmt: skip
    assert code == 0
    assert (workdir / "signed.pdf").read_bytes() == before
    assert out.read_bytes().startswith(before)
