"""Printing helpers shared by the ``huesign`` commands.

Human output goes to stdout with Vietnamese and English labels side by side; ``--json`` output
is one JSON object (``ensure_ascii=False``, indented).  Nothing here ever formats a password or
a private key.
"""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol, TextIO

from huesign.pki import Certificate, CitizenIdentity, KeyUsage

__all__ = [
    "ENV_PASSWORD",
    "MAX_ORDERED_CERTIFICATES",
    "MAX_PASSWORD_FILE_SIZE",
    "UsageError",
    "certificate_summary",
    "chain_summary",
    "dump_json",
    "identity_summary",
    "labelled_line",
    "order_chain",
    "print_certificate",
    "print_chain",
    "print_files",
    "print_identity",
    "print_report",
    "read_password",
    "slug",
]

#: Environment variable read for a PKCS#12 password when no option gives one.
ENV_PASSWORD = "HUESIGN_P12_PASSWORD"  # noqa: S105 - a variable name, not a secret

#: A password file larger than this is certainly not a password file.
MAX_PASSWORD_FILE_SIZE = 4096

#: Bundles with more certificates than this are shown in file order (real ones hold a few).
MAX_ORDERED_CERTIFICATES = 64


class UsageError(Exception):
    """The command line asks for something impossible; ``main`` prints it and exits 2."""


def dump_json(value: object, *, stream: TextIO | None = None) -> None:
    """Print ``value`` as indented JSON, keeping Vietnamese letters readable."""
    out = sys.stdout if stream is None else stream
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def read_password(password: str | None, password_file: str | None) -> str | None:
    """The password from ``--password``, ``--password-file`` or ``$HUESIGN_P12_PASSWORD``.

    The first of these that is given wins; a password file's trailing newline is dropped.
    ``None`` means no password was given at all.
    """
    if password is not None and password_file is not None:
        raise UsageError("give either --password or --password-file, not both")
    if password is not None:
        return password
    if password_file is not None:
        path = Path(password_file)
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_PASSWORD_FILE_SIZE + 1)
        except OSError as exc:
            raise UsageError(f"cannot read password file {path}: {exc.strerror}") from exc
        if len(data) > MAX_PASSWORD_FILE_SIZE:
            raise UsageError(f"password file {path} is larger than {MAX_PASSWORD_FILE_SIZE} bytes")
        try:
            return data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise UsageError(f"password file {path} is not UTF-8 text") from exc
    return os.environ.get(ENV_PASSWORD)


