"""The development CA's OCSP responder, CRLs and TSA over HTTP, on loopback.

:func:`create_pki_app` builds a small Starlette app whose routes sit under the paths of the
CA's ``base_url`` (the addresses its certificates embed in their CRL distribution points and
AIA); :func:`serve_pki_services` runs it with uvicorn in a background thread.

Because certificates embed ``base_url``, a CA served on an ephemeral port must know that port
before it is created: bind the socket first with :func:`bind_loopback`, create the CA with
``http://127.0.0.1:<port>``, then pass the socket to :func:`serve_pki_services`.

>>> sock = bind_loopback()  # doctest: +SKIP
>>> port = sock.getsockname()[1]  # doctest: +SKIP
>>> ca = DevelopmentCA.create(base_url=f"http://127.0.0.1:{port}/pki")  # doctest: +SKIP
>>> with serve_pki_services(ca, sock=sock) as base_url:  # doctest: +SKIP
...     ...
"""

from __future__ import annotations

import base64
import binascii
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal
from urllib.parse import unquote, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from huesign.pki.devca import DevelopmentCA

__all__ = ["MAX_PKI_REQUEST_SIZE", "bind_loopback", "create_pki_app", "serve_pki_services"]

#: Largest OCSP or timestamp request body accepted.
MAX_PKI_REQUEST_SIZE = 64 << 10
_STARTUP_TIMEOUT = 10.0


def _path(url: str) -> str:
    path = urlsplit(url).path
    return path if path.startswith("/") else "/" + path


async def _body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_PKI_REQUEST_SIZE):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PKI_REQUEST_SIZE:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_pki_app(ca: DevelopmentCA) -> Starlette:
    """The ASGI app serving ``ca``'s CRLs, OCSP (POST and GET) and TSA.

    Routes (under the path of ``ca.base_url``): ``crl/<issuing|root>.crl``, ``ocsp`` (POST
    ``application/ocsp-request``), ``ocsp/<base64 request>`` (GET, RFC 6960 appendix A),
    ``tsa`` (POST ``application/timestamp-query``) and the CA certificates at their
    CA-issuer addresses.
    """

    def crl_route(issuer: Literal["issuing", "root"]) -> Route:
        async def crl(_: Request) -> Response:
            return Response(ca.crl(issuer), media_type="application/pkix-crl")

        return Route(_path(ca.crl_url(issuer)), crl, methods=["GET"])

    def cert_route(issuer: Literal["issuing", "root"]) -> Route:
        cert = ca.root if issuer == "root" else ca.intermediate

        async def certificate(_: Request) -> Response:
            return Response(cert.der, media_type="application/pkix-cert")

        return Route(_path(ca.certificate_url(issuer)), certificate, methods=["GET"])

    async def ocsp_post(request: Request) -> Response:
        body = await _body(request)
        if body is None:
            return Response(status_code=413)
        return Response(ca.ocsp_response(body), media_type="application/ocsp-response")

    async def ocsp_get(request: Request) -> Response:
        encoded = unquote(request.path_params["encoded"])
        if len(encoded) > MAX_PKI_REQUEST_SIZE:
            return Response(status_code=414)
        try:
            body = base64.b64decode(encoded, validate=False)
        except (binascii.Error, ValueError):
            body = b""
        return Response(ca.ocsp_response(body), media_type="application/ocsp-response")

    async def tsa(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/timestamp-query":
            return Response(status_code=415)
        body = await _body(request)
        if body is None:
            return Response(status_code=413)
        return Response(ca.timestamp_response(body), media_type="application/timestamp-reply")

    ocsp_path = _path(ca.ocsp_url)
    routes = [
        crl_route("issuing"),
        crl_route("root"),
        cert_route("issuing"),
        cert_route("root"),
        Route(ocsp_path, ocsp_post, methods=["POST"]),
        Route(ocsp_path.rstrip("/") + "/{encoded:path}", ocsp_get, methods=["GET"]),
        Route(_path(ca.tsa_url), tsa, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def bind_loopback(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1 (``port=0``: the system picks a free port).

    Every sandbox server listens on a socket from here.  It has ``TCP_NODELAY`` set, and the
    connections it accepts inherit it: answers leave in two writes (head, then body), and
    without it Nagle's algorithm holds the second one until the client's delayed ACK (about
    40 ms per request on loopback).
    """
    # IPPROTO_TCP (not 0) also lets asyncio recognise the accepted sockets as TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


@contextmanager
def serve_pki_services(
    ca: DevelopmentCA, *, port: int = 0, sock: socket.socket | None = None
) -> Iterator[str]:
    """Serve ``ca``'s services on 127.0.0.1 in a background thread; yield the base URL.

    Give ``sock`` (from :func:`bind_loopback`) to serve on a port chosen before the CA was
    created, so that the addresses inside its certificates reach this server; otherwise a
    socket is bound to ``port`` (0: any free port).  The server stops when the block ends.
    """
    own = sock is None
    listener = bind_loopback(port) if sock is None else sock
    host, bound = listener.getsockname()[:2]
    config = uvicorn.Config(
        create_pki_app(ca), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="huesign-pki", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the PKI services did not start")
            time.sleep(0.005)
        yield f"http://{host}:{bound}{urlsplit(ca.base_url).path.rstrip('/')}"
    finally:
        server.should_exit = True
        thread.join(timeout=_STARTUP_TIMEOUT)
        if own:
            listener.close()
