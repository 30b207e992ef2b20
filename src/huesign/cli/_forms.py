"""``huesign forms``: browse the procedure catalogue, fill, render, sign and open dossiers.

``list`` and ``show`` read the built-in catalogue; ``fill`` validates a data file and lists
every error (exit 1); ``render`` writes the form as a PDF; ``sign`` renders and signs it
with the key of a PKCS#12 file; ``open`` verifies a signed dossier (a PDF or an ASiC-E
container) and prints its data, exiting 0 only when the dossier is accepted.

A data file is JSON: either a submission as :meth:`Submission.to_json` writes it
(``{"procedure": ..., "values": ..., "attachments": [...]}``) or just the values object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from huesign.cli._options import (
    Subparsers,
    add_command_group,
    add_force_option,
    add_json_option,
    add_pkcs12_options,
    add_revocation_option,
    add_trust_option,
    online_revocation,
    pkcs12_signer,
    read_bounded,
    trust_store,
    validation_policy,
    writable,
    write_new_file,
)
from huesign.cli._output import UsageError, dump_json
from huesign.errors import FormValidationError
from huesign.forms.catalogue import builtin_catalogue
from huesign.forms.dossier import open_dossier, sign_dossier, verify_dossier
from huesign.forms.fields import Field, GroupField
from huesign.forms.procedure import Procedure
from huesign.forms.render import render_submission
from huesign.forms.submission import Submission

__all__ = ["register"]

_MAX_DATA_FILE = 4 << 20
_MAX_DOSSIER_FILE = 256 << 20


def register(subparsers: Subparsers) -> None:
    """Add the ``forms`` command group."""
    commands = add_command_group(
        subparsers, "forms", help_text="public-service procedures and signed dossiers"
    )

    listing = commands.add_parser("list", help="list the procedures of the catalogue")
    listing.add_argument("--search", metavar="TEXT", help="code or words, with or without marks")
    add_json_option(listing)
    listing.set_defaults(handler=_list)

    show = commands.add_parser("show", help="show a procedure: fees, documents and fields")
    show.add_argument("code", metavar="CODE", help="the procedure code, e.g. 1.001193")
    add_json_option(show, help_text="print the definition as JSON")
    show.set_defaults(handler=_show)

    fill = commands.add_parser("fill", help="validate a data file; list every error")
    _data_arguments(fill)
    add_json_option(fill, help_text="print the result as JSON")
    fill.set_defaults(handler=_fill)

    render = commands.add_parser("render", help="render a data file as a PDF form")
    _data_arguments(render)
    _out_arguments(render)
    render.set_defaults(handler=_render)

    sign = commands.add_parser("sign", help="render and sign a dossier with a PKCS#12 key")
    _data_arguments(sign)
    _out_arguments(sign)
    add_pkcs12_options(sign, holder="the applicant's")
    sign.add_argument(
        "--attach",
        action="append",
        default=[],
        metavar="ID=FILE",
        help="an attachment's bytes, by its id in the data file (repeatable)",
    )
    sign.add_argument("--asic", metavar="ASICE", help="also write an ASiC-E container here")
    sign.set_defaults(handler=_sign)

    opening = commands.add_parser("open", help="verify a signed dossier and print its data")
    opening.add_argument("file", metavar="DOSSIER", help="a signed PDF or an ASiC-E container")
    add_trust_option(opening)
    add_revocation_option(opening)
    add_json_option(opening, help_text="print the result as JSON")
    opening.set_defaults(handler=_open)


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", metavar="CODE", help="the procedure code, e.g. 1.001193")
    parser.add_argument("--data", required=True, metavar="FILE", help="the values (JSON)")
    parser.add_argument(
        "--today", metavar="DATE", help="the day for date rules, YYYY-MM-DD (default: today)"
    )


def _out_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="PDF", help="where to write the PDF")
    add_force_option(parser)


# -- helpers -------------------------------------------------------------------------------------


def _procedure(code: str) -> Procedure:
    found = builtin_catalogue().get(code)
    if found is None:
        raise UsageError(f"no procedure {code!r} in the catalogue (try: huesign forms list)")
    return found


def _submission(procedure: Procedure, path: Path) -> Submission:
    raw = read_bounded(path, _MAX_DATA_FILE)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object")
    if "procedure" in data and "values" in data:
        submission = Submission.from_dict(data)
        if submission.procedure_code != procedure.code:
            raise UsageError(f"{path} is for procedure {submission.procedure_code}")
        return submission
    return Submission.for_procedure(procedure, data)


def _today(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--today {text!r} is not a date (YYYY-MM-DD)") from exc


def _print_errors(error: FormValidationError, as_json: bool) -> None:
    if as_json:
        dump_json(
            {
                "valid": False,
                "errors": [
                    {
                        "path": e.path,
                        "code": e.code,
                        "message_vi": e.message_vi,
                        "message_en": e.message_en,
                    }
                    for e in error.errors
                ],
            }
        )
        return
    count = len(error.errors)
    print(f"{count} lỗi / {count} error{'s' if count != 1 else ''}:", file=sys.stderr)
    for e in error.errors:
        print(f"  {e.path}: {e.message_vi} / {e.message_en} [{e.code}]", file=sys.stderr)


# -- commands ------------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    catalogue = builtin_catalogue()
    found = catalogue.search(args.search) if args.search else tuple(catalogue)
    if args.json:
        dump_json([{"code": p.code, "name_vi": p.name_vi, "name_en": p.name_en} for p in found])
    else:
        for proc in found:
            english = f" ({proc.name_en})" if proc.name_en else ""
            print(f"{proc.code}  {proc.name_vi}{english}")
    return 0 if found else 1


def _field_lines(fields: tuple[Field, ...], indent: int) -> list[str]:
    lines = []
    for field in fields:
        mark = "*" if field.required else " "
        label = field.label_vi or field.name
        lines.append(f"{'  ' * indent}{mark} {field.name} [{field.kind}] {label}")
        if isinstance(field, GroupField):
            lines += _field_lines(field.fields, indent + 1)
    return lines


def _show(args: argparse.Namespace) -> int:
    proc = _procedure(args.code)
    if args.json:
        sys.stdout.write(proc.to_json())
        return 0
    days = proc.processing_time.days
    kind = "ngày làm việc" if proc.processing_time.working_days else "ngày"
    print(f"{proc.code} — {proc.name_vi}" + (f" ({proc.name_en})" if proc.name_en else ""))
    print(f"Phiên bản / version: {proc.version}")
    print(f"Lĩnh vực / domain: {proc.domain}; cấp / level: {proc.level.value}")
    print(f"Cơ quan / agency: {proc.agency}")
    print(f"Thời hạn / processing time: {days} {kind}")
    for fee in proc.fees:
        sample = " (mẫu / sample)" if fee.sample else ""
        print(f"Lệ phí / fee: {fee.amount:,} VND {fee.description_vi}{sample}".replace(",", "."))
    print("Giấy tờ / documents:")
    for doc in proc.documents:
        need = "bắt buộc / required" if doc.required else "tùy chọn / optional"
        print(f"  - {doc.name_vi} ({need})")
    print("Trường / fields (* = bắt buộc / required):")
    for line in _field_lines(proc.fields, 1):
        print(line)
    return 0


def _fill(args: argparse.Namespace) -> int:
    proc = _procedure(args.code)
    submission = _submission(proc, Path(args.data))
    try:
        clean = submission.validate(proc, today=_today(args.today))
    except FormValidationError as exc:
        _print_errors(exc, args.json)
        return 1
    if args.json:
        dump_json({"valid": True, "submission": clean.to_dict(), "sha256": clean.sha256()})
    else:
        print("Hợp lệ / valid")
        dump_json(clean.to_dict())
    return 0


def _render(args: argparse.Namespace) -> int:
    proc = _procedure(args.code)
    out = writable(args.out, force=args.force)
    submission = _submission(proc, Path(args.data))
    try:
        rendered = render_submission(submission, proc, today=_today(args.today))
    except FormValidationError as exc:
        _print_errors(exc, False)
        return 1
    write_new_file(out, rendered.pdf, force=args.force)
    print(f"Đã tạo / rendered: {out} (SHA-256 {rendered.sha256})")
    return 0


def _attachments(items: list[str]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for item in items:
        key, sep, name = item.partition("=")
        if not sep or not key or not name:
            raise UsageError(f"--attach {item!r} must look like ID=FILE")
        files[key] = read_bounded(Path(name), _MAX_DOSSIER_FILE)
    return files


def _sign(args: argparse.Namespace) -> int:
    proc = _procedure(args.code)
    out = writable(args.out, force=args.force)
    asic = writable(args.asic, force=args.force) if args.asic else None
    submission = _submission(proc, Path(args.data))
    files = _attachments(args.attach)
    signer = pkcs12_signer(args)
    try:
        dossier = sign_dossier(
            submission, proc, signer, attachments=files, today=_today(args.today)
        )
    except FormValidationError as exc:
        _print_errors(exc, False)
        return 1
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    write_new_file(out, dossier.pdf, force=args.force)
    print(f"Đã ký / signed: {out} (SHA-256 {dossier.sha256})")
    if asic is not None:
        write_new_file(asic, dossier.to_asic(signer), force=args.force)
        print(f"Gói ASiC-E / ASiC-E container: {asic}")
    return 0


def _open(args: argparse.Namespace) -> int:
    data = read_bounded(Path(args.file), _MAX_DOSSIER_FILE)
    policy = validation_policy(args.revocation)
    trust = trust_store(args.trust)
    with online_revocation() as revocation:
        if data.startswith(b"PK"):
            opened = verify_dossier(data, trust=trust, policy=policy, revocation=revocation)
        else:
            opened = open_dossier(data, trust=trust, policy=policy, revocation=revocation)
    submission = opened.submission
    if args.json:
        dump_json(
            {
                "accepted": opened.accepted,
                "reasons": list(opened.reasons),
                "sha256": opened.sha256,
                "submission": submission.to_dict() if submission is not None else None,
                "report": json.loads(opened.report.to_json()),
            }
        )
        return 0 if opened.accepted else 1
    print(opened.report.summary(lang="vi"))
    print()
    if not opened.accepted or submission is None:
        print("Hồ sơ bị từ chối / dossier refused:")
        for reason in opened.reasons:
            print(f"  - {reason}")
        return 1
    print(f"Hồ sơ hợp lệ / dossier accepted (SHA-256 {opened.sha256})")
    dump_json(submission.to_dict())
    return 0
