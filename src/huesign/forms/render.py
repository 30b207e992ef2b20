"""Render a submission as a clean A4 PDF form, with its data embedded and signature fields.

The page carries the national motto, the procedure's name and code, every section and value
(groups as headed blocks, repeating groups item by item), the attachment list and the data
fingerprint.  Text is set in the shipped Noto Sans with HarfBuzz shaping, so Vietnamese comes
out exactly (and copies back out of the PDF as the same NFC text).

Two things make the PDF a dossier rather than a printout:

- the canonical JSON of the validated submission is embedded as ``submission.json`` (an
  ``/EmbeddedFiles`` entry with ``/AFRelationship /Data``), so the data can be read back
  exactly from the signed file;
- empty signature fields are reserved at render time, ``citizen_signature`` for the applicant
  and, when the procedure asks for it, ``officer_signature`` for the receiving officer, so
  that signing fills a field by name and adds nothing to the page layout.

The same submission always renders to the same bytes: the document ID comes from the data's
SHA-256 and the creation date is the one given (or fpdf2's fixed reproducible-build date).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from fpdf import FPDF
from fpdf.annotations import PDFAnnotation
from fpdf.enums import AnnotationFlag, XPos, YPos
from fpdf.output import AcroForm, OutputProducer, PDFCatalog
from fpdf.syntax import PDFArray

from huesign.errors import FormError
from huesign.forms import fields as f
from huesign.forms.procedure import Procedure
from huesign.forms.submission import Attachment, Submission
from huesign.forms.units import UnitsSource, builtin_units
from huesign.pki.fonts import FontWeight, font_bytes

__all__ = [
    "CITIZEN_SIGNATURE_FIELD",
    "OFFICER_SIGNATURE_FIELD",
    "SUBMISSION_FILE_NAME",
    "RenderedForm",
    "SignatureBox",
    "render_submission",
]

#: The name of the applicant's reserved signature field.
CITIZEN_SIGNATURE_FIELD = "citizen_signature"
#: The name of the receiving officer's reserved signature field.
OFFICER_SIGNATURE_FIELD = "officer_signature"
#: The name under which the canonical JSON is embedded.
SUBMISSION_FILE_NAME = "submission.json"

_MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
_MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"
# fpdf2 marks reproducible output with this instant (its own convention, kept by its XMP code).
_REPRODUCIBLE_DATE = dt.datetime(1969, 12, 31, 19, 0, 0, tzinfo=dt.UTC)
_FAMILY = "NotoSans"
_MARGIN = 18.0
_LABEL_WIDTH = 68.0
_LINE = 5.6
_BOX_WIDTH = 70.0
_BOX_HEIGHT = 30.0
_MAX_ITEMS = 500
_MAX_TEXT = 2000


@attrs.frozen(kw_only=True)
class SignatureBox:
    """A signature field reserved on the rendered form.

    Attributes:
        field_name: the field's name, e.g. ``citizen_signature``.
        page: the page index (0 for the first page).
        rect: the widget rectangle in PDF points, ``(x1, y1, x2, y2)`` from the lower left.
    """

    field_name: str
    page: int
    rect: tuple[float, float, float, float]


@attrs.frozen(kw_only=True)
class RenderedForm:
    """A rendered submission.

    Attributes:
        pdf: the PDF file.
        submission: the validated (normalised) submission the form shows.
        data: the embedded canonical JSON (RFC 8785) of ``submission``.
        sha256: SHA-256 of ``data``, lower-case hex (printed on the form too).
        signature_boxes: the reserved signature fields, the applicant's first.
    """

    pdf: bytes = attrs.field(repr=False)
    submission: Submission = attrs.field(repr=False)
    data: bytes = attrs.field(repr=False)
    sha256: str
    signature_boxes: tuple[SignatureBox, ...]

    def box(self, field_name: str) -> SignatureBox | None:
        """The reserved field called ``field_name``, or ``None``."""
        return next((b for b in self.signature_boxes if b.field_name == field_name), None)


class _Producer(OutputProducer):
    """fpdf2's writer, listing every reserved signature widget in the AcroForm."""

    def _finalize_catalog(self, catalog_obj: PDFCatalog, *args: Any, **kwargs: Any) -> None:
        super()._finalize_catalog(catalog_obj, *args, **kwargs)
        widgets = [
            annot
            for page in self.fpdf.pages.values()
            for annot in (page.annots or ())
            if isinstance(annot, PDFAnnotation) and annot.f_t is not None and annot.v is None
        ]
        if widgets:
            catalog_obj.acro_form = AcroForm(fields=PDFArray(widgets), sig_flags=0)


