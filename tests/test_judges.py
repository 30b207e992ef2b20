"""The test suite's own way to call the independent judges (``judges.py``)."""

from __future__ import annotations

import pytest

from judges import PdfsigResult, optional_program, require_program

ABSENT = "huesign-no-such-judge"


def test_a_missing_judge_skips_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUESIGN_REQUIRE_JUDGES", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"{ABSENT}, an independent judge"):
        require_program(ABSENT)


def test_a_missing_judge_fails_the_test_when_judges_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUESIGN_REQUIRE_JUDGES", "1")
    with pytest.raises(pytest.fail.Exception, match="HUESIGN_REQUIRE_JUDGES=1"):
        require_program(ABSENT)


def test_the_skip_message_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUESIGN_REQUIRE_JUDGES", raising=False)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(pytest.skip.Exception, match="apt-get install poppler-utils"):
        require_program("pdfsig")


def test_an_optional_judge_is_none_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUESIGN_REQUIRE_JUDGES", raising=False)
    assert optional_program(ABSENT) is None


def test_an_optional_judge_is_required_when_judges_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUESIGN_REQUIRE_JUDGES", "1")
    with pytest.raises(pytest.fail.Exception):
        optional_program(ABSENT)


def test_pdfsig_output_is_split_into_one_block_per_signature() -> None:
    out = "Digital Signature Info of: f.pdf\nSignature #1:\n  - A\nSignature #2:\n  - B\n"
    result = PdfsigResult(returncode=0, stdout=out, stderr="warning\n")
    assert result.signatures == ("1:\n  - A\n", "2:\n  - B\n")
    assert result.output.endswith("warning\n")
