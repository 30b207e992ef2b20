"""The PDF object model as small immutable values, with a serializer and a bounded parser.

This is a lower layer under PAdES.  The eight PDF object kinds map to Python values:

==============  ==========================================
PDF             Python
==============  ==========================================
null            ``None``
boolean         ``bool``
integer         ``int``
real            ``float``
name            :class:`Name`
string          :class:`PDFString` (literal or hex)
array           ``tuple`` of objects
dictionary      :class:`PDFDict` (keys are names without the slash)
stream          :class:`PDFStream`
reference       :class:`Ref`
==============  ==========================================

The parser never recurses deeper than a named limit and reports every problem as
:class:`~huesign.errors.PDFFormatError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Union

import attrs

from huesign.errors import PDFFormatError

__all__ = [
    "MAX_NESTING_DEPTH",
    "Name",
    "NeedMoreData",
    "PDFDict",
    "PDFObject",
    "PDFStream",
    "PDFString",
    "Ref",
    "parse_object",
    "read_token",
    "serialize",
    "skip_whitespace",
]

#: Deepest nesting of arrays and dictionaries the parser accepts.
MAX_NESTING_DEPTH = 64


@attrs.frozen
class Name:
    """A PDF name such as ``/Type``; :attr:`value` is the decoded text without the slash."""

    value: str

    def __str__(self) -> str:
        return "/" + self.value


@attrs.frozen
class PDFString:
    """A PDF string: raw bytes, written literally ``(...)`` or as hex ``<...>``."""

    data: bytes
    hex: bool = False

    def text(self) -> str:
        """Decode as a PDF text string (UTF-16BE with BOM, UTF-8 with BOM, else Latin-1)."""
        if self.data.startswith(b"\xfe\xff"):
            return self.data[2:].decode("utf-16-be", errors="replace")
        if self.data.startswith(b"\xef\xbb\xbf"):
            return self.data[3:].decode("utf-8", errors="replace")
        return self.data.decode("latin-1")

    @classmethod
    def from_text(cls, text: str) -> PDFString:
        """Encode text as a PDF text string (ASCII as is, anything else as UTF-16BE)."""
        if text.isascii():
            return cls(text.encode("ascii"))
        return cls(b"\xfe\xff" + text.encode("utf-16-be"))


@attrs.frozen(order=True)
class Ref:
    """An indirect reference ``num gen R``."""

    num: int
    gen: int = 0

    def __str__(self) -> str:
        return f"{self.num} {self.gen} R"


class PDFDict(Mapping[str, "PDFObject"]):
    """An immutable PDF dictionary; keys are names without the slash, in insertion order."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, PDFObject] | None = None, /) -> None:
        self._items: dict[str, PDFObject] = dict(items or {})

    def __getitem__(self, key: str) -> PDFObject:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PDFDict):
            return self._items == other._items
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"PDFDict({self._items!r})"

    def updated(self, **changes: PDFObject) -> PDFDict:
        """Return a copy with ``changes`` set (a value of ``None`` removes the key)."""
        items = dict(self._items)
        for key, value in changes.items():
            if value is None:
                items.pop(key, None)
            else:
                items[key] = value
        return PDFDict(items)


@attrs.frozen
class PDFStream:
    """A stream: its dictionary and its raw (still encoded) bytes.

    Streams read from a file carry :attr:`span`, the ``(offset, length)`` of the data in the
    file, and empty :attr:`data`: the reader loads data only on request, within its limits.
    """

    dictionary: PDFDict
    data: bytes = b""
    span: tuple[int, int] | None = None


PDFObject = Union[  # noqa: UP007 - a runtime alias used in isinstance-free annotations
    None, bool, int, float, Name, PDFString, tuple["PDFObject", ...], PDFDict, PDFStream, Ref
]

# --- serializing -------------------------------------------------------------------------

_NAME_SAFE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_+*,;:=!?'@&^~|`\"$"
)
_LITERAL_ESCAPES = MappingProxyType(
    {
        ord("("): b"\\(",
        ord(")"): b"\\)",
        ord("\\"): b"\\\\",
        ord("\r"): b"\\r",
        ord("\n"): b"\\n",
    }
)


def _name_bytes(value: str) -> bytes:
    raw = value.encode("utf-8")
    return b"/" + b"".join(bytes([c]) if c in _NAME_SAFE else b"#%02X" % c for c in raw)


def _string_bytes(s: PDFString) -> bytes:
    if s.hex:
        return b"<" + s.data.hex().upper().encode("ascii") + b">"
    return b"(" + b"".join(_LITERAL_ESCAPES.get(c, bytes([c])) for c in s.data) + b")"


def _real_bytes(value: float) -> bytes:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("PDF reals must be finite")
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode("ascii")


def serialize(obj: PDFObject) -> bytes:
    """Return the PDF syntax of ``obj`` (a stream gets its ``/Length`` set to its data).

    Raises:
        TypeError: ``obj`` is not a PDF object.
    """
    out: list[bytes] = []
    _serialize_into(obj, out)
    return b"".join(out)


