"""``huesign token list`` and ``huesign token doctor`` against SoftHSM2 tokens.

The commands run in process (``main``), where the ``softhsm_tokens`` fixture has pointed
SoftHSM2 at the test tokens; they skip without SoftHSM2 unless ``HUESIGN_REQUIRE_JUDGES=1``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from huesign.cli import main
from huesign.testing.softhsm import SoftHSMToken


def _run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def tokens(softhsm_tokens: Mapping[str, SoftHSMToken]) -> Mapping[str, SoftHSMToken]:
    return softhsm_tokens


@pytest.fixture
def pin_file(tmp_path: Path) -> Path:
    path = tmp_path / "pin.txt"
    path.write_text("1234\n", encoding="utf-8")
    return path


def _module(tokens: Mapping[str, SoftHSMToken]) -> str:
    return tokens["citizen"].module_path


def test_token_group_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "token", "--help")
    assert code == 0
    assert "doctor" in out
    assert "list" in out


def test_list_shows_every_token_with_serial_and_pin_state(
    capsys: pytest.CaptureFixture[str], tokens: Mapping[str, SoftHSMToken]
) -> None:
    code, out, _ = _run(capsys, "token", "list", "--module", _module(tokens))
    assert code == 0
    for label in ("huesign-citizen", "huesign-locked", "huesign-final-try", "huesign-mixed"):
        assert label in out
    assert "locked, 0 tries left" in out
    assert "final_try, 1 try left" in out
    assert "ECDSA, RSA_PKCS" in out.replace("RSA_PKCS, RSA_PKCS_PSS, ECDSA", "ECDSA, RSA_PKCS")
    assert "not initialised" in out


def test_list_says_what_is_wrong_with_a_locked_token(
    capsys: pytest.CaptureFixture[str], tokens: Mapping[str, SoftHSMToken]
) -> None:
    _, out, _ = _run(capsys, "token", "list", "--module", _module(tokens))
    locked = out.split("huesign-locked", 1)[1].split("Khe / Slot", 1)[0]
    assert "✗ the user PIN is locked" in locked


def test_list_json_holds_the_mechanisms_and_flags(
    capsys: pytest.CaptureFixture[str], tokens: Mapping[str, SoftHSMToken]
) -> None:
    code, out, _ = _run(capsys, "token", "list", "--module", _module(tokens), "--json")
    assert code == 0
    listed = json.loads(out)["modules"][0]["tokens"]
    citizen = next(t for t in listed if t["label"] == "huesign-citizen")
    assert {"RSA_PKCS", "RSA_PKCS_PSS", "ECDSA"} <= set(citizen["mechanisms"])
    assert "TOKEN_INITIALIZED" in citizen["flags"]
    assert citizen["pin_status"] == "ok"
    assert citizen["problems"] == []


def test_list_finds_the_module_from_the_environment(
    capsys: pytest.CaptureFixture[str],
    tokens: Mapping[str, SoftHSMToken],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUESIGN_PKCS11_MODULE", _module(tokens))
    code, out, _ = _run(capsys, "token", "list")
    assert code == 0
    assert f"Module: {_module(tokens)}" in out


def test_list_with_a_missing_module_fails_cleanly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(capsys, "token", "list", "--module", tmp_path / "absent.so")
    assert code == 1
    assert "module not found" in err
    assert "Traceback" not in err
    assert out == ""


def test_doctor_pairs_certificates_with_their_keys(
    capsys: pytest.CaptureFixture[str], tokens: Mapping[str, SoftHSMToken], pin_file: Path
) -> None:
    args = ("token", "doctor", "--module", _module(tokens), "--token", "huesign-citizen")
    code, out, _ = _run(capsys, *args, "--pin-file", pin_file)
    assert code == 0, out
    assert "Nguyễn Thị Hương Giang" in out
    assert "CCCD" in out
    assert "ec-secp256r1, CKA_ID" in out
    assert "rsa-2048, CKA_ID" in out
    assert "No problems found." in out


def test_doctor_without_a_pin_reads_public_objects_only(
    capsys: pytest.CaptureFixture[str],
    tokens: Mapping[str, SoftHSMToken],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HUESIGN_TOKEN_PIN", raising=False)
    args = ("token", "doctor", "--module", _module(tokens), "--token", "huesign-citizen")
    code, out, _ = _run(capsys, *args)
    assert code == 0
    assert "no PIN: public objects only" in out
    assert "not checked (no PIN given)" in out


def test_doctor_reports_certificates_without_keys_keys_without_certificates_and_expiry(
    capsys: pytest.CaptureFixture[str],
    tokens: Mapping[str, SoftHSMToken],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUESIGN_TOKEN_PIN", "1234")
    args = ("token", "doctor", "--module", _module(tokens), "--token", "huesign-mixed")
    code, out, _ = _run(capsys, *args)
    assert code == 1
    assert "✗ no private key on the token matches this certificate" in out
    assert "✗ private key without a certificate" in out
    assert "✗ certificate expired on" in out
    assert "3 vấn đề / problem(s)" in out
    assert "1234" not in out.replace("046190001234", "")


def test_doctor_json_reports_each_entry(
    capsys: pytest.CaptureFixture[str], tokens: Mapping[str, SoftHSMToken], pin_file: Path
) -> None:
    args = ("token", "doctor", "--module", _module(tokens), "--token", "huesign-mixed", "--json")
    code, out, _ = _run(capsys, *args, "--pin-file", pin_file)
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["logged_in"] is True
    problems = sorted(p for e in report["entries"] for p in e["problems"])
    assert len(problems) == 3
    stray = tokens["mixed"].objects["stray"]
    assert {e["key_id"] for e in report["entries"]} >= {stray}


def test_doctor_on_a_locked_token_says_so(
    capsys: pytest.CaptureFixture[str], tokens: Mapping[str, SoftHSMToken], pin_file: Path
) -> None:
    args = ("token", "doctor", "--module", _module(tokens), "--token", "huesign-locked")
    code, out, _ = _run(capsys, *args, "--pin-file", pin_file)
    assert code == 1
    assert "✗ the user PIN is locked" in out
    assert "✗ the token holds no certificate" in out


def test_doctor_with_a_wrong_pin_reports_the_remaining_tries(
    capsys: pytest.CaptureFixture[str], tokens: Mapping[str, SoftHSMToken], tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("999999", encoding="utf-8")
    args = ("token", "doctor", "--module", _module(tokens), "--token", "huesign-final-try")
    code, out, err = _run(capsys, *args, "--pin-file", wrong)
    assert code == 1
    assert "wrong PIN" in err
    assert "one try left" in err
    assert "999999" not in err + out


def test_doctor_with_an_unknown_label_fails_cleanly(
    capsys: pytest.CaptureFixture[str], tokens: Mapping[str, SoftHSMToken]
) -> None:
    args = ("token", "doctor", "--module", _module(tokens), "--token", "Viettel-CA")
    code, _, err = _run(capsys, *args)
    assert code == 1
    assert "no token with label 'Viettel-CA'" in err
