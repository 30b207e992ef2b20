"""Signed PDFs for verification tests, made with the PDF engine and ``sign_cms`` directly.

``sign`` appends one signature (optionally timestamped, certifying or locking fields),
``doc_timestamp`` a document timestamp, ``add_validation_data`` a DSS update; ``append_raw``
writes a hand-made revision for changes the incremental writer refuses to make (attacks).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from fpdf import FPDF

from huesign.pki import (
    Certificate,
    DevelopmentCA,
    IssuedCertificate,
    KeySigner,
    RevocationData,
    RevocationMode,
    RevocationSource,
    TrustStore,
    ValidationPolicy,
    sign_cms,
)
from huesign.pki.algorithms import HashAlgorithm
from huesign.pki.pdffields import iter_fields, page_refs
from huesign.pki.pdfobjects import Name, PDFDict, PDFObject, PDFStream, PDFString, Ref, serialize
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import (
    DocMDPPermission,
    DSSData,
    FieldLock,
    SignatureSlot,
    add_dss,
    prepare_signature,
    write_signature_contents,
)
from huesign.pki.pdfwriter import IncrementalWriter

OFFLINE = ValidationPolicy(revocation_mode=RevocationMode.OFFLINE)


def make_pdf(path: Path, *, pages: int = 1, text: str = "Don dang ky khai sinh") -> Path:
    """A small PDF with ``pages`` pages of text."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for n in range(pages):
        pdf.add_page()
        pdf.cell(text=f"{text} - trang {n + 1}")
    pdf.output(str(path))
    return path


def signer_of(who: IssuedCertificate) -> KeySigner:
    """A key signer for a development CA's issued certificate."""
    return KeySigner(key=who.key, certificate=who.certificate, chain=who.chain)


def signed_content(path: Path, byte_range: Sequence[int]) -> bytes:
    """The bytes a byte range selects."""
    data = path.read_bytes()
    return b"".join(
        data[start : start + length]
        for start, length in zip(byte_range[::2], byte_range[1::2], strict=True)
    )


def sign(
    src: Path,
    out: Path,
    who: IssuedCertificate,
    *,
    field: str = "Signature1",
    tsa: DevelopmentCA | None = None,
    certify: DocMDPPermission | None = None,
    lock: FieldLock | None = None,
    rect: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
    signing_time: dt.datetime | None = None,
    contents_size: int = 8192,
) -> Path:
    """Append a PAdES signature by ``who`` to ``src``, written to ``out``."""
    slot = SignatureSlot(
        field_name=field,
        certify=certify,
        lock=lock,
        rect=rect,
        signing_time=signing_time,
        contents_size=contents_size,
    )
    with PDFReader(src) as reader:
        prepared = prepare_signature(reader, slot, output=out)
    content = signed_content(out, prepared.byte_range)
    cms = sign_cms(content, signer_of(who), timestamp=tsa, signing_time=signing_time)
    write_signature_contents(out, prepared, cms)
    return out


def doc_timestamp(
    src: Path,
    out: Path,
    ca: DevelopmentCA,
    *,
    field: str = "DocTS1",
    now: dt.datetime | None = None,
) -> Path:
    """Append a document timestamp (``/ETSI.RFC3161``) from the CA's TSA."""
    slot = SignatureSlot(field_name=field, timestamp=True, contents_size=8192)
    with PDFReader(src) as reader:
        prepared = prepare_signature(reader, slot, output=out)
    digest = hashlib.sha256(signed_content(out, prepared.byte_range)).digest()
    token = ca.timestamp(digest, hash_algorithm=HashAlgorithm.SHA256, now=now)
    write_signature_contents(out, prepared, token)
    return out


def validation_data(
    ca: DevelopmentCA, certificates: Sequence[Certificate] = (), *, now: dt.datetime | None = None
) -> DSSData:
    """The chain, the TSA certificate and both CRLs of ``ca``, as DSS data."""
    certs = (*certificates, ca.intermediate, ca.root, ca.tsa_certificate)
    return DSSData(
        certificates=tuple(dict.fromkeys(c.der for c in certs)),
        crls=(ca.crl("issuing", now=now), ca.crl("root", now=now)),
    )


def add_validation_data(src: Path, out: Path, data: DSSData) -> Path:
    """Append a DSS update holding ``data``."""
    with PDFReader(src) as reader:
        writer = IncrementalWriter(reader)
        add_dss(writer, data)
        writer.write(out)
    return out


def update(src: Path, out: Path, edit: Callable[[PDFReader, IncrementalWriter], object]) -> Path:
    """Append one incremental update made by ``edit``."""
    with PDFReader(src) as reader:
        writer = IncrementalWriter(reader)
        edit(reader, writer)
        writer.write(out)
    return out