def _serialize_into(obj: PDFObject, out: list[bytes]) -> None:
    if obj is None:
        out.append(b"null")
    elif obj is True:
        out.append(b"true")
    elif obj is False:
        out.append(b"false")
    elif isinstance(obj, int):
        out.append(b"%d" % obj)
    elif isinstance(obj, float):
        out.append(_real_bytes(obj))
    elif isinstance(obj, Name):
        out.append(_name_bytes(obj.value))
    elif isinstance(obj, PDFString):
        out.append(_string_bytes(obj))
    elif isinstance(obj, Ref):
        out.append(b"%d %d R" % (obj.num, obj.gen))
    elif isinstance(obj, tuple):
        out.append(b"[")
        for i, item in enumerate(obj):
            if i:
                out.append(b" ")
            _serialize_into(item, out)
        out.append(b"]")
    elif isinstance(obj, PDFDict):
        out.append(b"<<")
        for key, value in obj.items():
            out.append(_name_bytes(key))
            out.append(b" ")
            _serialize_into(value, out)
        out.append(b">>")
    elif isinstance(obj, PDFStream):
        _serialize_into(obj.dictionary.updated(Length=len(obj.data)), out)
        out.append(b"\nstream\n")
        out.append(obj.data)
        out.append(b"\nendstream")
    else:
        raise TypeError(f"not a PDF object: {type(obj).__name__}")


# --- parsing -----------------------------------------------------------------------------

_WS = b" \t\r\n\f\x00"
_DELIMS = b"()<>[]{}/%"
_TOKEN_RE = re.compile(rb"[^ \t\r\n\f\x00()<>\[\]{}/%]*")
_SKIP_RE = re.compile(rb"(?:[ \t\r\n\f\x00]+|%[^\r\n]*)*")
_INT_RE = re.compile(rb"[+-]?\d+\Z")
_REAL_RE = re.compile(rb"[+-]?(?:\d+\.\d*|\.\d+|\d+)\Z")
_REF_RE = re.compile(
    rb"[ \t\r\n\f\x00]*(\d{1,10})[ \t\r\n\f\x00]+(\d{1,5})[ \t\r\n\f\x00]+R"
    rb"(?![^ \t\r\n\f\x00()<>\[\]{}/%])"
)
_NAME_ESCAPE_RE = re.compile(rb"#([0-9A-Fa-f]{2})")
_HEX_RE = re.compile(rb"<([0-9A-Fa-f \t\r\n\f\x00]*)>")
_ESCAPES = MappingProxyType(
    {
        ord("n"): b"\n",
        ord("r"): b"\r",
        ord("t"): b"\t",
        ord("b"): b"\b",
        ord("f"): b"\f",
    }
)


class NeedMoreData(PDFFormatError):
    """The parse ran off the end of the window it was given (the reader retries larger)."""


def skip_whitespace(buf: bytes, pos: int) -> int:
    """Return the offset of the next token after ``pos``, skipping whitespace and comments."""
    m = _SKIP_RE.match(buf, pos)
    return m.end() if m else pos


def parse_object(
    buf: bytes,
    pos: int,
    *,
    max_depth: int = MAX_NESTING_DEPTH,
    spans: dict[str, tuple[int, int]] | None = None,
) -> tuple[PDFObject, int]:
    """Parse one object from ``buf`` at ``pos``; return it and the offset just after it.

    Streams are not handled here (the reader sees the ``stream`` keyword after a dictionary).
    When ``spans`` is given and the object is a dictionary, the ``(start, end)`` offsets of
    each top-level value are recorded in it.

    Raises:
        PDFFormatError: the syntax is broken or nests deeper than ``max_depth``.
        NeedMoreData: the object runs past the end of ``buf``.
    """
    m = _REF_RE.match(buf, pos)
    if m is not None:
        return Ref(int(m.group(1)), int(m.group(2))), m.end()
    return _parse(buf, pos, 0, max_depth, spans)


