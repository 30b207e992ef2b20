"""``huesign pki``: create a development CA, issue, revoke, publish CRLs, inspect files."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
from pathlib import Path

from asn1crypto import pkcs12 as asn1_pkcs12

from huesign.cli._options import (
    Subparsers,
    add_command_group,
    add_force_option,
    add_json_option,
    add_password_options,
    given_password,
    read_bounded,
    writable,
    write_new_file,
)
from huesign.cli._output import (
    UsageError,
    certificate_summary,
    chain_summary,
    dump_json,
    identity_summary,
    order_chain,
    print_certificate,
    print_chain,
    print_files,
    print_identity,
    slug,
)
from huesign.errors import CertificateError, KeyLoadError
from huesign.pki import (
    Certificate,
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    IssuedCertificate,
    KeyAlgorithm,
    PKCS12Bundle,
    PrivateKey,
    RevocationReason,
    is_valid_cccd,
    is_valid_tax_code,
    load_certificates,
)
from huesign.pki.certificates import MAX_CERTIFICATE_FILE_SIZE

__all__ = ["register", "save_issued"]

_ISSUABLE = ("citizen", "officer", "seal", "tsa", "ocsp")
_P12_SUFFIXES = {".p12", ".pfx"}


def register(subparsers: Subparsers) -> None:
    """Add ``huesign pki`` and its sub-commands."""
    commands = add_command_group(
        subparsers,
        "pki",
        help_text="development PKI: create a CA, issue, revoke, CRL, inspect",
        description="A development PKI for tests, sandboxes and demos (never a production CA).",
    )

    init = commands.add_parser("init", help="create a development CA in a directory")
    init.add_argument("directory", metavar="DIR", help="directory to create the CA in")
    init.add_argument(
        "--name", default="Huesign Development", help="CA name (default: %(default)s)"
    )
    init.add_argument(
        "--key-algorithm",
        choices=[a.value for a in KeyAlgorithm],
        default=KeyAlgorithm.EC_P256.value,
        help="key algorithm of the CA (default: %(default)s)",
    )
    init.add_argument(
        "--base-url",
        help="where the CRL, OCSP and TSA services will be served (default: the CA's own)",
    )
    _add_json(init)
    init.set_defaults(handler=_init)

    issue = commands.add_parser("issue", help="issue a certificate, its key and a .p12 bundle")
    issue.add_argument("--ca", required=True, metavar="DIR", help="the CA directory")
    issue.add_argument("--profile", required=True, choices=_ISSUABLE, help="certificate profile")
    issue.add_argument("--name", required=True, help="holder's name (the certificate CN)")
    issue.add_argument("--cccd", metavar="N", help="12-digit citizen identity number")
    issue.add_argument("--mst", metavar="N", help="tax code (MST)")
    issue.add_argument("--organization", help="organisation (O); a seal defaults to --name")
    issue.add_argument("--email", help="e-mail address")
    issue.add_argument(
        "--key-algorithm",
        choices=[a.value for a in KeyAlgorithm],
        default=KeyAlgorithm.EC_P256.value,
        help="key algorithm (default: %(default)s)",
    )
    issue.add_argument(
        "--days", type=int, default=365, help="validity in days (default: %(default)s)"
    )
    issue.add_argument(
        "--out", metavar="OUTDIR", default=".", help="output directory (default: current)"
    )
    add_force_option(issue, help_text="overwrite files that already exist")
    issue.add_argument(
        "--allow-long-names",
        action="store_true",
        help="issue names longer than RFC 5280 allows (as some real certificates do)",
    )
    add_password_options(
        issue, what="password that protects the key file and the .p12 (default: no password)"
    )
    _add_json(issue)
    issue.set_defaults(handler=_issue)

    revoke = commands.add_parser("revoke", help="revoke a certificate the CA issued")
    revoke.add_argument("--ca", required=True, metavar="DIR", help="the CA directory")
    revoke.add_argument("certificate", metavar="CERT", help="certificate file (PEM or DER)")
    revoke.add_argument(
        "--reason",
        choices=[r.value for r in RevocationReason],
        default=RevocationReason.KEY_COMPROMISE.value,
        help="RFC 5280 reason (default: %(default)s)",
    )
    _add_json(revoke)
    revoke.set_defaults(handler=_revoke)

    crl = commands.add_parser("crl", help="write the CA's current CRL")
    crl.add_argument("--ca", required=True, metavar="DIR", help="the CA directory")
    crl.add_argument(
        "--out", metavar="FILE", help="output file (default: DIR/intermediate.crl or DIR/root.crl)"
    )
    crl.add_argument("--root", action="store_true", help="the root's CRL (revoked intermediates)")
    crl.add_argument(
        "--format", choices=("der", "pem"), default="der", help="encoding (default: %(default)s)"
    )
    _add_json(crl)
    crl.set_defaults(handler=_crl)

    inspect = commands.add_parser(
        "inspect", help="show the identity and chain in a PEM, DER, P7B or P12 file"
    )
    inspect.add_argument("file", metavar="FILE", help="certificate, bundle or PKCS#12 file")
    add_password_options(inspect, what="password of a PKCS#12 file (default: empty)")
    _add_json(inspect)
    inspect.set_defaults(handler=_inspect)


def _add_json(parser: argparse.ArgumentParser) -> None:
    add_json_option(parser, help_text="print one JSON object")


# -- helpers --------------------------------------------------------------------------------


def _load_ca(directory: str) -> DevelopmentCA:
    path = Path(directory)
    if not (path / "ca.json").is_file():
        raise UsageError(
            f"{path} does not hold a development CA (no ca.json); "
            f"create one with: huesign pki init {path}"
        )
    return DevelopmentCA.load(path)


def _identifiers(args: argparse.Namespace) -> list[Identifier]:
    found: list[Identifier] = []
    if args.cccd is not None:
        if not is_valid_cccd(args.cccd):
            raise UsageError(
                f"--cccd {args.cccd!r} is not a CCCD number: a CCCD has exactly 12 digits"
            )
        found.append(Identifier.cccd(args.cccd))
    if args.mst is not None:
        if not is_valid_tax_code(args.mst):
            raise UsageError(
                f"--mst {args.mst!r} is not a valid tax code (MST): expected 10 digits with a "
                "correct check digit, 10 digits-NNN for a branch, or a 12-digit personal number"
            )
        found.append(Identifier.tax_code(args.mst))
    return found


# -- commands -------------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    target = Path(args.directory)
    if (target / "ca.json").exists():
        raise UsageError(f"{target} already holds a development CA (ca.json exists)")
    target.mkdir(parents=True, exist_ok=True)
    options = {} if args.base_url is None else {"base_url": args.base_url}
    try:
        ca = DevelopmentCA.create(
            name=args.name, key_algorithm=KeyAlgorithm(args.key_algorithm), **options
        )
    except ValueError as exc:  # an empty name, an Ed25519 key
        raise UsageError(str(exc)) from exc
    ca.save(target)
    files = sorted(str(p) for p in target.iterdir() if p.is_file())
    if args.json:
        dump_json(
            {
                "directory": str(target),
                "root": certificate_summary(ca.root),
                "intermediate": certificate_summary(ca.intermediate),
                "files": files,
            }
        )
        return 0
    print(f"Đã tạo CA phát triển / Development CA created in {target}")
    print("  (chỉ dùng để thử nghiệm / for tests and demos only: keys are not encrypted)")
    print_chain([ca.intermediate, ca.root], indent=2)
    print("Tệp / Files:")
    for name in files:
        print(f"  {name}")
    return 0


def save_issued(
    issued: IssuedCertificate,
    directory: Path,
    *,
    stem: str,
    password: str | None,
    force: bool = False,
) -> dict[str, str]:
    """Write a certificate, its key, its chain and a ``.p12`` bundle; return the paths.

    The key file and the bundle are owner-only; both are encrypted when ``password`` is given
    (the bundle then uses it, else an empty password).
    """
    secret = password or None
    return {
        "certificate": write_new_file(
            directory / f"{stem}.pem", issued.certificate.to_pem(), force=force
        ),
        "key": write_new_file(
            directory / f"{stem}-key.pem",
            issued.key.to_pem(password=secret),
            secret=True,
            force=force,
        ),
        "chain": write_new_file(
            directory / f"{stem}-chain.pem",
            b"".join(c.to_pem() for c in issued.full_chain),
            force=force,
        ),
        "pkcs12": write_new_file(
            directory / f"{stem}.p12",
            issued.to_pkcs12(
                password=secret, friendly_name=issued.certificate.identity.common_name or stem
            ),
            secret=True,
            force=force,
        ),
    }


def _issue(args: argparse.Namespace) -> int:
    if args.days < 1:
        raise UsageError("--days must be at least 1")
    profile = CertificateProfile(args.profile)
    organization = args.organization
    if profile is CertificateProfile.SEAL and organization is None:
        organization = args.name
    identity = CitizenIdentity(
        common_name=args.name,
        identifiers=_identifiers(args),
        organization=organization,
        country="VN",
        email=args.email,
    )
    password = given_password(args)
    out = Path(args.out)
    if not out.is_dir():
        raise UsageError(f"--out {out}: not a directory")
    stem = slug(args.name, default=profile.value)
    for suffix in (".pem", "-key.pem", "-chain.pem", ".p12"):
        writable(out / f"{stem}{suffix}", force=args.force)
    ca = _load_ca(args.ca)
    try:
        issued = ca.issue(
            identity,
            profile=profile,
            key_algorithm=KeyAlgorithm(args.key_algorithm),
            validity=dt.timedelta(days=args.days),
            allow_long_names=args.allow_long_names,
        )
    except ValueError as exc:  # a name longer than RFC 5280 allows
        raise UsageError(
            str(exc).replace("pass allow_long_names=True", "use --allow-long-names")
        ) from exc
    files = save_issued(issued, out, stem=stem, password=password, force=args.force)
    ca.save(args.ca)  # remember the serial, so that OCSP answers "good" rather than "unknown"
    if args.json:
        dump_json(
            {
                "profile": profile.value,
                "certificate": certificate_summary(issued.certificate),
                "chain": chain_summary(issued.full_chain),
                "files": files,
            }
        )
        return 0
    print(f"Đã cấp chứng thư / Certificate issued ({profile.value})")
    print_identity(issued.certificate.identity, indent=2)
    print_certificate(issued.certificate, indent=2)
    print("Tệp / Files:")
    print_files(
        {
            "Chứng thư / Certificate": files["certificate"],
            "Khoá bí mật / Private key": files["key"],
            "Chuỗi / Chain": files["chain"],
            "PKCS#12": files["pkcs12"],
        },
        indent=2,
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    ca = _load_ca(args.ca)
    candidates = order_chain(_read_certificates(Path(args.certificate)))
    authorities = (ca.intermediate, ca.root)
    ours = [c for c in candidates if any(c.is_issued_by(a) for a in authorities)]
    if not ours:
        raise CertificateError(f"{args.certificate}: no certificate issued by the CA in {args.ca}")
    target = ours[0]
    reason = RevocationReason(args.reason)
    try:
        ca.revoke(target, reason=reason)
    except ValueError as exc:  # never issued here, or already revoked
        raise CertificateError(str(exc)) from exc
    ca.save(args.ca)
    if args.json:
        dump_json(
            {
                "revoked": certificate_summary(target),
                "reason": reason.value,
                "hint": "run `huesign pki crl` to publish a new CRL",
            }
        )
        return 0
    print(f"Đã thu hồi / Revoked ({reason.value}): {target.subject_text}")
    print(f"  Số hiệu / Serial: {target.serial_number:x}")
    print(f"  Phát hành CRL mới / publish a new CRL: huesign pki crl --ca {args.ca}")
    return 0


def _crl(args: argparse.Namespace) -> int:
    ca = _load_ca(args.ca)
    der = ca.crl("root" if args.root else "issuing")
    default_name = "root.crl" if args.root else "intermediate.crl"
    out = Path(args.out) if args.out else Path(args.ca) / default_name
    data = der if args.format == "der" else _pem("X509 CRL", der)
    write_new_file(out, data, force=True)
    if args.json:
        dump_json({"file": str(out), "format": args.format, "root": args.root, "size": len(data)})
        return 0
    which = "gốc / root" if args.root else "trung gian / intermediate"
    print(f"Đã ghi CRL ({which}) / CRL written: {out}")
    return 0


def _pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join(
        [f"-----BEGIN {label}-----".encode(), *lines, f"-----END {label}-----".encode(), b""]
    )


def _read_bounded(path: Path) -> bytes:
    return read_bounded(path, MAX_CERTIFICATE_FILE_SIZE, error=CertificateError)


def _read_certificates(path: Path) -> tuple[Certificate, ...]:
    try:
        return load_certificates(_read_bounded(path))
    except CertificateError as exc:
        raise CertificateError(f"{path}: {exc}") from exc


def _inspect(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = _read_bounded(path)
    password = given_password(args)
    key: PrivateKey | None = None
    if path.suffix.lower() in _P12_SUFFIXES:
        fmt, certs, key = "pkcs12", *_from_pkcs12(path, data, password)
    else:
        try:
            certs = load_certificates(data)
            fmt = _format_of(data, len(certs))
        except CertificateError as as_certs:
            if b"-----BEGIN" in data:
                raise CertificateError(f"{path}: {as_certs}") from as_certs
            if not _looks_like_pkcs12(data):
                raise CertificateError(
                    f"{path}: neither a certificate, a PKCS#7 bundle nor a PKCS#12 file"
                ) from as_certs
            fmt, certs, key = "pkcs12", *_from_pkcs12(path, data, password)
    # A PKCS#12 file names its certificate (the one of the key); other files are ordered.
    chain = order_chain(certs) if key is None else (certs[0], *order_chain(certs[1:]))
    leaf = chain[0]
    if args.json:
        dump_json(
            {
                "file": str(path),
                "format": fmt,
                "identity": identity_summary(leaf.identity),
                "certificate": certificate_summary(leaf),
                "chain": chain_summary(chain),
                "private_key": None if key is None else _key_summary(key, leaf),
            }
        )
        return 0
    print(f"Tệp / File: {path} ({fmt}, {len(chain)} chứng thư / certificate(s))")
    print("Người được cấp / Holder:")
    print_identity(leaf.identity, indent=2)
    print("Chứng thư / Certificate:")
    print_certificate(leaf, indent=2)
    if key is not None:
        summary = _key_summary(key, leaf)
        match = (
            "khớp / matches" if summary["matches_certificate"] else "KHÔNG khớp / does NOT match"
        )
        print(f"Khoá bí mật / Private key: {summary['algorithm']}, {match}")
    print("Chuỗi / Chain:")
    print_chain(chain, indent=2)
    return 0


def _format_of(data: bytes, count: int) -> str:
    if b"-----BEGIN PKCS7-----" in data:
        return "pkcs7"
    if b"-----BEGIN" in data:
        return "pem"
    return "der" if count == 1 else "pkcs7"


def _looks_like_pkcs12(data: bytes) -> bool:
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return bool(pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        return False


def _from_pkcs12(
    path: Path, data: bytes, password: str | None
) -> tuple[tuple[Certificate, ...], PrivateKey]:
    try:
        bundle = PKCS12Bundle.from_bytes(data, password=password)
    except KeyLoadError as exc:
        raise KeyLoadError(f"{path}: {exc}") from exc
    except CertificateError as exc:
        raise CertificateError(f"{path}: {exc}") from exc
    return (bundle.certificate, *bundle.chain), bundle.key


def _key_summary(key: PrivateKey, certificate: Certificate) -> dict[str, object]:
    return {
        "algorithm": key.public_key.description,
        "matches_certificate": key.public_key == certificate.public_key,
    }
