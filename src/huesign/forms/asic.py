"""ASiC-E containers (ETSI EN 319 162-1) with a CAdES signature over an ASiC manifest.

A container is a ZIP file whose first entry is ``mimetype`` (stored, uncompressed, holding
``application/vnd.etsi.asic-e+zip``), followed by the data files, ``META-INF/ASiCManifest.xml``
(each data file's name, media type and SHA-256) and ``META-INF/signature.p7s``, a detached
CAdES signature over the manifest.  Signing the manifest signs every file it lists.

:func:`verify_asic` checks the container's shape, the signature, every digest, and that no
file is present that the manifest does not list (other than the few ``META-INF`` files the
standard allows).  It refuses names that could escape a folder when extracted and reads
within fixed bounds, so a ZIP bomb costs at most :attr:`ASiCLimits.max_total_size` bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import attrs

from huesign.errors import FormError
from huesign.pki.cms import sign_cms, verify_cms
from huesign.pki.policy import ValidationPolicy
from huesign.pki.report import ValidationReport
from huesign.pki.revocation import RevocationSource
from huesign.pki.signers import Signer
from huesign.pki.trust import TrustStore
from huesign.pki.tsp import TimestampSource

__all__ = [
    "ASIC_E_MIMETYPE",
    "MANIFEST_NAME",
    "SIGNATURE_NAME",
    "ASiCEntry",
    "ASiCLimits",
    "ASiCReport",
    "package_asic",
    "read_asic",
    "verify_asic",
]

#: The container's media type, the content of its ``mimetype`` entry.
ASIC_E_MIMETYPE = "application/vnd.etsi.asic-e+zip"
#: Where the manifest lives.
MANIFEST_NAME = "META-INF/ASiCManifest.xml"
#: Where the CAdES signature over the manifest lives.
SIGNATURE_NAME = "META-INF/signature.p7s"

_ASIC_NS = "http://uri.etsi.org/02918/v1.2.1#"
_DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"
_ALLOWED_META = (
    re.compile(r"^META-INF/ASiCManifest[^/]*\.xml$"),
    re.compile(r"^META-INF/signature[^/]*\.p7s$"),
    re.compile(r"^META-INF/manifest\.xml$"),
)
_MEDIA_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\:*?\"<>|]")
_CHUNK = 64 * 1024


@attrs.frozen(kw_only=True)
class ASiCEntry:
    """A data file in a container.

    Attributes:
        name: the path inside the container (``/`` separated, no ``..``), e.g. ``dossier.pdf``.
        data: the file's bytes.
        media_type: its media type, e.g. ``application/pdf``.
    """

    name: str = attrs.field()
    data: bytes = attrs.field(repr=False)
    media_type: str = "application/octet-stream"

    @name.validator
    def _check_name(self, _attr: object, value: str) -> None:
        problem = _name_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if value == "mimetype" or value.startswith("META-INF/"):
            raise ValueError(f"{value!r} is reserved for the container itself")

    def __attrs_post_init__(self) -> None:
        if not _MEDIA_RE.match(self.media_type):
            raise ValueError(f"{self.media_type!r} is not a media type")

    @property
    def sha256(self) -> str:
        """SHA-256 of :attr:`data`, lower-case hex."""
        return hashlib.sha256(self.data).hexdigest()


@attrs.frozen(kw_only=True)
class ASiCLimits:
    """Bounds that :func:`verify_asic` and :func:`read_asic` read within.

    Attributes:
        max_container_size: largest container accepted.
        max_entries: most ZIP entries.
        max_entry_size: largest uncompressed entry.
        max_total_size: most uncompressed bytes over all entries.
        max_ratio: highest compression ratio of an entry larger than 1 MiB.
        max_manifest_size: largest manifest.
    """

    max_container_size: int = 512 * 1024 * 1024
    max_entries: int = 1000
    max_entry_size: int = 256 * 1024 * 1024
    max_total_size: int = 512 * 1024 * 1024
    max_ratio: int = 200
    max_manifest_size: int = 1024 * 1024


@attrs.frozen(kw_only=True)
class ASiCReport:
    """The verdict on a container.

    Attributes:
        signature: the CAdES signature's report (``None`` when there was none to check).
        entries: the data files the manifest lists and that matched their digests.
        problems: every reason the container fails, in English (empty when it passes).
    """

    signature: ValidationReport | None
    entries: tuple[ASiCEntry, ...] = attrs.field(repr=False)
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether the signature passed, every digest matched and nothing else is present."""
        return not self.problems and self.signature is not None and self.signature.passed

    def entry(self, name: str) -> ASiCEntry | None:
        """The verified data file called ``name``, or ``None``."""
        return next((e for e in self.entries if e.name == name), None)


