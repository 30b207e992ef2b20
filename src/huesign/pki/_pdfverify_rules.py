"""The rules behind :func:`huesign.pki.pdfverify.verify_pdf`: modification policy, DocMDP and
FieldMDP locks, the document security store, and the bilingual messages.

Kept apart from the verifier so that each file reads in one sitting; nothing here is public
except :class:`ModificationPolicy`, re-exported by :mod:`huesign.pki.pdfverify`.
"""

from __future__ import annotations

import datetime as dt
import enum
import zlib
from collections.abc import Iterator

import attrs

from huesign.errors import CertificateError, PDFFormatError
from huesign.pki import _cms_asn1 as raw
from huesign.pki import _cms_verify as v
from huesign.pki.certificates import Certificate
from huesign.pki.pdfdiff import ChangeKind, ObjectChange
from huesign.pki.pdffields import SignatureDictionary, iter_fields
from huesign.pki.pdfobjects import Name, PDFDict, PDFStream, PDFString, Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.report import ReportMessage
from huesign.pki.revocation import MAX_REVOCATION_ITEMS, RevocationData, RevocationSource

__all__ = ["MAX_DSS_ITEMS", "ModificationPolicy"]

#: Most certificates, OCSP responses or CRLs read from each array of the DSS.
MAX_DSS_ITEMS = 256
#: Errors that hostile input may raise in the lower layers; each becomes a report.
BAD_INPUT = (
    PDFFormatError,
    raw.CMSFormatError,
    CertificateError,
    *v.ASN1_ERRORS,
    RecursionError,
    zlib.error,
)


class ModificationPolicy(enum.Enum):
    """Which changes after a signature leave it valid."""

    #: Only signatures, DSS updates and document timestamps (metadata with a warning).
    STRICT = "strict"
    #: Also form filling and annotations, where the DocMDP level allows them.
    FORM_FILLING = "form_filling"


MESSAGES: dict[str, tuple[str, str]] = {
    "pdf_unreadable": (
        "Tệp PDF bị hỏng hoặc có cấu trúc không an toàn.",
        "The PDF file is damaged or has an unsafe structure.",
    ),
    "signature_unreadable": (
        "Chữ ký trong tệp PDF bị hỏng.",
        "The signature in the PDF is damaged.",
    ),
    "byte_range_malformed": (
        "Vùng dữ liệu được ký (/ByteRange) không bao đúng giá trị chữ ký.",
        "The signed byte range (/ByteRange) does not surround the signature value exactly.",
    ),
    "byte_range_partial": (
        "Chữ ký không bao phủ trọn một phiên bản của tài liệu.",
        "The signature does not cover a whole revision of the document.",
    ),
    "contents_empty": (
        "Chữ ký không có giá trị (/Contents rỗng).",
        "The signature has no value (/Contents is empty).",
    ),
    "sub_filter": (
        "Định dạng chữ ký (/SubFilter) không được chấp nhận.",
        "The signature format (/SubFilter) is not accepted.",
    ),
    "forbidden_modification": (
        "Tài liệu đã bị thay đổi sau khi ký.",
        "The document was changed after it was signed.",
    ),
    "metadata_modification": (
        "Thông tin mô tả của tài liệu (không hiển thị) đã thay đổi sau khi ký.",
        "The document's (invisible) metadata changed after signing.",
    ),
    "validated_with_poe": (
        "Chữ ký được kiểm tra tại thời điểm của dấu thời gian tài liệu sau nó.",
        "The signature was validated at the time of a later document timestamp.",
    ),
    "timestamp_invalid": (
        "Dấu thời gian tài liệu không hợp lệ.",
        "The document timestamp is not valid.",
    ),
    "timestamp_untrusted": (
        "Chứng thư số của đơn vị cấp dấu thời gian không hợp lệ hoặc không được tin cậy.",
        "The timestamp authority's certificate is not valid or not trusted.",
    ),
    "shared_signature_value": (
        "Cùng một chữ ký được gắn vào nhiều ô chữ ký: tài liệu đã bị sửa sau khi ký.",
        "The same signature value is used by several signature fields: the document was"
        " changed after signing.",
    ),
    "no_signatures": (
        "Tài liệu không có chữ ký số.",
        "The document has no digital signature.",
    ),
    "too_many_signatures": (
        "Tài liệu có quá nhiều chữ ký; chỉ các chữ ký đầu được kiểm tra.",
        "The document has too many signatures; only the first ones were checked.",
    ),
}


