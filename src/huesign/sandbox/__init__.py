"""huesign.sandbox (see the package documentation)."""

from huesign.sandbox._common import Credentials
from huesign.sandbox.app import SandboxCitizen, SandboxParts, create_sandbox_app, sandbox_parts
from huesign.sandbox.pki_services import (
    MAX_PKI_REQUEST_SIZE,
    bind_loopback,
    create_pki_app,
    serve_pki_services,
)
from huesign.sandbox.server import RunningSandbox, serve_sandbox
from huesign.sandbox.signing import (
    BEHAVIOUR_HEADER,
    RunningSigningSandbox,
    SandboxConfirmation,
    SandboxCredential,
    SigningSandboxState,
    create_signing_app,
    serve_signing_sandbox,
)
from huesign.sandbox.store import open_store

__all__ = [
    "BEHAVIOUR_HEADER",
    "MAX_PKI_REQUEST_SIZE",
    "Credentials",
    "RunningSandbox",
    "RunningSigningSandbox",
    "SandboxCitizen",
    "SandboxConfirmation",
    "SandboxCredential",
    "SandboxParts",
    "SigningSandboxState",
    "bind_loopback",
    "create_pki_app",
    "create_sandbox_app",
    "create_signing_app",
    "open_store",
    "sandbox_parts",
    "serve_pki_services",
    "serve_sandbox",
    "serve_signing_sandbox",
]
