"""Visible signature stamps that render Vietnamese correctly.

A :class:`StampAppearance` is a frozen value that says what a visible signature shows
(:class:`StampContent`) and where it goes (a :data:`Placement`).  The stamp shows the
signer's name, their identity number masked except the last digits, the signing time in
Vietnam time, the reason and location, an optional image and a QR code carrying a
verification reference.  Text is set in the Noto Sans font shipped with huesign, shaped
with HarfBuzz and embedded as a per-stamp subset (see :mod:`huesign.pki.fonts`).  Long names
shrink down to a minimum size, then wrap onto two lines; text is never clipped: a rectangle
too small for the text is refused.

How signing uses it (two calls, both on the same document)::

    placement = appearance.resolve(reader)      # ResolvedPlacement(page_index, rect,
                                                #                   field_name or None)
    writer = IncrementalWriter(reader)
    xobject = appearance.build(writer, rect=placement.rect, signer=certificate,
                               signing_time=when)
    # ``xobject`` is the widget's normal appearance, e.g.
    # SignatureSlot(page=placement.page_index, rect=placement.rect, appearance=xobject, ...)

``build`` adds the font and image objects it references to ``writer`` and returns the form
XObject stream itself (not yet added), whose ``/BBox`` is ``[0 0 width height]``.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import io
import zlib

import attrs
from PIL import Image, UnidentifiedImageError

from huesign.pki._fonttext import GlyphRun, TextFont, font_metrics, shape
from huesign.pki._placement import (
    AnchorPlacement,
    AnchorPosition,
    FieldPlacement,
    Placement,
    RectPlacement,
    ResolvedPlacement,
    resolve_placement,
)
from huesign.pki._qr import MAX_QR_DATA, qr_operators
from huesign.pki._time import VIETNAM_TIME, format_vietnam_time
from huesign.pki.certificates import Certificate
from huesign.pki.fonts import FontWeight
from huesign.pki.pdfobjects import Name, PDFDict, PDFObject, PDFStream
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfwriter import IncrementalWriter

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_STAMP_TEXT",
    "VIETNAM_TIME",
    "AnchorPlacement",
    "AnchorPosition",
    "FieldPlacement",
    "Placement",
    "RectPlacement",
    "ResolvedPlacement",
    "StampAppearance",
    "StampContent",
    "StampImage",
    "StampLanguage",
    "StampLayout",
    "StampLine",
    "format_vietnam_time",
]

#: Largest image file (PNG or JPEG) a stamp accepts.
MAX_IMAGE_BYTES = 4 * 1024 * 1024
#: Largest image, in pixels (width times height), a stamp accepts.
MAX_IMAGE_PIXELS = 4096 * 4096
#: Longest name, reason or location a stamp accepts, in characters.
MAX_STAMP_TEXT = 300

_ABSOLUTE_MIN_SIZE = 3.0
_MIN_SIDE = 10.0
_LEADING = 1.25
_DETAIL_RATIO = 0.8
_TEXT_GRAY = b"0.05 g\n"
_BORDER_RGB = b"0.11 0.33 0.69 RG\n"


class StampLanguage(enum.Enum):
    """The language of the stamp's labels."""

    VIETNAMESE = "vi"
    BILINGUAL = "vi-en"


_LABELS = {
    StampLanguage.VIETNAMESE: ("Ký bởi", "Thời gian", "Lý do", "Nơi ký"),
    StampLanguage.BILINGUAL: (
        "Ký bởi / Signed by",
        "Thời gian / Time",
        "Lý do / Reason",
        "Nơi ký / Location",
    ),
}


def _optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if len(value) > MAX_STAMP_TEXT:
        raise ValueError(f"stamp text is limited to {MAX_STAMP_TEXT} characters")
    return value or None


def _check_image(_inst: object, _attr: object, data: bytes) -> None:
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"a stamp image is limited to {MAX_IMAGE_BYTES} bytes")
    if not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        raise ValueError("a stamp image must be a PNG or JPEG file")


