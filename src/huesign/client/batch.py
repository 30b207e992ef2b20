"""Batch signing: many documents, one ``sign_digests`` call, one confirmation.

A remote provider confirms a whole batch with one action of the citizen (CSC
``numSignatures`` with many hashes, one sp769 transaction with many ``sign_files``).  These
helpers prepare every document first, ask the signer once, and only then assemble the
results: a batch is all or nothing, so a refusal or a dropped connection never leaves some
documents signed and others not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from huesign.errors import RemoteSigningError
from huesign.pki._cms_asn1 import Content
from huesign.pki.algorithms import SignatureAlgorithm
from huesign.pki.certificates import Certificate
from huesign.pki.cms import PreparedCMS, prepare_cms
from huesign.pki.pades import sign_pdf_async
from huesign.pki.signers import MAX_BATCH_SIZE, AsyncSigner, DigestToSign, Signer

__all__ = ["sign_cms_batch", "sign_cms_batch_async", "sign_pdf_batch_async"]


# --- CMS ------------------------------------------------------------------------


def _prepare_all(
    contents: Sequence[Content],
    certificate: Certificate,
    chain: Sequence[Certificate],
    algorithms: Sequence[SignatureAlgorithm],
    algorithm: SignatureAlgorithm | None,
    signing_time: dt.datetime | None,
) -> list[PreparedCMS]:
    if not contents:
        raise ValueError("give at least one document")
    if len(contents) > MAX_BATCH_SIZE:
        raise ValueError(f"at most {MAX_BATCH_SIZE} documents per batch")
    if not algorithms:
        raise RemoteSigningError("the signer supports no signature algorithm")
    chosen = algorithm or algorithms[0]
    if chosen not in algorithms:
        raise ValueError(f"the signer cannot sign {chosen.value}")
    intermediates = tuple(c for c in chain if not c.is_self_issued)
    when = signing_time or dt.datetime.now(dt.UTC).replace(microsecond=0)
    return [
        prepare_cms(
            content,
            certificate=certificate,
            chain=intermediates,
            algorithm=chosen,
            signing_time=when,
        )
        for content in contents
    ]


def sign_cms_batch(
    contents: Sequence[Content],
    signer: Signer,
    *,
    algorithm: SignatureAlgorithm | None = None,
    signing_time: dt.datetime | None = None,
) -> tuple[bytes, ...]:
    """Sign many documents (detached CAdES B-B) with one ``sign_digests`` call.

    With a remote signer that is one confirmation for the whole batch.  All or nothing: if the
    batch fails, no signature is returned, so no document is left half-signed.
    """
    prepared = _prepare_all(
        contents, signer.certificate, signer.chain, signer.algorithms, algorithm, signing_time
    )
    signatures = signer.sign_digests([p.request for p in prepared])
    return tuple(p.finish(s) for p, s in zip(prepared, signatures, strict=True))


async def sign_cms_batch_async(
    contents: Sequence[Content],
    signer: AsyncSigner,
    *,
    algorithm: SignatureAlgorithm | None = None,
    signing_time: dt.datetime | None = None,
) -> tuple[bytes, ...]:
    """The asynchronous twin of :func:`sign_cms_batch`."""
    prepared = _prepare_all(
        contents, signer.certificate, signer.chain, signer.algorithms, algorithm, signing_time
    )
    signatures = await signer.sign_digests([p.request for p in prepared])
    return tuple(p.finish(s) for p, s in zip(prepared, signatures, strict=True))


# --- PDF ----------------------------------------------------------------------------------------


class _Collector:
    """An :class:`AsyncSigner` that holds single requests until all ``expected`` wait, then
    signs them with one ``sign_digests`` call (and fails them all together)."""

    def __init__(self, signer: AsyncSigner, expected: int) -> None:
        self._signer = signer
        self._expected = expected
        self._pending: list[tuple[DigestToSign, asyncio.Future[bytes]]] = []

    @property
    def certificate(self) -> Certificate:
        return self._signer.certificate

    @property
    def chain(self) -> tuple[Certificate, ...]:
        return self._signer.chain

    @property
    def algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        return self._signer.algorithms

    async def sign_digest(self, request: DigestToSign) -> bytes:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if len(self._pending) == self._expected:
            batch, self._pending = self._pending, []
            try:
                signatures = await self._signer.sign_digests([r for r, _ in batch])
            except BaseException as exc:
                for _, waiting in batch:
                    waiting.set_exception(exc)
            else:
                for (_, waiting), signature in zip(batch, signatures, strict=True):
                    waiting.set_result(signature)
        return await future

    async def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        return await self._signer.sign_digests(requests)

    def fail_waiting(self, exc: BaseException) -> None:
        for _, waiting in self._pending:
            if not waiting.done():
                waiting.set_exception(exc)
        self._pending = []


async def sign_pdf_batch_async(
    documents: Sequence[bytes],
    signer: AsyncSigner,
    *,
    reason: str | None = None,
    location: str | None = None,
    signing_time: dt.datetime | None = None,
) -> tuple[bytes, ...]:
    """Sign many PDFs (PAdES B-B) with one confirmation; return the signed files in order.

    Every document is prepared concurrently; their digests go to ``signer.sign_digests`` in
    one call.  All or nothing: when the batch fails, every document's signing fails and no
    signed file is returned.
    """
    if not documents:
        raise ValueError("give at least one document")
    if len(documents) > MAX_BATCH_SIZE:
        raise ValueError(f"at most {MAX_BATCH_SIZE} documents per batch")
    collector = _Collector(signer, len(documents))
    when = signing_time or dt.datetime.now(dt.UTC).replace(microsecond=0)

    async def one(document: bytes) -> bytes:
        try:
            signed = await sign_pdf_async(
                document, collector, reason=reason, location=location, signing_time=when
            )
        except BaseException as exc:
            collector.fail_waiting(exc)
            raise
        if signed is None:  # pragma: no cover - no output given, so bytes come back
            raise RemoteSigningError("the PDF engine returned no document")
        return signed

    results = await asyncio.gather(*(one(d) for d in documents), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return tuple(r for r in results if isinstance(r, bytes))
