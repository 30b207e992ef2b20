"""``huesign cms sign`` and ``huesign cms verify``: CAdES signatures from the command line.

``sign`` signs a file with the key of a PKCS#12 file (detached ``.p7s`` by default);
``verify`` checks a signature and exits 0 only when the verdict is TOTAL_PASSED.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import sys
from pathlib import Path

from huesign.cli._output import UsageError, read_password
from huesign.errors import CertificateError
from huesign.pki.certificates import Certificate, load_certificates_file
from huesign.pki.cms import sign_cms, verify_cms
from huesign.pki.fetch import HTTPFetcher
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.revocation import RevocationSource
from huesign.pki.signers import KeySigner
from huesign.pki.trust import TrustStore

__all__ = ["register"]

#: Largest signature file read by ``cms verify``.
_MAX_SIGNATURE_FILE = 64 << 20
_MODES = {
    "hard": RevocationMode.HARD_FAIL,
    "soft": RevocationMode.SOFT_FAIL,
    "offline": RevocationMode.OFFLINE,
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cms`` command group (``sign`` and ``verify``)."""
    cms = subparsers.add_parser("cms", help="sign and verify CMS/CAdES signatures (.p7s)")
    commands = cms.add_subparsers(title="cms commands", dest="cms_command", metavar="COMMAND")
    commands.required = True

    sign = commands.add_parser("sign", help="sign FILE with the key of a PKCS#12 file")
    sign.add_argument("file", metavar="FILE", help="the file to sign")
    sign.add_argument("--p12", required=True, metavar="P12", help="the signer's PKCS#12 file")
    group = sign.add_mutually_exclusive_group()
    group.add_argument(
        "--password", metavar="P", help="the PKCS#12 password; also $HUESIGN_P12_PASSWORD"
    )
    group.add_argument("--password-file", metavar="FILE", help="read the password from FILE")
    sign.add_argument("--tsa", metavar="URL", help="add a signature timestamp from this TSA")
    sign.add_argument("--attached", action="store_true", help="put the file inside the signature")
    sign.add_argument("--out", metavar="SIG", help="where to write the signature (FILE.p7s)")
    sign.add_argument("--force", action="store_true", help="overwrite an existing SIG")
    sign.set_defaults(handler=_sign)

    verify = commands.add_parser("verify", help="verify a signature; exit 0 only if valid")
    verify.add_argument(
        "file", metavar="FILE", help="the signed file, or an attached signature (.p7s)"
    )
    verify.add_argument("--signature", metavar="SIG", help="the detached signature of FILE")
    verify.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PEM",
        help="trust anchors (repeatable; default: the Vietnam National Root CA)",
    )
    verify.add_argument(
        "--revocation",
        choices=sorted(_MODES),
        default="hard",
        help="hard: status must be known; soft: missing status is a warning; offline: no network",
    )
    verify.add_argument(
        "--at", metavar="TIME", help="validation time, ISO 8601 with offset (default: now)"
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument(
        "--lang", choices=("vi", "en"), default=None, help="summary language (default: both)"
    )
    verify.set_defaults(handler=_verify)


def _sign(args: argparse.Namespace) -> int:
    source = Path(args.file)
    if not source.is_file():
        raise UsageError(f"{source} is not a file")
    out = Path(args.out) if args.out else source.with_name(source.name + ".p7s")
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists; use --force to overwrite it")
    password = read_password(args.password, args.password_file)
    signer = KeySigner.load_pkcs12(args.p12, password)
    signature = sign_cms(source, signer, attached=args.attached, timestamp=args.tsa)
    out.write_bytes(signature)
    print(f"Đã ký / signed: {out}")
    return 0


def _read_signature(path: Path) -> bytes:
    with path.open("rb") as fh:
        data = fh.read(_MAX_SIGNATURE_FILE + 1)
    if len(data) > _MAX_SIGNATURE_FILE:
        raise UsageError(f"{path} is larger than {_MAX_SIGNATURE_FILE} bytes")
    if data.lstrip().startswith(b"-----BEGIN"):
        body = b"".join(
            line for line in data.splitlines() if line and not line.startswith(b"-----")
        )
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise UsageError(f"{path}: damaged PEM signature") from exc
    return data


def _trust(paths: list[str]) -> TrustStore:
    if not paths:
        return TrustStore.vietnam()
    anchors: list[Certificate] = []
    for name in paths:
        try:
            anchors.extend(load_certificates_file(name))
        except CertificateError as exc:
            raise UsageError(f"{name}: {exc}") from exc
    if not anchors:
        raise UsageError("no certificate found in the --trust files")
    return TrustStore.from_certificates(anchors)


def _verify(args: argparse.Namespace) -> int:
    target = Path(args.file)
    at = None
    if args.at:
        try:
            at = dt.datetime.fromisoformat(args.at)
        except ValueError as exc:
            raise UsageError(f"--at {args.at!r} is not an ISO 8601 time") from exc
        if at.tzinfo is None:
            raise UsageError("--at needs a UTC offset, e.g. 2026-01-31T08:00:00+07:00")
    if args.signature:
        signature = _read_signature(Path(args.signature))
        data: Path | None = target
    else:
        signature = _read_signature(target)
        data = None
    policy = ValidationPolicy(revocation_mode=_MODES[args.revocation])
    with HTTPFetcher() as fetcher:
        report = verify_cms(
            signature,
            data,
            trust=_trust(args.trust),
            policy=policy,
            revocation=RevocationSource(fetcher=fetcher),
            at=at,
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
