"""huesign.sandbox (see the package documentation)."""

from huesign.sandbox.pki_services import (
    MAX_PKI_REQUEST_SIZE,
    bind_loopback,
    create_pki_app,
    serve_pki_services,
)

__all__ = ["MAX_PKI_REQUEST_SIZE", "bind_loopback", "create_pki_app", "serve_pki_services"]
