"""Visible signature stamps: text, fitting, fonts, QR codes, images and placement."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zlib
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from huesign.errors import PDFFormatError
from huesign.pki import (
    AnchorPlacement,
    AnchorPosition,
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    FieldPlacement,
    Identifier,
    IssuedCertificate,
    RectPlacement,
    StampAppearance,
    StampContent,
    StampImage,
    StampLanguage,
)
from huesign.pki._fonttext import ShapingFace, shape, subset_font, widths_array
from huesign.pki._placement import MAX_CONTENT_OPERATIONS, find_text
from huesign.pki._qr import MAX_QR_DATA, qr_matrix, qr_operators
from huesign.pki.fonts import FontWeight, font_bytes
from huesign.pki.pdffields import page_refs
from huesign.pki.pdfobjects import Name, PDFDict, PDFStream, PDFString, Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfwriter import IncrementalWriter
from huesign.pki.stamp import format_vietnam_time
from huesign.testing.strategies import vietnamese_names

SIGNED_AT = dt.datetime(2026, 11, 28, 10, 5, tzinfo=dt.UTC)
RECT = (300.0, 600.0, 560.0, 700.0)
ANCHOR_VI = "Chữ ký của người khai"
ANCHOR_LATIN = "Signature of the officer"


@pytest.fixture(scope="module")
def form_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-page fpdf2 form: Vietnamese text in an Identity-H font, Latin in Helvetica."""
    folder = tmp_path_factory.mktemp("stampform")
    font = folder / "NotoSans.ttf"
    font.write_bytes(font_bytes(FontWeight.REGULAR))
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("Noto", fname=str(font))
    pdf.set_font("Noto", size=12)
    pdf.set_xy(20, 30)
    pdf.cell(text="Tờ khai đăng ký khai sinh")
    pdf.set_xy(110, 200)
    pdf.cell(text=ANCHOR_VI)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.set_xy(20, 150)
    pdf.cell(text=ANCHOR_LATIN)
    path = folder / "form.pdf"
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def form_with_field(form_pdf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The form with an empty signature field ``CanBo`` on page 2."""
    out = tmp_path_factory.mktemp("stampfield") / "field.pdf"
    with PDFReader(form_pdf) as reader:
        writer = IncrementalWriter(reader)
        page_ref = page_refs(reader)[1]
        field = writer.add(
            PDFDict(
                {
                    "Type": Name("Annot"),
                    "Subtype": Name("Widget"),
                    "FT": Name("Sig"),
                    "T": PDFString.from_text("CanBo"),
                    "F": 4,
                    "Rect": (350.0, 80.0, 550.0, 160.0),
                    "P": page_ref,
                }
            )
        )
        page = writer.get_dict(page_ref)
        writer.update(page_ref, page.updated(Annots=(field,)))
        root = reader.root_ref
        writer.update(root, writer.get_dict(root).updated(AcroForm=PDFDict({"Fields": (field,)})))
        writer.write(out)
    return out


@pytest.fixture(scope="module")
def long_named(huesign_pki: DevelopmentCA) -> IssuedCertificate:
    """A holder whose name has 70 characters (longer than RFC 5280's 64 for a CN)."""
    name = "Tôn Nữ Thị Hoàng Quỳnh Như Nguyễn Phúc Bảo Khánh Hương Giang Diễm Ngọc"
    assert len(name) >= 60
    identity = CitizenIdentity(common_name=name, identifiers=(Identifier.cccd("046190009876"),))
    return huesign_pki.issue(identity, profile=CertificateProfile.CITIZEN, allow_long_names=True)


def _png(alpha: bool) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", (40, 30), (200, 10, 10, 255)[: 4 if alpha else 3])
    if alpha:
        image.putpixel((0, 0), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 10, 200)).save(out, "JPEG")
    return out.getvalue()


# --- text ----------------------------------------------------------------------------------


def test_signing_time_is_shown_in_vietnam_time() -> None:
    assert format_vietnam_time(SIGNED_AT) == "28/11/2026 17:05 (GMT+7)"


def test_naive_signing_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_vietnam_time(dt.datetime(2026, 11, 28, 10, 5))


def test_paragraphs_show_name_masked_identifier_and_bilingual_labels(
    citizen: IssuedCertificate,
) -> None:
    content = StampContent(reason="Nộp hồ sơ", location="Huế")
    texts = [t for t, _ in content.paragraphs(signer=citizen.certificate, signing_time=SIGNED_AT)]
    assert texts == [
        "Ký bởi / Signed by:",
        "Nguyễn Thị Hương Giang",
        "CCCD: ********1234",
        "Thời gian / Time: 28/11/2026 17:05 (GMT+7)",
        "Lý do / Reason: Nộp hồ sơ",
        "Nơi ký / Location: Huế",
    ]


def test_vietnamese_labels_leave_out_english(citizen: IssuedCertificate) -> None:
    content = StampContent(language=StampLanguage.VIETNAMESE, show_identifier=False)
    texts = [t for t, _ in content.paragraphs(signer=citizen.certificate, signing_time=SIGNED_AT)]
    assert texts == ["Ký bởi:", "Nguyễn Thị Hương Giang", "Thời gian: 28/11/2026 17:05 (GMT+7)"]


def test_visible_digits_controls_the_mask(citizen: IssuedCertificate) -> None:
    content = StampContent(visible_digits=2, show_time=False)
    texts = [t for t, _ in content.paragraphs(signer=citizen.certificate, signing_time=SIGNED_AT)]
    assert texts[2] == "CCCD: **********34"


def test_overlong_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="limited"):
        StampContent(reason="x" * 301)