def _name_problem(name: str) -> str | None:
    if not name or len(name) > 255:
        return "entry names are 1 to 255 characters"
    if unicodedata.normalize("NFC", name) != name:
        return f"entry name {name!r} is not in Unicode NFC"
    if _BAD_CHARS.search(name):
        return f"entry name {name!r} holds a forbidden character"
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return f"entry name {name!r} could escape the container's folder"
    return None


def _manifest(entries: Iterable[ASiCEntry]) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        f'<asic:ASiCManifest xmlns:asic="{_ASIC_NS}" xmlns:ds="{_DS_NS}">',
        f'  <asic:SigReference URI="{SIGNATURE_NAME}" MimeType="application/pkcs7-signature"/>',
    ]
    for entry in entries:
        digest = base64.b64encode(hashlib.sha256(entry.data).digest()).decode("ascii")
        lines += [
            f"  <asic:DataObjectReference URI={quoteattr(entry.name)} "
            f"MimeType={quoteattr(entry.media_type)}>",
            f'    <ds:DigestMethod Algorithm="{_SHA256_URI}"/>',
            f"    <ds:DigestValue>{escape(digest)}</ds:DigestValue>",
            "  </asic:DataObjectReference>",
        ]
    lines.append("</asic:ASiCManifest>")
    return ("\n".join(lines) + "\n").encode("utf-8")


