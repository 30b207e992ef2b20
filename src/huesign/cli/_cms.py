"""``huesign cms sign`` and ``huesign cms verify``: CAdES signatures from the command line.

``sign`` signs a file with the key of a PKCS#12 file (detached ``.p7s`` by default);
``verify`` checks a signature and exits 0 only when the verdict is TOTAL_PASSED.
"""

from __future__ import annotations

import argparse
import base64
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
    input_file,
    online_revocation,
    pkcs12_signer,
    read_bounded,
    trust_store,
    validation_policy,
    validation_time,
    writable,
    write_new_file,
)
from huesign.cli._output import UsageError, print_report
from huesign.pki.cms import sign_cms, verify_cms

__all__ = ["register"]

#: Largest signature file read by ``cms verify``.
_MAX_SIGNATURE_FILE = 64 << 20


def register(subparsers: Subparsers) -> None:
    """Add the ``cms`` command group (``sign`` and ``verify``)."""
    commands = add_command_group(
        subparsers, "cms", help_text="sign and verify CMS/CAdES signatures (.p7s)"
    )

    sign = commands.add_parser("sign", help="sign FILE with the key of a PKCS#12 file")
    sign.add_argument("file", metavar="FILE", help="the file to sign")
    add_pkcs12_options(sign)
    sign.add_argument("--tsa", metavar="URL", help="add a signature timestamp from this TSA")
    sign.add_argument("--attached", action="store_true", help="put the file inside the signature")
    sign.add_argument("--out", metavar="SIG", help="where to write the signature (FILE.p7s)")
    add_force_option(sign, help_text="overwrite an existing SIG")
    sign.set_defaults(handler=_sign)

    verify = commands.add_parser("verify", help="verify a signature; exit 0 only if valid")
    verify.add_argument(
        "file", metavar="FILE", help="the signed file, or an attached signature (.p7s)"
    )
    verify.add_argument("--signature", metavar="SIG", help="the detached signature of FILE")
    add_trust_option(verify)
    add_revocation_option(verify)
    add_at_option(verify)
    add_report_options(verify)
    verify.set_defaults(handler=_verify)


def _sign(args: argparse.Namespace) -> int:
    source = input_file(args.file)
    out = writable(args.out or source.with_name(source.name + ".p7s"), force=args.force)
    signer = pkcs12_signer(args)
    signature = sign_cms(source, signer, attached=args.attached, timestamp=args.tsa)
    write_new_file(out, signature, force=args.force)
    print(f"Đã ký / signed: {out}")
    return 0


def _read_signature(path: Path) -> bytes:
    data = read_bounded(path, _MAX_SIGNATURE_FILE)
    if data.lstrip().startswith(b"-----BEGIN"):
        body = b"".join(
            line for line in data.splitlines() if line and not line.startswith(b"-----")
        )
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise UsageError(f"{path}: damaged PEM signature") from exc
    return data


def _verify(args: argparse.Namespace) -> int:
    target = Path(args.file)
    at = validation_time(args.at)
    if args.signature:
        signature = _read_signature(Path(args.signature))
        data: Path | None = target
    else:
        signature = _read_signature(target)
        data = None
    with online_revocation() as revocation:
        report = verify_cms(
            signature,
            data,
            trust=trust_store(args.trust),
            policy=validation_policy(args.revocation),
            revocation=revocation,
            at=at,
        )
    return print_report(report, as_json=args.json, lang=args.lang)
