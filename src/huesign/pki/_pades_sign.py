"""Lower-level pieces of PAdES signing (private): pending updates, sizing and the CMS.

Signing a PDF at B-LTA appends up to three revisions (the signature, the document security
store, a document timestamp).  :class:`PendingDocument` builds all of them in memory on top
of the untouched original file, which is read through a small read-only view
(:class:`_Overlay`), hashed once per digest algorithm (and copied into a new output in the
same pass) and never loaded whole.  Only when every signature, timestamp and revocation
item is in hand are the new revisions written: a failure on the way (a signer that
refuses, a TSA that is down, a revoked certificate) leaves the output as it was.

The signing logic is a generator of :class:`SignRequest` and :class:`TimestampRequest`
steps; :func:`drive` and :func:`drive_async` answer them, so sync and async signing share
everything else.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import os
import secrets
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from typing import BinaryIO, cast

import attrs
from asn1crypto import tsp

from huesign.errors import PDFFormatError, RevocationFetchError, SigningError
from huesign.pki import _cms_asn1 as raw
from huesign.pki import _cms_build as build
from huesign.pki.algorithms import HashAlgorithm, SignatureAlgorithm
from huesign.pki.certificates import Certificate
from huesign.pki.cms import PreparedCMS
from huesign.pki.keys import PublicKey
from huesign.pki.pdfobjects import Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import (
    BYTE_RANGE_PLACEHOLDER,
    DSSData,
    SignatureSlot,
    add_dss,
    add_signature_slot,
)
from huesign.pki.pdfwriter import COPY_CHUNK_SIZE, IncrementalWriter
from huesign.pki.signers import AsyncSigner, DigestToSign, Signer
from huesign.pki.tsp import AsyncTimestampSource, TimestampSource

__all__ = [
    "CMS_OVERHEAD",
    "TIMESTAMP_TOKEN_ALLOWANCE",
    "Finisher",
    "Output",
    "PendingDocument",
    "RenderedSlot",
    "SignRequest",
    "Source",
    "Steps",
    "TimestampRequest",
    "check_token",
    "drive",
    "drive_async",
    "estimate_signature_size",
    "open_session",
    "pades_cms",
    "signature_value_size",
]

Source = str | os.PathLike[str] | bytes | BinaryIO
Output = str | os.PathLike[str] | BinaryIO | None

#: Bytes reserved for a timestamp token whose size cannot be known in advance (a token with
#: a TSA chain of three RSA-4096 certificates takes about 7 KiB).
TIMESTAMP_TOKEN_ALLOWANCE = 10 * 1024
#: Fixed part of a PAdES CMS: SignedData fields, the SignerInfo and its attributes.
CMS_OVERHEAD = 640
_MARGIN = 256
_CONTENTS_KEY = b"/Contents "


def signature_value_size(public_key: PublicKey, algorithm: SignatureAlgorithm) -> int:
    """The largest signature value ``public_key`` makes with ``algorithm``, in bytes."""
    family = algorithm.key_family
    octets = (public_key.key_size + 7) // 8
    if family == "rsa":
        return octets
    if family == "ec":
        return 2 * (octets + 3) + 3  # DER SEQUENCE of two INTEGERs, with sign bytes
    return 64


def estimate_signature_size(
    *,
    certificate: Certificate,
    certificates: Sequence[Certificate],
    algorithm: SignatureAlgorithm,
    timestamp_size: int = 0,
) -> int:
    """Bytes to reserve for a PAdES CMS: certificates, attributes, signature and timestamp.

    ``certificates`` are all the certificates the CMS embeds (the signer's included);
    ``timestamp_size`` is the room for a signature timestamp token (0 for none).  A safety
    margin is included; the result is never measured by signing.
    """
    issuer = len(certificate.to_cryptography().issuer.public_bytes()) + 24
    embedded = sum(len(c.der) for c in dict.fromkeys(certificates))
    size = (
        CMS_OVERHEAD
        + embedded
        + 2 * issuer
        + signature_value_size(certificate.public_key, algorithm)
        + (timestamp_size + 32 if timestamp_size else 0)
    )
    return size + size // 16 + _MARGIN


def pades_cms(
    digest: bytes,
    *,
    certificate: Certificate,
    chain: Sequence[Certificate],
    algorithm: SignatureAlgorithm,
) -> PreparedCMS:
    """The CMS for ``/SubFilter /ETSI.CAdES.detached`` over a byte-range ``digest``.

    The signed attributes are content-type, message-digest, signing-certificate-v2 and CMS
    algorithm protection; there is no signing-time attribute (PAdES puts the claimed time in
    the signature dictionary's ``/M``).
    """
    tbs = build.signed_attributes(
        message_digest=digest,
        hash_algorithm=algorithm.hash_algorithm,
        algorithm=algorithm,
        certificate=certificate,
        signing_time=None,
    )
    return PreparedCMS(
        request=DigestToSign.for_message(tbs, algorithm, label="PDF signature"),
        certificate=certificate,
        certificates=(certificate, *chain),
        content=None,
        signed_attributes=tbs,
    )


def check_token(token: bytes, imprint: bytes, hash_algorithm: HashAlgorithm) -> None:
    """Check that a fresh timestamp token is a token over ``imprint``.

    Raises:
        RevocationFetchError: the token is unreadable or timestamps something else.
    """
    try:
        signed = raw.parse_signed_data(token, expect_content_type=raw.ID_TST_INFO)
        tst = tsp.TSTInfo.load(raw.encapsulated_content(signed) or b"", strict=True)
        found = tst["message_imprint"]
        algorithm = found["hash_algorithm"]["algorithm"].native
        value = found["hashed_message"].native
    except (raw.CMSFormatError, ValueError, TypeError, KeyError) as exc:
        raise RevocationFetchError("the timestamp source returned an unreadable token") from exc
    if algorithm != hash_algorithm.value or value != imprint:
        raise RevocationFetchError("the timestamp source timestamped a different digest")


class _Overlay(io.RawIOBase):
    """A read-only file: the first ``base_size`` bytes of ``base``, then ``tail``."""

    def __init__(self, base: BinaryIO, base_size: int, tail: bytes | bytearray) -> None:
        super().__init__()
        self._base = base
        self._base_size = base_size
        self._tail = tail
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        size = self._base_size + len(self._tail)
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        if self._pos < self._base_size:
            self._base.seek(self._pos)
            chunk = self._base.read(min(len(out), self._base_size - self._pos))
        else:
            at = self._pos - self._base_size
            chunk = bytes(self._tail[at : at + len(out)])
        out[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


@attrs.frozen(kw_only=True)
class RenderedSlot:
    """A signature slot appended to a :class:`PendingDocument`, waiting for its contents.

    Attributes:
        byte_range: the ``/ByteRange`` written into the slot.
        contents_offset: absolute offset of the ``<`` that opens ``/Contents``.
        contents_size: bytes reserved for the signature container.
        signature_ref: reference of the signature dictionary.
    """

    byte_range: tuple[int, int, int, int]
    contents_offset: int
    contents_size: int
    signature_ref: Ref


def _byte_range_bytes(byte_range: tuple[int, int, int, int]) -> bytes:
    text = b"[" + b" ".join(b"%d" % v for v in byte_range)
    width = len(BYTE_RANGE_PLACEHOLDER)
    if len(text) + 1 > width:
        raise PDFFormatError("the file is too large for a ten-digit /ByteRange")
    return text + b" " * (width - len(text) - 1) + b"]"


class PendingDocument:
    """The original file plus revisions built in memory, written out by :meth:`write`.

    With a ``sink`` (a new file), the original is copied into it while it is hashed for the
    first signature, so a large file is read once; without one, :meth:`write` appends the
    new revisions to the original file in place.  Not thread-safe; one instance serves one
    signing call.
    """

    def __init__(self, reader: PDFReader, *, sink: BinaryIO | None = None) -> None:
        self.original = reader
        self.pending = bytearray()
        self._prefix: dict[HashAlgorithm, hashlib._Hash] = {}
        self._readers: list[PDFReader] = []
        self._sink = sink
        self._copied = False

    @property
    def size(self) -> int:
        """Size of the document with the pending revisions."""
        return self.original.size + len(self.pending)

    def reader(self) -> PDFReader:
        """A reader of the document as it is now (original plus pending revisions)."""
        if not self.pending:
            return self.original
        view = _Overlay(self.original.file, self.original.size, bytes(self.pending))
        reader = PDFReader(cast(BinaryIO, io.BufferedReader(view)), limits=self.original.limits)
        self._readers.append(reader)
        return reader

    def add_slot(
        self,
        slot: SignatureSlot,
        *,
        customize: Callable[[IncrementalWriter, SignatureSlot], SignatureSlot] | None = None,
    ) -> RenderedSlot:
        """Append a revision holding ``slot``, with its final ``/ByteRange`` filled in.

        ``customize`` may add objects (an appearance's fonts and images) to the revision
        and return the slot to use.
        """
        writer = IncrementalWriter(self.reader())
        if customize is not None:
            slot = customize(writer, slot)
        sig_ref, _ = add_signature_slot(writer, slot)
        data, written = writer.render()
        body = written.body_offsets[sig_ref.num] - written.start
        br_at = data.index(BYTE_RANGE_PLACEHOLDER, body)
        contents_at = br_at + len(BYTE_RANGE_PLACEHOLDER) + len(_CONTENTS_KEY)
        if data[contents_at - len(_CONTENTS_KEY) : contents_at + 1] != _CONTENTS_KEY + b"<":
            raise AssertionError("signature placeholder misplaced")  # pragma: no cover
        start = written.start
        contents_end = start + contents_at + 2 + 2 * slot.contents_size
        byte_range = (0, start + contents_at, contents_end, written.end - contents_end)
        patched = bytearray(data)
        patched[br_at : br_at + len(BYTE_RANGE_PLACEHOLDER)] = _byte_range_bytes(byte_range)
        self._append(patched, start)
        return RenderedSlot(
            byte_range=byte_range,
            contents_offset=start + contents_at,
            contents_size=slot.contents_size,
            signature_ref=sig_ref,
        )

    def add_dss(self, data: DSSData) -> None:
        """Append a revision that adds ``data`` to the document security store."""
        writer = IncrementalWriter(self.reader())
        add_dss(writer, data)
        rendered, written = writer.render()
        self._append(rendered, written.start)

    def _append(self, data: bytes | bytearray, start: int) -> None:
        if start < self.size:  # pragma: no cover - the writer renders at the end
            raise AssertionError("an update must start at the end of the document")
        self.pending += b"\n" * (start - self.size) + data

    def digest(self, slot: RenderedSlot, algorithm: HashAlgorithm) -> bytes:
        """Hash the bytes ``slot``'s byte range covers (the original is read only once)."""
        prefix = self._prefix.get(algorithm)
        if prefix is None:
            prefix = hashlib.new(algorithm.value)
            copy = None if self._copied else self._sink
            if copy is not None:
                copy.seek(0)
            offset = 0
            while offset < self.original.size:
                chunk = self.original.read_at(offset, COPY_CHUNK_SIZE)
                if not chunk:
                    raise PDFFormatError("the file shrank while it was being hashed")
                prefix.update(chunk)
                if copy is not None:
                    copy.write(chunk)
                offset += len(chunk)
            self._copied = copy is not None or self._copied
            self._prefix[algorithm] = prefix
        h = prefix.copy()
        base = self.original.size
        first_end = slot.byte_range[1]
        second_start, second_len = slot.byte_range[2], slot.byte_range[3]
        view = memoryview(self.pending)
        h.update(view[: first_end - base])
        h.update(view[second_start - base : second_start - base + second_len])
        return h.digest()

    def fill(self, slot: RenderedSlot, contents: bytes) -> None:
        """Write ``contents`` (DER) into ``slot``'s reserved space, zero-padded.

        Raises:
            SigningError: the contents are larger than the space reserved for them.
        """
        if len(contents) > slot.contents_size:
            raise SigningError(
                f"the signature takes {len(contents)} bytes but only {slot.contents_size} "
                "were reserved for it"
            )
        hex_digits = contents.hex().upper().encode("ascii")
        at = slot.contents_offset - self.original.size + 1
        self.pending[at : at + len(hex_digits)] = hex_digits

    def close(self) -> None:
        """Release the readers made over pending revisions."""
        for reader in self._readers:
            reader.close()
        self._readers.clear()

    def write(self) -> None:
        """Write the new revisions: after the original in the sink (copying the original
        first if hashing has not done so), or appended to the original file in place."""
        sink = self._sink
        original = self.original
        if sink is None:
            if original.path is not None:
                with open(original.path, "r+b") as fh:
                    fh.seek(original.size)
                    fh.write(self.pending)
            else:
                fh_obj = original.file
                fh_obj.seek(original.size)
                fh_obj.write(self.pending)
                fh_obj.flush()
            return
        if not self._copied:
            sink.seek(0)
            offset = 0
            while offset < original.size:
                chunk = original.read_at(offset, COPY_CHUNK_SIZE)
                if not chunk:
                    raise PDFFormatError("the original file shrank while it was being copied")
                sink.write(chunk)
                offset += len(chunk)
            self._copied = True
        sink.seek(original.size)
        sink.write(self.pending)
        sink.truncate()
        sink.flush()


# --- the signing protocol: requests the drivers answer --------------------------------------


@attrs.frozen
class SignRequest:
    """A step asks the signer to sign."""

    request: DigestToSign


@attrs.frozen
class TimestampRequest:
    """A step asks the timestamp source for a token over ``imprint``."""

    imprint: bytes
    hash_algorithm: HashAlgorithm


Steps = Generator[SignRequest | TimestampRequest, bytes, None]


# --- sources, outputs and drivers ---------------------------------------------------------------


def _open(source: Source) -> PDFReader:
    if isinstance(source, bytes | bytearray | memoryview):
        return PDFReader(io.BytesIO(bytes(source)))
    if isinstance(source, str | os.PathLike):
        return PDFReader(source)
    if not hasattr(source, "read") or not hasattr(source, "seek"):
        raise TypeError("source must be a path, bytes or a seekable binary file")
    return PDFReader(source)


def _in_place(source: Source, output: Output) -> bool:
    if output is None or isinstance(source, bytes | bytearray | memoryview):
        return False
    if isinstance(output, str | os.PathLike):
        if not os.path.exists(output):
            return False
        if isinstance(source, str | os.PathLike):
            return os.path.samefile(source, output)
        name = getattr(source, "name", None)
        if isinstance(name, str) and os.path.exists(name) and os.path.samefile(name, output):
            raise ValueError(
                "output is the file the source object reads: pass the same path as source "
                "and output to sign in place"
            )
        return False
    return source is output


def _temporary_next_to(path: str | os.PathLike[str]) -> tuple[BinaryIO, str]:
    """A new file beside ``path`` (same directory, so that it can replace it atomically)."""
    target = os.fspath(path)
    for _ in range(8):
        candidate = f"{target}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(candidate, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        return os.fdopen(fd, "w+b"), candidate
    raise OSError(f"cannot create a temporary file next to {target}")  # pragma: no cover


@contextlib.contextmanager
def open_session(source: Source, output: Output) -> Iterator[tuple[PendingDocument, Finisher]]:
    """Open the source and the sink; on failure, leave the output as it was.

    A new file is written beside the output path and renamed over it at the end; a file
    object given as output is emptied if signing fails.
    """
    reader = _open(source)
    with contextlib.ExitStack() as stack:
        stack.callback(reader.close)
        sink: BinaryIO | None = None
        buffer: io.BytesIO | None = None
        temporary: str | None = None
        if output is None:
            sink = buffer = io.BytesIO()
        elif _in_place(source, output):
            sink = None
        elif isinstance(output, str | os.PathLike):
            fh, temporary = _temporary_next_to(output)
            sink = stack.enter_context(fh)
        else:
            sink = output
        doc = PendingDocument(reader, sink=sink)
        stack.callback(doc.close)
        try:
            yield doc, Finisher(doc, buffer)
        except BaseException:
            stack.close()
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            elif sink is not None and buffer is None:
                sink.seek(0)
                sink.truncate()
            raise
        stack.close()
        if temporary is not None and isinstance(output, str | os.PathLike):
            os.replace(temporary, output)


class Finisher:
    """Writes the document at the end of a session; returns the bytes when asked for."""

    def __init__(self, doc: PendingDocument, buffer: io.BytesIO | None) -> None:
        self._doc = doc
        self._buffer = buffer

    def __call__(self) -> bytes | None:
        self._doc.write()
        return self._buffer.getvalue() if self._buffer is not None else None


def drive(steps: Steps, signer: Signer | None, tsa: TimestampSource | None) -> None:
    """Run ``steps`` to the end, answering its requests with the signer and the TSA."""
    try:
        request = next(steps)
        while True:
            if isinstance(request, SignRequest):
                if signer is None:  # pragma: no cover - extend_pdf never signs
                    raise AssertionError("no signer")
                reply = signer.sign_digest(request.request)
            else:
                if tsa is None:  # pragma: no cover - options are checked first
                    raise AssertionError("no timestamp source")
                reply = tsa.timestamp(request.imprint, hash_algorithm=request.hash_algorithm)
            request = steps.send(reply)
    except StopIteration:
        return
    finally:
        steps.close()


async def drive_async(
    steps: Steps,
    signer: AsyncSigner | None,
    tsa: AsyncTimestampSource | TimestampSource | None,
) -> None:
    """Run ``steps`` to the end, awaiting the signer and the timestamp source."""
    try:
        request = next(steps)
        while True:
            if isinstance(request, SignRequest):
                if signer is None:  # pragma: no cover - extend_pdf never signs
                    raise AssertionError("no signer")
                reply = await signer.sign_digest(request.request)
            else:
                if tsa is None:  # pragma: no cover - options are checked first
                    raise AssertionError("no timestamp source")
                result: bytes | Awaitable[bytes] = tsa.timestamp(
                    request.imprint, hash_algorithm=request.hash_algorithm
                )
                reply = await result if inspect.isawaitable(result) else result
            request = steps.send(reply)
    except StopIteration:
        return
    finally:
        steps.close()