def append_raw(
    src: Path, out: Path, objects: dict[int, bytes], trailer: dict[str, bytes] | None = None
) -> Path:
    """Append a hand-made revision with a classic cross-reference table."""
    data = src.read_bytes()
    with PDFReader(src) as reader:
        prev = reader.revisions[-1].xref_offset
        size = reader.next_object_number()
        kept = {k: serialize(reader.trailer[k]) for k in ("Root", "Info") if k in reader.trailer}
    entries_d = {**kept, **(trailer or {})}
    body = bytearray(b"\n")
    offsets: dict[int, int] = {}
    for num, text in objects.items():
        offsets[num] = len(data) + len(body)
        body += b"%d 0 obj\n%s\nendobj\n" % (num, text)
    xref = len(data) + len(body)
    body += b"xref\n"
    for num in sorted(offsets):
        body += b"%d 1\n%010d 00000 n\r\n" % (num, offsets[num])
    entries = b"".join(b"/%s %s" % (k.encode(), v) for k, v in entries_d.items())
    body += b"trailer\n<</Size %d/Prev %d%s>>\nstartxref\n%d\n%%%%EOF\n" % (
        max(size, *offsets) + 1,
        prev,
        entries,
        xref,
    )
    out.write_bytes(data + bytes(body))
    return out


def trust_of(ca: DevelopmentCA) -> TrustStore:
    """A trust store holding only the CA's root."""
    return TrustStore.from_certificates([ca.root])


def crls_of(ca: DevelopmentCA) -> RevocationSource:
    """Offline revocation data: the CA's current CRLs."""
    return RevocationSource(RevocationData(crls=[ca.crl(), ca.crl("root")]))


def with_text_field(src: Path, out: Path, name: str = "HoTen") -> Path:
    """Add an empty text field ``name`` on page 1 (a form to be filled later)."""

    def edit(reader: PDFReader, writer: IncrementalWriter) -> None:
        page = page_refs(reader)[0]
        field = writer.add(
            PDFDict(
                {
                    "Type": Name("Annot"),
                    "Subtype": Name("Widget"),
                    "FT": Name("Tx"),
                    "T": PDFString.from_text(name),
                    "Rect": (50, 700, 250, 720),
                    "P": page,
                }
            )
        )
        writer.update(page, reader.get_dict(page).updated(Annots=(field,)))
        form = writer.add(PDFDict({"Fields": (field,)}))
        writer.update(reader.root_ref, reader.root.updated(AcroForm=form))

    return update(src, out, edit)


def fill_field(src: Path, out: Path, name: str, value: str) -> Path:
    """Fill the text field ``name`` with ``value`` in a new revision."""

    def edit(reader: PDFReader, writer: IncrementalWriter) -> None:
        field = next(f for f in iter_fields(reader) if f.name == name)
        writer.update(field.ref, field.dictionary.updated(V=PDFString.from_text(value)))

    return update(src, out, edit)


def add_annotation(
    src: Path, out: Path, *, subtype: str = "FreeText", text: str = "DA DUYET"
) -> Path:
    """Add an annotation on page 1 that draws over the page (an evil annotation)."""

    def edit(reader: PDFReader, writer: IncrementalWriter) -> None:
        page = page_refs(reader)[0]
        page_dict = reader.get_dict(page)
        appearance = writer.add(
            PDFStream(
                PDFDict(
                    {"Type": Name("XObject"), "Subtype": Name("Form"), "BBox": (0, 0, 300, 40)}
                ),
                b"1 1 1 rg 0 0 300 40 re f",
            )
        )
        annot = writer.add(
            PDFDict(
                {
                    "Type": Name("Annot"),
                    "Subtype": Name(subtype),
                    "Rect": (40, 760, 340, 800),
                    "Contents": PDFString.from_text(text),
                    "AP": PDFDict({"N": appearance}),
                    "P": page,
                }
            )
        )
        current = reader.resolve(page_dict.get("Annots"))
        items = current if isinstance(current, tuple) else ()
        writer.update(page, page_dict.updated(Annots=(*items, annot)))

    return update(src, out, edit)


def add_signature_widget(
    reader: PDFReader,
    writer: IncrementalWriter,
    *,
    name: str,
    value: PDFObject | None = None,
    drawing: bytes = b"1 1 1 rg 0 0 300 60 re f",
) -> None:
    """Add a visible signature field on page 1 (in /Annots and /AcroForm /Fields).

    ``value`` becomes its /V (``None``: an unsigned field); ``drawing`` is its appearance.
    Sneaky-signature attacks are built from this.
    """
    page = page_refs(reader)[0]
    look = writer.add(
        PDFStream(
            PDFDict({"Type": Name("XObject"), "Subtype": Name("Form"), "BBox": (0, 0, 300, 60)}),
            drawing,
        )
    )
    widget: dict[str, PDFObject] = {
        "Type": Name("Annot"),
        "Subtype": Name("Widget"),
        "FT": Name("Sig"),
        "T": PDFString.from_text(name),
        "Rect": (10, 770, 310, 830),
        "AP": PDFDict({"N": look}),
        "P": page,
    }
    if value is not None:
        widget["V"] = value
    field = writer.add(PDFDict(widget))
    page_dict = reader.get_dict(page)
    annots = reader.resolve(page_dict.get("Annots"))
    writer.update(
        page, page_dict.updated(Annots=(*(annots if isinstance(annots, tuple) else ()), field))
    )
    form_ref = reader.root["AcroForm"]
    form = reader.get_dict(form_ref)
    fields = reader.resolve(form.get("Fields"))
    new_form = form.updated(Fields=(*(fields if isinstance(fields, tuple) else ()), field))
    if isinstance(form_ref, Ref):
        writer.update(form_ref, new_form)
    else:
        writer.update(reader.root_ref, reader.root.updated(AcroForm=new_form))
