"""Batch remote signing: 100 one-page forms through the CSC sandbox, batched vs one by one.

Run with ``python benchmarks/batch.py``.  The sandbox provider (CSC v1, a SCAL 2 credential
with ``multisign`` 100) is served on loopback by uvicorn in a background thread.  *One by
one* signs each PDF with its own ``credentials/authorize`` and ``signatures/signHash``
(one confirmation per document); *batched* (``sign_pdf_batch_async``) prepares all 100
PDFs concurrently and sends their digests in one authorization and one ``signHash`` (one
confirmation).  The script
prints the HTTP round trips of each way and the median wall time over a few repeats.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time

import httpx
from fpdf import FPDF

from huesign.client import AsyncCSCClient, AsyncCSCSigner, sign_pdf_batch_async
from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    sign_pdf_async,
)
from huesign.sandbox import SandboxCredential, create_signing_app, serve_signing_sandbox

DOCUMENTS = 100
REPEATS = 3


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the requests that reach the network."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.count = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def one_page_form(number: int) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.cell(text=f"To khai so {number}")
    return bytes(pdf.output())


async def run(base_url: str, forms: list[bytes], *, batched: bool) -> tuple[float, int]:
    transport = CountingTransport()
    async with AsyncCSCClient(base_url, transport=transport) as client:
        await client.login("046190001234", "password")
        credential = await client.credential("cred-046190001234")
        signer = AsyncCSCSigner(client, credential, pin="123456")
        before = transport.count
        started = time.perf_counter()
        if batched:
            outputs = list(await sign_pdf_batch_async(forms, signer))
        else:
            outputs = [await sign_pdf_async(io.BytesIO(f), signer) for f in forms]
        elapsed = time.perf_counter() - started
    assert all(outputs)
    return elapsed, transport.count - before


def main() -> None:
    ca = DevelopmentCA.create(name="Batch Benchmark")
    identity = CitizenIdentity(
        common_name="Nguyễn Thị Hương Giang", identifiers=(Identifier.cccd("046190001234"),)
    )
    credential = SandboxCredential.for_citizen(ca.issue(identity), multisign=DOCUMENTS)
    forms = [one_page_form(i) for i in range(DOCUMENTS)]
    with serve_signing_sandbox(create_signing_app(ca, citizens=[credential])) as sandbox:
        asyncio.run(run(sandbox.base_url, forms[:5], batched=False))  # warm up
        results: dict[bool, list[tuple[float, int]]] = {False: [], True: []}
        for _ in range(REPEATS):
            for batched in (False, True):
                results[batched].append(asyncio.run(run(sandbox.base_url, forms, batched=batched)))
    single = statistics.median(t for t, _ in results[False])
    batch = statistics.median(t for t, _ in results[True])
    print(f"{DOCUMENTS} one-page forms through the CSC sandbox (median of {REPEATS})")
    print(f"  one request per document: {single:7.3f} s, {results[False][0][1]:4d} round trips")
    print(f"  one batch:                {batch:7.3f} s, {results[True][0][1]:4d} round trips")
    print(f"  time ratio (one by one / batched): {single / batch:.1f}x")


if __name__ == "__main__":
    main()