@attrs.frozen
class StampImage:
    """A PNG or JPEG image shown at the left of the stamp (a seal, a logo, a signature).

    A PNG's transparency is kept (as a soft mask); a JPEG is embedded as it is.

    Attributes:
        data: the file's bytes, at most :data:`MAX_IMAGE_BYTES`.
    """

    data: bytes = attrs.field(validator=_check_image, repr=lambda d: f"<{len(d)} bytes>")


def _check_qr(_inst: object, _attr: object, value: str | None) -> None:
    if value is not None and not 0 < len(value.encode("utf-8")) <= MAX_QR_DATA:
        raise ValueError(f"a QR reference must be 1 to {MAX_QR_DATA} bytes of UTF-8")


@attrs.frozen(kw_only=True)
class StampContent:
    """What a visible signature shows.

    Attributes:
        name: the signer's name; by default the certificate's common name (then its
            organisation).
        show_identifier: show the holder's main identifier (CCCD, CMND, passport, MST...)
            masked except its last digits.
        visible_digits: how many trailing characters of the identifier stay visible.
        show_time: show the signing time in Vietnam time.
        reason: why the document is signed.
        location: where it is signed.
        language: labels in Vietnamese only, or Vietnamese and English.
        image: an optional image at the left.
        qr_reference: text for a QR code at the right (a verification URL, a dossier code).
        max_font_size: size of the name when it fits; other lines are a little smaller.
        min_font_size: the smallest name size before the name wraps onto two lines.
        border: draw a frame around the stamp.
    """

    name: str | None = attrs.field(default=None, converter=_optional_text)
    show_identifier: bool = True
    visible_digits: int = attrs.field(default=4, validator=attrs.validators.in_(range(13)))
    show_time: bool = True
    reason: str | None = attrs.field(default=None, converter=_optional_text)
    location: str | None = attrs.field(default=None, converter=_optional_text)
    language: StampLanguage = StampLanguage.BILINGUAL
    image: StampImage | None = None
    qr_reference: str | None = attrs.field(default=None, validator=_check_qr)
    max_font_size: float = attrs.field(default=11.0, validator=attrs.validators.le(72.0))
    min_font_size: float = attrs.field(
        default=6.0, validator=attrs.validators.ge(_ABSOLUTE_MIN_SIZE)
    )
    border: bool = True

    def __attrs_post_init__(self) -> None:
        if self.min_font_size > self.max_font_size:
            raise ValueError("min_font_size must not exceed max_font_size")

    def paragraphs(
        self, *, signer: Certificate, signing_time: dt.datetime
    ) -> tuple[tuple[str, bool], ...]:
        """The stamp's text before fitting: ``(text, bold)`` per paragraph, in order.

        Raises:
            ValueError: ``signing_time`` is naive.
        """
        signed_by, time_label, reason_label, location_label = _LABELS[self.language]
        identity = signer.identity
        name = self.name or identity.common_name or identity.organization or signer.subject_text
        out: list[tuple[str, bool]] = [(f"{signed_by}:", False), (name, True)]
        identifier = identity.primary_identifier
        if self.show_identifier and identifier is not None:
            out.append((f"{identifier.prefix}: {identifier.masked(self.visible_digits)}", False))
        if self.show_time:
            out.append((f"{time_label}: {format_vietnam_time(signing_time)}", False))
        if self.reason:
            out.append((f"{reason_label}: {self.reason}", False))
        if self.location:
            out.append((f"{location_label}: {self.location}", False))
        return tuple(out)


@attrs.frozen(kw_only=True)
class StampLine:
    """One line of stamp text as placed, in the stamp's own coordinates (points).

    Attributes:
        text: the line (NFC).
        bold: set in the bold weight.
        x: left end of the baseline.
        baseline: height of the baseline above the stamp's bottom edge.
        size: font size.
        width: advance width of the line.
        ascent, descent: extent above and below the baseline (descent is positive).
    """

    text: str
    bold: bool
    x: float
    baseline: float
    size: float
    width: float
    ascent: float
    descent: float


