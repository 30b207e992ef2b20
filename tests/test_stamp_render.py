"""Stamps as independent tools see them: poppler renders and extracts them, qpdf checks them.

The stamp is written into a signature widget with the PDF engine directly (the signature
contents stay zero-filled: these tests judge the appearance, not the signature).  Each test
skips when a tool is missing, except under ``HUESIGN_REQUIRE_JUDGES=1`` (as in CI), where it
fails.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from pathlib import Path

import attrs
import pytest
from fpdf import FPDF
from PIL import Image

from huesign.pki import (
    AnchorPlacement,
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    IssuedCertificate,
    RectPlacement,
    StampAppearance,
    StampContent,
    StampImage,
    StampLayout,
)
from huesign.pki._qr import qr_matrix
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import SignatureSlot, add_signature_slot
from huesign.pki.pdfwriter import IncrementalWriter
from judges import require_program

SIGNED_AT = dt.datetime(2026, 11, 28, 10, 5, tzinfo=dt.UTC)
PAGE_HEIGHT = 842.0  # A4 in points (fpdf2's default page)
LONG_NAME = "Tôn Nữ Thị Hoàng Quỳnh Như Nguyễn Phúc Bảo Khánh Hương Giang Diễm Ngọc"
QR_REFERENCE = "https://dichvucong.hue.gov.vn/tra-cuu/H46.22-261128-0001"


@attrs.frozen
class Stamped:
    path: Path
    rect: tuple[float, float, float, float]
    layout: StampLayout


@pytest.fixture(scope="module")
def blank_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.set_xy(20, 20)
    pdf.cell(text="Signature of the applicant")
    path = tmp_path_factory.mktemp("stamprender") / "blank.pdf"
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def long_named(huesign_pki: DevelopmentCA) -> IssuedCertificate:
    identity = CitizenIdentity(
        common_name=LONG_NAME, identifiers=(Identifier.cccd("046190009876"),)
    )
    return huesign_pki.issue(identity, profile=CertificateProfile.CITIZEN, allow_long_names=True)


def _png_seal() -> bytes:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    for x in range(64):
        for y in range(64):
            if (x - 32) ** 2 + (y - 32) ** 2 < 28**2:
                image.putpixel((x, y), (200, 20, 20, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _stamp(
    source: Path, target: Path, appearance: StampAppearance, signer: IssuedCertificate
) -> Stamped:
    with PDFReader(source) as reader:
        placement = appearance.resolve(reader)
        writer = IncrementalWriter(reader)
        xobject = appearance.build(
            writer, rect=placement.rect, signer=signer.certificate, signing_time=SIGNED_AT
        )
        slot = SignatureSlot(
            page=placement.page_index, rect=placement.rect, appearance=xobject, contents_size=64
        )
        add_signature_slot(writer, slot)
        writer.write(target)
    layout = appearance.layout(
        rect=placement.rect, signer=signer.certificate, signing_time=SIGNED_AT
    )
    return Stamped(target, placement.rect, layout)


@pytest.fixture(scope="module")
def stamped(
    blank_pdf: Path, citizen: IssuedCertificate, tmp_path_factory: pytest.TempPathFactory
) -> Stamped:
    appearance = StampAppearance(
        placement=RectPlacement(page=0, rect=(150, 500, 450, 610)),
        content=StampContent(
            reason="Nộp hồ sơ đăng ký khai sinh",
            location="Phường Thuận Hóa, Huế",
            qr_reference=QR_REFERENCE,
            image=StampImage(_png_seal()),
        ),
    )
    target = tmp_path_factory.mktemp("stamprender") / "stamped.pdf"
    return _stamp(blank_pdf, target, appearance, citizen)


@pytest.fixture(scope="module")
def stamped_long(
    blank_pdf: Path, long_named: IssuedCertificate, tmp_path_factory: pytest.TempPathFactory
) -> Stamped:
    appearance = StampAppearance(
        placement=AnchorPlacement(text="Signature of the applicant", size=(230, 80)),
        content=StampContent(qr_reference="H46.22-261128-0002"),
    )
    target = tmp_path_factory.mktemp("stamprender") / "long.pdf"
    return _stamp(blank_pdf, target, appearance, long_named)


def _text_in_box(pdf: Path, rect: tuple[float, float, float, float]) -> str:
    x1, y1, x2, y2 = rect
    box = {"-x": x1, "-y": PAGE_HEIGHT - y2, "-W": x2 - x1 + 1, "-H": y2 - y1 + 1}
    args = [str(int(v)) if i % 2 else k for k, v in box.items() for i in (0, 1)]
    result = subprocess.run(
        [require_program("pdftotext"), "-f", "1", "-l", "1", *args, str(pdf), "-"],
        check=True,
        capture_output=True,
    )
    return result.stdout.decode("utf-8")


def _render(pdf: Path, resolution: int = 100) -> Image.Image:
    prefix = pdf.with_suffix("")
    subprocess.run(
        [
            *(require_program("pdftoppm"), "-r", str(resolution), "-png", "-f", "1", "-l", "1"),
            *("-singlefile", str(pdf), str(prefix)),
        ],
        check=True,
        capture_output=True,
    )
    with Image.open(prefix.with_suffix(".png")) as image:
        return image.convert("RGB")


def _dark(pixel: tuple[int, int, int]) -> bool:
    return max(pixel) < 110


def _ink(image: Image.Image, box: tuple[float, float, float, float], scale: float) -> int:
    """Dark pixels inside ``box`` (stamp-relative points, origin bottom left of the page)."""
    x1, y1, x2, y2 = box
    top, bottom = int((PAGE_HEIGHT - y2) * scale), int((PAGE_HEIGHT - y1) * scale)
    count = 0
    for y in range(max(0, top), min(image.height, bottom)):
        for x in range(max(0, int(x1 * scale)), min(image.width, int(x2 * scale))):
            if _dark(image.getpixel((x, y))):  # type: ignore[arg-type]
                count += 1
    return count


def test_qpdf_finds_no_error_in_a_stamped_pdf(stamped: Stamped, stamped_long: Stamped) -> None:
    for pdf in (stamped.path, stamped_long.path):
        result = subprocess.run(
            [require_program("qpdf"), "--check", str(pdf)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "No syntax or stream encoding errors found" in result.stdout


def test_pdffonts_sees_embedded_subset_unicode_cid_fonts(stamped: Stamped) -> None:
    result = subprocess.run(
        [require_program("pdffonts"), str(stamped.path)], capture_output=True, text=True, check=True
    )
    rows = [line.split() for line in result.stdout.splitlines() if "NotoSans" in line]
    assert {row[0].split("+")[1] for row in rows} == {"NotoSans-Regular", "NotoSans-Bold"}
    for row in rows:
        assert row[1:4] == ["CID", "TrueType", "Identity-H"]
        assert row[4:7] == ["yes", "yes", "yes"]  # embedded, subset, ToUnicode


def test_text_in_the_stamp_box_is_the_nfc_name_and_masked_id(stamped: Stamped) -> None:
    text = _text_in_box(stamped.path, stamped.rect)
    assert "Nguyễn Thị Hương Giang" in text
    assert "CCCD: ********1234" in text
    assert "28/11/2026 17:05 (GMT+7)" in text
    assert "046190001234" not in text


def test_reason_and_location_extract_exactly(stamped: Stamped) -> None:
    text = " ".join(_text_in_box(stamped.path, stamped.rect).split())
    assert "Nộp hồ sơ đăng ký khai sinh" in text
    assert "Phường Thuận Hóa, Huế" in text


@pytest.fixture(scope="module")
def rendered(stamped: Stamped) -> Image.Image:
    """Page 1 of the stamped PDF at 100 dpi."""
    return _render(stamped.path)


def test_every_text_line_has_ink_in_its_band(stamped: Stamped, rendered: Image.Image) -> None:
    image = rendered
    scale = 100 / 72
    x0, y0 = stamped.rect[0], stamped.rect[1]
    for line in stamped.layout.lines:
        band = (
            x0 + line.x,
            y0 + line.baseline,
            x0 + line.x + line.width,
            y0 + line.baseline + line.size * 0.7,
        )
        assert _ink(image, band, scale) > 10, line.text


def test_nothing_touches_the_inside_of_the_border(stamped: Stamped, rendered: Image.Image) -> None:
    image = rendered
    scale = 100 / 72
    x1, y1, x2, y2 = stamped.rect
    strips = [
        (x1 + 1.5, y1 + 1.5, x2 - 1.5, y1 + 2.5),  # bottom
        (x1 + 1.5, y2 - 2.5, x2 - 1.5, y2 - 1.5),  # top
        (x1 + 1.5, y1 + 1.5, x1 + 2.5, y2 - 1.5),  # left
        (x2 - 2.5, y1 + 1.5, x2 - 1.5, y2 - 1.5),  # right
    ]
    for strip in strips:
        assert _ink(image, strip, scale) == 0, strip
    assert _ink(image, stamped.rect, scale) > 500


def test_long_name_extracts_whole_and_stays_inside(stamped_long: Stamped) -> None:
    text = " ".join(_text_in_box(stamped_long.path, stamped_long.rect).split())
    assert LONG_NAME in text
    assert "CCCD: ********9876" in text
    names = [line for line in stamped_long.layout.lines if line.bold]
    assert len(names) == 2
    image = _render(stamped_long.path)
    x1, y1, x2, y2 = stamped_long.rect
    scale = 100 / 72
    assert _ink(image, (x1 + 1.5, y1 + 1.5, x2 - 1.5, y1 + 2.5), scale) == 0
    assert _ink(image, (x1 + 1.5, y2 - 2.5, x2 - 1.5, y2 - 1.5), scale) == 0


def test_qr_modules_render_where_the_matrix_says(stamped: Stamped) -> None:
    resolution = 300
    image = _render(stamped.path, resolution)
    scale = resolution / 72
    assert stamped.layout.qr_box is not None
    qx1, qy1, qx2, _ = stamped.layout.qr_box
    matrix = qr_matrix(QR_REFERENCE)
    module = (qx2 - qx1) / (len(matrix) + 4)
    left = stamped.rect[0] + qx1 + 2 * module
    top = stamped.rect[1] + qy1 + (qx2 - qx1) - 2 * module
    for r, row in enumerate(matrix):
        for c, cell in enumerate(row):
            x = (left + (c + 0.5) * module) * scale
            y = (PAGE_HEIGHT - (top - (r + 0.5) * module)) * scale
            assert _dark(image.getpixel((int(x), int(y)))) == cell, (r, c)  # type: ignore[arg-type]


def test_png_seal_renders_with_transparent_corners(stamped: Stamped, rendered: Image.Image) -> None:
    image = rendered
    scale = 100 / 72
    assert stamped.layout.image_box is not None
    ix1, iy1, ix2, iy2 = stamped.layout.image_box
    x0, y0 = stamped.rect[0], stamped.rect[1]
    centre = ((x0 + (ix1 + ix2) / 2) * scale, (PAGE_HEIGHT - y0 - (iy1 + iy2) / 2) * scale)
    corner = ((x0 + ix1 + 1) * scale, (PAGE_HEIGHT - y0 - iy2 + 1) * scale)
    red = image.getpixel((int(centre[0]), int(centre[1])))
    white = image.getpixel((int(corner[0]), int(corner[1])))
    assert red[0] > 150  # type: ignore[index]
    assert max(red[1], red[2]) < 80  # type: ignore[index]
    assert min(white) > 240  # type: ignore[arg-type]
