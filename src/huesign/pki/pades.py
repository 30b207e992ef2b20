"""PAdES signatures on PDF files: :func:`sign_pdf`, :func:`sign_pdf_async`, :func:`extend_pdf`.

Levels follow ETSI EN 319 142-1 (PAdES baseline):

* **B-B**: a CMS (``/SubFilter /ETSI.CAdES.detached``) with signing-certificate-v2 and no
  signing-time attribute (the claimed time is the signature dictionary's ``/M``);
* **B-T**: plus a signature timestamp in the CMS;
* **B-LT**: plus a document security store (DSS) with the certificates, OCSP responses and
  CRLs of the signer's chain and of the TSA's chain;
* **B-LTA**: plus a document timestamp (``/SubFilter /ETSI.RFC3161``) over all of it.

Every change is an incremental update: earlier signatures stay valid.  The file is never
loaded whole: the original is read in chunks, once, hashed and (for a new file) copied in
the same pass.  The new revisions are written only when every signature, timestamp and
revocation item is in hand, and a new file is written beside the output path and renamed
over it at the end, so a failure leaves the output as it was.  The room for the signature
is estimated from the signer's certificates, the algorithm, a timestamp allowance and a
margin: nothing is signed twice.

The signing logic is written once, as a generator that yields what it needs (a signature
value, a timestamp token) and receives the answers; :func:`sign_pdf` and
:func:`sign_pdf_async` only drive it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
from collections.abc import Iterator, Sequence

import attrs

from huesign.errors import CertificateError
from huesign.pki import _cms_asn1 as raw
from huesign.pki import _pades_ltv as ltv
from huesign.pki._pades_sign import (
    TIMESTAMP_TOKEN_ALLOWANCE,
    Output,
    PendingDocument,
    SignRequest,
    Source,
    Steps,
    TimestampRequest,
    check_token,
    drive,
    drive_async,
    estimate_signature_size,
    open_session,
    pades_cms,
)
from huesign.pki.algorithms import HashAlgorithm, SignatureAlgorithm
from huesign.pki.certificates import Certificate
from huesign.pki.fetch import HTTPFetcher
from huesign.pki.pdffields import SignatureDictionary, SignatureKind, find_signatures, iter_fields
from huesign.pki.pdfobjects import PDFDict
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import DocMDPPermission, DSSData, FieldLock, SignatureSlot
from huesign.pki.pdfwriter import IncrementalWriter
from huesign.pki.revocation import RevocationSource
from huesign.pki.signers import (
    AsyncSigner,
    KeySigner,
    Signer,
    choose_algorithm,
    embedded_chain,
)
from huesign.pki.stamp import StampAppearance
from huesign.pki.trust import TrustStore
from huesign.pki.tsp import (
    AsyncHTTPTimestampClient,
    AsyncTimestampSource,
    HTTPTimestampClient,
    TimestampSource,
)

__all__ = [
    "PAdESLevel",
    "extend_pdf",
    "extend_pdf_async",
    "sign_pdf",
    "sign_pdf_async",
]


class PAdESLevel(enum.Enum):
    """The PAdES baseline levels (ETSI EN 319 142-1)."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def rank(self) -> int:
        """0 for B-B up to 3 for B-LTA."""
        return list(PAdESLevel).index(self)


@attrs.frozen(kw_only=True)
class _SignOptions:
    level: PAdESLevel
    field: str | None
    appearance: StampAppearance | None
    reason: str | None
    location: str | None
    contact_info: str | None
    certify: DocMDPPermission | None
    lock: FieldLock | None
    signing_time: dt.datetime


def _free_name(reader: PDFReader, stem: str) -> str:
    taken = {f.name for f in iter_fields(reader)}
    n = 1
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"


def _timestamp_room(hint: int | None) -> int:
    return TIMESTAMP_TOKEN_ALLOWANCE if hint is None else hint + hint // 8 + 512