@attrs.frozen(kw_only=True)
class StampLayout:
    """Where everything of a stamp goes, in its own coordinates (origin bottom left).

    Attributes:
        width, height: the stamp's size.
        text_box: the area text may use, ``(x1, y1, x2, y2)``.
        lines: the text lines, top to bottom.
        image_box: where the image is drawn, if any.
        qr_box: where the QR code is drawn, if any.
    """

    width: float
    height: float
    text_box: tuple[float, float, float, float]
    lines: tuple[StampLine, ...]
    image_box: tuple[float, float, float, float] | None
    qr_box: tuple[float, float, float, float] | None


@attrs.frozen(kw_only=True)
class StampAppearance:
    """A visible signature: what it shows and where it goes.

    Attributes:
        placement: a :class:`RectPlacement`, :class:`FieldPlacement` or
            :class:`AnchorPlacement`.
        content: what the stamp shows.
    """

    placement: Placement
    content: StampContent = StampContent()

    def resolve(self, reader: PDFReader) -> ResolvedPlacement:
        """The page and rectangle the stamp takes in the document ``reader`` reads.

        Raises:
            ValueError: the page, field or anchor text does not exist, or the stamp would
                leave the page.
            PDFFormatError: the document is malformed.
        """
        return resolve_placement(self.placement, reader)

    def layout(
        self,
        *,
        rect: tuple[float, float, float, float],
        signer: Certificate,
        signing_time: dt.datetime,
    ) -> StampLayout:
        """Fit the stamp's text, image and QR code into ``rect``.

        Raises:
            ValueError: the text cannot fit into the rectangle at any readable size.
        """
        width, height = abs(rect[2] - rect[0]), abs(rect[3] - rect[1])
        if width < _MIN_SIDE or height < _MIN_SIDE:
            raise ValueError(f"a stamp must be at least {_MIN_SIDE} points on each side")
        pad = max(2.0, min(5.0, height * 0.06, width * 0.04))
        left, right = pad, width - pad
        qr_box = image_box = None
        if self.content.qr_reference is not None:
            side = min(height - 2 * pad, width * 0.3)
            qr_box = (right - side, (height - side) / 2, right, (height + side) / 2)
            right -= side + pad
        if self.content.image is not None:
            img_w, img_h = _image_size(self.content.image.data)
            box_h = height - 2 * pad
            box_w = min(width * 0.25, box_h * img_w / img_h)
            draw_h = box_w * img_h / img_w
            image_box = (left, (height - draw_h) / 2, left + box_w, (height + draw_h) / 2)
            left += box_w + pad
        text_box = (left, pad, right, height - pad)
        paragraphs = self.content.paragraphs(signer=signer, signing_time=signing_time)
        lines = _fit(paragraphs, text_box, self.content)
        return StampLayout(
            width=width,
            height=height,
            text_box=text_box,
            lines=lines,
            image_box=image_box,
            qr_box=qr_box,
        )

    def build(
        self,
        writer: IncrementalWriter,
        *,
        rect: tuple[float, float, float, float],
        signer: Certificate,
        signing_time: dt.datetime,
    ) -> PDFStream:
        """Make the stamp's form XObject for a widget of ``rect``.

        Font subsets and the image are added to ``writer``; the returned stream is not
        (the caller adds it, e.g. as a signature widget's normal appearance).

        Raises:
            ValueError: the text cannot fit, the image cannot be decoded, or
                ``signing_time`` is naive.
        """
        layout = self.layout(rect=rect, signer=signer, signing_time=signing_time)
        w, h = layout.width, layout.height
        fonts = {
            False: TextFont(FontWeight.REGULAR, "F1"),
            True: TextFont(FontWeight.BOLD, "F2"),
        }
        ops: list[bytes] = [b"q\n1 g\n0 0 %s %s re f\n" % (_num(w), _num(h))]
        if self.content.border:
            ops.append(
                _BORDER_RGB + b"0.8 w\n0.4 0.4 %s %s re S\n" % (_num(w - 0.8), _num(h - 0.8))
            )
        xobjects: dict[str, PDFObject] = {}
        if layout.image_box is not None and self.content.image is not None:
            x1, y1, x2, y2 = layout.image_box
            xobjects["Im1"] = _add_image(writer, self.content.image.data)
            ops.append(
                b"q\n%s 0 0 %s %s %s cm\n/Im1 Do\nQ\n"
                % (_num(x2 - x1), _num(y2 - y1), _num(x1), _num(y1))
            )
        if layout.qr_box is not None and self.content.qr_reference is not None:
            x1, y1, x2, _ = layout.qr_box
            ops.append(qr_operators(self.content.qr_reference, x=x1, y=y1, size=x2 - x1))
        ops.append(_TEXT_GRAY)
        for line in layout.lines:
            run = shape(line.text, FontWeight.BOLD if line.bold else FontWeight.REGULAR)
            ops.append(fonts[line.bold].show(run, x=line.x, y=line.baseline, size=line.size))
        ops.append(b"Q\n")
        font_refs: dict[str, PDFObject] = {
            f.resource_name: f.add_to(writer) for f in fonts.values() if f.used
        }
        resources: dict[str, PDFObject] = {"Font": PDFDict(font_refs)}
        if xobjects:
            resources["XObject"] = PDFDict(xobjects)
        return PDFStream(
            PDFDict(
                {
                    "Type": Name("XObject"),
                    "Subtype": Name("Form"),
                    "BBox": (0, 0, _round(w), _round(h)),
                    "Resources": PDFDict(resources),
                    "Filter": Name("FlateDecode"),
                }
            ),
            zlib.compress(b"".join(ops), 6),
        )


