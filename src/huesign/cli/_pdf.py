"""``huesign pdf sign``, ``huesign pdf verify`` and ``huesign pdf extend``: PAdES from the shell.

``sign`` signs a PDF with the key of a PKCS#12 file (invisible, or with a Vietnamese stamp
placed by rectangle or field name); ``verify`` checks every signature and document
timestamp and exits 0 only when all pass; ``extend`` raises the signatures of a signed PDF
to B-T, B-LT or B-LTA.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from huesign.cli._output import UsageError, read_password
from huesign.errors import CertificateError
from huesign.pki.certificates import Certificate, load_certificates_file
from huesign.pki.fetch import HTTPFetcher
from huesign.pki.pades import PAdESLevel, extend_pdf, sign_pdf
from huesign.pki.pdfverify import ModificationPolicy, verify_pdf
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.revocation import RevocationSource
from huesign.pki.signers import KeySigner
from huesign.pki.stamp import FieldPlacement, RectPlacement, StampAppearance, StampContent
from huesign.pki.trust import TrustStore

__all__ = ["register"]

#: Where a visible stamp goes when neither ``--rect`` nor ``--field`` is given (points).
DEFAULT_RECT = (330.0, 40.0, 565.0, 125.0)
_LEVELS = {level.value: level for level in PAdESLevel}
_MODES = {
    "hard": RevocationMode.HARD_FAIL,
    "soft": RevocationMode.SOFT_FAIL,
    "offline": RevocationMode.OFFLINE,
}
_CHANGES = {
    "strict": ModificationPolicy.STRICT,
    "form-filling": ModificationPolicy.FORM_FILLING,
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``pdf`` command group (``sign``, ``verify`` and ``extend``)."""
    pdf = subparsers.add_parser("pdf", help="sign, verify and extend PAdES signatures in PDFs")
    commands = pdf.add_subparsers(title="pdf commands", dest="pdf_command", metavar="COMMAND")
    commands.required = True
    _register_sign(commands)
    _register_verify(commands)
    _register_extend(commands)


def _trust_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--trust", action="append", default=[], metavar="PEM", help=help_text + " (repeatable)"
    )


