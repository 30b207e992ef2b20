"""Where a visible signature goes: a rectangle, an existing field, or next to some text.

Private helper of :mod:`huesign.pki.stamp` (its public names are re-exported there).
Text anchors are found by interpreting the text operators of a page's content streams:
fonts with a ``/ToUnicode`` CMap (such as the ``/Identity-H`` fonts fpdf2 writes) and simple
fonts in ``WinAnsiEncoding`` or the standard encoding.  Text inside form XObjects is not
searched.
"""

from __future__ import annotations

import enum
import re
import unicodedata

import attrs

from huesign.errors import PDFFormatError
from huesign.pki.pdffields import iter_fields, page_refs
from huesign.pki.pdfobjects import (
    Name,
    PDFDict,
    PDFObject,
    PDFStream,
    PDFString,
    Ref,
    parse_object,
    read_token,
    skip_whitespace,
)
from huesign.pki.pdfreader import PDFReader

__all__ = [
    "MAX_CONTENT_OPERATIONS",
    "AnchorPlacement",
    "AnchorPosition",
    "FieldPlacement",
    "Placement",
    "RectPlacement",
    "ResolvedPlacement",
    "TextBox",
    "find_text",
    "resolve_placement",
]

#: Most content-stream operations read on one page while looking for an anchor.
MAX_CONTENT_OPERATIONS = 100_000
_MIN_SIDE = 10.0

Rect = tuple[float, float, float, float]


def _rect(value: tuple[float, float, float, float]) -> Rect:
    x1, y1, x2, y2 = (float(v) for v in value)
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _check_rect(_inst: object, _attr: object, rect: Rect) -> None:
    if rect[2] - rect[0] < _MIN_SIDE or rect[3] - rect[1] < _MIN_SIDE:
        raise ValueError(f"a stamp rectangle must be at least {_MIN_SIDE} points on each side")


@attrs.frozen(kw_only=True)
class RectPlacement:
    """The stamp at a fixed rectangle.

    Attributes:
        page: zero-based page index.
        rect: ``(x1, y1, x2, y2)`` in PDF points (normalised so that x1 < x2, y1 < y2).
    """

    page: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    rect: Rect = attrs.field(converter=_rect, validator=_check_rect)


@attrs.frozen(kw_only=True)
class FieldPlacement:
    """The stamp in an existing empty signature field (its ``/Rect``, on its page).

    Attributes:
        name: the field's fully qualified name.
    """

    name: str = attrs.field(validator=attrs.validators.min_len(1))


class AnchorPosition(enum.Enum):
    """Where the stamp goes relative to the anchor text."""

    BELOW = "below"
    RIGHT = "right"
    OVER = "over"


def _size(value: tuple[float, float]) -> tuple[float, float]:
    w, h = (float(v) for v in value)
    if w < _MIN_SIDE or h < _MIN_SIDE:
        raise ValueError(f"a stamp must be at least {_MIN_SIDE} points on each side")
    return (w, h)


@attrs.frozen(kw_only=True)
class AnchorPlacement:
    """The stamp placed relative to the first occurrence of ``text`` on a page.

    Attributes:
        text: the text to look for (compared after NFC normalisation, spaces collapsed).
        page: the page to search, or ``None`` to search every page in order.
        position: below the text (left edges aligned), to its right (top edges aligned) or
            over it (centred on it).
        size: ``(width, height)`` of the stamp in points.
        offset: ``(dx, dy)`` added to the computed position, in points.
        gap: distance between the text and the stamp for ``BELOW`` and ``RIGHT``.
    """

    text: str = attrs.field(validator=attrs.validators.min_len(1))
    page: int | None = None
    position: AnchorPosition = AnchorPosition.BELOW
    size: tuple[float, float] = attrs.field(default=(220.0, 80.0), converter=_size)
    offset: tuple[float, float] = (0.0, 0.0)
    gap: float = 4.0


Placement = RectPlacement | FieldPlacement | AnchorPlacement


@attrs.frozen(kw_only=True)
class ResolvedPlacement:
    """Where a stamp lands in one particular document.

    Attributes:
        page_index: zero-based page index.
        rect: ``(x1, y1, x2, y2)`` in PDF points.
        field_name: the existing signature field to fill, or ``None`` for a new field.
    """

    page_index: int
    rect: Rect
    field_name: str | None = None