def message(code: str, detail: str = "") -> ReportMessage:
    """The bilingual message for ``code``, with an optional technical detail appended."""
    vi, en = MESSAGES[code]
    if detail:
        vi, en = f"{vi} ({detail})", f"{en} ({detail})"
    return ReportMessage(code=code, message_vi=vi, message_en=en)


def der_prefix(contents: bytes) -> bytes | None:
    """The DER SEQUENCE at the start of ``contents``, if only zero padding follows it."""
    if len(contents) < 2 or contents[0] != 0x30:
        return None
    first = contents[1]
    if first < 0x80:
        header, length = 2, first
    else:
        n = first & 0x7F
        if not 0 < n <= 4 or len(contents) < 2 + n:
            return None
        header, length = 2 + n, int.from_bytes(contents[2 : 2 + n], "big")
    end = header + length
    if end > len(contents) or contents[end:].strip(b"\x00"):
        return None
    return contents[:end]


@attrs.frozen(kw_only=True)
class DSS:
    """What the document security store holds, parsed."""

    certificates: tuple[Certificate, ...] = ()
    crls: tuple[bytes, ...] = ()
    ocsps: tuple[bytes, ...] = ()

    @property
    def has_revocation_data(self) -> bool:
        """Whether the store holds any CRL or OCSP response."""
        return bool(self.crls or self.ocsps)


@attrs.frozen(kw_only=True)
class Certification:
    """The certification signature: its object number, revision and DocMDP ``/P``."""

    signature: int
    revision: int
    level: int


def certification_of(reader: PDFReader, found: list[SignatureDictionary]) -> Certification | None:
    """The signature the catalog's ``/Perms /DocMDP`` names, with its permission level."""
    perms = reader.resolve(reader.root.get("Perms"))
    target = perms.get("DocMDP") if isinstance(perms, PDFDict) else None
    if not isinstance(target, Ref):
        return None
    for sd in found:
        if sd.ref != target or sd.revision is None:
            continue
        for params in transform_params(reader, sd, "DocMDP"):
            level = params.get("P", 2)
            return Certification(
                signature=target.num,
                revision=sd.revision,
                level=level if isinstance(level, int) and 1 <= level <= 3 else 1,
            )
    return None


def transform_params(reader: PDFReader, sd: SignatureDictionary, method: str) -> Iterator[PDFDict]:
    """The ``/TransformParams`` of the signature's ``/Reference`` entries using ``method``."""
    refs = reader.resolve(sd.dictionary.get("Reference"))
    for item in refs[:8] if isinstance(refs, tuple) else ():
        d = reader.resolve(item)
        if isinstance(d, PDFDict) and d.get("TransformMethod") == Name(method):
            params = reader.resolve(d.get("TransformParams"))
            yield params if isinstance(params, PDFDict) else PDFDict()


def locked_fields(reader: PDFReader, sd: SignatureDictionary) -> tuple[str, ...]:
    """The field names a signature locks (FieldMDP and the field's ``/Lock``); ``("*",)``
    for all."""
    specs: list[PDFDict] = list(transform_params(reader, sd, "FieldMDP"))
    field = reader.resolve(sd.field_ref)
    lock = reader.resolve(field.get("Lock")) if isinstance(field, PDFDict) else None
    if isinstance(lock, PDFDict):
        specs.append(lock)
    if not specs:
        return ()
    everything = field_names(reader, sd.revision) if sd.revision is not None else {}
    locked: set[str] = set()
    for spec in specs:
        action = spec.get("Action")
        listed = reader.resolve(spec.get("Fields"))
        names = {
            n.text()
            for n in (listed if isinstance(listed, tuple) else ())
            if isinstance(n, PDFString)
        }
        if action == Name("All"):
            return ("*",)
        if action == Name("Include"):
            locked |= names
        elif action == Name("Exclude"):
            locked |= set(everything.values()) - names - {sd.field_name}
    return tuple(sorted(locked))


