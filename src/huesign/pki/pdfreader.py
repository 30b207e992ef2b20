"""A bounded, lazy PDF reader for signing and verifying (a lower layer under PAdES).

The reader never loads the whole file: it reads small windows with seek and read, follows
the cross-reference chain from ``startxref`` (classic tables, cross-reference streams and
hybrid files), and resolves objects only when asked.  Every resource it spends is bounded by
:class:`ReaderLimits`; a file that breaks a limit or the syntax raises
:class:`~huesign.errors.PDFFormatError`, never ``RecursionError``, ``MemoryError`` or a hang.

Higher-level views (the page tree, form fields, signatures) live in
:mod:`huesign.pki.pdffields`.
"""

from __future__ import annotations

import enum
import os
import re
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

import attrs

from huesign.errors import PDFFormatError
from huesign.pki.pdfobjects import (
    MAX_NESTING_DEPTH,
    Name,
    NeedMoreData,
    PDFDict,
    PDFObject,
    PDFStream,
    Ref,
    parse_object,
    read_token,
    skip_whitespace,
)

__all__ = [
    "MAX_OBJECTS",
    "MAX_OBJECT_SIZE",
    "MAX_REF_CHAIN",
    "MAX_STREAM_SIZE",
    "MAX_XREF_CHAIN",
    "EntryKind",
    "PDFReader",
    "ReaderLimits",
    "Revision",
    "XRefEntry",
]

#: Highest object number (and most cross-reference entries) accepted.
MAX_OBJECTS = 2_000_000
#: Largest stream, raw or decoded, that the reader loads into memory.
MAX_STREAM_SIZE = 64 * 1024 * 1024
#: Largest object syntax (without stream data) the reader parses.
MAX_OBJECT_SIZE = 4 * 1024 * 1024
#: Most cross-reference sections followed through ``/Prev``.
MAX_XREF_CHAIN = 1000
#: Longest chain of references to references followed before giving up.
MAX_REF_CHAIN = 32

_WindowParser = Callable[[bytes, dict[str, tuple[int, int]]], tuple[PDFObject, int]]
_PREDICTOR_DEFAULTS = (("Columns", 1), ("Colors", 1), ("BitsPerComponent", 8))
_TAIL_SIZE = 2048
_FIRST_WINDOW = 4096
_XREF_ENTRY_RE = re.compile(rb"(\d{1,10}) {1,2}(\d{1,5}) {1,2}([nf])[ \r\n]{0,3}")
_SUBSECTION_RE = re.compile(rb"[ \t\r\n\f\x00]*(\d{1,10})[ \t]+(\d{1,10})[ \t]*[\r\n]+")
_OBJ_HEADER_RE = re.compile(
    rb"[ \t\r\n\f\x00]*(\d{1,10})[ \t\r\n\f\x00]+(\d{1,5})[ \t\r\n\f\x00]+obj"
)
_STREAM_RE = re.compile(rb"[ \t\r\n\f\x00]*stream(\r\n|\n|\r)")
_EOF_RE = re.compile(rb"%%EOF[ \t]*(\r\n|\n|\r)?")


@attrs.frozen(kw_only=True)
class ReaderLimits:
    """The bounds a :class:`PDFReader` works within; each has a module-level default."""

    max_objects: int = MAX_OBJECTS
    max_nesting_depth: int = MAX_NESTING_DEPTH
    max_stream_size: int = MAX_STREAM_SIZE
    max_object_size: int = MAX_OBJECT_SIZE
    max_xref_chain: int = MAX_XREF_CHAIN
    max_ref_chain: int = MAX_REF_CHAIN


class EntryKind(enum.Enum):
    """The three kinds of cross-reference entry."""

    FREE = "free"
    IN_FILE = "in_file"
    COMPRESSED = "compressed"


@attrs.frozen
class XRefEntry:
    """Where object :attr:`num` lives: at a file offset, or as the n-th object of a stream."""

    kind: EntryKind
    gen: int = 0
    offset: int = 0
    stream_num: int = 0
    index: int = 0