def slug(text: str, *, default: str = "certificate") -> str:
    """A file-name stem from a Vietnamese name: ``Nguyễn Thị Hoa`` -> ``nguyen-thi-hoa``."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in folded if c.isascii() and not unicodedata.combining(c))
    words = "".join(c if c.isalnum() else " " for c in ascii_only.lower()).split()
    return "-".join(words)[:60].strip("-") or default


# -- structured summaries -------------------------------------------------------------------


def identity_summary(identity: CitizenIdentity) -> dict[str, object]:
    """The identity as a JSON-ready mapping (absent attributes are left out)."""
    result: dict[str, object] = {"display_name": identity.display_name()}
    fields = {
        "common_name": identity.common_name,
        "organization": identity.organization,
        "organizational_unit": identity.organizational_unit,
        "title": identity.title,
        "locality": identity.locality,
        "province": identity.province,
        "country": identity.country,
        "email": identity.email,
    }
    result.update({k: v for k, v in fields.items() if v})
    result["identifiers"] = [
        {"type": i.prefix, "value": i.value, "well_formed": i.is_well_formed}
        for i in identity.identifiers
    ]
    if identity.other_uids:
        result["other_uids"] = list(identity.other_uids)
    return result


def _usage_names(usages: frozenset[KeyUsage] | None) -> list[str] | None:
    if usages is None:
        return None
    return sorted(u.name.lower() for u in usages)


def certificate_summary(cert: Certificate) -> dict[str, object]:
    """A certificate as a JSON-ready mapping: names, validity, key, usages, fingerprints."""
    return {
        "subject": cert.subject_text,
        "issuer": cert.issuer_text,
        "serial_number": f"{cert.serial_number:x}",
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "public_key": cert.public_key.description,
        "is_ca": cert.is_ca,
        "key_usage": _usage_names(cert.key_usage),
        "extended_key_usage": list(cert.extended_key_usage or ()),
        "sha256_fingerprint": cert.sha256_fingerprint,
        "sha1_fingerprint": ":".join(f"{b:02X}" for b in cert.fingerprint("sha1")),
        "identity": identity_summary(cert.identity),
    }


def order_chain(certs: Iterable[Certificate]) -> tuple[Certificate, ...]:
    """Order certificates leaf first, each followed by its issuer when the set holds it.

    Certificates that do not belong to the leaf's chain follow in their original order.  The
    work grows with the square of the number of certificates, so a bundle of more than
    :data:`MAX_ORDERED_CERTIFICATES` is left in file order.
    """
    pool = list(dict.fromkeys(certs))
    if len(pool) <= 1 or len(pool) > MAX_ORDERED_CERTIFICATES:
        return tuple(pool)
    issuers = {
        id(issuer)
        for cert in pool
        for issuer in pool
        if issuer is not cert and not cert.is_self_issued and cert.is_issued_by(issuer)
    }
    leaves = [c for c in pool if id(c) not in issuers]
    leaf = next((c for c in leaves if not c.is_ca), leaves[0] if leaves else pool[0])
    chain = [leaf]
    remaining = [c for c in pool if c is not leaf]
    while remaining and not chain[-1].is_self_issued:
        issuer = next((c for c in remaining if chain[-1].is_issued_by(c)), None)
        if issuer is None:
            break
        chain.append(issuer)
        remaining.remove(issuer)
    return (*chain, *remaining)


def chain_summary(chain: Sequence[Certificate]) -> list[dict[str, object]]:
    """One entry per certificate, each saying whether the next one in the list signed it."""
    entries: list[dict[str, object]] = []
    for index, cert in enumerate(chain):
        entry = certificate_summary(cert)
        if cert.is_self_issued:
            entry["signed_by_next"] = None
            entry["self_signed"] = cert.is_signed_by(cert)
        else:
            nxt = chain[index + 1] if index + 1 < len(chain) else None
            entry["signed_by_next"] = cert.is_issued_by(nxt) if nxt is not None else None
            entry["self_signed"] = False
        entries.append(entry)
    return entries


# -- human output ---------------------------------------------------------------------------


def labelled_line(label: str, value: object, *, indent: int = 0, width: int = 30) -> str:
    """``label: value`` with the values of consecutive lines aligned at column ``width``."""
    pad = " " * indent
    return f"{pad}{label + ':':<{width - indent}} {value}"


class _Report(Protocol):
    @property
    def passed(self) -> bool: ...

    def summary(self, lang: Literal["vi", "en"] = "vi") -> str: ...

    def to_json(self) -> str: ...


def print_report(report: _Report, *, as_json: bool, lang: Literal["vi", "en"] | None) -> int:
    """Print a validation report as JSON or as a summary; return 0 if it passed, else 1.

    Without ``lang`` the summary is printed in Vietnamese, then in English.
    """
    if as_json:
        sys.stdout.write(report.to_json() + "\n")
    elif lang:
        print(report.summary(lang=lang))
    else:
        print(report.summary(lang="vi"))
        print()
        print(report.summary(lang="en"))
    return 0 if report.passed else 1


def print_identity(identity: CitizenIdentity, *, indent: int = 0) -> None:
    """Print the holder's identity with bilingual labels."""
    labels: Sequence[tuple[str, str | None]] = (
        ("Họ tên / Name", identity.common_name),
        ("Tổ chức / Organisation", identity.organization),
        ("Đơn vị / Unit", identity.organizational_unit),
        ("Chức danh / Title", identity.title),
        ("Địa phương / Locality", identity.locality),
        ("Tỉnh, thành / Province", identity.province),
        ("Quốc gia / Country", identity.country),
        ("Thư điện tử / Email", identity.email),
    )
    for label, value in labels:
        if value:
            print(labelled_line(label, value, indent=indent))
    for ident in identity.identifiers:
        flag = "" if ident.is_well_formed else "  (sai định dạng / malformed)"
        print(labelled_line(f"Mã định danh / {ident.prefix}", ident.value + flag, indent=indent))
    for other in identity.other_uids:
        print(labelled_line("UID", other, indent=indent))


def print_certificate(cert: Certificate, *, indent: int = 0) -> None:
    """Print the certificate's names, validity, key and fingerprint."""
    print(labelled_line("Chủ thể / Subject", cert.subject_text, indent=indent))
    print(labelled_line("Tổ chức cấp / Issuer", cert.issuer_text, indent=indent))
    print(labelled_line("Số hiệu / Serial", f"{cert.serial_number:x}", indent=indent))
    validity = f"{cert.not_before:%Y-%m-%d %H:%M} → {cert.not_after:%Y-%m-%d %H:%M} UTC"
    print(labelled_line("Hiệu lực / Valid", validity, indent=indent))
    print(labelled_line("Khoá / Key", cert.public_key.description, indent=indent))
    usages = _usage_names(cert.key_usage)
    if usages:
        print(labelled_line("Mục đích / Key usage", ", ".join(usages), indent=indent))
    print(labelled_line("SHA-256", cert.sha256_fingerprint, indent=indent))


def print_chain(chain: Sequence[Certificate], *, indent: int = 0) -> None:
    """Print a chain, leaf first, with one line per certificate and its link to the next."""
    pad = " " * indent
    for index, entry in enumerate(chain_summary(chain)):
        role = "CA" if entry["is_ca"] else "end entity"
        print(f"{pad}[{index}] {entry['subject']}  ({role})")
        if entry["self_signed"]:
            print(f"{pad}    tự ký / self-signed")
        elif entry["signed_by_next"] is True:
            print(f"{pad}    ký bởi [{index + 1}] / signed by [{index + 1}]: ok")
        elif entry["signed_by_next"] is False:
            print(f"{pad}    KHÔNG ký bởi [{index + 1}] / NOT signed by [{index + 1}]")
        else:
            print(f"{pad}    thiếu tổ chức cấp / issuer not in the file: {entry['issuer']}")
        print(f"{pad}    SHA-256 {entry['sha256_fingerprint']}")


def print_files(files: Mapping[str, str], *, indent: int = 0) -> None:
    """Print labelled file paths."""
    for label, path in files.items():
        print(labelled_line(label, path, indent=indent))
