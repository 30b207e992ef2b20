"""Incremental updates: append one revision to a PDF without touching its earlier bytes.

Lower layer under PAdES.  An :class:`IncrementalWriter` collects new and replaced objects
over a :class:`~huesign.pki.pdfreader.PDFReader`, then writes them after the original bytes
with a cross-reference section in the original's style (table or stream) whose trailer keeps
``/Root``, ``/Info`` and ``/ID`` and points back with ``/Prev``.  The output is a new file
(the original is copied in chunks) or the original file itself, appended in place.
"""

from __future__ import annotations

import enum
import os
import zlib
from typing import BinaryIO

import attrs

from huesign.errors import PDFFormatError
from huesign.pki.pdfobjects import Name, PDFDict, PDFObject, PDFStream, Ref, serialize
from huesign.pki.pdfreader import PDFReader

__all__ = [
    "COPY_CHUNK_SIZE",
    "IncrementalWriter",
    "WrittenUpdate",
    "XRefStyle",
]

#: Bytes copied at a time when the original is copied to a new file.
COPY_CHUNK_SIZE = 1024 * 1024

_TRAILER_KEYS = ("Root", "Info", "ID")


class XRefStyle(enum.Enum):
    """How the appended revision lists its objects."""

    TABLE = "table"
    STREAM = "stream"


@attrs.frozen(kw_only=True)
class WrittenUpdate:
    """Where an appended revision landed.

    Attributes:
        start: offset of the first appended byte (the original's size).
        end: size of the file after the update.
        offsets: absolute offset of each written object, by object number.
        body_offsets: absolute offset of each written object's body (after ``obj``).
        xref_offset: offset of the new cross-reference section.
    """

    start: int
    end: int
    offsets: dict[int, int] = attrs.field(eq=False)
    body_offsets: dict[int, int] = attrs.field(eq=False)
    xref_offset: int