def test_image_must_be_png_or_jpeg() -> None:
    with pytest.raises(ValueError, match="PNG or JPEG"):
        StampImage(b"GIF89a....")


def test_image_repr_hides_bytes() -> None:
    assert repr(StampImage(_png(False))).startswith("StampImage(data=<")


# --- shaping and fonts ---------------------------------------------------------------------


def test_nfd_text_shapes_like_nfc() -> None:
    name = "Nguyễn Thị Hương Giang"
    decomposed = shape(unicodedata.normalize("NFD", name))
    assert decomposed == shape(name)
    assert decomposed.text == unicodedata.normalize("NFC", name)


def test_marks_without_precomposed_form_are_positioned_by_the_font() -> None:
    run = shape("x\u0323\u0302")  # x with dot below and circumflex: no precomposed glyph
    marks = run.glyphs[1:]
    assert len(run.glyphs) == 3
    assert all(g.advance == 0 and g.x_offset != 0 for g in marks)
    assert run.glyphs[0].text == "x\u0323\u0302"


def test_widths_are_scaled_from_the_fonts_units_per_em() -> None:
    original = ShapingFace.from_bytes(font_bytes(FontWeight.REGULAR))
    gids = [g.gid for g in shape("Nguyễn Hương").glyphs]
    # Rescaling a subset is quicker than rescaling the whole font; glyph ids stay put.
    scaled_font = TTFont(io.BytesIO(subset_font(original, gids)))
    scale_upem(scaled_font, 2048)
    out = io.BytesIO()
    scaled_font.save(out)
    scaled = ShapingFace.from_bytes(out.getvalue())
    assert scaled.upem == 2048
    a, b = widths_array(original, gids), widths_array(scaled, gids)
    flat_a = [w for item in a[1::2] for w in item]  # type: ignore[union-attr]
    flat_b = [w for item in b[1::2] for w in item]  # type: ignore[union-attr]
    assert a[0::2] == b[0::2]
    assert flat_b == pytest.approx(flat_a, abs=1.0)
    assert max(flat_a) > 500


def test_subset_keeps_only_the_used_glyphs() -> None:
    face = ShapingFace.from_bytes(font_bytes(FontWeight.REGULAR))
    used = sorted({g.gid for g in shape("Huế").glyphs})
    subset = TTFont(io.BytesIO(subset_font(face, used)))
    glyf = subset["glyf"]
    order = subset.getGlyphOrder()
    drawn = {i for i, name in enumerate(order) if glyf[name].numberOfContours != 0}
    assert drawn <= {0, *used}
    assert set(used) <= drawn
    assert len(subset_font(face, used)) < len(font_bytes(FontWeight.REGULAR)) / 5


# --- QR codes ------------------------------------------------------------------------------


def test_qr_matrix_is_square_with_finder_patterns() -> None:
    matrix = qr_matrix("https://dichvucong.hue.gov.vn/tra-cuu/H46.22-261128-0001")
    n = len(matrix)
    assert all(len(row) == n for row in matrix)
    assert all(matrix[0][:7])
    assert all(matrix[6][:7])
    assert all(matrix[0][n - 7 :])