@attrs.frozen(kw_only=True)
class TextBox:
    """Text found on a page and its bounding box in default user space."""

    page_index: int
    text: str
    rect: Rect


def resolve_placement(placement: Placement, reader: PDFReader) -> ResolvedPlacement:
    """Turn ``placement`` into a page and rectangle of the document ``reader`` reads.

    Raises:
        ValueError: the page, field or text does not exist, or the stamp leaves the page.
        PDFFormatError: the document is malformed.
    """
    if isinstance(placement, RectPlacement):
        pages = page_refs(reader, stop_after=placement.page + 1)
        if placement.page >= len(pages):
            raise ValueError(f"the document has no page {placement.page}")
        return ResolvedPlacement(page_index=placement.page, rect=placement.rect)
    if isinstance(placement, FieldPlacement):
        return _resolve_field(placement, reader)
    found = find_text(reader, placement.text, page=placement.page)
    if found is None:
        raise ValueError(f"the text {placement.text!r} does not appear in the document")
    rect = _beside(found.rect, placement)
    box = _media_box(reader, page_refs(reader, stop_after=found.page_index + 1)[-1])
    if rect[0] < box[0] or rect[1] < box[1] or rect[2] > box[2] or rect[3] > box[3]:
        raise ValueError(
            f"a stamp {placement.position.value} the text {placement.text!r} would leave "
            "the page; choose another position, a smaller size or an offset"
        )
    return ResolvedPlacement(page_index=found.page_index, rect=rect)


def _beside(anchor: Rect, placement: AnchorPlacement) -> Rect:
    w, h = placement.size
    dx, dy = placement.offset
    ax1, ay1, ax2, ay2 = anchor
    if placement.position is AnchorPosition.BELOW:
        x, top = ax1, ay1 - placement.gap
    elif placement.position is AnchorPosition.RIGHT:
        x, top = ax2 + placement.gap, ay2
    else:
        x, top = (ax1 + ax2 - w) / 2, (ay1 + ay2 + h) / 2
    return (x + dx, top - h + dy, x + w + dx, top + dy)


def _resolve_field(placement: FieldPlacement, reader: PDFReader) -> ResolvedPlacement:
    field = next((f for f in iter_fields(reader) if f.name == placement.name), None)
    if field is None:
        raise ValueError(f"the document has no field {placement.name!r}")
    if field.field_type != "Sig" or field.value is not None:
        raise ValueError(f"field {placement.name!r} is not an empty signature field")
    widget_ref = field.widgets[0]
    widget = reader.get_dict(widget_ref)
    rect = reader.resolve(widget.get("Rect"))
    if not (isinstance(rect, tuple) and len(rect) == 4):
        raise PDFFormatError(f"field {placement.name!r} has no valid /Rect")
    numbers = tuple(float(v) for v in rect if isinstance(v, (int, float)))
    if len(numbers) != 4:
        raise PDFFormatError(f"field {placement.name!r} has no valid /Rect")
    pages = page_refs(reader)
    page_ref = widget.get("P")
    index = pages.index(page_ref) if isinstance(page_ref, Ref) and page_ref in pages else None
    if index is None:
        index = next(
            (i for i, p in enumerate(pages) if widget_ref in _annots(reader, p)),
            None,
        )
    if index is None:
        raise ValueError(f"field {placement.name!r} is not on any page")
    return ResolvedPlacement(
        page_index=index,
        rect=_rect((numbers[0], numbers[1], numbers[2], numbers[3])),
        field_name=placement.name,
    )


def _annots(reader: PDFReader, page: Ref) -> tuple[PDFObject, ...]:
    annots = reader.resolve(reader.get_dict(page).get("Annots"))
    return annots if isinstance(annots, tuple) else ()


def _media_box(reader: PDFReader, page: Ref) -> Rect:
    node: PDFObject = page
    for _ in range(64):
        d = reader.get_dict(node)
        box = reader.resolve(d.get("MediaBox"))
        if isinstance(box, tuple) and len(box) == 4:
            values = [float(v) for v in box if isinstance(v, (int, float))]
            if len(values) == 4:
                return _rect((values[0], values[1], values[2], values[3]))
        parent = d.get("Parent")
        if parent is None:
            break
        node = parent
    return (0.0, 0.0, 612.0, 792.0)