def _sign_steps(
    doc: PendingDocument,
    options: _SignOptions,
    *,
    certificate: Certificate,
    chain: tuple[Certificate, ...],
    algorithm: SignatureAlgorithm,
    check_signature: bool,
    validation: _Validation | None,
) -> Steps:
    level = options.level
    hash_algorithm = algorithm.hash_algorithm
    size = estimate_signature_size(
        certificate=certificate,
        certificates=(certificate, *chain),
        algorithm=algorithm,
        timestamp_size=TIMESTAMP_TOKEN_ALLOWANCE if level.rank >= 1 else 0,
    )
    slot = SignatureSlot(
        field_name=options.field or _free_name(doc.reader(), "Signature"),
        contents_size=size,
        signing_time=options.signing_time,
        reason=options.reason,
        location=options.location,
        contact_info=options.contact_info,
        certify=options.certify,
        lock=options.lock,
    )
    appearance = options.appearance

    def customize(writer: IncrementalWriter, slot: SignatureSlot) -> SignatureSlot:
        if appearance is None:
            return slot
        return _with_stamp(writer, slot, appearance, certificate, options)

    rendered = doc.add_slot(slot, customize=customize)
    prepared = pades_cms(
        doc.digest(rendered, hash_algorithm),
        certificate=certificate,
        chain=chain,
        algorithm=algorithm,
    )
    signature = yield SignRequest(prepared.request)
    token: bytes | None = None
    if level.rank >= 1:
        token = yield TimestampRequest(prepared.timestamp_imprint(signature), hash_algorithm)
        check_token(token, prepared.timestamp_imprint(signature), hash_algorithm)
    der = prepared.finish(signature, timestamp_token=token, check=check_signature)
    doc.fill(rendered, der)
    if level.rank >= 2 and validation is not None:
        covered = ltv.cms_certificates(der)
        doc.add_dss(validation.collect(covered, extra=chain))
    if level is PAdESLevel.B_LTA:
        yield from _document_timestamp(doc, hash_algorithm, len(token) if token else None)


def _with_stamp(
    writer: IncrementalWriter,
    slot: SignatureSlot,
    appearance: StampAppearance,
    certificate: Certificate,
    options: _SignOptions,
) -> SignatureSlot:
    """Put ``appearance`` on the new widget, or on the existing field it names."""
    placement = appearance.resolve(writer.reader)
    stream = appearance.build(
        writer, rect=placement.rect, signer=certificate, signing_time=options.signing_time
    )
    name = placement.field_name
    if name is None:
        return attrs.evolve(slot, appearance=stream, rect=placement.rect, page=placement.page_index)
    if options.field is not None and options.field != name:
        raise ValueError(f"the stamp goes in field {name!r} but field={options.field!r}")
    field = next((f for f in iter_fields(writer.reader) if f.name == name), None)
    if field is None:  # pragma: no cover - resolve() checked it
        raise ValueError(f"no field {name!r}")
    widget = field.widgets[0]
    ap = PDFDict({"N": writer.add(stream)})
    writer.update(widget, writer.get_dict(widget).updated(AP=ap))
    return attrs.evolve(slot, field_name=name)


def _document_timestamp(
    doc: PendingDocument, hash_algorithm: HashAlgorithm, hint: int | None
) -> Steps:
    slot = SignatureSlot(
        field_name=_free_name(doc.reader(), "Timestamp"),
        contents_size=_timestamp_room(hint),
        timestamp=True,
    )
    rendered = doc.add_slot(slot)
    digest = doc.digest(rendered, hash_algorithm)
    token = yield TimestampRequest(digest, hash_algorithm)
    check_token(token, digest, hash_algorithm)
    doc.fill(rendered, token)


@attrs.frozen(kw_only=True)
class _Validation:
    """Where B-LT data comes from: a revocation source and certificates to build chains."""

    source: RevocationSource
    pool: tuple[Certificate, ...]

    def collect(
        self, covered: Sequence[Certificate], *, extra: Sequence[Certificate] = ()
    ) -> DSSData:
        return ltv.collect_validation_data(covered, pool=(*extra, *self.pool), source=self.source)


