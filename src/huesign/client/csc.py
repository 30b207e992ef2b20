"""A Cloud Signature Consortium (CSC) API client, v1.0.4.0 and v2, sync and async.

The protocol logic is written once, free of I/O, in :mod:`huesign.client._csc_protocol`;
:class:`CSCClient` and :class:`AsyncCSCClient` only drive it over HTTP, so both have the same
methods with the same meaning.

Field names follow the specification of each version: v1 sends ``hash``/``hashAlgo`` and
reads ``authMode``/``PIN``/``OTP``; v2 sends ``hashes``/``hashAlgorithmOID`` and reads
``auth.mode``/``auth.objects``, and can sign asynchronously (``operationMode: "A"``, then
``signatures/signPolling`` with the ``responseID``).  CSC error bodies
(``{"error", "error_description"}``) become typed errors: ``invalid_pin``/``invalid_otp`` ->
:class:`~huesign.errors.AuthorizationDeniedError`, an expired SAD or token ->
:class:`~huesign.errors.AuthorizationExpiredError`, ``access_denied`` ->
:class:`~huesign.errors.UserRejectedError`, anything else ->
:class:`~huesign.errors.RemoteSigningError` with the provider's code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TypeVar

import httpx

from huesign.client._csc_protocol import (
    CSCAuthMode,
    CSCCredential,
    CSCProtocol,
    CSCServiceInfo,
    CSCVersion,
    OTPDescriptor,
    PINDescriptor,
    SignatureActivation,
    csc_error,
    signature_algorithm_from_oids,
)
from huesign.client._http import AsyncHTTP, SyncHTTP
from huesign.client._remote_flow import MAX_RESPONSE_SIZE, Flow, arun_flow, run_flow
from huesign.client._shell import (
    HTTPT,
    AsyncClientShell,
    ClientShell,
    SyncClientShell,
    TransportT,
)
from huesign.pki.algorithms import HashAlgorithm, SignatureAlgorithm

__all__ = [
    "AsyncCSCClient",
    "CSCAuthMode",
    "CSCClient",
    "CSCCredential",
    "CSCServiceInfo",
    "CSCVersion",
    "OTPDescriptor",
    "PINDescriptor",
    "SignatureActivation",
    "csc_error",
    "signature_algorithm_from_oids",
]

T = TypeVar("T")


class _CSC(ClientShell[HTTPT, TransportT]):
    """The constructor and the flows of both CSC clients."""

    def __init__(
        self,
        base_url: str,
        *,
        version: CSCVersion = CSCVersion.V1,
        token: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        transport: TransportT | None = None,
    ) -> None:
        """Connect to ``base_url`` (nothing is sent until the first call)."""
        self._protocol = CSCProtocol(version)
        self._protocol.token = token
        self._connect(base_url, None, timeout, max_retries, transport, headers, MAX_RESPONSE_SIZE)

    @property
    def version(self) -> CSCVersion:
        """The API version this client speaks."""
        return self._protocol.version

    def _authorize(
        self,
        credential_id: str,
        num_signatures: int,
        hashes: Sequence[bytes],
        hash_algorithm: HashAlgorithm,
        pin: str | None,
        otp: str | None,
        description: str | None,
    ) -> Flow[SignatureActivation]:
        return self._protocol.authorize(
            credential_id,
            num_signatures=len(hashes) or num_signatures,
            hashes=tuple(hashes),
            hash_algorithm=hash_algorithm,
            pin=pin,
            otp=otp,
            description=description,
            now=dt.datetime.now(dt.UTC),
        )

    def _extend(
        self, credential_id: str, activation: SignatureActivation
    ) -> Flow[SignatureActivation]:
        return self._protocol.extend(credential_id, activation, now=dt.datetime.now(dt.UTC))

    def _sign_hash(
        self,
        credential_id: str,
        activation: SignatureActivation,
        hashes: Sequence[bytes],
        algorithm: SignatureAlgorithm,
        asynchronous: bool,
        poll_interval: float,
        max_polls: int,
    ) -> Flow[tuple[bytes, ...]]:
        return self._protocol.sign_hash(
            credential_id,
            activation,
            tuple(hashes),
            algorithm,
            asynchronous=asynchronous,
            poll_interval=poll_interval,
            max_polls=max_polls,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.options.base_url!r} {self.version.value}>"


class CSCClient(_CSC[SyncHTTP, httpx.BaseTransport], SyncClientShell):
    """A synchronous CSC API client.

    Args:
        base_url: the service's address, the part before ``/csc/v1/`` (and ``/oauth2/``).
        version: the API version to speak.
        token: a bearer token already obtained elsewhere.
        timeout: per-request timeout in seconds.
        max_retries: retries of idempotent calls after connection errors, 408, 429 and 5xx.
        headers: extra headers sent with every request.
        transport: an ``httpx`` transport (tests).
    """

    def _run(self, flow: Flow[T]) -> T:
        return run_flow(self._http, flow)

    def info(self) -> CSCServiceInfo:
        """Call ``info``."""
        return self._run(self._protocol.info())

    def login(self, username: str, password: str) -> None:
        """Call ``auth/login`` with HTTP Basic credentials and keep the bearer token."""
        self._run(self._protocol.login(username, password))

    def oauth2_token(self, client_id: str, client_secret: str) -> None:
        """Get a bearer token with the OAuth2 client-credentials grant (``/oauth2/token``)."""
        self._run(self._protocol.oauth2_token(client_id, client_secret))

    def list_credentials(self, *, user_id: str | None = None) -> tuple[str, ...]:
        """Call ``credentials/list``: the credential ids of the user."""
        return self._run(self._protocol.list_credentials(user_id))

    def credential(self, credential_id: str) -> CSCCredential:
        """Call ``credentials/info`` with the certificate chain."""
        return self._run(self._protocol.credential(credential_id))

    def send_otp(self, credential_id: str) -> None:
        """Call ``credentials/sendOTP``: the service sends the user a one-time password."""
        self._run(self._protocol.send_otp(credential_id))

    def authorize(
        self,
        credential_id: str,
        *,
        num_signatures: int = 1,
        hashes: Sequence[bytes] = (),
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        pin: str | None = None,
        otp: str | None = None,
        description: str | None = None,
    ) -> SignatureActivation:
        """Call ``credentials/authorize``; give ``hashes`` for a SCAL 2 credential."""
        return self._run(
            self._authorize(
                credential_id, num_signatures, hashes, hash_algorithm, pin, otp, description
            )
        )

    def extend_transaction(
        self, credential_id: str, activation: SignatureActivation
    ) -> SignatureActivation:
        """Call ``credentials/extendTransaction`` and return the renewed activation."""
        return self._run(self._extend(credential_id, activation))

    def sign_hash(
        self,
        credential_id: str,
        activation: SignatureActivation,
        hashes: Sequence[bytes],
        *,
        algorithm: SignatureAlgorithm,
        asynchronous: bool = False,
        poll_interval: float = 1.0,
        max_polls: int = 300,
    ) -> tuple[bytes, ...]:
        """Call ``signatures/signHash``; ``asynchronous`` (v2) polls ``signatures/signPolling``."""
        return self._run(
            self._sign_hash(
                credential_id, activation, hashes, algorithm, asynchronous, poll_interval, max_polls
            )
        )


class AsyncCSCClient(_CSC[AsyncHTTP, httpx.AsyncBaseTransport], AsyncClientShell):
    """The asynchronous twin of :class:`CSCClient` (same arguments, same methods)."""

    async def _run(self, flow: Flow[T]) -> T:
        return await arun_flow(self._http, flow)

    async def info(self) -> CSCServiceInfo:
        """Call ``info``."""
        return await self._run(self._protocol.info())

    async def login(self, username: str, password: str) -> None:
        """Call ``auth/login`` with HTTP Basic credentials and keep the bearer token."""
        await self._run(self._protocol.login(username, password))

    async def oauth2_token(self, client_id: str, client_secret: str) -> None:
        """Get a bearer token with the OAuth2 client-credentials grant (``/oauth2/token``)."""
        await self._run(self._protocol.oauth2_token(client_id, client_secret))

    async def list_credentials(self, *, user_id: str | None = None) -> tuple[str, ...]:
        """Call ``credentials/list``: the credential ids of the user."""
        return await self._run(self._protocol.list_credentials(user_id))

    async def credential(self, credential_id: str) -> CSCCredential:
        """Call ``credentials/info`` with the certificate chain."""
        return await self._run(self._protocol.credential(credential_id))

    async def send_otp(self, credential_id: str) -> None:
        """Call ``credentials/sendOTP``: the service sends the user a one-time password."""
        await self._run(self._protocol.send_otp(credential_id))

    async def authorize(
        self,
        credential_id: str,
        *,
        num_signatures: int = 1,
        hashes: Sequence[bytes] = (),
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        pin: str | None = None,
        otp: str | None = None,
        description: str | None = None,
    ) -> SignatureActivation:
        """Call ``credentials/authorize``; give ``hashes`` for a SCAL 2 credential."""
        return await self._run(
            self._authorize(
                credential_id, num_signatures, hashes, hash_algorithm, pin, otp, description
            )
        )

    async def extend_transaction(
        self, credential_id: str, activation: SignatureActivation
    ) -> SignatureActivation:
        """Call ``credentials/extendTransaction`` and return the renewed activation."""
        return await self._run(self._extend(credential_id, activation))

    async def sign_hash(
        self,
        credential_id: str,
        activation: SignatureActivation,
        hashes: Sequence[bytes],
        *,
        algorithm: SignatureAlgorithm,
        asynchronous: bool = False,
        poll_interval: float = 1.0,
        max_polls: int = 300,
    ) -> tuple[bytes, ...]:
        """Call ``signatures/signHash``; ``asynchronous`` (v2) polls ``signatures/signPolling``."""
        return await self._run(
            self._sign_hash(
                credential_id, activation, hashes, algorithm, asynchronous, poll_interval, max_polls
            )
        )