def _parse(
    buf: bytes,
    pos: int,
    depth: int,
    max_depth: int,
    spans: dict[str, tuple[int, int]] | None,
) -> tuple[PDFObject, int]:
    pos = skip_whitespace(buf, pos)
    if pos >= len(buf):
        raise NeedMoreData("unexpected end of data")
    c = buf[pos]
    if c == 0x2F:  # /
        m = _TOKEN_RE.match(buf, pos + 1)
        assert m is not None
        if m.end() >= len(buf):
            raise NeedMoreData("name runs to the end of data")
        return Name(_decode_name(m.group())), m.end()
    if c == 0x3C:  # <
        if buf[pos + 1 : pos + 2] == b"<":
            return _parse_dict(buf, pos + 2, depth + 1, max_depth, spans)
        m = _HEX_RE.match(buf, pos)
        if m is None:
            if buf.find(b">", pos) < 0:
                raise NeedMoreData("hex string runs to the end of data")
            raise PDFFormatError(f"malformed hex string at offset {pos}")
        digits = m.group(1).translate(None, _WS)
        if len(digits) % 2:
            digits += b"0"
        return PDFString(bytes.fromhex(digits.decode("ascii")), hex=True), m.end()
    if c == 0x28:  # (
        return _parse_literal(buf, pos + 1)
    if c == 0x5B:  # [
        if depth + 1 > max_depth:
            raise PDFFormatError(f"objects nest deeper than {max_depth} levels")
        items: list[PDFObject] = []
        pos += 1
        while True:
            pos = skip_whitespace(buf, pos)
            if pos >= len(buf):
                raise NeedMoreData("array runs to the end of data")
            if buf[pos] == 0x5D:
                return tuple(items), pos + 1
            item, pos = _parse_with_ref(buf, pos, depth + 1, max_depth)
            items.append(item)
    m = _TOKEN_RE.match(buf, pos)
    assert m is not None
    token = m.group()
    if not token:
        raise PDFFormatError(f"unexpected {chr(c)!r} at offset {pos}")
    if m.end() >= len(buf):
        raise NeedMoreData("token runs to the end of data")
    if token == b"true":
        return True, m.end()
    if token == b"false":
        return False, m.end()
    if token == b"null":
        return None, m.end()
    if _INT_RE.match(token):
        return int(token), m.end()
    if _REAL_RE.match(token):
        return float(token), m.end()
    raise PDFFormatError(f"unexpected token {token[:20]!r} at offset {pos}")


def _parse_with_ref(buf: bytes, pos: int, depth: int, max_depth: int) -> tuple[PDFObject, int]:
    m = _REF_RE.match(buf, pos)
    if m is not None:
        return Ref(int(m.group(1)), int(m.group(2))), m.end()
    return _parse(buf, pos, depth, max_depth, None)


def _parse_dict(
    buf: bytes,
    pos: int,
    depth: int,
    max_depth: int,
    spans: dict[str, tuple[int, int]] | None,
) -> tuple[PDFDict, int]:
    if depth > max_depth:
        raise PDFFormatError(f"objects nest deeper than {max_depth} levels")
    items: dict[str, PDFObject] = {}
    while True:
        pos = skip_whitespace(buf, pos)
        if pos + 1 >= len(buf):
            raise NeedMoreData("dictionary runs to the end of data")
        if buf[pos] == 0x3E and buf[pos + 1] == 0x3E:
            return PDFDict(items), pos + 2
        key, pos = _parse(buf, pos, depth, max_depth, None)
        if not isinstance(key, Name):
            raise PDFFormatError(f"dictionary key is not a name near offset {pos}")
        start = skip_whitespace(buf, pos)
        value, pos = _parse_with_ref(buf, start, depth, max_depth)
        if spans is not None:
            spans[key.value] = (start, pos)
        items[key.value] = value


def _parse_literal(buf: bytes, pos: int) -> tuple[PDFString, int]:
    out = bytearray()
    nesting = 1
    n = len(buf)
    while pos < n:
        c = buf[pos]
        if c == 0x5C:  # backslash
            pos += 1
            if pos >= n:
                break
            e = buf[pos]
            if e in _ESCAPES:
                out += _ESCAPES[e]
                pos += 1
            elif 0x30 <= e <= 0x37:
                end = pos
                while end < n and end - pos < 3 and 0x30 <= buf[end] <= 0x37:
                    end += 1
                out.append(int(buf[pos:end], 8) & 0xFF)
                pos = end
            elif e == 0x0D:
                pos += 2 if buf[pos + 1 : pos + 2] == b"\n" else 1
            elif e == 0x0A:
                pos += 1
            else:
                out.append(e)
                pos += 1
            continue
        if c == 0x28:
            nesting += 1
        elif c == 0x29:
            nesting -= 1
            if nesting == 0:
                return PDFString(bytes(out)), pos + 1
        out.append(c)
        pos += 1
    raise NeedMoreData("literal string runs to the end of data")


def _decode_name(raw: bytes) -> str:
    # One regex pass: the cost grows with the number of #xx escapes, not with the name's
    # length (a byte-by-byte loop took milliseconds on long names with a single escape).
    if b"#" in raw:
        raw = _NAME_ESCAPE_RE.sub(_unescape_name_byte, raw)
    return raw.decode("utf-8", errors="surrogateescape")


def _unescape_name_byte(m: re.Match[bytes]) -> bytes:
    return bytes.fromhex(m.group(1).decode("ascii"))


def read_token(buf: bytes, pos: int) -> tuple[bytes, int]:
    """Return the regular token (keyword or number) at ``pos`` and the offset after it."""
    pos = skip_whitespace(buf, pos)
    m = _TOKEN_RE.match(buf, pos)
    assert m is not None
    return m.group(), m.end()