def _check_level(level: PAdESLevel, timestamp: object) -> None:
    if not isinstance(level, PAdESLevel):
        raise TypeError("level must be a PAdESLevel")
    if level.rank >= 1 and timestamp is None:
        raise ValueError(f"level {level.value} needs a timestamp source (timestamp=...)")


def _options(
    level: PAdESLevel,
    timestamp: object,
    *,
    field: str | None,
    appearance: StampAppearance | None,
    reason: str | None,
    location: str | None,
    contact_info: str | None,
    certify: DocMDPPermission | None,
    lock: FieldLock | None,
    signing_time: dt.datetime | None,
) -> _SignOptions:
    _check_level(level, timestamp)
    if signing_time is not None and signing_time.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    if certify is not None and not isinstance(certify, DocMDPPermission):
        raise TypeError("certify must be a DocMDPPermission")
    return _SignOptions(
        level=level,
        field=field,
        appearance=appearance,
        reason=reason,
        location=location,
        contact_info=contact_info,
        certify=certify,
        lock=lock,
        signing_time=signing_time or dt.datetime.now(dt.UTC).replace(microsecond=0),
    )


@contextlib.contextmanager
def _validation(
    level: PAdESLevel,
    revocation: RevocationSource | None,
    trust: TrustStore | None,
    pool: Sequence[Certificate],
) -> Iterator[_Validation | None]:
    if level.rank < 2:
        yield None
        return
    extra = (*pool, *(trust.anchors + trust.intermediates if trust is not None else ()))
    if revocation is not None:
        yield _Validation(source=revocation, pool=extra)
        return
    with HTTPFetcher() as fetcher:
        yield _Validation(source=RevocationSource(fetcher=fetcher), pool=extra)


# --- public recipes ------------------------------------------------------------------------------


def sign_pdf(
    source: Source,
    signer: Signer,
    *,
    output: Output = None,
    level: PAdESLevel = PAdESLevel.B_B,
    timestamp: TimestampSource | str | None = None,
    revocation: RevocationSource | None = None,
    trust: TrustStore | None = None,
    field: str | None = None,
    appearance: StampAppearance | None = None,
    reason: str | None = None,
    location: str | None = None,
    contact_info: str | None = None,
    certify: DocMDPPermission | None = None,
    lock: FieldLock | None = None,
    signing_time: dt.datetime | None = None,
    algorithm: SignatureAlgorithm | None = None,
) -> bytes | None:
    """Sign a PDF with a PAdES signature and return the result or write it to ``output``.

    Args:
        source: the PDF (path, bytes or seekable binary file); never loaded whole.
        signer: any :class:`~huesign.pki.Signer` (key in memory, token, remote provider).
        output: ``None`` returns the signed bytes; the source's own path (or file object)
            appends in place; another path gets a new file (replaced atomically); a
            seekable, writable binary file is overwritten from offset 0.
        level: B-B (default), B-T, B-LT or B-LTA.
        timestamp: a TSA URL or :class:`~huesign.pki.TimestampSource`; needed from B-T up.
        revocation: where B-LT/B-LTA OCSP responses and CRLs come from (supplied data and
            a fetcher); default: fetched over HTTP from the certificates' addresses.
        trust: extra certificates (anchors and intermediates) for building the chains whose
            validation data B-LT embeds, when the signer's chain is incomplete.
        field: an existing empty signature field to fill, or the name of the new field
            (default: ``Signature1``, ``Signature2``...).
        appearance: a stamp for a visible signature; ``None`` makes it invisible.
        reason, location, contact_info: text entries of the signature dictionary.
        certify: make this the certification signature with these DocMDP permissions
            (only the first signature of a document can certify it).
        lock: a FieldMDP lock: the fields that may not change after this signature.
        signing_time: the claimed signing time (``/M``); default: now.
        algorithm: the signature scheme; default: the signer's preferred one.

    Raises:
        ValueError: an impossible combination (B-T without a timestamp source, an unknown
            or filled field, certifying a signed document).
        SigningError: the signer failed, a certificate is revoked, or the signature does not
            fit the space estimated for it.
        RevocationFetchError: the TSA or the revocation data cannot be reached.
        PDFFormatError: the PDF cannot be read or updated (e.g. it is encrypted).
    """
    options = _options(
        level,
        timestamp,
        field=field,
        appearance=appearance,
        reason=reason,
        location=location,
        contact_info=contact_info,
        certify=certify,
        lock=lock,
        signing_time=signing_time,
    )
    chosen = choose_algorithm(signer.algorithms, algorithm)
    chain = embedded_chain(signer.chain)
    with contextlib.ExitStack() as stack:
        tsa: TimestampSource | None
        if isinstance(timestamp, str):
            tsa = stack.enter_context(HTTPTimestampClient(timestamp))
        else:
            tsa = timestamp
        validation = stack.enter_context(_validation(level, revocation, trust, signer.chain))
        doc, finish = stack.enter_context(open_session(source, output))
        steps = _sign_steps(
            doc,
            options,
            certificate=signer.certificate,
            chain=chain,
            algorithm=chosen,
            check_signature=not isinstance(signer, KeySigner),
            validation=validation,
        )
        drive(steps, signer, tsa)
        return finish()
    raise AssertionError("unreachable")  # pragma: no cover


