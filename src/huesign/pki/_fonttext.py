"""Shaped text in PDF content streams: HarfBuzz shaping, per-use font subsets, font objects.

Private helper of :mod:`huesign.pki.stamp`.  Text is normalised to NFC, shaped with HarfBuzz
(so combining marks are placed by the font's own mark positioning), and drawn with a Type0
font (``/Identity-H``, one CID per glyph id) whose ``CIDFontType2`` descendant embeds a subset
of the TrueType font holding only the glyphs drawn.  Glyph ids are kept in the subset, so
``/CIDToGIDMap`` is ``/Identity``; ``/W`` gives each glyph's advance in thousandths of an
em, scaled from the font's own units per em; a ``/ToUnicode`` CMap maps each glyph back to
the text it came from, so copying or extracting the text gives the Vietnamese back.

The parsed font and its HarfBuzz face are cached per process and weight: they are immutable.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import unicodedata
from collections.abc import Iterable

import attrs
import uharfbuzz as hb

from huesign.pki.fonts import FontWeight, font_bytes
from huesign.pki.pdfobjects import Name, PDFDict, PDFObject, PDFStream, PDFString, Ref
from huesign.pki.pdfwriter import IncrementalWriter

__all__ = [
    "FontMetrics",
    "GlyphRun",
    "ShapedGlyph",
    "ShapingFace",
    "TextFont",
    "font_metrics",
    "shape",
    "subset_font",
    "to_unicode_cmap",
    "widths_array",
]

_MAX_TEXT = 2000


@attrs.frozen(kw_only=True)
class FontMetrics:
    """What the PDF font descriptor needs, read once per weight.

    Lengths are in thousandths of an em (PDF glyph space).
    """

    weight: FontWeight
    postscript_name: str
    units_per_em: int
    ascent: float
    descent: float
    cap_height: float
    bbox: tuple[float, float, float, float]
    italic_angle: float
    bold: bool


@attrs.frozen(kw_only=True)
class ShapedGlyph:
    """One glyph placed by HarfBuzz, in thousandths of an em.

    Attributes:
        gid: glyph id (also the CID written in the content stream).
        advance: horizontal advance after shaping.
        x_offset, y_offset: displacement of the glyph from the pen (marks use these).
        text: the characters of the cluster this glyph starts ("" for later glyphs).
    """

    gid: int
    advance: float
    x_offset: float
    y_offset: float
    text: str


@attrs.frozen(kw_only=True)
class GlyphRun:
    """A shaped line of text in one weight."""

    text: str
    weight: FontWeight
    glyphs: tuple[ShapedGlyph, ...]
    #: Advance width in thousandths of an em (multiply by size / 1000 for points).
    width: float = attrs.field(init=False)

    @width.default
    def _width(self) -> float:
        return sum(g.advance for g in self.glyphs)


@attrs.frozen
class ShapingFace:
    """A parsed TrueType font: its HarfBuzz face and font, and its units per em."""

    face: hb.Face
    font: hb.Font
    upem: int

    @classmethod
    def from_bytes(cls, data: bytes) -> ShapingFace:
        """Parse a TrueType font file."""
        face = hb.Face(data)
        if not face.upem or not face.glyph_count:
            raise ValueError("not a usable TrueType font")
        return cls(face, hb.Font(face), face.upem)

    def advance(self, gid: int) -> float:
        """Advance width of glyph ``gid`` in thousandths of an em."""
        units: int = self.font.get_glyph_h_advance(gid)
        return units * 1000.0 / self.upem


@functools.cache
def _face(weight: FontWeight) -> ShapingFace:
    return ShapingFace.from_bytes(font_bytes(weight))


@functools.cache
def font_metrics(weight: FontWeight) -> FontMetrics:
    """Metrics of the shipped font in ``weight`` (parsed once per process)."""
    return _metrics(_face(weight).face, weight)


def _metrics(face: hb.Face, weight: FontWeight) -> FontMetrics:
    head = bytes(face.reference_table("head").data)
    hhea = bytes(face.reference_table("hhea").data)
    post = bytes(face.reference_table("post").data)
    os2 = bytes(face.reference_table("OS/2").data)
    if len(head) < 54 or len(hhea) < 36 or len(post) < 8:
        raise ValueError("the font lacks its head, hhea or post table")  # pragma: no cover
    upem = struct.unpack_from(">H", head, 18)[0]
    x_min, y_min, x_max, y_max = struct.unpack_from(">hhhh", head, 36)
    ascent, descent = struct.unpack_from(">hh", hhea, 4)
    angle = struct.unpack_from(">i", post, 4)[0] / 65536.0
    version = struct.unpack_from(">H", os2, 0)[0] if len(os2) >= 2 else 0
    cap = struct.unpack_from(">h", os2, 88)[0] if version >= 2 and len(os2) >= 90 else 0
    scale = 1000.0 / upem
    name = face.get_name(hb.OTNameIdPredefined.POSTSCRIPT_NAME) or f"NotoSans-{weight.value}"
    return FontMetrics(
        weight=weight,
        postscript_name=str(name),
        units_per_em=upem,
        ascent=ascent * scale,
        descent=descent * scale,
        cap_height=(cap or ascent * 0.7) * scale,
        bbox=(x_min * scale, y_min * scale, x_max * scale, y_max * scale),
        italic_angle=angle,
        bold=weight is FontWeight.BOLD,
    )


def shape(text: str, weight: FontWeight = FontWeight.REGULAR) -> GlyphRun:
    """Shape one line of ``text`` (normalised to NFC) with HarfBuzz.

    Results are immutable and cached per process (stamps reshape the same words while
    fitting, and the same labels on every signature).

    Raises:
        ValueError: the text is longer than a stamp line can hold or has a line break.
    """
    return _shape(unicodedata.normalize("NFC", text), weight)


@functools.lru_cache(maxsize=4096)
def _shape(text: str, weight: FontWeight) -> GlyphRun:
    if len(text) > _MAX_TEXT:
        raise ValueError(f"a line of stamp text is limited to {_MAX_TEXT} characters")
    if "\n" in text or "\r" in text:
        raise ValueError("a line of stamp text cannot contain a line break")
    f = _face(weight)
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    hb.shape(f.font, buf, {})
    scale = 1000.0 / f.upem
    infos, positions = buf.glyph_infos, buf.glyph_positions
    # Cluster values are indices into the code points of ``text``.
    starts = sorted({info.cluster for info in infos})
    ends = dict(zip(starts, [*starts[1:], len(text)], strict=True))
    glyphs: list[ShapedGlyph] = []
    seen: set[int] = set()
    for info, pos in zip(infos, positions, strict=True):
        first = info.cluster not in seen
        seen.add(info.cluster)
        glyphs.append(
            ShapedGlyph(
                gid=info.codepoint,
                advance=pos.x_advance * scale,
                x_offset=pos.x_offset * scale,
                y_offset=pos.y_offset * scale,
                text=text[info.cluster : ends[info.cluster]] if first else "",
            )
        )
    return GlyphRun(text=text, weight=weight, glyphs=tuple(glyphs))


class TextFont:
    """The glyphs one appearance draws in one weight, turned into PDF objects at the end.

    A short-lived accumulator: :meth:`show` returns content-stream operators for a run and
    records its glyphs; :meth:`add_to` writes the subset font and its dictionaries.
    """

    def __init__(self, weight: FontWeight, resource_name: str) -> None:
        self.weight = weight
        self.resource_name = resource_name
        self._unicode: dict[int, str] = {}

    @property
    def used(self) -> bool:
        """Whether any glyph has been drawn with this font."""
        return bool(self._unicode)

    def show(self, run: GlyphRun, *, x: float, y: float, size: float) -> bytes:
        """Operators that draw ``run`` with its baseline starting at ``(x, y)``.

        Glyphs without offsets go into ``TJ`` arrays (with adjustments where shaping changed
        the advance); a glyph that shaping displaced (a mark) is placed on its own.  The
        line is wrapped in an ``/ActualText`` span so extraction returns exactly the text.
        """
        if run.weight is not self.weight:
            raise ValueError("the run was shaped with another weight")
        for g in run.glyphs:
            if g.text and g.gid not in self._unicode:
                self._unicode[g.gid] = g.text
            self._unicode.setdefault(g.gid, "")
        out = [
            b"/Span <</ActualText " + _utf16_hex(run.text) + b">> BDC\n",
            b"BT /%s %s Tf\n" % (self.resource_name.encode("ascii"), _num(size)),
        ]
        pen = 0.0
        segment: list[bytes] = []

        def flush() -> None:
            if segment:
                out.append(b"[" + b"".join(segment) + b"] TJ\n")
                segment.clear()

        for g in run.glyphs:
            if g.x_offset or g.y_offset or not segment:
                flush()
                gx = x + (pen + g.x_offset) * size / 1000.0
                gy = y + g.y_offset * size / 1000.0
                out.append(b"1 0 0 1 %s %s Tm\n" % (_num(gx), _num(gy)))
                segment.append(b"<%04X>" % g.gid)
                if g.x_offset or g.y_offset:
                    flush()
                    # The next glyph restarts from the pen, not from the displaced mark.
            else:
                segment.append(b"<%04X>" % g.gid)
            adjust = _face(self.weight).advance(g.gid) - g.advance
            if segment and abs(adjust) > 0.001:
                segment.append(b" " + _num(adjust) + b" ")
            pen += g.advance
        flush()
        out.append(b"ET\nEMC\n")
        return b"".join(out)

    def add_to(self, writer: IncrementalWriter) -> Ref:
        """Write the subset font, its descriptor, widths and ``/ToUnicode``; return the font."""
        if not self.used:
            raise ValueError("no glyph was drawn with this font")
        metrics = font_metrics(self.weight)
        gids = sorted(self._unicode)
        subset = subset_font(_face(self.weight), gids)
        tag = _subset_tag(gids, self.weight)
        base_name = f"{tag}+{metrics.postscript_name}"
        file_ref = writer.add(PDFStream(PDFDict({"Length1": len(subset)}), subset))
        descriptor = PDFDict(
            {
                "Type": Name("FontDescriptor"),
                "FontName": Name(base_name),
                "Flags": 4,
                "FontBBox": tuple(round(v) for v in metrics.bbox),
                "ItalicAngle": metrics.italic_angle,
                "Ascent": round(metrics.ascent),
                "Descent": round(metrics.descent),
                "CapHeight": round(metrics.cap_height),
                "StemV": 120 if metrics.bold else 80,
                "FontFile2": file_ref,
            }
        )
        cid_font = PDFDict(
            {
                "Type": Name("Font"),
                "Subtype": Name("CIDFontType2"),
                "BaseFont": Name(base_name),
                "CIDSystemInfo": PDFDict(
                    {
                        "Registry": PDFString(b"Adobe"),
                        "Ordering": PDFString(b"Identity"),
                        "Supplement": 0,
                    }
                ),
                "FontDescriptor": writer.add(descriptor),
                "DW": 1000,
                "W": widths_array(_face(self.weight), gids),
                "CIDToGIDMap": Name("Identity"),
            }
        )
        to_unicode = writer.add(PDFStream(PDFDict(), to_unicode_cmap(self._unicode)))
        return writer.add(
            PDFDict(
                {
                    "Type": Name("Font"),
                    "Subtype": Name("Type0"),
                    "BaseFont": Name(base_name),
                    "Encoding": Name("Identity-H"),
                    "DescendantFonts": (writer.add(cid_font),),
                    "ToUnicode": to_unicode,
                }
            )
        )


def widths_array(face: ShapingFace, gids: Iterable[int]) -> tuple[PDFObject, ...]:
    """The ``/W`` array for ``gids``: advances in thousandths of an em, runs grouped."""
    out: list[PDFObject] = []
    run_start: int | None = None
    run: list[PDFObject] = []
    previous = -2
    for gid in sorted(set(gids)):
        width = round(face.advance(gid), 3)
        value: PDFObject = int(width) if width == int(width) else width
        if gid != previous + 1 and run_start is not None:
            out += [run_start, tuple(run)]
            run = []
            run_start = None
        if run_start is None:
            run_start = gid
        run.append(value)
        previous = gid
    if run_start is not None:
        out += [run_start, tuple(run)]
    return tuple(out)


def to_unicode_cmap(mapping: dict[int, str]) -> bytes:
    """A ``/ToUnicode`` CMap mapping two-byte CIDs to the text they stand for."""
    entries = [(gid, text) for gid, text in sorted(mapping.items()) if text]
    lines = [
        b"/CIDInit /ProcSet findresource begin",
        b"12 dict begin",
        b"begincmap",
        b"/CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def",
        b"/CMapName /Adobe-Identity-UCS def",
        b"/CMapType 2 def",
        b"1 begincodespacerange",
        b"<0000> <FFFF>",
        b"endcodespacerange",
    ]
    for i in range(0, len(entries), 100):
        chunk = entries[i : i + 100]
        lines.append(b"%d beginbfchar" % len(chunk))
        for gid, text in chunk:
            lines.append(b"<%04X> <%s>" % (gid, text.encode("utf-16-be").hex().upper().encode()))
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines) + b"\n"


def subset_font(face: ShapingFace, gids: Iterable[int]) -> bytes:
    """A subset of ``face`` holding glyph 0 and ``gids``, glyph ids unchanged."""
    # HarfBuzz's subsetter keeps glyph ids in place and runs in well under a millisecond;
    # fontTools' takes tens of milliseconds for the same job.
    plan = hb.SubsetInput()
    for gid in (0, *gids):
        plan.glyph_set.add(gid)
    plan.flags = hb.SubsetFlags.RETAIN_GIDS
    subset = hb.subset(face.face, plan)
    if subset is None:
        raise ValueError("the font could not be subset")  # pragma: no cover
    return bytes(subset.blob.data)


def _subset_tag(gids: list[int], weight: FontWeight) -> str:
    seed = weight.value.encode("ascii") + b"".join(g.to_bytes(4, "big") for g in gids)
    value = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")
    letters = []
    for _ in range(6):
        value, r = divmod(value, 26)
        letters.append(chr(ord("A") + r))
    return "".join(letters)


def _utf16_hex(text: str) -> bytes:
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _num(value: float) -> bytes:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode("ascii")