# --- finding text ------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def find_text(reader: PDFReader, text: str, *, page: int | None = None) -> TextBox | None:
    """The first occurrence of ``text`` on page ``page`` (or on any page), or ``None``.

    Raises:
        PDFFormatError: a content stream is malformed or too long.
    """
    wanted = _normalise(text)
    if not wanted:
        raise ValueError("the anchor text is empty")
    pages = page_refs(reader, stop_after=None if page is None else page + 1)
    indices = range(len(pages)) if page is None else [page]
    for index in indices:
        if index >= len(pages):
            raise ValueError(f"the document has no page {index}")
        chars = _PageText(reader, pages[index]).run()
        found = _search(chars, wanted)
        if found is not None:
            return TextBox(page_index=index, text=wanted, rect=found)
    return None


@attrs.frozen
class _Char:
    text: str
    x1: float
    y1: float
    x2: float
    y2: float


def _search(chars: list[_Char], wanted: str) -> Rect | None:
    # Build the page text with the char that produced each position, spaces collapsed.
    flat: list[str] = []
    owners: list[int] = []
    for i, ch in enumerate(chars):
        for c in unicodedata.normalize("NFC", ch.text):
            if c.isspace():
                if flat and flat[-1] == " ":
                    continue
                c = " "
            flat.append(c)
            owners.append(i)
    haystack = "".join(flat)
    at = haystack.find(wanted)
    if at < 0:
        return None
    hit = [chars[i] for i in sorted(set(owners[at : at + len(wanted)]))]
    hit = [c for c in hit if not c.text.isspace()] or hit
    return (
        min(c.x1 for c in hit),
        min(c.y1 for c in hit),
        max(c.x2 for c in hit),
        max(c.y2 for c in hit),
    )


_Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _mul(m: _Matrix, n: _Matrix) -> _Matrix:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _apply(m: _Matrix, x: float, y: float) -> tuple[float, float]:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


@attrs.define
class _Font:
    two_byte: bool
    unicode: dict[bytes, str]
    widths: dict[int, float]
    default_width: float
    encoding: str

    def decode(self, data: bytes) -> list[tuple[int, str]]:
        step = 2 if self.two_byte else 1
        out: list[tuple[int, str]] = []
        for i in range(0, len(data) - step + 1, step):
            code_bytes = data[i : i + step]
            code = int.from_bytes(code_bytes, "big")
            text = self.unicode.get(code_bytes)
            if text is None:
                text = "" if self.two_byte else code_bytes.decode(self.encoding, "replace")
            out.append((code, text))
        return out


@attrs.define
class _State:
    ctm: _Matrix = _IDENTITY
    font: str | None = None
    size: float = 0.0
    char_space: float = 0.0
    word_space: float = 0.0
    scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0