async def sign_pdf_async(
    source: Source,
    signer: AsyncSigner,
    *,
    output: Output = None,
    level: PAdESLevel = PAdESLevel.B_B,
    timestamp: AsyncTimestampSource | TimestampSource | str | None = None,
    revocation: RevocationSource | None = None,
    trust: TrustStore | None = None,
    field: str | None = None,
    appearance: StampAppearance | None = None,
    reason: str | None = None,
    location: str | None = None,
    contact_info: str | None = None,
    certify: DocMDPPermission | None = None,
    lock: FieldLock | None = None,
    signing_time: dt.datetime | None = None,
    algorithm: SignatureAlgorithm | None = None,
) -> bytes | None:
    """The asynchronous twin of :func:`sign_pdf`, for remote signers and async TSAs.

    Same arguments and results.  File reading, hashing and revocation fetching (the
    :class:`~huesign.pki.Fetcher` interface is synchronous) run in the caller's thread.
    """
    options = _options(
        level,
        timestamp,
        field=field,
        appearance=appearance,
        reason=reason,
        location=location,
        contact_info=contact_info,
        certify=certify,
        lock=lock,
        signing_time=signing_time,
    )
    chosen = choose_algorithm(signer.algorithms, algorithm)
    chain = embedded_chain(signer.chain)
    async with contextlib.AsyncExitStack() as stack:
        tsa: AsyncTimestampSource | TimestampSource | None
        if isinstance(timestamp, str):
            tsa = await stack.enter_async_context(AsyncHTTPTimestampClient(timestamp))
        else:
            tsa = timestamp
        validation = stack.enter_context(_validation(level, revocation, trust, signer.chain))
        doc, finish = stack.enter_context(open_session(source, output))
        steps = _sign_steps(
            doc,
            options,
            certificate=signer.certificate,
            chain=chain,
            algorithm=chosen,
            check_signature=True,
            validation=validation,
        )
        await drive_async(steps, signer, tsa)
        return finish()
    raise AssertionError("unreachable")  # pragma: no cover


def _has_timestamp(sig: SignatureDictionary, stamps: Sequence[SignatureDictionary]) -> bool:
    """Whether a signature has a signature timestamp or a later document timestamp."""

    def end(item: SignatureDictionary) -> int:
        br = item.byte_range
        return br[2] + br[3] if br is not None and len(br) == 4 else 0

    if any(end(stamp) > end(sig) for stamp in stamps):
        return True
    if sig.contents is None:
        return False
    try:
        signed = raw.parse_signed_data(ltv.trim_der(sig.contents))
    except (raw.CMSFormatError, ValueError) as exc:
        raise CertificateError(f"the signature in field {sig.field_name!r} cannot be read") from exc
    return bool(ltv.signature_timestamp_tokens(signed))