@attrs.frozen(kw_only=True)
class Revision:
    """One incremental revision: its cross-reference sections and where it ends.

    Attributes:
        index: 0 for the original document, counting up.
        xref_offset: offset of the revision's (main) cross-reference section.
        end: offset just after the revision's ``%%EOF`` line; a signature covering the
            revision has a byte range ending here.
        trailer: the trailer dictionary (or cross-reference stream dictionary).
        xref_stream: whether the main section is a cross-reference stream.
        entries: the cross-reference entries this revision adds or changes.
    """

    index: int
    xref_offset: int
    end: int
    trailer: PDFDict
    xref_stream: bool
    entries: dict[int, XRefEntry] = attrs.field(eq=False, repr=False)


class PDFReader:
    """Read a PDF lazily from a path or a seekable binary file object.

    Use as a context manager, or call :meth:`close`; a file object passed in stays open.
    A reader caches what it parsed and is not meant to be shared between threads.

    Raises:
        PDFFormatError: the cross-reference structure is broken or breaks a limit.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        limits: ReaderLimits | None = None,
    ) -> None:
        self.limits = limits or ReaderLimits()
        if isinstance(source, (str, os.PathLike)):
            self._file: BinaryIO = open(source, "rb")  # noqa: SIM115 - closed in close()
            self._owns = True
            self.path: str | None = os.fspath(source)
        else:
            self._file = source
            self._owns = False
            self.path = None
        try:
            self._file.seek(0, os.SEEK_END)
            self.size = self._file.tell()
            self._cache: dict[tuple[int, int], PDFObject] = {}
            self._objstm: dict[tuple[int, int], tuple[bytes, list[int]]] = {}
            self._resolving: set[int] = set()
            self._views: dict[int, dict[int, XRefEntry]] = {}
            self.revisions: tuple[Revision, ...] = self._read_revisions()
        except BaseException:
            self.close()
            raise

    # --- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the file when the reader opened it."""
        if self._owns:
            self._file.close()

    def __enter__(self) -> PDFReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- raw access --------------------------------------------------------------------

    @property
    def file(self) -> BinaryIO:
        """The underlying binary file (for the incremental writer)."""
        return self._file

    def read_at(self, offset: int, size: int) -> bytes:
        """Return up to ``size`` bytes of the file from ``offset``."""
        if offset < 0 or offset > self.size:
            raise PDFFormatError(f"offset {offset} lies outside the file")
        self._file.seek(offset)
        return self._file.read(min(size, self.size - offset))

    def _window(self, offset: int, size: int) -> bytes:
        data = self.read_at(offset, size)
        # A space stops a trailing token at the real end of the file.
        return data + b" " if offset + len(data) >= self.size else data

    def _parse_at(
        self, offset: int, parser: _WindowParser
    ) -> tuple[PDFObject, int, bytes, dict[str, tuple[int, int]]]:
        size = _FIRST_WINDOW
        while True:
            buf = self._window(offset, size)
            spans: dict[str, tuple[int, int]] = {}
            try:
                obj, end = parser(buf, spans)
            except NeedMoreData:
                if offset + size >= self.size:
                    raise PDFFormatError(f"object at offset {offset} is truncated") from None
                if size >= self.limits.max_object_size:
                    raise PDFFormatError(
                        f"object at offset {offset} is larger than "
                        f"{self.limits.max_object_size} bytes"
                    ) from None
                size = min(size * 4, self.limits.max_object_size)
                continue
            return obj, end, buf, spans

    # --- cross-reference chain ---------------------------------------------------------

    def _startxref(self) -> int:
        tail_start = max(0, self.size - _TAIL_SIZE)
        tail = self.read_at(tail_start, _TAIL_SIZE)
        pos = tail.rfind(b"startxref")
        if pos < 0:
            raise PDFFormatError("no startxref near the end of the file")
        token, _ = read_token(tail + b" ", pos + len(b"startxref"))
        if not token.isdigit():
            raise PDFFormatError("startxref is not followed by an offset")
        return int(token)

    def _read_revisions(self) -> tuple[Revision, ...]:
        offset: int | None = self._startxref()
        seen: set[int] = set()
        found: list[Revision] = []
        while offset is not None:
            if offset in seen:
                raise PDFFormatError(f"cross-reference /Prev chain loops at offset {offset}")
            if len(seen) >= self.limits.max_xref_chain:
                raise PDFFormatError(
                    f"more than {self.limits.max_xref_chain} cross-reference sections"
                )
            seen.add(offset)
            trailer, entries, is_stream, after = self._read_section(offset)
            hybrid = trailer.get("XRefStm")
            if isinstance(hybrid, int) and not is_stream and hybrid not in seen:
                seen.add(hybrid)
                _, extra, _, _ = self._read_section(hybrid)
                for num, entry in extra.items():
                    current = entries.get(num)
                    if current is None or current.kind is EntryKind.FREE:
                        entries[num] = entry
            end = self._revision_end(after)
            newer = found[-1] if found else None
            if newer is not None and offset > newer.xref_offset:
                # /Prev points forward: a linearized file's first-page section and its main
                # section make up one revision (an update never precedes what it updates).
                merged = {**entries, **newer.entries}
                trailer_items = {**dict(trailer), **dict(newer.trailer)}
                found[-1] = attrs.evolve(
                    newer,
                    end=max(end, newer.end),
                    trailer=PDFDict(trailer_items),
                    entries=merged,
                )
            else:
                found.append(
                    Revision(
                        index=0,
                        xref_offset=offset,
                        end=end,
                        trailer=trailer,
                        xref_stream=is_stream,
                        entries=entries,
                    )
                )
            prev = trailer.get("Prev")
            if prev is not None and not isinstance(prev, int):
                raise PDFFormatError("trailer /Prev is not an integer")
            offset = prev
        found.reverse()
        return tuple(attrs.evolve(rev, index=i) for i, rev in enumerate(found))

    def _revision_end(self, after: int) -> int:
        window = self.read_at(after, _TAIL_SIZE)
        pos = window.find(b"%%EOF")
        if pos < 0:
            return self.size
        m = _EOF_RE.match(window, pos)
        assert m is not None
        return after + m.end()

    def _read_section(self, offset: int) -> tuple[PDFDict, dict[int, XRefEntry], bool, int]:
        if offset < 0 or offset >= self.size:
            raise PDFFormatError(f"cross-reference offset {offset} lies outside the file")
        head = self.read_at(offset, 8)
        if head.startswith(b"xref"):
            return self._read_table(offset)
        obj, end = self._read_indirect_at(offset, None)
        if not isinstance(obj, PDFStream) or obj.dictionary.get("Type") != Name("XRef"):
            raise PDFFormatError(f"no cross-reference section at offset {offset}")
        entries = self._parse_xref_stream(obj)
        return obj.dictionary, entries, True, end

    def _read_table(self, offset: int) -> tuple[PDFDict, dict[int, XRefEntry], bool, int]:
        entries: dict[int, XRefEntry] = {}
        pos = offset + 4
        while True:
            head = self._window(pos, 64)
            m = _SUBSECTION_RE.match(head)
            if m is None:
                break
            first, count = int(m.group(1)), int(m.group(2))
            if first + count > self.limits.max_objects:
                raise PDFFormatError(
                    f"cross-reference table lists more than {self.limits.max_objects} objects"
                )
            pos += m.end()
            body = self.read_at(pos, count * 21 + 2)
            cursor = 0
            for num in range(first, first + count):
                em = _XREF_ENTRY_RE.match(body, cursor)
                if em is None:
                    raise PDFFormatError(f"malformed cross-reference entry for object {num}")
                cursor = em.end()
                gen = int(em.group(2))
                if em.group(3) == b"n":
                    entries[num] = XRefEntry(EntryKind.IN_FILE, gen, offset=int(em.group(1)))
                else:
                    entries[num] = XRefEntry(EntryKind.FREE, gen)
            pos += cursor
        token, after_kw = read_token(self._window(pos, 64), 0)
        if token != b"trailer":
            raise PDFFormatError(f"cross-reference table at {offset} has no trailer")
        start = pos + after_kw
        trailer, end, _, _ = self._parse_at(
            start,
            lambda buf, spans: parse_object(buf, 0, max_depth=self.limits.max_nesting_depth),
        )
        if not isinstance(trailer, PDFDict):
            raise PDFFormatError("trailer is not a dictionary")
        return trailer, entries, False, start + end

    def _parse_xref_stream(self, stream: PDFStream) -> dict[int, XRefEntry]:
        d = stream.dictionary
        widths = d.get("W")
        size = d.get("Size")
        if (
            not isinstance(widths, tuple)
            or len(widths) != 3
            or not all(isinstance(w, int) and 0 <= w <= 8 for w in widths)
            or not isinstance(size, int)
        ):
            raise PDFFormatError("cross-reference stream has a bad /W or /Size")
        w0, w1, w2 = (int(w) for w in widths)  # type: ignore[arg-type]
        index = d.get("Index", (0, size))
        if (
            not isinstance(index, tuple)
            or len(index) % 2
            or not all(isinstance(i, int) for i in index)
        ):
            raise PDFFormatError("cross-reference stream has a bad /Index")
        data = self.stream_data(stream)
        row = w0 + w1 + w2
        if row == 0:
            raise PDFFormatError("cross-reference stream has zero-width rows")
        entries: dict[int, XRefEntry] = {}
        pos = 0
        for k in range(0, len(index), 2):
            first, count = int(index[k]), int(index[k + 1])  # type: ignore[arg-type]
            if first < 0 or count < 0 or first + count > self.limits.max_objects:
                raise PDFFormatError("cross-reference stream lists too many objects")
            if pos + count * row > len(data):
                raise PDFFormatError("cross-reference stream is shorter than its /Index")
            for num in range(first, first + count):
                kind = int.from_bytes(data[pos : pos + w0], "big") if w0 else 1
                f2 = int.from_bytes(data[pos + w0 : pos + w0 + w1], "big")
                f3 = int.from_bytes(data[pos + w0 + w1 : pos + row], "big")
                pos += row
                if kind == 0:
                    entries[num] = XRefEntry(EntryKind.FREE, f3)
                elif kind == 1:
                    entries[num] = XRefEntry(EntryKind.IN_FILE, f3, offset=f2)
                elif kind == 2:
                    entries[num] = XRefEntry(EntryKind.COMPRESSED, 0, stream_num=f2, index=f3)
        return entries

    # --- object views ------------------------------------------------------------------

    @property
    def trailer(self) -> PDFDict:
        """The newest trailer dictionary."""
        return self.revisions[-1].trailer

    def trailer_at(self, revision: int | None = None) -> PDFDict:
        """The trailer dictionary of ``revision`` (default: the newest)."""
        return self.revisions[-1 if revision is None else revision].trailer

    @property
    def root_ref(self) -> Ref:
        """The reference of the document catalog."""
        root = self.trailer.get("Root")
        if not isinstance(root, Ref):
            raise PDFFormatError("trailer has no /Root reference")
        return root

    @property
    def root(self) -> PDFDict:
        """The document catalog."""
        return self.get_dict(self.root_ref)

    def entries(self, revision: int | None = None) -> dict[int, XRefEntry]:
        """All cross-reference entries visible at ``revision`` (default: the newest)."""
        last = len(self.revisions) - 1 if revision is None else revision
        if not 0 <= last < len(self.revisions):
            raise ValueError(f"no revision {last}")
        view = self._views.get(last)
        if view is None:
            view = {}
            for rev in self.revisions[: last + 1]:
                view.update(rev.entries)
            self._views[last] = view
        return view

    def next_object_number(self) -> int:
        """The first object number free for a new object (the newest ``/Size``)."""
        size = self.trailer.get("Size")
        highest = max(self.entries(), default=0) + 1
        return max(size if isinstance(size, int) else 0, highest)

    def get(self, ref: Ref, revision: int | None = None) -> PDFObject:
        """The object ``ref`` points to at ``revision`` (a missing object is ``None``).

        Raises:
            PDFFormatError: the object is damaged or its resolution loops.
        """
        last = len(self.revisions) - 1 if revision is None else revision
        key = (ref.num, last)
        if key in self._cache:
            return self._cache[key]
        entry = self.entries(last).get(ref.num)
        if entry is None or entry.kind is EntryKind.FREE:
            return None
        if ref.num in self._resolving:
            raise PDFFormatError(f"object {ref.num} depends on itself")
        self._resolving.add(ref.num)
        try:
            if entry.kind is EntryKind.IN_FILE:
                obj, _ = self._read_indirect_at(entry.offset, ref.num)
            else:
                obj = self._from_object_stream(entry, last)
        finally:
            self._resolving.discard(ref.num)
        self._cache[key] = obj
        return obj

    def resolve(self, obj: PDFObject, revision: int | None = None) -> PDFObject:
        """Follow ``obj`` through references until it is a direct object."""
        for _ in range(self.limits.max_ref_chain):
            if not isinstance(obj, Ref):
                return obj
            obj = self.get(obj, revision)
        raise PDFFormatError("a chain of references is too long or loops")

    def get_dict(self, obj: PDFObject, revision: int | None = None) -> PDFDict:
        """Resolve ``obj`` and require a dictionary (a stream gives its dictionary)."""
        value = self.resolve(obj, revision)
        if isinstance(value, PDFStream):
            return value.dictionary
        if not isinstance(value, PDFDict):
            raise PDFFormatError(f"expected a dictionary, found {type(value).__name__}")
        return value

    def offset_of(self, ref: Ref, revision: int | None = None) -> int | None:
        """The file offset of ``ref``'s ``obj`` line, or ``None`` if it is compressed."""
        entry = self.entries(revision).get(ref.num)
        return entry.offset if entry is not None and entry.kind is EntryKind.IN_FILE else None

    def value_spans(self, ref: Ref, revision: int | None = None) -> dict[str, tuple[int, int]]:
        """Absolute file offsets ``(start, end)`` of each value of dictionary object ``ref``.

        Empty when the object lives in an object stream (it has no bytes of its own).
        """
        offset = self.offset_of(ref, revision)
        if offset is None:
            return {}
        _, base = self._object_header(offset, ref.num)
        _, _, _, spans = self._parse_at(
            base,
            lambda buf, sp: parse_object(buf, 0, max_depth=self.limits.max_nesting_depth, spans=sp),
        )
        return {k: (base + s, base + e) for k, (s, e) in spans.items()}

    # --- object parsing ----------------------------------------------------------------

    def _object_header(self, offset: int, expected: int | None) -> tuple[int, int]:
        head = self._window(offset, 48)
        m = _OBJ_HEADER_RE.match(head)
        if m is None:
            raise PDFFormatError(f"no object at offset {offset}")
        num = int(m.group(1))
        if expected is not None and num != expected:
            raise PDFFormatError(f"offset {offset} holds object {num}, not {expected}")
        return num, offset + m.end()

    def _read_indirect_at(self, offset: int, expected: int | None) -> tuple[PDFObject, int]:
        _, base = self._object_header(offset, expected)
        obj, end, buf, _ = self._parse_at(
            base, lambda buf, spans: parse_object(buf, 0, max_depth=self.limits.max_nesting_depth)
        )
        if not isinstance(obj, PDFDict):
            return obj, base + end
        m = _STREAM_RE.match(buf, end)
        if m is None:
            return obj, base + end
        data_start = base + m.end()
        length = self.resolve(obj.get("Length"))
        if not isinstance(length, int) or length < 0:
            raise PDFFormatError(f"stream at offset {offset} has no valid /Length")
        if data_start + length > self.size:
            raise PDFFormatError(
                f"stream at offset {offset} claims {length} bytes, past the end of the file"
            )
        tail = self.read_at(data_start + length, 32)
        pos = skip_whitespace(tail, 0)
        if not tail.startswith(b"endstream", pos):
            raise PDFFormatError(f"stream at offset {offset} does not end where /Length says")
        return PDFStream(obj, span=(data_start, length)), data_start + length + pos + 9

    def stream_data(self, stream: PDFStream, *, decode: bool = True) -> bytes:
        """The stream's bytes, decoded (``FlateDecode``, PNG predictors) unless told not to.

        Raises:
            PDFFormatError: the data is larger than the limits allow or cannot be decoded.
        """
        cap = self.limits.max_stream_size
        if stream.span is not None:
            start, length = stream.span
            if length > cap:
                raise PDFFormatError(f"stream of {length} bytes exceeds the {cap}-byte limit")
            raw = self.read_at(start, length)
        else:
            raw = stream.data
        if not decode:
            return raw
        filters = self.resolve(stream.dictionary.get("Filter"))
        parms = self.resolve(stream.dictionary.get("DecodeParms"))
        if filters is None:
            return raw
        if isinstance(filters, Name):
            filters, parms = (filters,), (parms,)
        if not isinstance(filters, tuple) or len(filters) > 4:
            raise PDFFormatError("stream /Filter is malformed")
        if not isinstance(parms, tuple):
            parms = (parms,) * len(filters)
        data = raw
        for i, name in enumerate(filters):
            if name not in (Name("FlateDecode"), Name("Fl")):
                raise PDFFormatError(f"unsupported stream filter {name}")
            data = _inflate(data, cap)
            parm = self.resolve(parms[i]) if i < len(parms) else None
            if isinstance(parm, PDFDict):
                data = _unpredict(data, parm)
        return data

    def _from_object_stream(self, entry: XRefEntry, revision: int) -> PDFObject:
        key = (entry.stream_num, revision)
        cached = self._objstm.get(key)
        if cached is None:
            container = self.get(Ref(entry.stream_num), revision)
            if not isinstance(container, PDFStream):
                raise PDFFormatError(f"object {entry.stream_num} is not an object stream")
            d = container.dictionary
            count, first = d.get("N"), d.get("First")
            if not isinstance(count, int) or not isinstance(first, int) or count < 0:
                raise PDFFormatError(f"object stream {entry.stream_num} lacks /N or /First")
            if count > self.limits.max_objects:
                raise PDFFormatError(f"object stream {entry.stream_num} holds too many objects")
            data = self.stream_data(container) + b" "
            header = data[:first].split()
            if len(header) < 2 * count or not all(t.isdigit() for t in header[: 2 * count]):
                raise PDFFormatError(f"object stream {entry.stream_num} has a bad header")
            offsets = [first + int(header[2 * i + 1]) for i in range(count)]
            cached = (data, offsets)
            self._objstm[key] = cached
        data, offsets = cached
        if entry.index >= len(offsets):
            raise PDFFormatError(f"object stream {entry.stream_num} has no object {entry.index}")
        obj, _ = parse_object(data, offsets[entry.index], max_depth=self.limits.max_nesting_depth)
        return obj

    def iter_objects(self, revision: int | None = None) -> Iterator[tuple[Ref, PDFObject]]:
        """Every object in use at ``revision``, resolved (for analysis of small files)."""
        for num, entry in sorted(self.entries(revision).items()):
            if entry.kind is not EntryKind.FREE:
                yield Ref(num, entry.gen), self.get(Ref(num, entry.gen), revision)


