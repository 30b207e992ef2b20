"""Run the whole sandbox (portal, wallet, PKI services, signing provider) on loopback.

:func:`serve_sandbox` binds a loopback port first, creates a development CA whose CRL, OCSP
and TSA addresses point at that port (unless a CA is given), and serves
:func:`~huesign.sandbox.app.create_sandbox_app` with uvicorn in a background thread for the
duration of a ``with`` block::

    with serve_sandbox() as sandbox:
        portal = PortalClient(base_url=sandbox.portal_url,
                              token=sandbox.credentials.citizen_token)

More test citizens come from ``serve_sandbox(citizens={cccd: name})`` or
:meth:`RunningSandbox.add_citizen`: each gets a certificate from the sandbox CA, a portal
bearer token and a remote-signing account at the provider mounted under ``/signing``.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import attrs
import uvicorn

from huesign.pki.algorithms import KeyAlgorithm
from huesign.pki.devca import DevelopmentCA
from huesign.sandbox._common import Credentials, utcnow
from huesign.sandbox.app import SandboxCitizen, SandboxParts, create_sandbox_app, sandbox_parts
from huesign.sandbox.pki_services import bind_loopback
from huesign.sandbox.signing import SigningSandboxState
from huesign.sandbox.store import open_store

__all__ = ["RunningSandbox", "serve_sandbox"]

_STARTUP_TIMEOUT = 10.0


@attrs.frozen(kw_only=True)
class RunningSandbox:
    """A sandbox being served.

    Attributes:
        base_url: ``http://127.0.0.1:<port>``.
        parts: the CA, test certificates, credentials and live state.
    """

    base_url: str
    parts: SandboxParts

    @property
    def portal_url(self) -> str:
        """The portal API root."""
        return self.base_url + "/portal/v1"

    @property
    def wallet_url(self) -> str:
        """The wallet API root."""
        return self.base_url + "/wallet/v1"

    @property
    def signing_url(self) -> str:
        """The remote-signing provider's root (CSC under ``/csc/v1``, sp769 under ``/sp769``)."""
        return self.base_url + "/signing"

    @property
    def credentials(self) -> Credentials:
        """The test credentials."""
        return self.parts.credentials

    @property
    def ca(self) -> DevelopmentCA:
        """The development CA."""
        return self.parts.ca

    @property
    def signing(self) -> SigningSandboxState:
        """The remote-signing provider's live state: the confirmations it showed citizens
        (``confirmations[-1].verification_code``), OTPs, and its service accounts
        (``sp_id``/``sp_password`` for sp769, ``client_id``/``client_secret`` for CSC)."""
        return self.parts.signing

    @property
    def citizens(self) -> tuple[SandboxCitizen, ...]:
        """The provisioned test citizens, the built-in one (CCCD 046190001234) first."""
        return self.parts.citizens

    def add_citizen(
        self, *, name: str, cccd: str, province: str = "Thành phố Huế"
    ) -> SandboxCitizen:
        """Provision a test citizen while the sandbox runs (see
        :meth:`~huesign.sandbox.SandboxParts.add_citizen`): certificate, bearer token and
        remote-signing account."""
        return self.parts.add_citizen(name=name, cccd=cccd, province=province)


@contextmanager
def serve_sandbox(
    *,
    ca: DevelopmentCA | None = None,
    db: str | None = None,
    port: int = 0,
    sock: socket.socket | None = None,
    credentials: Credentials | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    max_upload_size: int = 20 << 20,
    citizens: Mapping[str, str] | None = None,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox on 127.0.0.1 in a background thread until the block ends.

    Args:
        ca: the development CA; default: a new EC P-256 CA whose services are this server.
        db: the store URL (:func:`~huesign.sandbox.store.open_store`); default: memory.
        port: the port (0: any free port); ignored when ``sock`` is given.
        sock: a socket bound with :func:`~huesign.sandbox.bind_loopback`.
        credentials: the test credentials; default: fresh random ones.
        clock: the sandbox clock.
        max_upload_size: the largest attachment accepted, in bytes.
        citizens: more test citizens to provision, full name by CCCD
            (:attr:`RunningSandbox.citizens`).

    Raises:
        ValueError: a citizen's CCCD or name is not valid.
        RuntimeError: the server did not start.
    """
    listener = bind_loopback(port) if sock is None else sock
    host, bound = listener.getsockname()[:2]
    base_url = f"http://{host}:{bound}"
    store = open_store(db)
    try:
        if ca is None:
            ca = DevelopmentCA.create(
                name="Huesign Sandbox",
                base_url=base_url + "/pki",
                key_algorithm=KeyAlgorithm.EC_P256,
            )
        parts = sandbox_parts(
            ca,
            store=store,
            credentials=credentials,
            clock=clock,
            public_url=base_url,
            max_upload_size=max_upload_size,
        )
        for cccd, name in (citizens or {}).items():
            parts.add_citizen(name=name, cccd=cccd)
        config = uvicorn.Config(
            create_sandbox_app(parts),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            backlog=2048,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [listener]},
            name="huesign-sandbox",
            daemon=True,
        )
        thread.start()
        try:
            deadline = time.monotonic() + _STARTUP_TIMEOUT
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start")
                time.sleep(0.005)
            yield RunningSandbox(base_url=base_url, parts=parts)
        finally:
            server.should_exit = True
            thread.join(timeout=_STARTUP_TIMEOUT)
    finally:
        store.close()
        if sock is None:
            listener.close()