def _extend_steps(
    doc: PendingDocument,
    level: PAdESLevel,
    validation: _Validation | None,
    hash_algorithm: HashAlgorithm,
) -> Steps:
    found = find_signatures(doc.reader())
    signatures = [s for s in found if s.kind is SignatureKind.SIGNATURE]
    if not signatures:
        raise ValueError("the document has no signature to extend")
    stamps = [s for s in found if s.kind is SignatureKind.DOC_TIMESTAMP]
    if not all(_has_timestamp(s, stamps) for s in signatures):
        yield from _document_timestamp(doc, hash_algorithm, None)
    if validation is not None:
        covered = ltv.embedded_certificates(find_signatures(doc.reader()))
        doc.add_dss(validation.collect(covered))
    if level is PAdESLevel.B_LTA:
        yield from _document_timestamp(doc, hash_algorithm, None)


def extend_pdf(
    source: Source,
    *,
    level: PAdESLevel,
    timestamp: TimestampSource | str | None = None,
    revocation: RevocationSource | None = None,
    output: Output = None,
    trust: TrustStore | None = None,
    hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
) -> bytes | None:
    """Raise the signatures of a signed PDF to ``level`` without touching them.

    Following ETSI EN 319 142-1, an existing signature gains B-T through a document
    timestamp (added only when some signature has neither a signature timestamp nor a later
    document timestamp), B-LT through a DSS holding the validation data of every signature
    and timestamp in the document, and B-LTA through a document timestamp after that DSS
    (calling it again on a B-LTA document renews the archive timestamp chain).

    Args:
        source, output: as for :func:`sign_pdf`.
        level: B-T, B-LT or B-LTA.
        timestamp: the TSA (URL or :class:`~huesign.pki.TimestampSource`).
        revocation: where OCSP responses and CRLs come from (default: HTTP).
        trust: anchors and intermediates to complete the chains embedded in the signatures
            (a CMS usually omits the root).
        hash_algorithm: the digest of the document timestamps.

    Raises:
        ValueError: the document has no signature, or ``level`` is B-B.
        SigningError, RevocationFetchError, CertificateError, PDFFormatError: as for
            :func:`sign_pdf`.
    """
    if level is PAdESLevel.B_B:
        raise ValueError("extend_pdf raises signatures to B-T, B-LT or B-LTA, not B-B")
    _check_level(level, timestamp)
    with contextlib.ExitStack() as stack:
        tsa: TimestampSource | None
        if isinstance(timestamp, str):
            tsa = stack.enter_context(HTTPTimestampClient(timestamp))
        else:
            tsa = timestamp
        validation = stack.enter_context(_validation(level, revocation, trust, ()))
        doc, finish = stack.enter_context(open_session(source, output))
        drive(_extend_steps(doc, level, validation, hash_algorithm), None, tsa)
        return finish()
    raise AssertionError("unreachable")  # pragma: no cover


async def extend_pdf_async(
    source: Source,
    *,
    level: PAdESLevel,
    timestamp: AsyncTimestampSource | TimestampSource | str | None = None,
    revocation: RevocationSource | None = None,
    output: Output = None,
    trust: TrustStore | None = None,
    hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
) -> bytes | None:
    """The asynchronous twin of :func:`extend_pdf`, for async timestamp sources.

    Same arguments and results; file work and revocation fetching run in the caller's
    thread.
    """
    if level is PAdESLevel.B_B:
        raise ValueError("extend_pdf raises signatures to B-T, B-LT or B-LTA, not B-B")
    _check_level(level, timestamp)
    async with contextlib.AsyncExitStack() as stack:
        tsa: AsyncTimestampSource | TimestampSource | None
        if isinstance(timestamp, str):
            tsa = await stack.enter_async_context(AsyncHTTPTimestampClient(timestamp))
        else:
            tsa = timestamp
        validation = stack.enter_context(_validation(level, revocation, trust, ()))
        doc, finish = stack.enter_context(open_session(source, output))
        await drive_async(_extend_steps(doc, level, validation, hash_algorithm), None, tsa)
        return finish()
    raise AssertionError("unreachable")  # pragma: no cover
