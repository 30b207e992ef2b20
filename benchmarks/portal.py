"""Load: N concurrent async citizens through create, sign, submit and pay on a local sandbox.

Run with ``python benchmarks/portal.py [--citizens 200] [--db sqlite:///FILE]``.  The sandbox
runs in this process (uvicorn in a thread, one event loop); the citizens are async clients in
the main thread, each with its own token.  Every citizen: create a draft, attach a signed form
(verified by the portal), submit, create the fee payment, confirm it in the wallet.  Prints
throughput, p50/p99 journey and request latency, the error count and the duplicate count
(dossiers per citizen and payments per dossier above one).  Goal: zero errors and zero
duplicates at 200 concurrent citizens.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable
from typing import TypeVar

import httpx

from huesign.client import AsyncPortalClient, AsyncWalletClient
from huesign.errors import HuesignError
from huesign.pki import KeySigner, sign_cms
from huesign.sandbox import RunningSandbox, serve_sandbox

FORM = b"%PDF-1.7\n% benchmark form\n"
PROCEDURE = "1.004873"
T = TypeVar("T")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _tokens(sandbox: RunningSandbox, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {sandbox.credentials.admin_token}"}
    async with httpx.AsyncClient(base_url=sandbox.base_url, headers=headers) as admin:
        replies = await asyncio.gather(
            *(
                admin.post("/sandbox/citizens", json={"cccd": f"046199{i:06d}", "name": f"CD {i}"})
                for i in range(count)
            )
        )
    return [str(r.raise_for_status().json()["token"]) for r in replies]


async def _citizen(
    portal: AsyncPortalClient, wallet: AsyncWalletClient, signature: bytes, requests: list[float]
) -> float:
    started = time.perf_counter()

    async def timed(step: Awaitable[T]) -> T:
        t = time.perf_counter()
        result = await step
        requests.append(time.perf_counter() - t)
        return result

    dossier = await timed(portal.dossiers.create(procedure_code=PROCEDURE))
    await timed(portal.dossiers.attach_form(dossier.id, document=FORM, signature=signature))
    await timed(portal.dossiers.submit(dossier.id))
    payment = await timed(portal.dossiers.pay(dossier.id))
    await timed(wallet.payments.confirm(payment.id))
    return time.perf_counter() - started


def _duplicates(sandbox: RunningSandbox) -> tuple[int, int, int]:
    with sandbox.parts.state.store.transaction() as tx:
        dossiers = tx.all("SELECT owner, COUNT(*) FROM dossiers GROUP BY owner HAVING COUNT(*) > 1")
        payments = tx.all(
            "SELECT dossier_id, COUNT(*) FROM payments GROUP BY dossier_id HAVING COUNT(*) > 1"
        )
        paid = tx.one("SELECT COUNT(*) FROM dossiers WHERE paid = 1")
    return len(dossiers), len(payments), int(str(paid[0])) if paid else 0


async def _run(sandbox: RunningSandbox, count: int, connections: int) -> None:
    issued = sandbox.parts.citizen
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    signature = sign_cms(FORM, signer)
    tokens = await _tokens(sandbox, count)
    requests: list[float] = []
    # One connection pool, as an integrator's backend would have; each citizen gets a
    # client with their own token through with_options (which shares the pool).
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with (
        AsyncPortalClient(
            base_url=sandbox.portal_url,
            timeout=60,
            transport=httpx.AsyncHTTPTransport(limits=limits),
        ) as portal,
        AsyncWalletClient(
            base_url=sandbox.wallet_url,
            timeout=60,
            transport=httpx.AsyncHTTPTransport(limits=limits),
        ) as wallet,
    ):
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(
                _citizen(
                    portal.with_options(token=token),
                    wallet.with_options(token=token),
                    signature,
                    requests,
                )
                for token in tokens
            ),
            return_exceptions=True,
        )
        elapsed = time.perf_counter() - started
    journeys = [o for o in outcomes if isinstance(o, float)]
    errors = [o for o in outcomes if not isinstance(o, float)]
    dup_dossiers, dup_payments, paid = _duplicates(sandbox)
    print(f"citizens            {count}")
    print(f"completed journeys  {len(journeys)}  (paid dossiers in the store: {paid})")
    print(f"errors              {len(errors)}")
    for error in errors[:5]:
        kind = "huesign" if isinstance(error, HuesignError) else "other"
        print(f"  {kind}: {type(error).__name__}: {error}")
    print(f"duplicates          {dup_dossiers + dup_payments} "
          f"(dossiers {dup_dossiers}, payments {dup_payments})")  # fmt: skip
    print(f"wall time           {elapsed:.2f} s")
    print(f"throughput          {len(journeys) / elapsed:.1f} journeys/s, "
          f"{len(requests) / elapsed:.1f} requests/s")  # fmt: skip
    if journeys:
        print(f"journey latency     p50 {_percentile(journeys, 0.5) * 1000:.0f} ms, "
              f"p99 {_percentile(journeys, 0.99) * 1000:.0f} ms, "
              f"mean {statistics.fmean(journeys) * 1000:.0f} ms")  # fmt: skip
        print(f"request latency     p50 {_percentile(requests, 0.5) * 1000:.0f} ms, "
              f"p99 {_percentile(requests, 0.99) * 1000:.0f} ms")  # fmt: skip


def main() -> None:
    """Parse the options, start a sandbox and drive the citizens."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--db", default=None, help="store URL (default: memory)")
    parser.add_argument("--connections", type=int, default=16, help="client connection pool")
    args = parser.parse_args()
    with serve_sandbox(db=args.db) as sandbox:
        asyncio.run(_run(sandbox, args.citizens, args.connections))


if __name__ == "__main__":
    main()