class _PageText:
    """Interprets one page's text operators and collects each shown character's box."""

    def __init__(self, reader: PDFReader, page: Ref) -> None:
        self.reader = reader
        self.page = reader.get_dict(page)
        self.fonts: dict[str, _Font] = {}
        self.chars: list[_Char] = []
        self.state = _State()
        self.stack: list[_State] = []
        self.tm: _Matrix = _IDENTITY
        self.tlm: _Matrix = _IDENTITY

    def _content(self) -> bytes:
        contents = self.reader.resolve(self.page.get("Contents"))
        parts = contents if isinstance(contents, tuple) else (contents,)
        data: list[bytes] = []
        for part in parts:
            stream = self.reader.resolve(part)
            if isinstance(stream, PDFStream):
                data.append(self.reader.stream_data(stream))
        return b"\n".join(data) + b" "

    def run(self) -> list[_Char]:
        buf = self._content()
        pos = 0
        operands: list[PDFObject] = []
        for _ in range(MAX_CONTENT_OPERATIONS):
            pos = skip_whitespace(buf, pos)
            if pos >= len(buf) - 1:
                return self.chars
            c = buf[pos : pos + 1]
            if c in b"/(<[" or c in b"+-.0123456789":
                obj, pos = parse_object(buf, pos)
                operands.append(obj)
                if len(operands) > 64:
                    raise PDFFormatError("a content-stream operator has too many operands")
                continue
            token, end = read_token(buf, pos)
            if not token:
                raise PDFFormatError(f"unexpected byte {c!r} in a content stream")
            pos = end
            if token == b"BI":
                stop = re.compile(rb"\sEI(?=[\s]|$)").search(buf, pos)
                pos = stop.end() if stop else len(buf)
            else:
                self._op(token, operands)
            operands = []
        raise PDFFormatError(f"a page has more than {MAX_CONTENT_OPERATIONS} operations")

    def _op(self, op: bytes, args: list[PDFObject]) -> None:
        nums = [float(a) for a in args if isinstance(a, (int, float))]
        st = self.state
        if op == b"q":
            self.stack.append(attrs.evolve(st))
        elif op == b"Q" and self.stack:
            self.state = self.stack.pop()
        elif op == b"cm" and len(nums) == 6:
            st.ctm = _mul((nums[0], nums[1], nums[2], nums[3], nums[4], nums[5]), st.ctm)
        elif op == b"BT":
            self.tm = self.tlm = _IDENTITY
        elif op == b"Tf" and len(args) == 2 and isinstance(args[0], Name) and nums:
            st.font, st.size = args[0].value, nums[-1]
        elif op == b"Tc" and nums:
            st.char_space = nums[0]
        elif op == b"Tw" and nums:
            st.word_space = nums[0]
        elif op == b"Tz" and nums:
            st.scale = nums[0] / 100.0
        elif op == b"TL" and nums:
            st.leading = nums[0]
        elif op == b"Ts" and nums:
            st.rise = nums[0]
        elif op in (b"Td", b"TD") and len(nums) == 2:
            if op == b"TD":
                st.leading = -nums[1]
            self.tm = self.tlm = _mul((1.0, 0.0, 0.0, 1.0, nums[0], nums[1]), self.tlm)
        elif op == b"Tm" and len(nums) == 6:
            self.tm = self.tlm = (nums[0], nums[1], nums[2], nums[3], nums[4], nums[5])
        elif op == b"T*":
            self._next_line()
        elif op == b"Tj" and args and isinstance(args[0], PDFString):
            self._show(args[0].data)
        elif op == b"'" and args and isinstance(args[-1], PDFString):
            self._next_line()
            self._show(args[-1].data)
        elif op == b'"' and len(args) == 3 and isinstance(args[2], PDFString):
            st.word_space, st.char_space = nums[0], nums[1]
            self._next_line()
            self._show(args[2].data)
        elif op == b"TJ" and args and isinstance(args[0], tuple):
            for item in args[0]:
                if isinstance(item, PDFString):
                    self._show(item.data)
                elif isinstance(item, (int, float)):
                    shift = -float(item) / 1000.0 * st.size * st.scale
                    self.tm = _mul((1.0, 0.0, 0.0, 1.0, shift, 0.0), self.tm)

    def _next_line(self) -> None:
        self.tm = self.tlm = _mul((1.0, 0.0, 0.0, 1.0, 0.0, -self.state.leading), self.tlm)

    def _font(self) -> _Font | None:
        name = self.state.font
        if name is None:
            return None
        if name not in self.fonts:
            self.fonts[name] = _load_font(self.reader, self.page, name)
        return self.fonts[name]

    def _show(self, data: bytes) -> None:
        font = self._font()
        st = self.state
        if font is None or st.size == 0:
            return
        for code, text in font.decode(data):
            width = font.widths.get(code, font.default_width) / 1000.0
            advance = (width * st.size + st.char_space) * st.scale
            if text == " " and not font.two_byte:
                advance += st.word_space * st.scale
            trm = _mul(self.tm, st.ctm)
            x1, y1 = _apply(trm, 0.0, st.rise - 0.2 * st.size)
            x2, y2 = _apply(trm, width * st.size * st.scale, st.rise + 0.8 * st.size)
            self.chars.append(_Char(text, min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
            self.tm = _mul((1.0, 0.0, 0.0, 1.0, advance, 0.0), self.tm)


def _load_font(reader: PDFReader, page: PDFDict, name: str) -> _Font:
    resources = _inherited(reader, page, "Resources")
    fonts = reader.resolve(resources.get("Font")) if resources else None
    font_obj = fonts.get(name) if isinstance(fonts, PDFDict) else None
    if font_obj is None:
        return _Font(False, {}, {}, 500.0, "cp1252")
    font = reader.get_dict(font_obj)
    unicode = _read_cmap(reader, font.get("ToUnicode"))
    two_byte = font.get("Subtype") == Name("Type0")
    widths: dict[int, float] = {}
    default = 1000.0 if two_byte else 500.0
    if two_byte:
        descendants = reader.resolve(font.get("DescendantFonts"))
        if isinstance(descendants, tuple) and descendants:
            cid = reader.get_dict(descendants[0])
            dw = reader.resolve(cid.get("DW"))
            default = float(dw) if isinstance(dw, (int, float)) else 1000.0
            _cid_widths(reader.resolve(cid.get("W")), widths, reader)
    else:
        first = reader.resolve(font.get("FirstChar"))
        array = reader.resolve(font.get("Widths"))
        if isinstance(first, int) and isinstance(array, tuple):
            for i, w in enumerate(array[:256]):
                w = reader.resolve(w)
                if isinstance(w, (int, float)):
                    widths[first + i] = float(w)
        else:
            default = 600.0  # a standard 14 font without widths: a rough monospaced guess
    encoding = font.get("Encoding")
    codec = "latin-1" if encoding == Name("StandardEncoding") else "cp1252"
    return _Font(two_byte, unicode, widths, default, codec)


def _inherited(reader: PDFReader, page: PDFDict, key: str) -> PDFDict | None:
    node: PDFDict | None = page
    for _ in range(64):
        if node is None:
            return None
        value = reader.resolve(node.get(key))
        if isinstance(value, PDFDict):
            return value
        parent = node.get("Parent")
        node = reader.get_dict(parent) if parent is not None else None
    return None


def _cid_widths(array: PDFObject, widths: dict[int, float], reader: PDFReader) -> None:
    if not isinstance(array, tuple):
        return
    items = [reader.resolve(i) for i in array[:20_000]]
    i = 0
    while i + 1 < len(items):
        first, nxt = items[i], items[i + 1]
        if isinstance(first, int) and isinstance(nxt, tuple):
            for k, w in enumerate(nxt[:65536]):
                if isinstance(w, (int, float)):
                    widths[first + k] = float(w)
            i += 2
        elif i + 2 < len(items) and isinstance(first, int) and isinstance(nxt, int):
            w = items[i + 2]
            if isinstance(w, (int, float)) and 0 <= nxt - first <= 65536:
                for code in range(first, nxt + 1):
                    widths[code] = float(w)
            i += 3
        else:
            return


_CMAP_BLOCK = re.compile(rb"begin(bfchar|bfrange)(.*?)end\1", re.S)
_HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>|\[([^\]]*)\]")


def _read_cmap(reader: PDFReader, ref: PDFObject) -> dict[bytes, str]:
    stream = reader.resolve(ref)
    if not isinstance(stream, PDFStream):
        return {}
    data = reader.stream_data(stream)
    out: dict[bytes, str] = {}
    for kind, body in _CMAP_BLOCK.findall(data):
        values: list[bytes | list[bytes]] = []
        for hex_digits, array in _HEX.findall(body):
            if array:
                values.append([_hex(h) for h in re.findall(rb"<([0-9A-Fa-f\s]*)>", array)])
            else:
                values.append(_hex(hex_digits))
        step = 2 if kind == b"bfchar" else 3
        for i in range(0, len(values) - step + 1, step):
            group = values[i : i + step]
            if not isinstance(group[0], bytes) or not isinstance(group[1], bytes):
                continue
            if kind == b"bfchar":
                out[group[0]] = _utf16(group[1])
                continue
            lo, hi, dst = group[0], group[1], group[2]
            start, end = int.from_bytes(lo, "big"), int.from_bytes(hi, "big")
            if not 0 <= end - start <= 65536 or not lo:
                continue
            for k in range(end - start + 1):
                code = (start + k).to_bytes(len(lo), "big")
                if isinstance(dst, list):
                    if k < len(dst):
                        out[code] = _utf16(dst[k])
                elif dst:
                    base = int.from_bytes(dst, "big")
                    out[code] = _utf16((base + k).to_bytes(len(dst), "big"))
    return out


def _hex(digits: bytes) -> bytes:
    clean = re.sub(rb"\s", b"", digits)
    if len(clean) % 2:
        clean += b"0"
    return bytes.fromhex(clean.decode("ascii"))


def _utf16(data: bytes) -> str:
    return data.decode("utf-16-be", errors="replace")