def _inflate(data: bytes, cap: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise PDFFormatError(f"FlateDecode data is damaged: {exc}") from exc
    if len(out) > cap:
        raise PDFFormatError(f"decoded stream exceeds the {cap}-byte limit")
    return out


def _unpredict(data: bytes, parms: PDFDict) -> bytes:
    predictor = parms.get("Predictor", 1)
    if predictor == 1:
        return data
    if not isinstance(predictor, int) or predictor < 10:
        raise PDFFormatError(f"unsupported predictor {predictor}")
    params = [parms.get(key, default) for key, default in _PREDICTOR_DEFAULTS]
    columns, colors, bits = (p if isinstance(p, int) else 0 for p in params)
    if not all(0 < v <= 1 << 16 for v in (columns, colors, bits)):
        raise PDFFormatError("predictor parameters are out of range")
    bpp = max(1, (colors * bits) // 8)
    width = (colors * bits * columns + 7) // 8
    out = bytearray()
    prev = bytearray(width)
    for start in range(0, len(data) - width, width + 1):
        kind = data[start]
        row = bytearray(data[start + 1 : start + 1 + width])
        if kind == 1:
            for i in range(bpp, width):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif kind == 2:
            for i in range(width):
                row[i] = (row[i] + prev[i]) & 0xFF
        elif kind == 3:
            for i in range(width):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(width):
                a = row[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (row[i] + pred) & 0xFF
        elif kind != 0:
            raise PDFFormatError(f"unknown PNG predictor row type {kind}")
        out += row
        prev = row
    return bytes(out)