# --- fitting -----------------------------------------------------------------------------


def _fit(
    paragraphs: tuple[tuple[str, bool], ...],
    box: tuple[float, float, float, float],
    content: StampContent,
) -> tuple[StampLine, ...]:
    runs = {
        (text, bold): shape(text, FontWeight.BOLD if bold else FontWeight.REGULAR)
        for text, bold in paragraphs
    }
    width = box[2] - box[0]
    sizes = _sizes(content.max_font_size, content.min_font_size)
    floor = _sizes(content.min_font_size, _ABSOLUTE_MIN_SIZE)[1:]
    # First shrink with the name on one line, then wrap the name onto two lines, and only
    # then go below the minimum size (never clip).
    for name_lines, candidates in ((1, sizes), (2, sizes), (None, floor)):
        for size in candidates:
            lines = _wrap_all(paragraphs, runs, size, width, name_lines)
            if lines is not None and _height(lines) <= box[3] - box[1]:
                return _place(lines, box)
    raise ValueError(
        "the stamp's text does not fit its rectangle even at "
        f"{_ABSOLUTE_MIN_SIZE} pt; make the rectangle larger or show less"
    )


def _sizes(top: float, bottom: float) -> list[float]:
    out = []
    size = top
    while size >= bottom - 1e-9:
        out.append(round(size, 2))
        size -= 0.25
    return out


_Line = tuple[GlyphRun, float]


def _wrap_all(
    paragraphs: tuple[tuple[str, bool], ...],
    runs: dict[tuple[str, bool], GlyphRun],
    size: float,
    width: float,
    name_lines: int | None,
) -> list[_Line] | None:
    out: list[_Line] = []
    for text, bold in paragraphs:
        psize = size if bold else size * _DETAIL_RATIO
        run = runs[(text, bold)]
        if run.width * psize / 1000 <= width:
            out.append((run, psize))
            continue
        if bold and name_lines == 1:
            return None
        wrapped = _wrap(text, bold, psize, width)
        if wrapped is None or (bold and name_lines == 2 and len(wrapped) > 2):
            return None
        out += [(r, psize) for r in wrapped]
    return out


def _wrap(text: str, bold: bool, size: float, width: float) -> list[GlyphRun] | None:
    weight = FontWeight.BOLD if bold else FontWeight.REGULAR
    words = text.split(" ")
    lines: list[GlyphRun] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if shape(candidate, weight).width * size / 1000 <= width:
            current = candidate
            continue
        if current:
            lines.append(shape(current, weight))
        if shape(word, weight).width * size / 1000 > width:
            return None  # one word wider than the line: a smaller size is needed
        current = word
    if current:
        lines.append(shape(current, weight))
    return _balance(lines, weight, size, width) if len(lines) == 2 else lines