class _Form(FPDF):
    def __init__(self, file_id: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._huesign_file_id = file_id

    def file_id(self) -> str:
        return self._huesign_file_id


def _text(value: object) -> str:
    text = unicodedata.normalize("NFC", str(value))
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _label(field: f.Field) -> str:
    if field.label_vi and field.label_en:
        return f"{field.label_vi} ({field.label_en})"
    return field.label_vi or field.label_en or field.name


class _Writer:
    """Lays the form out on an :class:`FPDF` page by page."""

    def __init__(
        self,
        pdf: FPDF,
        procedure: Procedure,
        submission: Submission,
        units: UnitsSource,
    ) -> None:
        self.pdf = pdf
        self.procedure = procedure
        self.submission = submission
        self.units = units
        self.attachments = {a.id: a for a in submission.attachments}

    # -- text helpers ------------------------------------------------------------------------

    def font(self, size: float, *, bold: bool = False) -> None:
        self.pdf.set_font(_FAMILY, style="B" if bold else "", size=size)

    def para(self, text: str, *, size: float = 10, bold: bool = False, align: str = "L") -> None:
        self.font(size, bold=bold)
        self.pdf.multi_cell(0, _LINE, _text(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def estimate_lines(self, width: float, text: str) -> int:
        """A generous line count from the text's width (one shaping pass, no line breaking)."""
        usable = max(width - 2 * self.pdf.c_margin, 1.0)
        total = 0
        for part in _text(text).split("\n"):
            wide = self.pdf.get_string_width(part) / usable
            total += 1 if wide <= 1 else math.ceil(wide * 1.15)
        return total

    def row(self, label: str, value: str, indent: int) -> None:
        pdf = self.pdf
        pad = 5.0 * indent
        width = pdf.epw - _LABEL_WIDTH - pad
        label, value = _text(label), _text(value) or "—"
        self.font(9.5)
        label_lines = self.estimate_lines(_LABEL_WIDTH, label)
        self.font(10, bold=True)
        value_lines = self.estimate_lines(width, value)
        lines = max(label_lines, value_lines)
        if pdf.get_y() + _LINE * lines > pdf.page_break_trigger:
            pdf.add_page()
        top, page = pdf.get_y(), pdf.page
        pdf.set_x(pdf.l_margin + pad)
        self.font(9.5)
        # A cell is laid out without line breaking: much cheaper for the usual one-line row.
        if label_lines == 1:
            pdf.cell(_LABEL_WIDTH, _LINE, label, new_x=XPos.RIGHT, new_y=YPos.NEXT)
        else:
            pdf.multi_cell(_LABEL_WIDTH, _LINE, label, align="L", new_y=YPos.NEXT)
        below_label = pdf.get_y()
        pdf.page = page
        pdf.set_xy(pdf.l_margin + pad + _LABEL_WIDTH, top)
        self.font(10, bold=True)
        if value_lines == 1:
            pdf.cell(width, _LINE, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            pdf.multi_cell(width, _LINE, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(max(below_label, pdf.get_y()) + 0.8)

    def heading(self, text: str, indent: int, *, size: float = 11) -> None:
        pdf = self.pdf
        if pdf.get_y() + 2 * _LINE > pdf.page_break_trigger:
            pdf.add_page()
        pdf.ln(1.5)
        pdf.set_x(pdf.l_margin + 5.0 * indent)
        self.font(size, bold=True)
        pdf.multi_cell(0, _LINE + 0.6, _text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        y = pdf.get_y()
        pdf.set_draw_color(150, 150, 150)
        pdf.line(pdf.l_margin + 5.0 * indent, y, pdf.w - pdf.r_margin, y)
        pdf.ln(1.2)

    # -- the document ------------------------------------------------------------------------

    def header(self, sha256: str) -> None:
        pdf = self.pdf
        proc = self.procedure
        self.para(_MOTTO, size=12, bold=True, align="C")
        self.para(_MOTTO_2, size=11.5, bold=True, align="C")
        y = pdf.get_y() + 0.5
        pdf.set_draw_color(0, 0, 0)
        pdf.line(pdf.w / 2 - 30, y, pdf.w / 2 + 30, y)
        pdf.ln(7)
        self.para(proc.name_vi.upper(), size=14, bold=True, align="C")
        if proc.name_en:
            self.para(proc.name_en, size=10, align="C")
        pdf.ln(2)
        self.para(f"Mã thủ tục (procedure code): {proc.code} — phiên bản {proc.version}", size=9.5)
        self.para(f"Kính gửi (to): {proc.agency}", size=9.5)
        self.para(f"Lĩnh vực (domain): {proc.domain}", size=9.5)
        self.para(f"Mã dữ liệu SHA-256 (data fingerprint): {sha256}", size=8)

    def fields(self, fields: Sequence[f.Field], values: Mapping[str, object], indent: int) -> None:
        for field in fields:
            if field.name not in values:
                continue
            value = values[field.name]
            if isinstance(field, f.GroupField):
                self.group(field, value, indent)
            else:
                self.row(_label(field), self.value(field, value), indent)

    def group(self, field: f.GroupField, value: object, indent: int) -> None:
        if field.repeat and isinstance(value, list):
            for number, item in enumerate(value[:_MAX_ITEMS], start=1):
                self.heading(f"{_label(field)} — {number}/{len(value)}", indent)
                if isinstance(item, Mapping):
                    self.fields(field.fields, item, indent + 1)
        elif isinstance(value, Mapping):
            self.heading(_label(field), indent)
            self.fields(field.fields, value, indent + 1)

    def value(self, field: f.Field, value: object) -> str:
        if value is None:
            return ""
        if isinstance(field, f.BooleanField):
            return "Có (yes)" if value is True else "Không (no)"
        if isinstance(field, f.ChoiceField):
            labels = {o.value: o.label_vi or o.label_en or o.value for o in field.options}
            chosen = value if isinstance(value, list) else [value]
            return "; ".join(labels.get(str(v), str(v)) for v in chosen)
        if isinstance(field, f.MoneyField) and isinstance(value, int):
            return f"{value:,}".replace(",", ".") + " đồng"
        if isinstance(field, f.DateField) and isinstance(value, str):
            try:
                return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
            except ValueError:
                return value
        if isinstance(field, f.AddressField) and isinstance(value, Mapping):
            return self.address(value)
        if isinstance(field, f.AttachmentField):
            found = self.attachments.get(str(value))
            return found.file_name if found is not None else str(value)
        return str(value)

    def address(self, value: Mapping[str, object]) -> str:
        parts = [str(value.get("street") or "")]
        ward_code = value.get("ward_code")
        if isinstance(ward_code, str):
            ward = self.units.communal_unit(ward_code)
            parts.append(ward.name if ward is not None else ward_code)
        province_code = value.get("province_code")
        if isinstance(province_code, str):
            province = self.units.province(province_code)
            parts.append(province.name if province is not None else province_code)
        text = ", ".join(p for p in parts if p)
        legacy = value.get("legacy")
        if isinstance(legacy, Mapping):
            old = ", ".join(
                str(legacy[k]) for k in ("ward", "district", "province") if legacy.get(k)
            )
            text += f" (địa chỉ cũ: {old})"
        return text

    def attachment_list(self) -> None:
        atts = self.submission.attachments
        self.heading("Giấy tờ kèm theo (attachments)", 0)
        if not atts:
            self.para("Không có (none).", size=9.5)
            return
        names = {d.document_type: d.name_vi for d in self.procedure.documents if d.document_type}
        for number, att in enumerate(atts, start=1):
            self.row(
                f"{number}. {names.get(att.document_type, att.document_type)}",
                _attachment_line(att),
                0,
            )

    def signature_boxes(self) -> list[SignatureBox]:
        pdf = self.pdf
        needed = _LINE * 3 + _BOX_HEIGHT + 6
        if pdf.get_y() + needed > pdf.page_break_trigger:
            pdf.add_page()
        pdf.ln(4)
        top = pdf.get_y()
        boxes = [
            (
                CITIZEN_SIGNATURE_FIELD,
                pdf.w - pdf.r_margin - _BOX_WIDTH,
                "NGƯỜI YÊU CẦU",
                "(Applicant: ký số / digital signature)",
            )
        ]
        if self.procedure.officer_signature:
            boxes.append(
                (
                    OFFICER_SIGNATURE_FIELD,
                    pdf.l_margin,
                    "CÁN BỘ TIẾP NHẬN",
                    "(Receiving officer: ký số / digital signature)",
                )
            )
        out = []
        for name, x, title, note in boxes:
            pdf.set_xy(x, top)
            self.font(10.5, bold=True)
            pdf.multi_cell(_BOX_WIDTH, _LINE, title, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
            self.font(8)
            pdf.multi_cell(_BOX_WIDTH, _LINE, note, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
            y = pdf.get_y() + 1
            pdf.set_draw_color(120, 120, 120)
            pdf.rect(x, y, _BOX_WIDTH, _BOX_HEIGHT)
            k = pdf.k
            left, top_pt = x * k, pdf.h_pt - y * k
            annot = PDFAnnotation(
                "Widget",
                x=left,
                y=top_pt,
                width=_BOX_WIDTH * k,
                height=_BOX_HEIGHT * k,
                flags=(AnnotationFlag.PRINT,),
                field_type="Sig",
                title=name,
            )
            pdf.pages[pdf.page].add_annotation(annot)
            rect = (
                round(left, 2),
                round(top_pt - _BOX_HEIGHT * k, 2),
                round(left + _BOX_WIDTH * k, 2),
                round(top_pt, 2),
            )
            out.append(SignatureBox(field_name=name, page=pdf.page - 1, rect=rect))
        pdf.set_y(top + needed)
        return out


def _attachment_line(att: Attachment) -> str:
    return f"{att.file_name} — {att.media_type}, {att.size} byte, SHA-256 {att.sha256[:16]}…"


def render_submission(
    submission: Submission,
    procedure: Procedure,
    *,
    units: UnitsSource | None = None,
    today: dt.date | None = None,
    created: dt.datetime | None = None,
) -> RenderedForm:
    """Validate ``submission`` and render it as an A4 PDF form with its data embedded.

    Args:
        submission: the submission (raw or already normalised).
        procedure: the procedure it is for.
        units: the administrative units for validation and for ward and province names.
        today: the day for date rules (default: today in Vietnam).
        created: the document's creation date; by default a fixed date, so that the same
            submission always gives the same bytes.

    Raises:
        FormValidationError: the submission breaks a rule of the procedure.
        FormError: the PDF could not be produced.
    """
    if created is not None and created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    source = units if units is not None else builtin_units()
    clean = submission.validate(procedure, units=source, today=today)
    data = clean.canonical_json()
    sha256 = hashlib.sha256(data).hexdigest()
    identifier = sha256[:32].upper()
    pdf = _Form(f"<{identifier}><{identifier}>")
    try:
        with tempfile.TemporaryDirectory(prefix="huesign-font-") as folder:
            for weight, style in ((FontWeight.REGULAR, ""), (FontWeight.BOLD, "B")):
                path = os.path.join(folder, f"NotoSans-{weight.value}.ttf")
                with open(path, "wb") as fh:
                    fh.write(font_bytes(weight))
                pdf.add_font(_FAMILY, style=style, fname=path)
            pdf.set_text_shaping(True)
            pdf.set_creation_date(created or _REPRODUCIBLE_DATE)
            pdf.set_title(procedure.name_vi)
            pdf.set_subject(f"{procedure.code} {procedure.version}")
            pdf.set_creator("huesign")
            pdf.set_producer("huesign")
            pdf.set_lang("vi-VN")
            pdf.set_margins(_MARGIN, 15, _MARGIN)
            pdf.set_auto_page_break(auto=True, margin=18)
            pdf.add_page()
            writer = _Writer(pdf, procedure, clean, source)
            writer.header(sha256)
            writer.fields(procedure.fields, clean.values, 0)
            writer.attachment_list()
            boxes = writer.signature_boxes()
            pdf.embed_file(
                bytes=data,
                basename=SUBMISSION_FILE_NAME,
                desc="Dữ liệu tờ khai (RFC 8785 JSON) / submitted data",
                mime_type="application/json",
                associated_file_relationship="Data",
                modification_date=created or _REPRODUCIBLE_DATE,
            )
            rendered = bytes(pdf.output(output_producer_class=_Producer))
    except FormError:
        raise
    except Exception as exc:  # fpdf2 raises many kinds (FPDFException, ValueError...)
        raise FormError(f"could not render the form: {type(exc).__name__}: {exc}") from exc
    return RenderedForm(
        pdf=rendered,
        submission=clean,
        data=data,
        sha256=sha256,
        signature_boxes=tuple(boxes),
    )