def test_qr_draws_one_rectangle_per_run_of_dark_modules() -> None:
    data = "H46.22-261128-0001"
    matrix = qr_matrix(data)
    runs = sum(
        1 for row in matrix for i, cell in enumerate(row) if cell and (i == 0 or not row[i - 1])
    )
    assert qr_operators(data, x=0, y=0, size=50).count(b" re\n") == runs


def test_overlong_qr_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="QR"):
        StampContent(qr_reference="x" * (MAX_QR_DATA + 1))


# --- fitting -------------------------------------------------------------------------------


def _appearance(
    content: StampContent | None = None, rect: tuple[float, ...] = RECT
) -> StampAppearance:
    return StampAppearance(
        placement=RectPlacement(page=0, rect=rect),  # type: ignore[arg-type]
        content=content or StampContent(),
    )


def _inside(appearance: StampAppearance, signer: IssuedCertificate) -> None:
    layout = appearance.layout(rect=RECT, signer=signer.certificate, signing_time=SIGNED_AT)
    x1, y1, x2, y2 = layout.text_box
    for line in layout.lines:
        assert line.x >= x1 - 1e-6
        assert line.x + line.width <= x2 + 1e-6
        assert line.baseline - line.descent >= y1 - 1e-6
        assert line.baseline + line.ascent <= y2 + 1e-6


def test_short_name_stays_on_one_line_at_full_size(citizen: IssuedCertificate) -> None:
    layout = _appearance(StampContent(show_time=False)).layout(
        rect=RECT, signer=citizen.certificate, signing_time=SIGNED_AT
    )
    names = [line for line in layout.lines if line.bold]
    assert [n.text for n in names] == ["Nguyễn Thị Hương Giang"]
    assert names[0].size == 11.0


def test_long_name_shrinks_then_wraps_onto_two_lines(long_named: IssuedCertificate) -> None:
    content = StampContent(qr_reference="H46-1")
    layout = _appearance(content).layout(
        rect=RECT, signer=long_named.certificate, signing_time=SIGNED_AT
    )
    names = [line for line in layout.lines if line.bold]
    assert len(names) == 2
    assert " ".join(n.text for n in names) == long_named.certificate.identity.common_name
    assert names[0].size >= content.min_font_size
    _inside(_appearance(content), long_named)


def test_text_too_large_for_the_rectangle_is_refused(long_named: IssuedCertificate) -> None:
    tiny = (0.0, 0.0, 60.0, 20.0)
    with pytest.raises(ValueError, match="does not fit"):
        _appearance(rect=tiny).layout(
            rect=tiny, signer=long_named.certificate, signing_time=SIGNED_AT
        )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=vietnamese_names(),
    reason=st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạ ", max_size=80),
)
def test_every_line_fits_inside_the_text_box(
    citizen: IssuedCertificate, name: str, reason: str
) -> None:
    content = StampContent(name=name, reason=reason or None, qr_reference="H46")
    _inside(_appearance(content), citizen)


def test_build_returns_a_form_xobject_sized_to_the_rectangle(
    form_pdf: Path, citizen: IssuedCertificate
) -> None:
    with PDFReader(form_pdf) as reader:
        writer = IncrementalWriter(reader)
        xobject = _appearance(StampContent(image=StampImage(_png(True)))).build(
            writer, rect=RECT, signer=citizen.certificate, signing_time=SIGNED_AT
        )
        d = xobject.dictionary
        assert d["Subtype"] == Name("Form")
        assert d["BBox"] == (0, 0, 260.0, 100.0)
        resources = d["Resources"]
        assert isinstance(resources, PDFDict)
        assert set(resources["Font"]) == {"F1", "F2"}  # type: ignore[arg-type]
        image = writer.get(resources["XObject"]["Im1"])  # type: ignore[index]
        assert isinstance(image, PDFStream)
        assert isinstance(image.dictionary["SMask"], Ref)
        assert b"/Im1 Do" in zlib.decompress(xobject.data)


def test_jpeg_is_embedded_unchanged(form_pdf: Path, citizen: IssuedCertificate) -> None:
    jpeg = _jpeg()
    with PDFReader(form_pdf) as reader:
        writer = IncrementalWriter(reader)
        xobject = _appearance(StampContent(image=StampImage(jpeg))).build(
            writer, rect=RECT, signer=citizen.certificate, signing_time=SIGNED_AT
        )
        ref = xobject.dictionary["Resources"]["XObject"]["Im1"]  # type: ignore[index]
        image = writer.get(ref)  # type: ignore[arg-type]
        assert isinstance(image, PDFStream)
        assert image.dictionary["Filter"] == Name("DCTDecode")
        assert image.data == jpeg


