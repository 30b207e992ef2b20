"""Remote signers: a CSC credential or an sp769 account behind huesign's ``Signer`` protocol.

:class:`CSCSigner` and :class:`SP769Signer` (and their ``Async`` twins) give the certificate
chain the provider holds and sign digests through it, so ``sign_cms``, ``sign_pdf`` and
dossier signing work with them unchanged.  A batch (:meth:`CSCSigner.sign_digests`) asks the
citizen once: CSC ``numSignatures`` with many hashes (split by the credential's
``multisign``, one authorization per part when SCAL 2 binds the hashes), or one sp769
transaction with many ``sign_files``.

Every signature the provider returns is verified against the certificate **before** it is
handed back: a malformed or foreign signature is a
:class:`~huesign.errors.RemoteSigningError`, never embedded.  A batch is all or nothing:
when any part fails (a refusal, a dropped connection), no signature is returned.

:func:`verification_code` derives the short code (as Smart-ID does) that the app shows next to
the provider's confirmation screen, so that the citizen confirms the right documents.

>>> verification_code([bytes(32)])
'0533'
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Generic, Self, TypeVar

from huesign.client._csc_protocol import CSCAuthMode, CSCCredential, CSCProtocol
from huesign.client._remote_flow import Flow
from huesign.client.csc import AsyncCSCClient, CSCClient
from huesign.client.sp769 import AsyncSP769Client, SP769Certificate, SP769Client, SP769File
from huesign.errors import RemoteSigningError
from huesign.pki.algorithms import HashAlgorithm, RSAPadding, SignatureAlgorithm
from huesign.pki.certificates import Certificate
from huesign.pki.signers import MAX_BATCH_SIZE, DigestToSign

__all__ = [
    "AsyncCSCSigner",
    "AsyncSP769Signer",
    "CSCSigner",
    "SP769Signer",
    "verification_code",
]

OTPSource = Callable[[CSCCredential], str]
CSCClientT = TypeVar("CSCClientT", CSCClient, AsyncCSCClient)
SP769ClientT = TypeVar("SP769ClientT", SP769Client, AsyncSP769Client)


def verification_code(digests: Sequence[bytes]) -> str:
    """A four-digit code from SHA-256 over the concatenated digests (Smart-ID's recipe).

    For one digest it equals :attr:`huesign.pki.DigestToSign.verification_code`.
    """
    if not digests:
        raise ValueError("give at least one digest")
    value = int.from_bytes(hashlib.sha256(b"".join(digests)).digest()[-2:], "big")
    return f"{value % 10000:04d}"


def _check_requests(
    requests: Sequence[DigestToSign], algorithms: Sequence[SignatureAlgorithm]
) -> None:
    if not requests:
        raise ValueError("give at least one digest to sign")
    if len(requests) > MAX_BATCH_SIZE:
        raise ValueError(f"at most {MAX_BATCH_SIZE} digests per batch")
    for request in requests:
        if request.algorithm not in algorithms:
            raise RemoteSigningError(f"the remote credential cannot sign {request.algorithm.value}")


def _verified(
    certificate: Certificate, requests: Sequence[DigestToSign], signatures: Sequence[bytes]
) -> tuple[bytes, ...]:
    if len(signatures) != len(requests):
        raise RemoteSigningError(
            f"the provider returned {len(signatures)} signatures for {len(requests)} digests"
        )
    key = certificate.public_key
    for index, (request, signature) in enumerate(zip(requests, signatures, strict=True)):
        algorithm = request.algorithm
        ok = bool(signature) and key.verify(
            signature,
            request.digest,
            hash_algorithm=algorithm.hash_algorithm,
            rsa_padding=algorithm.rsa_padding or RSAPadding.PKCS1V15,
            prehashed=True,
        )
        if not ok:
            raise RemoteSigningError(
                f"the provider's signature #{index + 1} does not verify with the certificate; "
                "nothing was signed"
            )
    return tuple(signatures)


def _description(requests: Sequence[DigestToSign]) -> str:
    code = verification_code([r.digest for r in requests])
    count = len(requests)
    return f"Mã xác nhận {code} - {count} tài liệu / verification code {code}, {count} document(s)"


# --- CSC --------------------------------------------------------------------------------


def _csc_batch(
    protocol: CSCProtocol,
    credential: CSCCredential,
    requests: Sequence[DigestToSign],
    *,
    pin: str | None,
    otp: OTPSource | None,
    asynchronous: bool,
    poll_interval: float,
    max_polls: int,
) -> Flow[tuple[bytes, ...]]:
    if credential.auth_mode is CSCAuthMode.OAUTH2CODE:
        raise RemoteSigningError(
            "this credential is authorized with an OAuth2 code flow; get the SAD in the app"
        )
    results: dict[int, bytes] = {}
    groups: dict[SignatureAlgorithm, list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(request.algorithm, []).append(index)
    size = credential.multisign
    parts = [
        (algorithm, indexes[i : i + size])
        for algorithm, indexes in groups.items()
        for i in range(0, len(indexes), size)
    ]

    def activation_data() -> Flow[tuple[str | None, str | None]]:
        if credential.auth_mode is CSCAuthMode.IMPLICIT:
            return None, None
        one_time = None
        if credential.otp is not None:
            if otp is None:
                raise ValueError("this credential needs an OTP: give otp=")
            if credential.otp.type == "online":
                yield from protocol.send_otp(credential.credential_id)
            one_time = otp(credential)
        return pin, one_time

    shared = None
    if credential.scal == 1:
        secret, one_time = yield from activation_data()
        shared = yield from protocol.authorize(
            credential.credential_id,
            num_signatures=len(requests),
            hashes=(),
            hash_algorithm=requests[0].algorithm.hash_algorithm,
            pin=secret,
            otp=one_time,
            description=_description(requests),
            now=dt.datetime.now(dt.UTC),
        )
    for algorithm, indexes in parts:
        hashes = [requests[i].digest for i in indexes]
        activation = shared
        if activation is None:
            secret, one_time = yield from activation_data()
            activation = yield from protocol.authorize(
                credential.credential_id,
                num_signatures=len(hashes),
                hashes=hashes,
                hash_algorithm=algorithm.hash_algorithm,
                pin=secret,
                otp=one_time,
                description=_description([requests[i] for i in indexes]),
                now=dt.datetime.now(dt.UTC),
            )
        signatures = yield from protocol.sign_hash(
            credential.credential_id,
            activation,
            hashes,
            algorithm,
            asynchronous=asynchronous,
            poll_interval=poll_interval,
            max_polls=max_polls,
        )
        checked = _verified(credential.certificate, [requests[i] for i in indexes], signatures)
        results.update(zip(indexes, checked, strict=True))
    return tuple(results[i] for i in range(len(requests)))


class _CSCSignerBase(Generic[CSCClientT]):
    _client: CSCClientT

    def __init__(
        self,
        client: CSCClientT,
        credential: CSCCredential,
        *,
        pin: str | None = None,
        otp: OTPSource | None = None,
        asynchronous: bool = False,
        poll_interval: float = 1.0,
        max_polls: int = 300,
    ) -> None:
        """Sign with ``credential`` through ``client``."""
        if credential.key_status != "enabled":
            raise RemoteSigningError(f"the credential's key is {credential.key_status}")
        self.credential = credential
        self._client = client
        self._pin = pin
        self._otp = otp
        self._asynchronous = asynchronous
        self._poll_interval = poll_interval
        self._max_polls = max_polls

    @property
    def certificate(self) -> Certificate:
        """The credential's certificate."""
        return self.credential.certificate

    @property
    def chain(self) -> tuple[Certificate, ...]:
        """The issuer certificates the service returned, nearest first."""
        return self.credential.chain

    @property
    def algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        """The schemes the credential signs, made from a digest only."""
        return tuple(a for a in self.credential.algorithms if a.prehashed)

    def verification_code(self, digests: Sequence[bytes]) -> str:
        """The code to show while the citizen confirms ``digests`` (see the module docs)."""
        return verification_code(digests)

    def _flow(self, requests: Sequence[DigestToSign]) -> Flow[tuple[bytes, ...]]:
        _check_requests(requests, self.algorithms)
        return _csc_batch(
            self._client._protocol,
            self.credential,
            requests,
            pin=self._pin,
            otp=self._otp,
            asynchronous=self._asynchronous,
            poll_interval=self._poll_interval,
            max_polls=self._max_polls,
        )

    def __repr__(self) -> str:
        subject = self.certificate.subject_text
        return f"<{type(self).__name__} {self.credential.credential_id} {subject!r}>"


class CSCSigner(_CSCSignerBase[CSCClient]):
    """A :class:`~huesign.pki.Signer` backed by a CSC credential.

    Args:
        client: a logged-in :class:`~huesign.client.csc.CSCClient`.
        credential: the credential (from :meth:`CSCClient.credential`).
        pin: the PIN for explicit authorization (kept in memory only, never printed).
        otp: called for a one-time password after ``sendOTP`` when the credential wants one.
        asynchronous: use CSC v2 asynchronous signing (``operationMode: "A"`` and polling).
        poll_interval: seconds between polls in asynchronous mode.
        max_polls: polls before giving up with ``ConfirmationTimeoutError``.
    """

    @classmethod
    def connect(
        cls,
        client: CSCClient,
        credential_id: str,
        *,
        pin: str | None = None,
        otp: OTPSource | None = None,
    ) -> CSCSigner:
        """Fetch the credential's certificates and settings, then build the signer."""
        return cls(client, client.credential(credential_id), pin=pin, otp=otp)

    def sign_digest(self, request: DigestToSign) -> bytes:
        """Sign one digest (one confirmation)."""
        return self.sign_digests([request])[0]

    def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        """Sign a batch with as few confirmations as the credential allows; all or nothing."""
        return self._client._run(self._flow(requests))


class AsyncCSCSigner(_CSCSignerBase[AsyncCSCClient]):
    """The :class:`~huesign.pki.AsyncSigner` twin of :class:`CSCSigner`."""

    @classmethod
    async def connect(
        cls,
        client: AsyncCSCClient,
        credential_id: str,
        *,
        pin: str | None = None,
        otp: OTPSource | None = None,
    ) -> AsyncCSCSigner:
        """Fetch the credential's certificates and settings, then build the signer."""
        return cls(client, await client.credential(credential_id), pin=pin, otp=otp)

    async def sign_digest(self, request: DigestToSign) -> bytes:
        """Sign one digest (one confirmation)."""
        return (await self.sign_digests([request]))[0]

    async def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        """Sign a batch with as few confirmations as the credential allows; all or nothing."""
        return await self._client._run(self._flow(requests))


# --- sp769 ------------------------------------------------------------------------------


def _pick(certs: Sequence[Certificate], cert_id: str | None, found: Sequence[str]) -> int:
    if not certs:
        raise RemoteSigningError("the sp769 provider holds no certificate for this user")
    if cert_id is None:
        return 0
    if cert_id not in found:
        raise RemoteSigningError(f"the sp769 provider holds no certificate {cert_id!r}")
    return list(found).index(cert_id)


def _sp769_batch(
    client: SP769Client | AsyncSP769Client,
    user_id: str,
    certificate: Certificate,
    requests: Sequence[DigestToSign],
    files: Sequence[SP769File],
    *,
    timeout: float,
    poll_interval: float,
) -> Flow[tuple[bytes, ...]]:
    tran = yield from client._protocol.sign(user_id, tuple(files), _description(requests))
    result = yield from client._wait(tran, timeout, poll_interval)
    by_id = {s.doc_id: s.signature for s in result.signatures}
    if set(by_id) != {f.doc_id for f in files}:
        raise RemoteSigningError("the sp769 provider did not return one signature per document")
    return _verified(certificate, requests, [by_id[f.doc_id] for f in files])


class _SP769SignerBase(Generic[SP769ClientT]):
    _client: SP769ClientT

    def __init__(
        self,
        client: SP769ClientT,
        *,
        user_id: str,
        certificate: Certificate,
        chain: Sequence[Certificate] = (),
        timeout: float = 300.0,
        poll_interval: float = 2.0,
    ) -> None:
        """Sign for ``user_id`` whose provider certificate is ``certificate``."""
        self.user_id = user_id
        self._client = client
        self._certificate = certificate
        self._chain = tuple(chain)
        self._timeout = timeout
        self._poll_interval = poll_interval

    @classmethod
    def _chosen(
        cls,
        client: SP769ClientT,
        user_id: str,
        found: Sequence[SP769Certificate],
        *,
        cert_id: str | None,
        timeout: float,
        poll_interval: float,
    ) -> Self:
        index = _pick([f.certificate for f in found], cert_id, [f.cert_id for f in found])
        return cls(
            client,
            user_id=user_id,
            certificate=found[index].certificate,
            chain=found[index].chain,
            timeout=timeout,
            poll_interval=poll_interval,
        )

    @property
    def certificate(self) -> Certificate:
        """The citizen's certificate at the provider."""
        return self._certificate

    @property
    def chain(self) -> tuple[Certificate, ...]:
        """The issuer certificates the provider returned, nearest first."""
        return self._chain

    @property
    def algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        """Schemes made from a digest: PKCS#1 v1.5 for RSA keys, ECDSA for EC keys."""
        family = self._certificate.public_key.description.split("-", 1)[0]
        if family not in ("rsa", "ec"):
            return ()
        return tuple(SignatureAlgorithm.for_key(family, h) for h in HashAlgorithm)

    def verification_code(self, digests: Sequence[bytes]) -> str:
        """The code to show while the citizen confirms ``digests`` (see the module docs)."""
        return verification_code(digests)

    def _flow(self, requests: Sequence[DigestToSign]) -> Flow[tuple[bytes, ...]]:
        _check_requests(requests, self.algorithms)
        files = [
            SP769File(doc_id=f"doc-{i + 1}", digest=r.digest, file_type="pdf")
            for i, r in enumerate(requests)
        ]
        return _sp769_batch(
            self._client,
            self.user_id,
            self._certificate,
            requests,
            files,
            timeout=self._timeout,
            poll_interval=self._poll_interval,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} user={self.user_id!r} {self._certificate.subject_text!r}>"


class SP769Signer(_SP769SignerBase[SP769Client]):
    """A :class:`~huesign.pki.Signer` backed by an sp769 provider account of one citizen.

    Build it with :meth:`connect`.  Each batch is one transaction (one confirmation in the
    provider's app), polled until ``timeout`` seconds.
    """

    @classmethod
    def connect(
        cls,
        client: SP769Client,
        user_id: str,
        *,
        cert_id: str | None = None,
        timeout: float = 300.0,
        poll_interval: float = 2.0,
    ) -> SP769Signer:
        """Fetch the citizen's certificate (the first, or ``cert_id``) and build the signer."""
        found = client.certificates(user_id)
        return cls._chosen(
            client, user_id, found, cert_id=cert_id, timeout=timeout, poll_interval=poll_interval
        )

    def sign_digest(self, request: DigestToSign) -> bytes:
        """Sign one digest (one confirmation)."""
        return self.sign_digests([request])[0]

    def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        """Sign a batch in one transaction; all or nothing."""
        return self._client._run(self._flow(requests))


class AsyncSP769Signer(_SP769SignerBase[AsyncSP769Client]):
    """The :class:`~huesign.pki.AsyncSigner` twin of :class:`SP769Signer`."""

    @classmethod
    async def connect(
        cls,
        client: AsyncSP769Client,
        user_id: str,
        *,
        cert_id: str | None = None,
        timeout: float = 300.0,
        poll_interval: float = 2.0,
    ) -> AsyncSP769Signer:
        """Fetch the citizen's certificate (the first, or ``cert_id``) and build the signer."""
        found = await client.certificates(user_id)
        return cls._chosen(
            client, user_id, found, cert_id=cert_id, timeout=timeout, poll_interval=poll_interval
        )

    async def sign_digest(self, request: DigestToSign) -> bytes:
        """Sign one digest (one confirmation)."""
        return (await self.sign_digests([request]))[0]

    async def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        """Sign a batch in one transaction; all or nothing."""
        return await self._client._run(self._flow(requests))