class IncrementalWriter:
    """Collect changes to a document and append them as one new revision.

    The writer is a short-lived, single-use accumulator: add or replace objects, then call
    :meth:`write` once.
    """

    def __init__(self, reader: PDFReader, *, style: XRefStyle | None = None) -> None:
        if "Encrypt" in reader.trailer:
            raise PDFFormatError("encrypted PDFs cannot be updated")
        self.reader = reader
        last = reader.revisions[-1]
        self.style = style or (XRefStyle.STREAM if last.xref_stream else XRefStyle.TABLE)
        self._next = reader.next_object_number()
        self._bodies: dict[int, tuple[int, PDFObject | bytes]] = {}
        self._written = False

    def add(self, obj: PDFObject) -> Ref:
        """Add a new indirect object and return its reference."""
        ref = Ref(self._next, 0)
        self._next += 1
        self._bodies[ref.num] = (0, obj)
        return ref

    def add_serialized(self, body: bytes) -> Ref:
        """Add an object whose PDF syntax is already written (for fixed-width placeholders)."""
        ref = Ref(self._next, 0)
        self._next += 1
        self._bodies[ref.num] = (0, body)
        return ref

    def update(self, ref: Ref, obj: PDFObject) -> None:
        """Replace object ``ref`` in the new revision."""
        if ref.num <= 0 or ref.num >= self._next:
            raise ValueError(f"object {ref.num} does not exist in this document")
        self._bodies[ref.num] = (ref.gen, obj)

    def get(self, ref: Ref) -> PDFObject:
        """The object as this update will leave it (pending change, else the file's)."""
        pending = self._bodies.get(ref.num)
        if pending is not None and not isinstance(pending[1], bytes):
            return pending[1]
        return self.reader.get(ref)

    def get_dict(self, obj: PDFObject) -> PDFDict:
        """Resolve ``obj`` through pending changes and require a dictionary."""
        for _ in range(self.reader.limits.max_ref_chain):
            if not isinstance(obj, Ref):
                break
            obj = self.get(obj)
        if isinstance(obj, PDFStream):
            return obj.dictionary
        if not isinstance(obj, PDFDict):
            raise PDFFormatError(f"expected a dictionary, found {type(obj).__name__}")
        return obj

    @property
    def changed(self) -> frozenset[int]:
        """Object numbers this update writes."""
        return frozenset(self._bodies)

    def render(self) -> tuple[bytes, WrittenUpdate]:
        """Return the bytes to append and where each object will land."""
        base = self.reader.size
        tail = self.reader.read_at(max(0, base - 1), 1)
        chunks: list[bytes] = [] if tail in (b"\n", b"\r") else [b"\n"]
        pos = base + len(chunks[0]) if chunks else base
        offsets: dict[int, int] = {}
        body_offsets: dict[int, int] = {}
        for num in sorted(self._bodies):
            gen, obj = self._bodies[num]
            head = b"%d %d obj\n" % (num, gen)
            body = obj if isinstance(obj, bytes) else serialize(obj)
            offsets[num] = pos
            body_offsets[num] = pos + len(head)
            piece = head + body + b"\nendobj\n"
            chunks.append(piece)
            pos += len(piece)
        xref_offset = pos
        if self.style is XRefStyle.TABLE:
            chunks.append(self._table(offsets))
        else:
            chunks.append(self._xref_stream(offsets, xref_offset))
        chunks.append(b"startxref\n%d\n%%%%EOF\n" % xref_offset)
        data = b"".join(chunks)
        return data, WrittenUpdate(
            start=base,
            end=base + len(data),
            offsets=offsets,
            body_offsets=body_offsets,
            xref_offset=xref_offset,
        )

    def _trailer(self, size: int) -> dict[str, PDFObject]:
        old = self.reader.trailer
        trailer: dict[str, PDFObject] = {"Size": size}
        for key in _TRAILER_KEYS:
            if key in old:
                trailer[key] = old[key]
        trailer["Prev"] = self.reader.revisions[-1].xref_offset
        return trailer

    def _table(self, offsets: dict[int, int]) -> bytes:
        lines = [b"xref\n"]
        for first, nums in _runs(sorted(offsets)):
            lines.append(b"%d %d\n" % (first, len(nums)))
            for num in nums:
                lines.append(b"%010d %05d n\r\n" % (offsets[num], self._bodies[num][0]))
        lines.append(b"trailer\n")
        lines.append(serialize(PDFDict(self._trailer(self._next))))
        lines.append(b"\n")
        return b"".join(lines)

    def _xref_stream(self, offsets: dict[int, int], xref_offset: int) -> bytes:
        own = self._next
        rows = dict(offsets)
        rows[own] = xref_offset
        width = max(4, (max(rows.values()).bit_length() + 7) // 8)
        index: list[PDFObject] = []
        data = bytearray()
        for first, nums in _runs(sorted(rows)):
            index += [first, len(nums)]
            for num in nums:
                gen = self._bodies[num][0] if num in self._bodies else 0
                data += b"\x01" + rows[num].to_bytes(width, "big") + gen.to_bytes(2, "big")
        d = self._trailer(own + 1)
        d.update(
            Type=Name("XRef"),
            W=(1, width, 2),
            Index=tuple(index),
            Filter=Name("FlateDecode"),
        )
        stream = PDFStream(PDFDict(d), zlib.compress(bytes(data)))
        return b"%d 0 obj\n" % own + serialize(stream) + b"\nendobj\n"

    def write(self, output: str | os.PathLike[str] | BinaryIO | None = None) -> WrittenUpdate:
        """Write the update: to ``output`` (path or binary file), or in place when ``None``.

        A new file gets the original's bytes copied in chunks first (a file object is written
        from offset 0).  In place needs a reader opened from a path, or a writable file
        object.  The reader keeps describing the file as it was before the update; open a
        new reader to see the result.
        """
        data, written = self.render()
        self.emit(data, written, output)
        return written

    def emit(
        self,
        data: bytes,
        written: WrittenUpdate,
        output: str | os.PathLike[str] | BinaryIO | None = None,
    ) -> None:
        """Write bytes from :meth:`render` (possibly patched in place) like :meth:`write`."""
        if self._written:
            raise ValueError("this update has already been written")
        if written.start != self.reader.size or written.end != written.start + len(data):
            raise ValueError("the data does not come from this writer's render()")
        self._written = True
        source = self.reader
        if output is None:
            if source.path is not None:
                with open(source.path, "r+b") as fh:
                    fh.seek(written.start)
                    fh.write(data)
            else:
                fh_obj = source.file
                fh_obj.seek(written.start)
                fh_obj.write(data)
                fh_obj.flush()
        elif isinstance(output, (str, os.PathLike)):
            with open(output, "wb") as out:
                _copy_original(source, out)
                out.write(data)
        else:
            output.seek(0)
            _copy_original(source, output)
            output.write(data)
            output.flush()


def _copy_original(reader: PDFReader, out: BinaryIO) -> None:
    offset = 0
    while offset < reader.size:
        chunk = reader.read_at(offset, COPY_CHUNK_SIZE)
        if not chunk:
            raise PDFFormatError("the original file shrank while it was being copied")
        out.write(chunk)
        offset += len(chunk)


def _runs(nums: list[int]) -> list[tuple[int, list[int]]]:
    runs: list[tuple[int, list[int]]] = []
    for num in nums:
        if runs and runs[-1][1][-1] + 1 == num:
            runs[-1][1].append(num)
        else:
            runs.append((num, [num]))
    return runs