def test_font_has_identity_h_encoding_and_to_unicode(
    form_pdf: Path, citizen: IssuedCertificate
) -> None:
    with PDFReader(form_pdf) as reader:
        writer = IncrementalWriter(reader)
        xobject = _appearance().build(
            writer, rect=RECT, signer=citizen.certificate, signing_time=SIGNED_AT
        )
        font_ref = xobject.dictionary["Resources"]["Font"]["F2"]  # type: ignore[index]
        font = writer.get_dict(font_ref)  # type: ignore[arg-type]
        assert font["Subtype"] == Name("Type0")
        assert font["Encoding"] == Name("Identity-H")
        cid = writer.get_dict(font["DescendantFonts"][0])  # type: ignore[index]
        assert cid["Subtype"] == Name("CIDFontType2")
        assert cid["CIDToGIDMap"] == Name("Identity")
        base = font["BaseFont"]
        assert isinstance(base, Name)
        tag, _, postscript = base.value.partition("+")
        assert postscript == "NotoSans-Bold"
        assert len(tag) == 6
        cmap = writer.get(font["ToUnicode"])  # type: ignore[arg-type]
        assert isinstance(cmap, PDFStream)
        assert "ễ".encode("utf-16-be").hex().upper().encode() in cmap.data


# --- placement -----------------------------------------------------------------------------


def test_rect_placement_is_normalised() -> None:
    placement = RectPlacement(page=1, rect=(560, 700, 300, 600))
    assert placement.rect == (300.0, 600.0, 560.0, 700.0)


def test_tiny_rect_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        RectPlacement(page=0, rect=(0, 0, 5, 5))


def test_rect_placement_on_a_missing_page_is_refused(form_pdf: Path) -> None:
    with PDFReader(form_pdf) as reader, pytest.raises(ValueError, match="no page 5"):
        StampAppearance(placement=RectPlacement(page=5, rect=RECT)).resolve(reader)


def test_anchor_text_is_found_in_an_identity_h_font(form_pdf: Path) -> None:
    with PDFReader(form_pdf) as reader:
        found = find_text(reader, unicodedata.normalize("NFD", ANCHOR_VI))
    assert found is not None
    assert found.page_index == 0
    x1, y1, x2, y2 = found.rect
    mm = 72 / 25.4
    assert x1 == pytest.approx(110 * mm, abs=3)
    assert 842 - 200 * mm - 20 < y1 < y2 < 842 - 200 * mm + 5
    assert 100 < x2 - x1 < 160  # about 21 characters at 12 pt


def test_anchor_text_is_found_in_a_winansi_font(form_pdf: Path) -> None:
    with PDFReader(form_pdf) as reader:
        found = find_text(reader, ANCHOR_LATIN)
    assert found is not None
    assert found.page_index == 1
    assert found.rect[0] == pytest.approx(20 * 72 / 25.4, abs=3)


def test_stamp_goes_below_the_anchor(form_pdf: Path) -> None:
    placement = AnchorPlacement(text=ANCHOR_VI, size=(200, 70), gap=6)
    with PDFReader(form_pdf) as reader:
        found = find_text(reader, ANCHOR_VI)
        resolved = StampAppearance(placement=placement).resolve(reader)
    assert found is not None
    assert resolved.page_index == 0
    assert resolved.rect == pytest.approx(
        (found.rect[0], found.rect[1] - 76, found.rect[0] + 200, found.rect[1] - 6)
    )


def test_stamp_goes_right_of_the_anchor_with_an_offset(form_pdf: Path) -> None:
    placement = AnchorPlacement(
        text=ANCHOR_LATIN, position=AnchorPosition.RIGHT, size=(150, 60), offset=(10, -5)
    )
    with PDFReader(form_pdf) as reader:
        found = find_text(reader, ANCHOR_LATIN, page=1)
        resolved = StampAppearance(placement=placement).resolve(reader)
    assert found is not None
    assert resolved.page_index == 1
    assert resolved.rect[0] == pytest.approx(found.rect[2] + 4 + 10)
    assert resolved.rect[3] == pytest.approx(found.rect[3] - 5)