def field_names(reader: PDFReader, revision: int | None) -> dict[int, str]:
    """Object number of every field and widget at ``revision`` -> the field's full name."""
    names: dict[int, str] = {}
    for f in iter_fields(reader, revision=revision):
        names[f.ref.num] = f.name
        for w in f.widgets:
            names[w.num] = f.name
    return names


def read_dss(reader: PDFReader) -> DSS:
    """The certificates, OCSP responses and CRLs of the newest DSS (unreadable items skipped)."""
    try:
        dss = reader.resolve(reader.root.get("DSS"))
    except BAD_INPUT:
        return DSS()
    if not isinstance(dss, PDFDict):
        return DSS()
    found: dict[str, list[bytes]] = {}
    for key in ("Certs", "OCSPs", "CRLs"):
        items: list[bytes] = []
        try:
            array = reader.resolve(dss.get(key))
            for item in array[:MAX_DSS_ITEMS] if isinstance(array, tuple) else ():
                stream = reader.resolve(item)
                if isinstance(stream, PDFStream):
                    items.append(reader.stream_data(stream))
        except BAD_INPUT:
            pass
        found[key] = items
    certificates: list[Certificate] = []
    for der in found["Certs"]:
        try:
            certificates.append(Certificate.from_der(der))
        except CertificateError:
            continue
    return DSS(
        certificates=tuple(certificates),
        crls=tuple(found["CRLs"]),
        ocsps=tuple(found["OCSPs"]),
    )


def file_position(sd: SignatureDictionary) -> tuple[int, int]:
    """A sort key that puts signatures in the order their values appear in the file."""
    if sd.contents_span is not None:
        return (0, sd.contents_span[0])
    return (1, sd.field_ref.num)


def earliest_poe(poe: list[tuple[int, dt.datetime]], revision: int | None) -> dt.datetime | None:
    """The earliest valid document timestamp made after ``revision``."""
    if revision is None:
        return None
    times = [t for rev, t in poe if rev > revision]
    return min(times) if times else None


def allowed_kinds(mode: ModificationPolicy, docmdp: int | None) -> frozenset[ChangeKind]:
    """The kinds of change accepted under ``mode`` and the DocMDP level in force."""
    allowed = {ChangeKind.SIGNATURE, ChangeKind.DOC_TIMESTAMP, ChangeKind.DSS, ChangeKind.METADATA}
    if mode is ModificationPolicy.FORM_FILLING:
        allowed |= {ChangeKind.FORM_FILL, ChangeKind.ANNOTATION}
    if docmdp == 1:
        allowed &= {ChangeKind.DOC_TIMESTAMP, ChangeKind.DSS, ChangeKind.METADATA}
    elif docmdp == 2:
        allowed.discard(ChangeKind.ANNOTATION)
    return frozenset(allowed)


def breaks_lock(change: ObjectChange, locks: tuple[str, ...], names: dict[int, str]) -> bool:
    """Whether ``change`` fills or signs a field that ``locks`` protects."""
    if not locks or change.ref is None:
        return False
    if change.kind not in (ChangeKind.FORM_FILL, ChangeKind.SIGNATURE):
        return False
    name = names.get(change.ref.num)
    if name is None:
        return False
    return locks == ("*",) or name in locks


def combine(caller: RevocationSource | None, dss: DSS) -> RevocationSource | None:
    """The caller's revocation source with the DSS's CRLs and OCSP responses added."""
    if not dss.has_revocation_data:
        return caller
    base = caller or RevocationSource()
    crls = (*base.data.crls, *dss.crls)[: MAX_REVOCATION_ITEMS // 2]
    ocsps = (*base.data.ocsp_responses, *dss.ocsps)[: MAX_REVOCATION_ITEMS // 2]
    return RevocationSource(
        RevocationData(crls=crls, ocsp_responses=ocsps),
        fetcher=base.fetcher,
        use_ocsp=base.use_ocsp,
        use_crl=base.use_crl,
    )
