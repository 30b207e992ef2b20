"""The options shared by the ``huesign`` commands: one definition, one meaning everywhere.

The helpers in ``huesign.cli._options`` and ``print_report`` in ``huesign.cli._output`` are
checked directly; a walk over the whole parser checks that an option spelled the same in two
commands behaves the same in both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.cli import build_parser
from huesign.cli._options import (
    REVOCATION_MODES,
    add_command_group,
    add_password_options,
    add_pkcs12_options,
    extra_trust,
    given_password,
    input_file,
    pkcs12_signer,
    read_bounded,
    trust_store,
    validation_policy,
    validation_time,
    writable,
    write_new_file,
)
from huesign.cli._output import UsageError, print_report
from huesign.errors import CertificateError
from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    KeySigner,
    RevocationData,
    RevocationMode,
    RevocationSource,
    TrustStore,
    sign_cms,
    verify_cms,
)

_CITIZEN = CitizenIdentity(
    common_name="Phan Thị Thu Hà", identifiers=(Identifier.cccd("046188002468"),), country="VN"
)


@pytest.fixture(scope="module")
def ca() -> DevelopmentCA:
    return DevelopmentCA.create(name="Tuỳ chọn dòng lệnh")


# -- the parser as a whole ----------------------------------------------------------------------


def _subparsers(
    parser: argparse.ArgumentParser,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise AssertionError("no sub-commands")


def _commands() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for group, group_parser in _subparsers(build_parser()).choices.items():
        try:
            children = _subparsers(group_parser).choices
        except AssertionError:
            found[group] = group_parser
            continue
        for name, command in children.items():
            found[f"{group} {name}"] = command
    return found


def test_the_command_groups_are_registered_in_their_order() -> None:
    groups = list(_subparsers(build_parser()).choices)
    assert groups == ["pki", "demo", "cms", "token", "pdf", "forms", "sandbox"]


def test_every_command_group_requires_a_sub_command() -> None:
    for name, group in _subparsers(build_parser()).choices.items():
        if name == "demo":
            continue
        assert _subparsers(group).required, name


def _shape(action: argparse.Action) -> str:
    return repr((type(action).__name__, action.metavar, action.choices, action.default))


@pytest.mark.parametrize(
    "option",
    ["--password", "--password-file", "--p12", "--trust", "--revocation", "--at", "--lang"],
)
def test_a_shared_option_means_the_same_in_every_command(option: str) -> None:
    # The demo narrates in a language of its own choice (``--lang both``): not a report option.
    shapes = {
        name: _shape(action)
        for name, command in _commands().items()
        if name != "demo"
        for action in command._actions
        if option in action.option_strings
    }
    assert len(shapes) >= 2, f"{option} is not shared"
    assert len(set(shapes.values())) == 1, shapes


def test_password_and_password_file_exclude_each_other_everywhere() -> None:
    for name, command in _commands().items():
        for group in command._mutually_exclusive_groups:
            options = {o for a in group._group_actions for o in a.option_strings}
            if "--password" in options:
                assert options == {"--password", "--password-file"}, name
        flags = {o for a in command._actions for o in a.option_strings}
        if "--password" in flags:
            with pytest.raises(SystemExit):
                command.parse_args(["--password", "a", "--password-file", "b"])


# -- groups, passwords and signers ----------------------------------------------------------------


def test_a_command_group_alone_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="huesign")
    top = parser.add_subparsers(dest="command")
    commands = add_command_group(top, "kho", help_text="a group")
    commands.add_parser("xem")
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["kho"])
    assert exited.value.code == 2
    assert parser.parse_args(["kho", "xem"]).kho_command == "xem"


def _password_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_password_options(parser)
    return parser


def test_the_password_file_loses_its_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("mật khẩu\n", encoding="utf-8")
    args = _password_parser().parse_args(["--password-file", str(tmp_path / "pw")])
    assert given_password(args) == "mật khẩu"


def test_the_environment_gives_the_password_when_no_option_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUESIGN_P12_PASSWORD", "từ-môi-trường")
    assert given_password(_password_parser().parse_args([])) == "từ-môi-trường"


def test_the_password_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUESIGN_P12_PASSWORD", "từ-môi-trường")
    args = _password_parser().parse_args(["--password", "từ-tuỳ-chọn"])
    assert given_password(args) == "từ-tuỳ-chọn"


def test_pkcs12_options_open_the_signer(ca: DevelopmentCA, tmp_path: Path) -> None:
    issued = ca.issue(_CITIZEN)
    (tmp_path / "id.p12").write_bytes(issued.to_pkcs12(password="bí mật"))
    parser = argparse.ArgumentParser()
    add_pkcs12_options(parser)
    args = parser.parse_args(["--p12", str(tmp_path / "id.p12"), "--password", "bí mật"])
    signer = pkcs12_signer(args)
    assert signer.certificate == issued.certificate


# -- trust, policy, time --------------------------------------------------------------------------


def test_without_trust_files_the_vietnam_national_root_is_the_anchor() -> None:
    assert trust_store([]).anchors == TrustStore.vietnam().anchors


def test_trust_files_replace_the_bundled_anchors(ca: DevelopmentCA, tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_bytes(ca.root.to_pem())
    assert trust_store([str(tmp_path / "root.pem")]).anchors == (ca.root,)


def test_extra_trust_is_none_without_files() -> None:
    assert extra_trust([]) is None


def test_an_empty_trust_file_is_a_usage_error_naming_it_once(tmp_path: Path) -> None:
    (tmp_path / "empty.pem").write_text("", encoding="utf-8")
    with pytest.raises(UsageError, match="no certificate found") as raised:
        trust_store([str(tmp_path / "empty.pem")])
    assert str(raised.value).count("empty.pem") == 1


def test_a_damaged_trust_file_is_named_in_the_usage_error(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.pem"
    damaged.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(UsageError, match=r"damaged\.pem: "):
        trust_store([str(damaged)])


@pytest.mark.parametrize("choice", sorted(REVOCATION_MODES))
def test_each_revocation_choice_selects_its_mode(choice: str) -> None:
    mode = validation_policy(choice).revocation_mode
    assert mode is REVOCATION_MODES[choice]
    assert mode is {"hard": RevocationMode.HARD_FAIL, "soft": RevocationMode.SOFT_FAIL,
                    "offline": RevocationMode.OFFLINE}[choice]  # fmt: skip


def test_no_validation_time_means_now() -> None:
    assert validation_time(None) is None


def test_a_validation_time_without_offset_is_refused() -> None:
    with pytest.raises(UsageError, match="needs a UTC offset"):
        validation_time("2026-01-31T08:00:00")


def test_a_validation_time_that_is_no_time_is_refused() -> None:
    with pytest.raises(UsageError, match="is not an ISO 8601 time"):
        validation_time("hôm qua")


@settings(max_examples=40)
@given(
    st.datetimes(
        min_value=dt.datetime(1990, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=7))]),
    )
)
def test_any_iso_time_with_offset_reads_back_unchanged(moment: dt.datetime) -> None:
    assert validation_time(moment.isoformat()) == moment


# -- files ----------------------------------------------------------------------------------------


def test_writable_accepts_a_new_path(tmp_path: Path) -> None:
    assert writable(str(tmp_path / "new.pdf"), force=False) == tmp_path / "new.pdf"


def test_writable_refuses_an_existing_file_without_force(tmp_path: Path) -> None:
    (tmp_path / "old.pdf").write_bytes(b"%PDF")
    with pytest.raises(UsageError, match="already exists; use --force to overwrite it"):
        writable(tmp_path / "old.pdf", force=False)


def test_writable_accepts_an_existing_file_with_force(tmp_path: Path) -> None:
    (tmp_path / "old.pdf").write_bytes(b"%PDF")
    assert writable(tmp_path / "old.pdf", force=True) == tmp_path / "old.pdf"


def test_write_new_file_never_replaces_a_file_without_force(tmp_path: Path) -> None:
    target = tmp_path / "sig.p7s"
    target.write_bytes(b"old")
    with pytest.raises(UsageError, match="already exists"):
        write_new_file(target, b"new", force=False)
    assert target.read_bytes() == b"old"


def test_write_new_file_replaces_with_force(tmp_path: Path) -> None:
    target = tmp_path / "sig.p7s"
    target.write_bytes(b"old")
    assert write_new_file(target, b"new", force=True) == str(target)
    assert target.read_bytes() == b"new"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_write_new_file_keeps_secrets_owner_only(tmp_path: Path) -> None:
    write_new_file(tmp_path / "key.pem", b"secret", force=False, secret=True)
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600


def test_input_file_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a file"):
        input_file(str(tmp_path))


def test_read_bounded_reads_a_file_up_to_the_limit(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"x" * 10)
    assert read_bounded(tmp_path / "data", 10) == b"x" * 10


def test_read_bounded_refuses_a_larger_file_with_the_error_asked_for(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"x" * 11)
    with pytest.raises(UsageError, match="larger than 10 bytes"):
        read_bounded(tmp_path / "data", 10)
    with pytest.raises(CertificateError, match="larger than 10 bytes"):
        read_bounded(tmp_path / "data", 10, error=CertificateError)


# -- reports --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed(ca: DevelopmentCA) -> tuple[bytes, TrustStore, RevocationSource]:
    issued = ca.issue(_CITIZEN)
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    revocation = RevocationSource(RevocationData(crls=(ca.crl(), ca.crl("root"))))
    return sign_cms(b"to khai", signer), TrustStore.from_certificates([ca.root]), revocation


def test_print_report_as_json_prints_the_report_and_exits_zero_when_it_passes(
    signed: tuple[bytes, TrustStore, RevocationSource], capsys: pytest.CaptureFixture[str]
) -> None:
    signature, trust, revocation = signed
    report = verify_cms(signature, b"to khai", trust=trust, revocation=revocation)
    assert print_report(report, as_json=True, lang=None) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(report.to_json())


def test_print_report_without_a_language_prints_both_summaries(
    signed: tuple[bytes, TrustStore, RevocationSource], capsys: pytest.CaptureFixture[str]
) -> None:
    signature, trust, revocation = signed
    report = verify_cms(signature, b"to khai", trust=trust, revocation=revocation)
    print_report(report, as_json=False, lang=None)
    out = capsys.readouterr().out
    assert report.summary(lang="vi") in out
    assert report.summary(lang="en") in out


def test_print_report_in_one_language_exits_one_when_it_fails(
    signed: tuple[bytes, TrustStore, RevocationSource], capsys: pytest.CaptureFixture[str]
) -> None:
    signature, trust, revocation = signed
    report = verify_cms(signature, b"changed", trust=trust, revocation=revocation)
    assert print_report(report, as_json=False, lang="en") == 1
    out = capsys.readouterr().out
    assert out == report.summary(lang="en") + "\n"
