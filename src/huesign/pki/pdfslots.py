"""Signature slots: the PDF side of signing, without any cryptography.

Lower layer under PAdES.  Signing a PDF takes three steps over one incremental update:

1. :func:`prepare_signature` appends a revision with a signature field and a signature
   dictionary whose ``/Contents`` is a zero-filled hex string of a reserved size and whose
   fixed-width ``/ByteRange`` holds the exact ranges around it (computed before writing, so
   the file is written once);
2. :func:`digest_byte_ranges` hashes those ranges in chunks (the file is never loaded whole);
3. :func:`write_signature_contents` writes the signature (a CMS ``SignedData`` or a
   timestamp token) into the reserved space.

:func:`add_dss` writes the document security store (certificates, OCSP responses, CRLs)
that B-LT and B-LTA need.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import os
from collections.abc import Sequence
from typing import BinaryIO

import attrs

from huesign.errors import PDFFormatError, SigningError
from huesign.pki.algorithms import HashAlgorithm
from huesign.pki.pdffields import find_signatures, iter_fields, page_refs
from huesign.pki.pdfobjects import Name, PDFDict, PDFObject, PDFStream, PDFString, Ref, serialize
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfwriter import IncrementalWriter, XRefStyle

__all__ = [
    "BYTE_RANGE_PLACEHOLDER",
    "DEFAULT_CONTENTS_SIZE",
    "MAX_CONTENTS_SIZE",
    "DSSData",
    "DocMDPPermission",
    "FieldLock",
    "LockAction",
    "PreparedSignature",
    "SignatureSlot",
    "VRIEntry",
    "add_dss",
    "add_signature_slot",
    "digest_byte_ranges",
    "prepare_signature",
    "write_signature_contents",
]

#: Bytes reserved for the signature when the caller does not estimate them.
DEFAULT_CONTENTS_SIZE = 16 * 1024
#: Largest signature container a slot may reserve.
MAX_CONTENTS_SIZE = 4 * 1024 * 1024
#: The fixed-width ``/ByteRange`` written first and patched once offsets are known.
BYTE_RANGE_PLACEHOLDER = b"[0 0000000000 0000000000 0000000000]"
_HASH_CHUNK = 1024 * 1024
_WIDGET_FLAGS = 132  # print + locked


class DocMDPPermission(enum.IntEnum):
    """What a certification signature still allows (``/P`` of the DocMDP transform)."""

    NO_CHANGES = 1
    FORM_FILLING = 2
    ANNOTATIONS = 3


class LockAction(enum.Enum):
    """Which fields a signature locks (``/Action`` of a FieldMDP lock)."""

    ALL = "All"
    INCLUDE = "Include"
    EXCLUDE = "Exclude"


@attrs.frozen(kw_only=True)
class FieldLock:
    """A FieldMDP lock: once signed, these fields may not change."""

    action: LockAction = LockAction.ALL
    fields: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        if (self.action is LockAction.ALL) == bool(self.fields):
            raise ValueError("list fields for INCLUDE/EXCLUDE locks and none for ALL")

    def to_pdf(self, type_name: str) -> PDFDict:
        """The lock as a PDF dictionary of ``/Type`` ``type_name``."""
        d: dict[str, PDFObject] = {"Type": Name(type_name), "Action": Name(self.action.value)}
        if self.fields:
            d["Fields"] = tuple(PDFString.from_text(f) for f in self.fields)
        return PDFDict(d)


@attrs.frozen(kw_only=True)
class SignatureSlot:
    """What to put in the new signature field and dictionary.

    Attributes:
        field_name: name of an existing empty signature field to fill (fully qualified,
            ``parent.child``), or of the new field to create (no dots).
        contents_size: bytes reserved for the signature container.
        timestamp: a document timestamp (``/DocTimeStamp``, ``ETSI.RFC3161``) instead of a
            signature.
        page: index of the page that gets the widget.
        rect: the widget rectangle; all zeros makes the signature invisible.
        appearance: the widget's normal appearance (a form XObject stream), if visible.
        signing_time: the ``/M`` entry (default: now, UTC); unused for timestamps.
        reason, location, contact_info, name: optional text entries.
        certify: make this a certification signature with DocMDP permissions.
        lock: a FieldMDP lock for the field.
    """

    field_name: str = "Signature1"
    contents_size: int = DEFAULT_CONTENTS_SIZE
    timestamp: bool = False
    page: int = 0
    rect: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    appearance: PDFStream | None = None
    signing_time: dt.datetime | None = None
    reason: str | None = None
    location: str | None = None
    contact_info: str | None = None
    name: str | None = None
    certify: DocMDPPermission | None = None
    lock: FieldLock | None = None

    def __attrs_post_init__(self) -> None:
        if not 0 < self.contents_size <= MAX_CONTENTS_SIZE:
            raise ValueError(f"contents_size must be between 1 and {MAX_CONTENTS_SIZE} bytes")
        if not self.field_name:
            raise ValueError("field_name must not be empty")
        if self.timestamp and (self.certify is not None or self.lock is not None):
            raise ValueError("a document timestamp cannot certify or lock fields")


@attrs.frozen(kw_only=True)
class PreparedSignature:
    """A written signature slot waiting for its signature bytes.

    Attributes:
        byte_range: the four ``/ByteRange`` numbers written into the file.
        contents_offset: offset of the ``<`` that opens the reserved ``/Contents``.
        contents_size: bytes reserved for the signature.
        signature_ref: reference of the signature dictionary.
        field_ref: reference of the signature field.
        file_size: size of the file after the update.
    """

    byte_range: tuple[int, int, int, int]
    contents_offset: int
    contents_size: int
    signature_ref: Ref
    field_ref: Ref
    file_size: int


def _pdf_date(when: dt.datetime) -> PDFString:
    if when.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    utc = when.astimezone(dt.UTC)
    return PDFString(utc.strftime("D:%Y%m%d%H%M%S+00'00'").encode("ascii"))


def _signature_head(timestamp: bool) -> bytes:
    if timestamp:
        head: dict[str, PDFObject] = {
            "Type": Name("DocTimeStamp"),
            "Filter": Name("Adobe.PPKLite"),
            "SubFilter": Name("ETSI.RFC3161"),
        }
    else:
        head = {
            "Type": Name("Sig"),
            "Filter": Name("Adobe.PPKLite"),
            "SubFilter": Name("ETSI.CAdES.detached"),
        }
    return serialize(PDFDict(head))[:-2] + b"/ByteRange "


def _placeholder_offsets(timestamp: bool) -> tuple[int, int]:
    """Offsets of the /ByteRange and /Contents values inside a signature body."""
    br_at = len(_signature_head(timestamp))
    return br_at, br_at + len(BYTE_RANGE_PLACEHOLDER) + len(b"/Contents ")


def _signature_body(slot: SignatureSlot) -> bytes:
    rest: dict[str, PDFObject] = {}
    if not slot.timestamp:
        rest["M"] = _pdf_date(slot.signing_time or dt.datetime.now(dt.UTC))
        for key, text in (
            ("Name", slot.name),
            ("Reason", slot.reason),
            ("Location", slot.location),
            ("ContactInfo", slot.contact_info),
        ):
            if text is not None:
                rest[key] = PDFString.from_text(text)
    references: list[PDFObject] = []
    if slot.certify is not None:
        params = PDFDict(
            {"Type": Name("TransformParams"), "P": int(slot.certify), "V": Name("1.2")}
        )
        references.append(_sig_ref("DocMDP", params))
    if slot.lock is not None:
        params = slot.lock.to_pdf("TransformParams").updated(V=Name("1.2"))
        references.append(_sig_ref("FieldMDP", params))
    if references:
        rest["Reference"] = tuple(references)
    contents = b"<" + b"0" * (2 * slot.contents_size) + b">"
    return b"".join(
        (
            _signature_head(slot.timestamp),
            BYTE_RANGE_PLACEHOLDER,
            b"/Contents ",
            contents,
            serialize(PDFDict(rest))[2:],
        )
    )


def _sig_ref(method: str, params: PDFDict) -> PDFDict:
    return PDFDict(
        {"Type": Name("SigRef"), "TransformMethod": Name(method), "TransformParams": params}
    )


def add_signature_slot(writer: IncrementalWriter, slot: SignatureSlot) -> tuple[Ref, Ref]:
    """Add the signature field and dictionary of ``slot`` to ``writer``.

    Returns the references of the signature dictionary and of the field.

    Raises:
        ValueError: the field exists and is not an empty signature field, the page does not
            exist, or certification is asked for a document that is already signed.
    """
    reader = writer.reader
    if slot.certify is not None and find_signatures(reader):
        raise ValueError("only the first signature of a document can certify it")
    sig_ref = writer.add_serialized(_signature_body(slot))
    existing = next((f for f in iter_fields(reader) if f.name == slot.field_name), None)
    if existing is not None:
        if existing.field_type != "Sig" or existing.value is not None:
            raise ValueError(f"field {slot.field_name!r} is not an empty signature field")
        changes: dict[str, PDFObject] = {"V": sig_ref}
        if slot.lock is not None:
            changes["Lock"] = writer.add(slot.lock.to_pdf("SigFieldLock"))
        writer.update(existing.ref, writer.get_dict(existing.ref).updated(**changes))
        field_ref = existing.ref
    elif "." in slot.field_name:
        raise ValueError(f"no field {slot.field_name!r}; a new field's name has no dots")
    else:
        field_ref = _new_field(writer, slot, sig_ref)
    _update_catalog(writer, field_ref if existing is None else None, slot, sig_ref)
    return sig_ref, field_ref


def _new_field(writer: IncrementalWriter, slot: SignatureSlot, sig_ref: Ref) -> Ref:
    pages = page_refs(writer.reader, stop_after=slot.page + 1)
    if not 0 <= slot.page < len(pages):
        raise ValueError(f"the document has no page {slot.page}")
    page_ref = pages[slot.page]
    field: dict[str, PDFObject] = {
        "Type": Name("Annot"),
        "Subtype": Name("Widget"),
        "FT": Name("Sig"),
        "T": PDFString.from_text(slot.field_name),
        "V": sig_ref,
        "F": _WIDGET_FLAGS,
        "Rect": tuple(float(v) for v in slot.rect),
        "P": page_ref,
    }
    if slot.appearance is not None:
        field["AP"] = PDFDict({"N": writer.add(slot.appearance)})
    if slot.lock is not None:
        field["Lock"] = writer.add(slot.lock.to_pdf("SigFieldLock"))
    field_ref = writer.add(PDFDict(field))
    page = writer.get_dict(page_ref)
    annots = page.get("Annots")
    if isinstance(annots, Ref):
        current = writer.get(annots)
        items = current if isinstance(current, tuple) else ()
        writer.update(annots, (*items, field_ref))
    else:
        items = annots if isinstance(annots, tuple) else ()
        writer.update(page_ref, page.updated(Annots=(*items, field_ref)))
    return field_ref


def _update_catalog(
    writer: IncrementalWriter, new_field: Ref | None, slot: SignatureSlot, sig_ref: Ref
) -> None:
    reader = writer.reader
    root_ref = reader.root_ref
    catalog = writer.get_dict(root_ref)
    changes: dict[str, PDFObject] = {}
    form_obj = catalog.get("AcroForm")
    form_ref = form_obj if isinstance(form_obj, Ref) else None
    form = writer.get_dict(form_obj) if form_obj is not None else PDFDict()
    form_changes: dict[str, PDFObject] = {"SigFlags": 3}
    if new_field is not None:
        fields = form.get("Fields")
        if isinstance(fields, Ref):
            current = writer.get(fields)
            writer.update(fields, (*(current if isinstance(current, tuple) else ()), new_field))
        else:
            form_changes["Fields"] = (*(fields if isinstance(fields, tuple) else ()), new_field)
    new_form = form.updated(**form_changes)
    if form_ref is not None:
        writer.update(form_ref, new_form)
    elif form_obj is None:
        changes["AcroForm"] = writer.add(new_form)
    else:
        changes["AcroForm"] = new_form
    if slot.certify is not None:
        perms = catalog.get("Perms")
        perms_dict = writer.get_dict(perms) if perms is not None else PDFDict()
        changes["Perms"] = perms_dict.updated(DocMDP=sig_ref)
    if changes:
        writer.update(root_ref, catalog.updated(**changes))


def prepare_signature(
    reader: PDFReader,
    slot: SignatureSlot,
    *,
    output: str | os.PathLike[str] | BinaryIO | None = None,
    style: XRefStyle | None = None,
) -> PreparedSignature:
    """Append a signature slot to the document and fix its ``/ByteRange``.

    ``output`` is a new file (path or writable binary file) or ``None`` to append to the
    reader's own file.  Returns where the reserved ``/Contents`` is; hash with
    :func:`digest_byte_ranges` and fill with :func:`write_signature_contents`.
    """
    writer = IncrementalWriter(reader, style=style)
    sig_ref, field_ref = add_signature_slot(writer, slot)
    data, written = writer.render()
    body = written.body_offsets[sig_ref.num]
    br_rel, contents_rel = _placeholder_offsets(slot.timestamp)
    br_at, contents_at = body + br_rel, body + contents_rel
    contents_end = contents_at + 2 + 2 * slot.contents_size
    byte_range = (0, contents_at, contents_end, written.end - contents_end)
    # The final size is known before anything is written, so the byte range goes into the
    # appended bytes directly: the file is written once and never patched.
    patched = bytearray(data)
    at = br_at - written.start
    if patched[at : at + len(BYTE_RANGE_PLACEHOLDER)] != BYTE_RANGE_PLACEHOLDER:
        raise AssertionError("signature placeholder misplaced")  # pragma: no cover
    patched[at : at + len(BYTE_RANGE_PLACEHOLDER)] = _byte_range_bytes(byte_range)
    writer.emit(bytes(patched), written, output)
    return PreparedSignature(
        byte_range=byte_range,
        contents_offset=contents_at,
        contents_size=slot.contents_size,
        signature_ref=sig_ref,
        field_ref=field_ref,
        file_size=written.end,
    )


def _with_file(target: str | os.PathLike[str] | BinaryIO, *, write: bool) -> tuple[BinaryIO, bool]:
    if isinstance(target, (str, os.PathLike)):
        return (open(target, "r+b") if write else open(target, "rb")), True
    return target, False


def _byte_range_bytes(byte_range: tuple[int, ...]) -> bytes:
    text = b"[" + b" ".join(b"%d" % v for v in byte_range)
    width = len(BYTE_RANGE_PLACEHOLDER)
    if len(text) + 1 > width:
        raise PDFFormatError("the file is too large for a ten-digit /ByteRange")
    return text + b" " * (width - len(text) - 1) + b"]"


def digest_byte_ranges(
    source: str | os.PathLike[str] | BinaryIO,
    byte_range: Sequence[int],
    *,
    algorithm: HashAlgorithm = HashAlgorithm.SHA256,
    chunk_size: int = _HASH_CHUNK,
) -> bytes:
    """Hash the bytes ``byte_range`` selects, reading ``chunk_size`` bytes at a time.

    Raises:
        ValueError: the byte range is not pairs of non-negative numbers inside the file.
    """
    if len(byte_range) % 2 or any(v < 0 for v in byte_range):
        raise ValueError("a byte range is pairs of non-negative offsets and lengths")
    digest = hashlib.new(algorithm.value)
    fh, owned = _with_file(source, write=False)
    try:
        size = fh.seek(0, os.SEEK_END)
        for start, length in zip(byte_range[::2], byte_range[1::2], strict=True):
            if start + length > size:
                raise ValueError("the byte range runs past the end of the file")
            fh.seek(start)
            remaining = length
            while remaining:
                chunk = fh.read(min(chunk_size, remaining))
                if not chunk:
                    raise ValueError("the file ended inside the byte range")
                digest.update(chunk)
                remaining -= len(chunk)
    finally:
        if owned:
            fh.close()
    return digest.digest()


def write_signature_contents(
    target: str | os.PathLike[str] | BinaryIO,
    prepared: PreparedSignature,
    signature: bytes,
) -> None:
    """Write ``signature`` (DER) into the reserved ``/Contents``, zero-padded.

    Raises:
        SigningError: the signature is larger than the space reserved for it.
    """
    if len(signature) > prepared.contents_size:
        raise SigningError(
            f"the signature takes {len(signature)} bytes but only "
            f"{prepared.contents_size} were reserved"
        )
    hex_digits = signature.hex().upper().encode("ascii")
    padded = hex_digits + b"0" * (2 * prepared.contents_size - len(hex_digits))
    fh, owned = _with_file(target, write=True)
    try:
        fh.seek(prepared.contents_offset)
        if fh.read(1) != b"<":
            raise SigningError("the file does not hold the prepared /Contents slot")
        fh.write(padded)
        fh.flush()
    finally:
        if owned:
            fh.close()


@attrs.frozen(kw_only=True)
class VRIEntry:
    """Validation data tied to one signature (a ``/VRI`` entry of the DSS).

    Attributes:
        signature_contents: the signature's ``/Contents`` bytes (the key is their SHA-1).
        certificates, ocsps, crls: DER encodings of the data used for that signature.
    """

    signature_contents: bytes
    certificates: tuple[bytes, ...] = attrs.field(default=(), converter=tuple)
    ocsps: tuple[bytes, ...] = attrs.field(default=(), converter=tuple)
    crls: tuple[bytes, ...] = attrs.field(default=(), converter=tuple)

    @property
    def key(self) -> str:
        """The ``/VRI`` key: upper-case hex SHA-1 of the signature contents."""
        return hashlib.sha1(self.signature_contents, usedforsecurity=False).hexdigest().upper()


@attrs.frozen(kw_only=True)
class DSSData:
    """Validation data for the document security store (DER encodings)."""

    certificates: tuple[bytes, ...] = attrs.field(default=(), converter=tuple)
    ocsps: tuple[bytes, ...] = attrs.field(default=(), converter=tuple)
    crls: tuple[bytes, ...] = attrs.field(default=(), converter=tuple)
    vri: tuple[VRIEntry, ...] = attrs.field(default=(), converter=tuple)


_DSS_KEYS = (("Certs", "certificates", "Cert"), ("OCSPs", "ocsps", "OCSP"), ("CRLs", "crls", "CRL"))


def add_dss(writer: IncrementalWriter, data: DSSData) -> Ref:
    """Add ``data`` to the document security store, keeping what it already holds.

    Each distinct item becomes one stream, shared between the DSS arrays and the VRI
    entries.  Returns the reference of the new ``/DSS`` dictionary.
    """
    reader = writer.reader
    root_ref = reader.root_ref
    catalog = writer.get_dict(root_ref)
    old = catalog.get("DSS")
    dss = writer.get_dict(old) if old is not None else PDFDict()
    streams: dict[bytes, Ref] = {}

    def stream_for(item: bytes) -> Ref:
        ref = streams.get(item)
        if ref is None:
            ref = writer.add(PDFStream(PDFDict(), item))
            streams[item] = ref
        return ref

    changes: dict[str, PDFObject] = {}
    for pdf_key, attr, _ in _DSS_KEYS:
        items: tuple[bytes, ...] = getattr(data, attr)
        items += tuple(i for v in data.vri for i in getattr(v, attr))
        if not items:
            continue
        existing = reader.resolve(dss.get(pdf_key))
        current = existing if isinstance(existing, tuple) else ()
        new = tuple(stream_for(i) for i in dict.fromkeys(items))
        changes[pdf_key] = (*current, *new)
    if data.vri:
        old_vri = reader.resolve(dss.get("VRI"))
        vri = dict(old_vri) if isinstance(old_vri, PDFDict) else {}
        for entry in data.vri:
            vd: dict[str, PDFObject] = {}
            for _, attr, vri_key in _DSS_KEYS:
                items = getattr(entry, attr)
                if items:
                    vd[vri_key] = tuple(stream_for(i) for i in items)
            vri[entry.key] = PDFDict(vd)
        changes["VRI"] = PDFDict(vri)
    dss_ref = writer.add(dss.updated(**changes))
    writer.update(root_ref, catalog.updated(DSS=dss_ref))
    return dss_ref