def _register_sign(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sign = commands.add_parser("sign", help="sign IN with the key of a PKCS#12 file into OUT")
    sign.add_argument("input", metavar="IN", help="the PDF to sign")
    sign.add_argument("output", metavar="OUT", help="where to write the signed PDF")
    sign.add_argument("--p12", required=True, metavar="P12", help="the signer's PKCS#12 file")
    group = sign.add_mutually_exclusive_group()
    group.add_argument(
        "--password", metavar="P", help="the PKCS#12 password; also $HUESIGN_P12_PASSWORD"
    )
    group.add_argument("--password-file", metavar="FILE", help="read the password from FILE")
    sign.add_argument("--level", choices=list(_LEVELS), default="B-B", help="PAdES level")
    sign.add_argument("--tsa", metavar="URL", help="timestamp authority (needed from B-T up)")
    sign.add_argument("--visible", action="store_true", help="draw a signature stamp")
    sign.add_argument("--page", type=int, default=1, metavar="N", help="stamp page (from 1)")
    where = sign.add_mutually_exclusive_group()
    where.add_argument("--rect", metavar="X1,Y1,X2,Y2", help="stamp rectangle in points")
    where.add_argument("--field", metavar="NAME", help="sign this (empty) signature field")
    sign.add_argument("--reason", metavar="R", help="why the document is signed")
    sign.add_argument("--location", metavar="L", help="where it is signed")
    _trust_option(sign, "certificates that complete the signer's chain for B-LT")
    sign.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    sign.set_defaults(handler=_sign)


def _register_verify(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = commands.add_parser(
        "verify", help="verify every signature of FILE; exit 0 only if all are valid"
    )
    verify.add_argument("file", metavar="FILE", help="the signed PDF")
    _trust_option(verify, "trust anchors (default: the Vietnam National Root CA)")
    verify.add_argument(
        "--revocation",
        choices=sorted(_MODES),
        default="hard",
        help="hard: status must be known; soft: missing status is a warning; offline: no network",
    )
    verify.add_argument(
        "--changes",
        choices=sorted(_CHANGES),
        default="strict",
        help="strict: only signatures, timestamps and validation data may follow a signature",
    )
    verify.add_argument(
        "--at", metavar="TIME", help="validation time, ISO 8601 with offset (default: now)"
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument(
        "--lang", choices=("vi", "en"), default=None, help="summary language (default: both)"
    )
    verify.set_defaults(handler=_verify)


def _register_extend(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    extend = commands.add_parser("extend", help="raise the signatures of FILE to a higher level")
    extend.add_argument("file", metavar="FILE", help="the signed PDF")
    extend.add_argument(
        "--level", required=True, choices=["B-T", "B-LT", "B-LTA"], help="the level to reach"
    )
    extend.add_argument("--tsa", metavar="URL", help="timestamp authority")
    extend.add_argument("--out", metavar="OUT", help="write a new file (default: FILE in place)")
    _trust_option(extend, "certificates that complete the signers' chains")
    extend.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    extend.set_defaults(handler=_extend)


# --- handlers --------------------------------------------------------------------------------


def _input_file(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    return path


def _new_output(name: str, source: Path, force: bool) -> Path:
    out = Path(name)
    if out.exists() and out.resolve() == source.resolve():
        raise UsageError("OUT must differ from IN (use `huesign pdf extend` to update in place)")
    if out.exists() and not force:
        raise UsageError(f"{out} exists; use --force to overwrite it")
    return out


def _rect(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise UsageError(f"--rect {text!r} is not four numbers X1,Y1,X2,Y2") from exc
    if len(values) != 4:
        raise UsageError(f"--rect {text!r} is not four numbers X1,Y1,X2,Y2")
    return values[0], values[1], values[2], values[3]


def _certificates(paths: list[str]) -> list[Certificate]:
    found: list[Certificate] = []
    for name in paths:
        try:
            found.extend(load_certificates_file(name))
        except CertificateError as exc:
            raise UsageError(f"{name}: {exc}") from exc
    if paths and not found:
        raise UsageError("no certificate found in the --trust files")
    return found


def _trust(paths: list[str]) -> TrustStore:
    found = _certificates(paths)
    return TrustStore.from_certificates(found) if found else TrustStore.vietnam()


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
    source = _input_file(args.input)
    out = _new_output(args.output, source, args.force)
    level = _LEVELS[args.level]
    if level is not PAdESLevel.B_B and not args.tsa:
        raise UsageError(f"level {level.value} needs a timestamp authority: add --tsa URL")
    appearance = _appearance(args)
    password = read_password(args.password, args.password_file)
    signer = KeySigner.load_pkcs12(args.p12, password)
    extra = _certificates(args.trust)
    trust = TrustStore.from_certificates(extra) if extra else None
    with HTTPFetcher() as fetcher:
        try:
            sign_pdf(
                source,
                signer,
                output=out,
                level=level,
                timestamp=args.tsa,
                revocation=RevocationSource(fetcher=fetcher),
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


def _at(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--at {text!r} is not an ISO 8601 time") from exc
    if at.tzinfo is None:
        raise UsageError("--at needs a UTC offset, e.g. 2026-01-31T08:00:00+07:00")
    return at


def _verify(args: argparse.Namespace) -> int:
    source = _input_file(args.file)
    at = _at(args.at)
    trust = _trust(args.trust)
    policy = ValidationPolicy(revocation_mode=_MODES[args.revocation])
    with HTTPFetcher() as fetcher:
        report = verify_pdf(
            source,
            trust=trust,
            policy=policy,
            revocation=RevocationSource(fetcher=fetcher),
            at=at,
            modifications=_CHANGES[args.changes],
        )
    if args.json:
        sys.stdout.write(report.to_json() + "\n")
    elif args.lang:
        print(report.summary(lang=args.lang))
    else:
        print(report.summary(lang="vi"))
        print()
        print(report.summary(lang="en"))
    return 0 if report.passed else 1


def _extend(args: argparse.Namespace) -> int:
    source = _input_file(args.file)
    out = _new_output(args.out, source, args.force) if args.out else source
    level = _LEVELS[args.level]
    if not args.tsa and level in (PAdESLevel.B_T, PAdESLevel.B_LTA):
        raise UsageError(f"level {level.value} needs a timestamp authority: add --tsa URL")
    extra = _certificates(args.trust)
    with HTTPFetcher() as fetcher:
        try:
            extend_pdf(
                source,
                level=level,
                timestamp=args.tsa,
                revocation=RevocationSource(fetcher=fetcher),
                output=out,
                trust=TrustStore.from_certificates(extra) if extra else None,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    print(f"Đã nâng cấp / extended: {out} ({level.value})")
    return 0
