"""``huesign pdf sign``, ``huesign pdf verify`` and ``huesign pdf extend``: PAdES from the shell.

``sign`` signs a PDF with the key of a PKCS#12 file (invisible, or with a Vietnamese stamp
placed by rectangle or field name); ``verify`` checks every signature and document
timestamp and exits 0 only when all pass; ``extend`` raises the signatures of a signed PDF
to B-T, B-LT or B-LTA.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from huesign.cli._options import (
    Subparsers,
    add_at_option,
    add_command_group,
    add_force_option,
    add_pkcs12_options,
    add_report_options,
    add_revocation_option,
    add_trust_option,
    extra_trust,
    input_file,
    online_revocation,
    pkcs12_signer,
    trust_store,
    validation_policy,
    validation_time,
    writable,
)
from huesign.cli._output import UsageError, print_report
from huesign.pki.pades import PAdESLevel, extend_pdf, sign_pdf
from huesign.pki.pdfverify import ModificationPolicy, verify_pdf
from huesign.pki.stamp import FieldPlacement, RectPlacement, StampAppearance, StampContent

__all__ = ["register"]

#: Where a visible stamp goes when neither ``--rect`` nor ``--field`` is given (points).
DEFAULT_RECT = (330.0, 40.0, 565.0, 125.0)
_LEVELS = {level.value: level for level in PAdESLevel}
_CHANGES = {
    "strict": ModificationPolicy.STRICT,
    "form-filling": ModificationPolicy.FORM_FILLING,
}


def register(subparsers: Subparsers) -> None:
    """Add the ``pdf`` command group (``sign``, ``verify`` and ``extend``)."""
    commands = add_command_group(
        subparsers, "pdf", help_text="sign, verify and extend PAdES signatures in PDFs"
    )
    _register_sign(commands)
    _register_verify(commands)
    _register_extend(commands)


def _register_sign(commands: Subparsers) -> None:
    sign = commands.add_parser("sign", help="sign IN with the key of a PKCS#12 file into OUT")
    sign.add_argument("input", metavar="IN", help="the PDF to sign")
    sign.add_argument("output", metavar="OUT", help="where to write the signed PDF")
    add_pkcs12_options(sign)
    sign.add_argument("--level", choices=list(_LEVELS), default="B-B", help="PAdES level")
    sign.add_argument("--tsa", metavar="URL", help="timestamp authority (needed from B-T up)")
    sign.add_argument("--visible", action="store_true", help="draw a signature stamp")
    sign.add_argument("--page", type=int, default=1, metavar="N", help="stamp page (from 1)")
    where = sign.add_mutually_exclusive_group()
    where.add_argument("--rect", metavar="X1,Y1,X2,Y2", help="stamp rectangle in points")
    where.add_argument("--field", metavar="NAME", help="sign this (empty) signature field")
    sign.add_argument("--reason", metavar="R", help="why the document is signed")
    sign.add_argument("--location", metavar="L", help="where it is signed")
    add_trust_option(sign, help_text="certificates that complete the signer's chain for B-LT")
    add_force_option(sign, help_text="overwrite an existing OUT")
    sign.set_defaults(handler=_sign)


def _register_verify(commands: Subparsers) -> None:
    verify = commands.add_parser(
        "verify", help="verify every signature of FILE; exit 0 only if all are valid"
    )
    verify.add_argument("file", metavar="FILE", help="the signed PDF")
    add_trust_option(verify)
    add_revocation_option(verify)
    verify.add_argument(
        "--changes",
        choices=sorted(_CHANGES),
        default="strict",
        help="strict: only signatures, timestamps and validation data may follow a signature",
    )
    add_at_option(verify)
    add_report_options(verify)
    verify.set_defaults(handler=_verify)


def _register_extend(commands: Subparsers) -> None:
    extend = commands.add_parser("extend", help="raise the signatures of FILE to a higher level")
    extend.add_argument("file", metavar="FILE", help="the signed PDF")
    extend.add_argument(
        "--level", required=True, choices=["B-T", "B-LT", "B-LTA"], help="the level to reach"
    )
    extend.add_argument("--tsa", metavar="URL", help="timestamp authority")
    extend.add_argument("--out", metavar="OUT", help="write a new file (default: FILE in place)")
    add_trust_option(extend, help_text="certificates that complete the signers' chains")
    add_force_option(extend, help_text="overwrite an existing OUT")
    extend.set_defaults(handler=_extend)


# --- handlers --------------------------------------------------------------------------------


def _new_output(name: str, source: Path, force: bool) -> Path:
    out = Path(name)
    if out.exists() and out.resolve() == source.resolve():
        raise UsageError("OUT must differ from IN (use `huesign pdf extend` to update in place)")
    return writable(out, force=force)


def _rect(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise UsageError(f"--rect {text!r} is not four numbers X1,Y1,X2,Y2") from exc
    if len(values) != 4:
        raise UsageError(f"--rect {text!r} is not four numbers X1,Y1,X2,Y2")
    return values[0], values[1], values[2], values[3]


def _appearance(args: argparse.Namespace) -> StampAppearance | None:
    if not args.visible:
        if args.rect:
            raise UsageError("--rect places a visible stamp: add --visible")
        return None
    if args.page < 1:
        raise UsageError("--page counts from 1")
    content = StampContent(reason=args.reason, location=args.location)
    if args.field:
        return StampAppearance(placement=FieldPlacement(name=args.field), content=content)
    rect = _rect(args.rect) if args.rect else DEFAULT_RECT
    try:
        placement = RectPlacement(page=args.page - 1, rect=rect)
    except ValueError as exc:
        raise UsageError(f"--rect: {exc}") from exc
    return StampAppearance(placement=placement, content=content)


def _sign(args: argparse.Namespace) -> int:
    source = input_file(args.input)
    out = _new_output(args.output, source, args.force)
    level = _LEVELS[args.level]
    if level is not PAdESLevel.B_B and not args.tsa:
        raise UsageError(f"level {level.value} needs a timestamp authority: add --tsa URL")
    appearance = _appearance(args)
    signer = pkcs12_signer(args)
    trust = extra_trust(args.trust)
    with online_revocation() as revocation:
        try:
            sign_pdf(
                source,
                signer,
                output=out,
                level=level,
                timestamp=args.tsa,
                revocation=revocation,
                trust=trust,
                field=args.field,
                appearance=appearance,
                reason=args.reason,
                location=args.location,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    print(f"Đã ký / signed: {out} ({level.value})")
    return 0


def _verify(args: argparse.Namespace) -> int:
    source = input_file(args.file)
    at = validation_time(args.at)
    trust = trust_store(args.trust)
    with online_revocation() as revocation:
        report = verify_pdf(
            source,
            trust=trust,
            policy=validation_policy(args.revocation),
            revocation=revocation,
            at=at,
            modifications=_CHANGES[args.changes],
        )
    return print_report(report, as_json=args.json, lang=args.lang)


def _extend(args: argparse.Namespace) -> int:
    source = input_file(args.file)
    out = _new_output(args.out, source, args.force) if args.out else source
    level = _LEVELS[args.level]
    if not args.tsa and level in (PAdESLevel.B_T, PAdESLevel.B_LTA):
        raise UsageError(f"level {level.value} needs a timestamp authority: add --tsa URL")
    trust = extra_trust(args.trust)
    with online_revocation() as revocation:
        try:
            extend_pdf(
                source,
                level=level,
                timestamp=args.tsa,
                revocation=revocation,
                output=out,
                trust=trust,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    print(f"Đã nâng cấp / extended: {out} ({level.value})")
    return 0
