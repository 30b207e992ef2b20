"""Pages, form fields and signatures of a PDF, read through a :class:`PDFReader`.

Lower layer under PAdES: these views walk untrusted structures, so every walk carries a
visited set and a count limit, and a loop or an overlong structure raises
:class:`~huesign.errors.PDFFormatError`.
"""

from __future__ import annotations

import enum

import attrs

from huesign.errors import PDFFormatError
from huesign.pki.pdfobjects import Name, PDFDict, PDFObject, PDFString, Ref
from huesign.pki.pdfreader import PDFReader

__all__ = [
    "MAX_FIELDS",
    "MAX_PAGES",
    "Coverage",
    "FormField",
    "SignatureDictionary",
    "SignatureKind",
    "find_signatures",
    "iter_fields",
    "page_refs",
]

#: Most pages the page-tree walk visits.
MAX_PAGES = 100_000
#: Most form fields (and widgets) the field walk visits.
MAX_FIELDS = 10_000
_MAX_TREE_DEPTH = 64
_MAX_PADDING = 1024


def page_refs(
    reader: PDFReader,
    *,
    revision: int | None = None,
    max_pages: int = MAX_PAGES,
    stop_after: int | None = None,
) -> list[Ref]:
    """References of the pages at ``revision``, in document order.

    ``stop_after`` ends the walk once that many pages are found (to find page 1 quickly).

    Raises:
        PDFFormatError: the page tree loops, nests too deep or holds too many pages.
    """
    pages: list[Ref] = []
    root = reader.get_dict(reader.trailer_at(revision).get("Root"), revision)
    root_pages = root.get("Pages")
    if not isinstance(root_pages, Ref):
        raise PDFFormatError("catalog /Pages is not an indirect reference")
    seen: set[int] = set()
    stack: list[tuple[Ref, int]] = [(root_pages, 0)]
    while stack:
        ref, depth = stack.pop()
        if ref.num in seen:
            raise PDFFormatError(f"page tree loops through object {ref.num}")
        if depth > _MAX_TREE_DEPTH:
            raise PDFFormatError("page tree nests too deep")
        seen.add(ref.num)
        node = reader.get_dict(ref, revision)
        kind = node.get("Type")
        kids = reader.resolve(node.get("Kids"), revision)
        if kind == Name("Page") or (kind is None and kids is None):
            pages.append(ref)
            if len(pages) > max_pages:
                raise PDFFormatError(f"document has more than {max_pages} pages")
            if stop_after is not None and len(pages) >= stop_after:
                break
            continue
        if not isinstance(kids, tuple):
            raise PDFFormatError(f"page tree node {ref.num} has no /Kids array")
        if len(seen) + len(kids) > 2 * max_pages:
            raise PDFFormatError(f"page tree is larger than {max_pages} pages")
        for kid in reversed(kids):
            if not isinstance(kid, Ref):
                raise PDFFormatError("page tree kid is not an indirect reference")
            stack.append((kid, depth + 1))
    return pages


@attrs.frozen(kw_only=True)
class FormField:
    """One terminal AcroForm field.

    Attributes:
        ref: the field's object reference.
        name: the fully qualified name (``parent.child``).
        field_type: ``Tx``, ``Btn``, ``Ch``, ``Sig`` or ``None`` (inherited values resolved).
        value: the field's ``/V`` as written (a reference for signature values).
        widgets: references of the field's widget annotations (itself when merged).
        dictionary: the field dictionary.
    """

    ref: Ref
    name: str
    field_type: str | None
    value: PDFObject
    widgets: tuple[Ref, ...]
    dictionary: PDFDict


def iter_fields(
    reader: PDFReader, *, revision: int | None = None, max_fields: int = MAX_FIELDS
) -> list[FormField]:
    """Every terminal field of the document's AcroForm at ``revision``.

    Raises:
        PDFFormatError: the field tree loops, nests too deep or is too large.
    """
    root = reader.get_dict(reader.trailer_at(revision).get("Root"), revision)
    acroform = reader.resolve(root.get("AcroForm"), revision)
    if not isinstance(acroform, PDFDict):
        return []
    top = reader.resolve(acroform.get("Fields"), revision)
    if not isinstance(top, tuple):
        return []
    out: list[FormField] = []
    seen: set[int] = set()
    stack: list[tuple[PDFObject, str, str | None, int]] = [(f, "", None, 0) for f in reversed(top)]
    while stack:
        obj, parent, inherited_ft, depth = stack.pop()
        if not isinstance(obj, Ref):
            raise PDFFormatError("form field is not an indirect reference")
        if obj.num in seen:
            raise PDFFormatError(f"form field tree loops through object {obj.num}")
        if depth > _MAX_TREE_DEPTH:
            raise PDFFormatError("form field tree nests too deep")
        seen.add(obj.num)
        if len(seen) > max_fields:
            raise PDFFormatError(f"form has more than {max_fields} fields and widgets")
        d = reader.get_dict(obj, revision)
        title = d.get("T")
        partial = title.text() if isinstance(title, PDFString) else None
        name = parent if partial is None else (f"{parent}.{partial}" if parent else partial)
        ft = d.get("FT")
        field_type = ft.value if isinstance(ft, Name) else inherited_ft
        kids = reader.resolve(d.get("Kids"), revision)
        kid_refs = [k for k in kids if isinstance(k, Ref)] if isinstance(kids, tuple) else []
        if len(seen) + len(kid_refs) > max_fields:
            raise PDFFormatError(f"form has more than {max_fields} fields and widgets")
        field_kids = [k for k in kid_refs if "T" in reader.get_dict(k, revision)]
        if field_kids:
            for kid in reversed(field_kids):
                stack.append((kid, name, field_type, depth + 1))
            continue
        for kid in kid_refs:
            if kid.num in seen:
                raise PDFFormatError(f"widget {kid.num} appears twice in the field tree")
            seen.add(kid.num)
        widgets = tuple(kid_refs) if kid_refs else (obj,)
        out.append(
            FormField(
                ref=obj,
                name=name,
                field_type=field_type,
                value=d.get("V"),
                widgets=widgets,
                dictionary=d,
            )
        )
    return out