def _balance(
    lines: list[GlyphRun], weight: FontWeight, size: float, width: float
) -> list[GlyphRun]:
    # Two lines read better when the break falls near the middle.
    words = f"{lines[0].text} {lines[1].text}".split(" ")
    best = lines
    best_gap = abs(lines[0].width - lines[1].width)
    for cut in range(1, len(words)):
        a, b = shape(" ".join(words[:cut]), weight), shape(" ".join(words[cut:]), weight)
        if max(a.width, b.width) * size / 1000 <= width and abs(a.width - b.width) < best_gap:
            best, best_gap = [a, b], abs(a.width - b.width)
    return best


def _height(lines: list[_Line]) -> float:
    return sum(size * _LEADING for _, size in lines)


def _place(lines: list[_Line], box: tuple[float, float, float, float]) -> tuple[StampLine, ...]:
    x1, y1, _, y2 = box
    slack = (y2 - y1) - _height(lines)
    top = y2 - slack / 2
    out: list[StampLine] = []
    for run, size in lines:
        line_height = size * _LEADING
        metrics = font_metrics(run.weight)
        ascent, descent = size * metrics.ascent / 1000, -size * metrics.descent / 1000
        baseline = top - (line_height - (ascent + descent)) / 2 - ascent
        out.append(
            StampLine(
                text=run.text,
                bold=run.weight is FontWeight.BOLD,
                x=x1,
                baseline=baseline,
                size=size,
                width=run.width * size / 1000,
                ascent=ascent,
                descent=descent,
            )
        )
        top -= line_height
    return tuple(out)


# --- images ------------------------------------------------------------------------------


def _open_image(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=("PNG", "JPEG"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError("the stamp image cannot be read as PNG or JPEG") from exc
    w, h = image.size
    if w <= 0 or h <= 0 or w * h > MAX_IMAGE_PIXELS:
        raise ValueError(f"a stamp image is limited to {MAX_IMAGE_PIXELS} pixels")
    return image


def _image_size(data: bytes) -> tuple[int, int]:
    w, h = _open_image(data).size
    return w, h


@functools.lru_cache(maxsize=8)
def _encode_image(data: bytes) -> tuple[PDFStream, PDFStream | None]:
    image = _open_image(data)
    try:
        image.load()
    except (OSError, ValueError) as exc:
        raise ValueError("the stamp image is damaged") from exc
    w, h = image.size
    base: dict[str, PDFObject] = {
        "Type": Name("XObject"),
        "Subtype": Name("Image"),
        "Width": w,
        "Height": h,
        "BitsPerComponent": 8,
    }
    if image.format == "JPEG" and image.mode in ("L", "RGB"):
        space = "DeviceGray" if image.mode == "L" else "DeviceRGB"
        return PDFStream(
            PDFDict({**base, "ColorSpace": Name(space), "Filter": Name("DCTDecode")}), data
        ), None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    gray = image.mode in ("L", "LA", "1", "I", "I;16")
    mode = ("LA" if gray else "RGBA") if has_alpha else ("L" if gray else "RGB")
    image = image.convert(mode)
    mask = None
    if has_alpha:
        alpha = image.getchannel("A")
        image = image.convert("L" if gray else "RGB")
        mask = PDFStream(
            PDFDict({**base, "ColorSpace": Name("DeviceGray"), "Filter": Name("FlateDecode")}),
            zlib.compress(alpha.tobytes(), 6),
        )
    space = "DeviceGray" if gray else "DeviceRGB"
    return PDFStream(
        PDFDict({**base, "ColorSpace": Name(space), "Filter": Name("FlateDecode")}),
        zlib.compress(image.tobytes(), 6),
    ), mask


def _add_image(writer: IncrementalWriter, data: bytes) -> PDFObject:
    stream, mask = _encode_image(data)
    if mask is not None:
        stream = PDFStream(stream.dictionary.updated(SMask=writer.add(mask)), stream.data)
    return writer.add(stream)


def _round(value: float) -> float:
    return round(value, 3)


def _num(value: float) -> bytes:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode("ascii")