_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _info(name: str, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.create_system = 0
    return info


def package_asic(
    entries: Iterable[ASiCEntry],
    signer: Signer,
    *,
    timestamp: TimestampSource | str | None = None,
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Build an ASiC-E container of ``entries`` signed by ``signer`` (CAdES over the manifest).

    Args:
        entries: the data files; names must be unique.
        signer: who signs the manifest.
        timestamp: a TSA (or its URL) for a signature timestamp (CAdES-T).
        signing_time: the claimed signing time (default: now).

    Raises:
        ValueError: two entries share a name, or there are none.
        SigningError: the signature could not be made.
    """
    items = tuple(entries)
    if not items:
        raise ValueError("a container needs at least one data file")
    names = [e.name for e in items]
    if len(set(names)) != len(names):
        raise ValueError("entry names must be unique")
    manifest = _manifest(items)
    signature = sign_cms(manifest, signer, timestamp=timestamp, signing_time=signing_time)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(_info("mimetype", False), ASIC_E_MIMETYPE.encode("ascii"))
        for entry in items:
            archive.writestr(_info(entry.name, True), entry.data)
        archive.writestr(_info(MANIFEST_NAME, True), manifest)
        archive.writestr(_info(SIGNATURE_NAME, True), signature)
    return out.getvalue()


class _Refused(Exception):
    pass


def _read_entries(data: bytes, limits: ASiCLimits) -> dict[str, bytes]:
    if len(data) > limits.max_container_size:
        raise _Refused(f"the container is larger than {limits.max_container_size} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _Refused(f"not a ZIP file ({exc})") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise _Refused(f"the container has more than {limits.max_entries} entries")
        if not infos or infos[0].filename != "mimetype":
            raise _Refused("the first entry is not 'mimetype'")
        first = infos[0]
        if first.compress_type != zipfile.ZIP_STORED or first.extra:
            raise _Refused("'mimetype' must be stored uncompressed, without extra fields")
        files: dict[str, bytes] = {}
        total = 0
        for info in infos:
            name = info.filename
            if info.is_dir():
                continue
            problem = _name_problem(name)
            if problem is not None:
                raise _Refused(problem)
            if name in files:
                raise _Refused(f"the entry {name!r} appears twice")
            if info.flag_bits & 0x1:
                raise _Refused(f"the entry {name!r} is encrypted")
            budget = min(limits.max_entry_size, limits.max_total_size - total)
            content = _read_bounded(archive, info, budget, limits)
            total += len(content)
            files[name] = content
    if files.get("mimetype") != ASIC_E_MIMETYPE.encode("ascii"):
        raise _Refused(f"'mimetype' does not say {ASIC_E_MIMETYPE}")
    return files


def _read_bounded(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, limits: ASiCLimits
) -> bytes:
    name = info.filename
    if info.file_size > budget:
        raise _Refused(f"the entry {name!r} is larger than the limits allow")
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                size += len(chunk)
                if size > budget or size > info.file_size:
                    raise _Refused(f"the entry {name!r} inflates beyond its declared size")
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
        raise _Refused(f"the entry {name!r} cannot be read ({exc})") from exc
    if size > 1024 * 1024 and size > limits.max_ratio * max(info.compress_size, 1):
        raise _Refused(f"the entry {name!r} is compressed suspiciously well")
    return b"".join(chunks)


def _parse_manifest(text: bytes, limits: ASiCLimits) -> list[tuple[str, str, str]]:
    """``(uri, media type, base64 SHA-256)`` of each data object the manifest lists."""
    if len(text) > limits.max_manifest_size:
        raise _Refused("the manifest is too large")
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
        raise _Refused("the manifest declares a DTD or entities")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD, bounded size (checked above)
    except ET.ParseError as exc:
        raise _Refused(f"the manifest is not XML ({exc})") from exc
    if root.tag != f"{{{_ASIC_NS}}}ASiCManifest":
        raise _Refused("the manifest's root is not asic:ASiCManifest")
    sig_ref = root.find(f"{{{_ASIC_NS}}}SigReference")
    if sig_ref is None or sig_ref.get("URI") != SIGNATURE_NAME:
        raise _Refused(f"the manifest does not refer to {SIGNATURE_NAME}")
    out = []
    for ref in root.findall(f"{{{_ASIC_NS}}}DataObjectReference"):
        method = ref.find(f"{{{_DS_NS}}}DigestMethod")
        value = ref.find(f"{{{_DS_NS}}}DigestValue")
        uri = ref.get("URI") or ""
        if method is None or method.get("Algorithm") != _SHA256_URI:
            raise _Refused(f"the manifest entry {uri!r} does not use SHA-256")
        if value is None or not value.text:
            raise _Refused(f"the manifest entry {uri!r} has no digest")
        out.append((uri, ref.get("MimeType") or "application/octet-stream", value.text.strip()))
    if not out:
        raise _Refused("the manifest lists no data object")
    return out


def read_asic(data: bytes, *, limits: ASiCLimits | None = None) -> dict[str, bytes]:
    """Every file of a container by name, read within ``limits``, without checking anything
    beyond the container's shape (use :func:`verify_asic` to trust the contents).

    Raises:
        FormError: the data is not a well-formed ASiC-E container or breaks a limit.
    """
    try:
        return _read_entries(data, limits or ASiCLimits())
    except _Refused as exc:
        raise FormError(f"not a usable ASiC-E container: {exc}") from exc


def verify_asic(
    data: bytes,
    *,
    trust: TrustStore,
    policy: ValidationPolicy | None = None,
    revocation: RevocationSource | None = None,
    at: dt.datetime | None = None,
    limits: ASiCLimits | None = None,
) -> ASiCReport:
    """Check an ASiC-E container: its shape, its manifest's signature and every digest.

    Never raises for a bad container: the report's ``problems`` say why it fails.

    Args:
        data: the container's bytes.
        trust: the anchors the signer's certificate must chain to.
        policy: the validation policy (default: huesign's).
        revocation: where revocation data comes from.
        at: the validation time (default: now).
        limits: reading bounds.
    """
    bounds = limits or ASiCLimits()
    try:
        files = _read_entries(data, bounds)
        manifest = files.get(MANIFEST_NAME)
        signature = files.get(SIGNATURE_NAME)
        if manifest is None or signature is None:
            raise _Refused(f"the container lacks {MANIFEST_NAME} or {SIGNATURE_NAME}")
        listed = _parse_manifest(manifest, bounds)
    except _Refused as exc:
        return ASiCReport(signature=None, entries=(), problems=(str(exc),))
    report = verify_cms(
        signature, manifest, trust=trust, policy=policy, revocation=revocation, at=at
    )
    problems: list[str] = []
    if not report.passed:
        problems.append(f"the manifest's signature did not pass ({report.indication.value})")
    entries: list[ASiCEntry] = []
    seen: set[str] = set()
    for uri, media_type, digest in listed:
        if uri in seen:
            problems.append(f"the manifest lists {uri!r} twice")
            continue
        seen.add(uri)
        content = files.get(uri)
        if content is None or _name_problem(uri) is not None or uri.startswith("META-INF/"):
            problems.append(f"the manifest lists {uri!r}, which the container lacks")
            continue
        actual = base64.b64encode(hashlib.sha256(content).digest()).decode("ascii")
        if actual != digest:
            problems.append(f"the digest of {uri!r} does not match the manifest")
            continue
        try:
            entries.append(ASiCEntry(name=uri, data=content, media_type=media_type))
        except ValueError as exc:
            problems.append(f"the manifest entry {uri!r} is unusable ({exc})")
    for name in files:
        if name == "mimetype" or name in seen:
            continue
        if not any(p.match(name) for p in _ALLOWED_META):
            problems.append(f"{name!r} is in the container but not in the signed manifest")
    return ASiCReport(signature=report, entries=tuple(entries), problems=tuple(problems))