class SignatureKind(enum.Enum):
    """What a signature dictionary holds."""

    SIGNATURE = "signature"
    DOC_TIMESTAMP = "doc_timestamp"


class Coverage(enum.Enum):
    """What a signature's ``/ByteRange`` covers.

    ``WHOLE_FILE``: the whole file but the ``/Contents`` value (trailing whitespace
    allowed).  ``WHOLE_REVISION``: an earlier revision exactly; later revisions were appended.
    ``PARTIAL``: something else, including bytes appended after the last revision without a
    cross-reference section (an incremental-saving attack), or a damaged file.
    ``MALFORMED``: the byte range is not four numbers around exactly the ``/Contents``
    string.
    """

    WHOLE_FILE = "whole_file"
    WHOLE_REVISION = "whole_revision"
    PARTIAL = "partial"
    MALFORMED = "malformed"


@attrs.frozen(kw_only=True)
class SignatureDictionary:
    """A signature (or document timestamp) found in a signature field.

    Attributes:
        field_name: the fully qualified field name.
        field_ref: the signature field's reference.
        ref: the signature dictionary's reference (``None`` when it is direct).
        kind: signature or document timestamp.
        sub_filter: ``/SubFilter`` such as ``ETSI.CAdES.detached``.
        byte_range: the ``/ByteRange`` numbers as written (``None`` when missing).
        contents: the decoded ``/Contents`` bytes (zero padding included).
        contents_span: file offsets ``(start, end)`` of the ``/Contents`` string,
            brackets included; ``None`` when the dictionary has no bytes of its own.
        coverage: what the byte range covers.
        revision: index of the revision the byte range ends with, if any.
        dictionary: the signature dictionary.
    """

    field_name: str
    field_ref: Ref
    ref: Ref | None
    kind: SignatureKind
    sub_filter: str | None
    byte_range: tuple[int, ...] | None
    contents: bytes | None = attrs.field(repr=False)
    contents_span: tuple[int, int] | None
    coverage: Coverage = attrs.field(kw_only=True)
    revision: int | None = attrs.field(kw_only=True)
    dictionary: PDFDict = attrs.field(repr=False, kw_only=True)

    @property
    def signed_length(self) -> int:
        """How many bytes of the file the byte range covers."""
        if self.byte_range is None:
            return 0
        return sum(self.byte_range[1::2])


def find_signatures(reader: PDFReader) -> list[SignatureDictionary]:
    """Every filled signature field of the newest revision, in field order.

    Raises:
        PDFFormatError: the form or a signature dictionary is structurally broken.
    """
    out: list[SignatureDictionary] = []
    for field in iter_fields(reader):
        if field.field_type != "Sig" or field.value is None:
            continue
        sig_ref = field.value if isinstance(field.value, Ref) else None
        d = reader.resolve(field.value)
        if not isinstance(d, PDFDict):
            continue
        raw_range = reader.resolve(d.get("ByteRange"))
        byte_range = (
            tuple(int(v) for v in raw_range if isinstance(v, int))
            if isinstance(raw_range, tuple)
            else None
        )
        if (
            byte_range is not None
            and isinstance(raw_range, tuple)
            and len(byte_range) != len(raw_range)
        ):
            byte_range = None
        contents_obj = d.get("Contents")
        contents = contents_obj.data if isinstance(contents_obj, PDFString) else None
        span = reader.value_spans(sig_ref).get("Contents") if sig_ref is not None else None
        coverage, revision = _coverage(reader, byte_range, span)
        sub_filter = d.get("SubFilter")
        kind = (
            SignatureKind.DOC_TIMESTAMP
            if d.get("Type") == Name("DocTimeStamp")
            else SignatureKind.SIGNATURE
        )
        out.append(
            SignatureDictionary(
                field_name=field.name,
                field_ref=field.ref,
                ref=sig_ref,
                kind=kind,
                sub_filter=sub_filter.value if isinstance(sub_filter, Name) else None,
                byte_range=byte_range,
                contents=contents,
                contents_span=span,
                coverage=coverage,
                revision=revision,
                dictionary=d,
            )
        )
    return out


def _coverage(
    reader: PDFReader,
    byte_range: tuple[int, ...] | None,
    span: tuple[int, int] | None,
) -> tuple[Coverage, int | None]:
    if byte_range is None or len(byte_range) != 4 or span is None:
        return Coverage.MALFORMED, None
    a, b, c, d = byte_range
    if a != 0 or b < 0 or c < 0 or d < 0 or (a + b, c) != span:
        return Coverage.MALFORMED, None
    end = c + d
    if end > reader.size:
        return Coverage.MALFORMED, None
    revision = next((r.index for r in reader.revisions if r.end == end), None)
    if end == reader.size or (revision == len(reader.revisions) - 1 and _only_padding(reader, end)):
        return Coverage.WHOLE_FILE, revision
    if revision is not None and revision < len(reader.revisions) - 1:
        return Coverage.WHOLE_REVISION, revision
    return Coverage.PARTIAL, None


def _only_padding(reader: PDFReader, end: int) -> bool:
    """Whether the bytes after ``end`` are a little whitespace (not hidden content)."""
    rest = reader.size - end
    return rest <= _MAX_PADDING and not reader.read_at(end, rest).strip(b" \t\r\n\f\x00")