def test_stamp_over_the_anchor_is_centred_on_it(form_pdf: Path) -> None:
    placement = AnchorPlacement(text=ANCHOR_VI, position=AnchorPosition.OVER, size=(200, 70))
    with PDFReader(form_pdf) as reader:
        found = find_text(reader, ANCHOR_VI)
        rect = StampAppearance(placement=placement).resolve(reader).rect
    assert found is not None
    assert (rect[0] + rect[2]) / 2 == pytest.approx((found.rect[0] + found.rect[2]) / 2)
    assert (rect[1] + rect[3]) / 2 == pytest.approx((found.rect[1] + found.rect[3]) / 2)


def test_missing_anchor_text_is_refused(form_pdf: Path) -> None:
    with PDFReader(form_pdf) as reader, pytest.raises(ValueError, match="does not appear"):
        StampAppearance(placement=AnchorPlacement(text="Không có")).resolve(reader)


def test_stamp_that_would_leave_the_page_is_refused(form_pdf: Path) -> None:
    placement = AnchorPlacement(text=ANCHOR_VI, position=AnchorPosition.RIGHT, size=(300, 60))
    with PDFReader(form_pdf) as reader, pytest.raises(ValueError, match="leave the page"):
        StampAppearance(placement=placement).resolve(reader)


def test_field_placement_uses_the_fields_rect_and_page(form_with_field: Path) -> None:
    with PDFReader(form_with_field) as reader:
        resolved = StampAppearance(placement=FieldPlacement(name="CanBo")).resolve(reader)
    assert resolved.page_index == 1
    assert resolved.rect == (350.0, 80.0, 550.0, 160.0)
    assert resolved.field_name == "CanBo"


def test_missing_field_is_refused(form_with_field: Path) -> None:
    with PDFReader(form_with_field) as reader, pytest.raises(ValueError, match="no field"):
        StampAppearance(placement=FieldPlacement(name="Khac")).resolve(reader)


def _with_content(source: Path, target: Path, content: bytes) -> Path:
    """``source`` with page 1's content stream replaced by ``content``."""
    with PDFReader(source) as reader:
        writer = IncrementalWriter(reader)
        page_ref = page_refs(reader)[0]
        stream = writer.add(PDFStream(PDFDict(), content))
        writer.update(page_ref, writer.get_dict(page_ref).updated(Contents=stream))
        writer.write(target)
    return target


def test_unterminated_string_in_content_is_a_format_error(form_pdf: Path, tmp_path: Path) -> None:
    damaged = _with_content(form_pdf, tmp_path / "d.pdf", b"BT /F1 12 Tf (never closed Tj ET")
    with PDFReader(damaged) as reader, pytest.raises(PDFFormatError):
        find_text(reader, "closed", page=0)


def test_endless_content_stream_is_cut_off(form_pdf: Path, tmp_path: Path) -> None:
    hostile = _with_content(
        form_pdf, tmp_path / "h.pdf", b"q Q " * (MAX_CONTENT_OPERATIONS // 2 + 1)
    )
    with PDFReader(hostile) as reader, pytest.raises(PDFFormatError, match="operations"):
        find_text(reader, "anything", page=0)


@pytest.fixture(scope="module")
def font_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stampfont") / "NotoSans.ttf"
    path.write_bytes(font_bytes(FontWeight.REGULAR))
    return path


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=vietnamese_names(), x=st.integers(10, 100), y=st.integers(20, 250))
def test_any_vietnamese_text_written_by_fpdf2_is_found_where_it_was_written(
    font_file: Path, name: str, x: int, y: int
) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("Noto", fname=str(font_file))
    pdf.set_font("Noto", size=10)
    pdf.set_xy(x, y)
    pdf.cell(text=f"Người ký: {name}")
    with PDFReader(io.BytesIO(bytes(pdf.output()))) as reader:
        found = find_text(reader, name)
    assert found is not None
    mm = 72 / 25.4
    assert x * mm < found.rect[0] < x * mm + 60
    assert 842 - (y + 10) * mm < found.rect[1] < found.rect[3] < 842 - y * mm + 2


def test_a_degenerate_field_rectangle_is_refused(citizen: IssuedCertificate) -> None:
    with pytest.raises(ValueError, match="at least"):
        _appearance().layout(
            rect=(0.0, 0.0, 0.0, 0.0), signer=citizen.certificate, signing_time=SIGNED_AT
        )
