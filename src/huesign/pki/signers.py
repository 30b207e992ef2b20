"""Signers: whatever holds a signing key, behind one small interface.

Everything in huesign that signs (CMS, PDF, dossiers) asks a :class:`Signer` for its
certificate chain and for signatures over digests.  A key in memory or in a PKCS#12 file is the
first implementation (:class:`KeySigner`); PKCS#11 tokens and remote providers (CSC
``signHash``, NEAC sp769) implement the same protocol.  Remote providers only ever receive a
digest, may confirm many digests with one user action, and are naturally asynchronous; hence
the batch method :meth:`Signer.sign_digests` and the :class:`AsyncSigner` twin.

Ed25519 cannot sign a prehashed digest (RFC 8419 uses pure EdDSA in CMS), so every request
(:class:`DigestToSign`) carries the full to-be-signed bytes as well as their digest: a key
signer signs the bytes for Ed25519 and the digest for everything else; a digest-only provider
simply does not list :attr:`SignatureAlgorithm.ED25519` among its algorithms.

>>> from huesign.pki import KeyAlgorithm, PrivateKey
>>> key = PrivateKey.generate(KeyAlgorithm.EC_P256)
>>> SignatureAlgorithm.ECDSA_SHA256 in KeySigner.supported_algorithms_for(key)
True
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import attrs

from huesign.errors import SigningError
from huesign.pki.algorithms import HashAlgorithm, RSAPadding, SignatureAlgorithm
from huesign.pki.certificates import Certificate
from huesign.pki.keys import PrivateKey
from huesign.pki.pkcs12 import PKCS12Bundle

__all__ = [
    "MAX_BATCH_SIZE",
    "AsyncSigner",
    "DigestToSign",
    "KeySigner",
    "Signer",
    "as_async_signer",
    "choose_algorithm",
    "embedded_chain",
]

#: Most digests one batch may carry.
MAX_BATCH_SIZE = 1000


def _bytes(value: bytes | bytearray | memoryview) -> bytes:
    return bytes(value)


def _optional_bytes(value: bytes | bytearray | memoryview | None) -> bytes | None:
    return None if value is None else bytes(value)


@attrs.frozen(kw_only=True)
class DigestToSign:
    """One signature request: what a signer is asked to sign.

    Attributes:
        digest: the digest of the to-be-signed bytes, computed with
            ``algorithm.hash_algorithm``.
        algorithm: the signature scheme to use.
        message: the to-be-signed bytes themselves (the DER of the CMS signed attributes).
            Needed only by schemes that sign the message rather than its digest (Ed25519);
            digest-only signers ignore it.
        label: a short, non-secret description for the user's confirmation screen.
    """

    digest: bytes = attrs.field(converter=_bytes)
    algorithm: SignatureAlgorithm
    message: bytes | None = attrs.field(default=None, converter=_optional_bytes)
    label: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.algorithm, SignatureAlgorithm):
            raise TypeError("algorithm must be a SignatureAlgorithm")
        size = self.algorithm.hash_algorithm.digest_size
        if len(self.digest) != size:
            raise ValueError(
                f"digest is {len(self.digest)} bytes; {self.algorithm.hash_algorithm.name} "
                f"digests are {size}"
            )
        if self.message is not None:
            computed = hashlib.new(self.algorithm.hash_algorithm.value, self.message).digest()
            if computed != self.digest:
                raise ValueError("message does not match digest")
        elif not self.algorithm.prehashed:
            raise ValueError(f"{self.algorithm.value} signs the message: give message=")

    @classmethod
    def for_message(
        cls, message: bytes, algorithm: SignatureAlgorithm, *, label: str | None = None
    ) -> DigestToSign:
        """Build a request for ``message``, hashing it with the scheme's digest."""
        digest = hashlib.new(algorithm.hash_algorithm.value, message).digest()
        return cls(digest=digest, algorithm=algorithm, message=message, label=label)

    @property
    def verification_code(self) -> str:
        """A four-digit code derived from the digest, to show on both screens of a remote
        confirmation so that the user confirms the right document."""
        value = int.from_bytes(hashlib.sha256(self.digest).digest()[-2:], "big")
        return f"{value % 10000:04d}"


class _Certified(Protocol):
    """What every signer, sync or async, tells about itself."""

    @property
    def certificate(self) -> Certificate:
        """The signer's certificate."""
        ...

    @property
    def chain(self) -> tuple[Certificate, ...]:
        """Issuer certificates, nearest first (the root may be omitted)."""
        ...

    @property
    def algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        """Supported signature schemes, the preferred one first."""
        ...


@runtime_checkable
class Signer(_Certified, Protocol):
    """A synchronous signer: a certificate chain and a way to sign digests."""

    def sign_digest(self, request: DigestToSign) -> bytes:
        """Sign one request and return the raw signature value."""
        ...

    def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        """Sign several requests at once (one user confirmation for remote providers)."""
        ...


@runtime_checkable
class AsyncSigner(_Certified, Protocol):
    """The asynchronous twin of :class:`Signer` (remote providers, HTTP tokens)."""

    async def sign_digest(self, request: DigestToSign) -> bytes:
        """Sign one request and return the raw signature value."""
        ...

    async def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        """Sign several requests at once."""
        ...


def choose_algorithm(
    algorithms: Sequence[SignatureAlgorithm], wanted: SignatureAlgorithm | None = None
) -> SignatureAlgorithm:
    """The scheme to sign with: ``wanted`` if the signer lists it, else its preferred one.

    Raises:
        SigningError: the signer lists no scheme at all.
        ValueError: the signer cannot sign with ``wanted``.
    """
    if not algorithms:
        raise SigningError("the signer supports no signature algorithm")
    if wanted is None:
        return algorithms[0]
    if wanted not in algorithms:
        raise ValueError(f"the signer cannot sign {wanted.value}")
    return wanted


def embedded_chain(chain: Sequence[Certificate]) -> tuple[Certificate, ...]:
    """The issuer certificates a signature carries: ``chain`` without self-issued roots.

    A verifier must hold its own trust anchors; a root inside the signature proves nothing.
    """
    return tuple(c for c in chain if not c.is_self_issued)


def _certs(values: Iterable[Certificate]) -> tuple[Certificate, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True, repr=False)
class KeySigner:
    """A signer whose private key is in memory (generated, loaded from PEM or PKCS#12).

    Attributes:
        key: the private key; never printed.
        certificate: the certificate for ``key``.
        chain: issuer certificates, nearest first.
        rsa_padding: the padding preferred for RSA keys (PKCS#1 v1.5 by default, as most
            Vietnamese verifiers expect; PSS is also listed as supported).
        hash_algorithm: the preferred digest.
    """

    key: PrivateKey
    certificate: Certificate
    chain: tuple[Certificate, ...] = attrs.field(default=(), converter=_certs)
    rsa_padding: RSAPadding = RSAPadding.PKCS1V15
    hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256
    _algorithms: tuple[SignatureAlgorithm, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if self.certificate.public_key != self.key.public_key:
            raise ValueError("the certificate is not for this key")
        found = self.supported_algorithms_for(
            self.key, rsa_padding=self.rsa_padding, hash_algorithm=self.hash_algorithm
        )
        object.__setattr__(self, "_algorithms", found)

    @classmethod
    def from_bundle(
        cls,
        bundle: PKCS12Bundle,
        *,
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
    ) -> KeySigner:
        """A signer for the key, certificate and chain of a loaded PKCS#12 bundle."""
        return cls(
            key=bundle.key,
            certificate=bundle.certificate,
            chain=_order_chain(bundle.certificate, bundle.chain),
            rsa_padding=rsa_padding,
            hash_algorithm=hash_algorithm,
        )

    @classmethod
    def from_pkcs12(
        cls,
        data: bytes,
        password: str | bytes | None = None,
        *,
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
    ) -> KeySigner:
        """Load the key, certificate and chain from a PKCS#12 (``.p12``/``.pfx``) file's bytes.

        Raises :class:`~huesign.errors.KeyLoadError` for a wrong password or a damaged file.
        """
        bundle = PKCS12Bundle.from_bytes(data, password=password)
        return cls.from_bundle(bundle, rsa_padding=rsa_padding, hash_algorithm=hash_algorithm)

    @classmethod
    def load_pkcs12(
        cls,
        path: str | os.PathLike[str],
        password: str | bytes | None = None,
        *,
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
    ) -> KeySigner:
        """Read a PKCS#12 file from disk (see :meth:`from_pkcs12`)."""
        bundle = PKCS12Bundle.load(path, password=password)
        return cls.from_bundle(bundle, rsa_padding=rsa_padding, hash_algorithm=hash_algorithm)

    @staticmethod
    def supported_algorithms_for(
        key: PrivateKey,
        *,
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
    ) -> tuple[SignatureAlgorithm, ...]:
        """The schemes ``key`` can sign with, the preferred one first."""
        family = key.public_key.description.split("-", 1)[0]
        if family == "ed25519":
            return (SignatureAlgorithm.ED25519,)
        hashes = (hash_algorithm, *(h for h in HashAlgorithm if h is not hash_algorithm))
        if family == "ec":
            return tuple(SignatureAlgorithm.for_key("ec", h) for h in hashes)
        paddings = (rsa_padding, *(p for p in RSAPadding if p is not rsa_padding))
        return tuple(
            SignatureAlgorithm.for_key("rsa", h, rsa_padding=p) for p in paddings for h in hashes
        )

    @property
    def algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        """Supported signature schemes, the preferred one first."""
        return self._algorithms

    def sign_digest(self, request: DigestToSign) -> bytes:
        """Sign one request with the key in memory."""
        algorithm = request.algorithm
        if algorithm not in self.algorithms:
            raise SigningError(
                f"this {self.key.public_key.description} key cannot sign {algorithm.value}"
            )
        if not algorithm.prehashed:
            if request.message is None:  # pragma: no cover - DigestToSign enforces it
                raise SigningError("Ed25519 needs the message, not only its digest")
            return self.key.sign(request.message)
        return self.key.sign_digest(
            request.digest,
            hash_algorithm=algorithm.hash_algorithm,
            rsa_padding=algorithm.rsa_padding or RSAPadding.PKCS1V15,
        )

    def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        """Sign several requests, in order."""
        if len(requests) > MAX_BATCH_SIZE:
            raise ValueError(f"at most {MAX_BATCH_SIZE} digests per batch")
        return tuple(self.sign_digest(r) for r in requests)

    def __repr__(self) -> str:
        return f"<KeySigner {self.certificate.subject_text!r} key={self.key!r}>"


def _order_chain(leaf: Certificate, others: Sequence[Certificate]) -> tuple[Certificate, ...]:
    """Order ``others`` from the leaf's issuer upwards; leftovers keep their order at the end."""
    pool = list(others)
    ordered: list[Certificate] = []
    current = leaf
    while pool and not current.is_self_issued:
        nxt = next((c for c in pool if current.issuer == c.subject), None)
        if nxt is None:
            break
        ordered.append(nxt)
        pool.remove(nxt)
        current = nxt
    return (*ordered, *pool)


@attrs.frozen
class _AsyncAdapter:
    """An :class:`AsyncSigner` that delegates to a synchronous :class:`Signer`."""

    _signer: Signer = attrs.field(alias="signer")

    @property
    def certificate(self) -> Certificate:
        """The signer's certificate."""
        return self._signer.certificate

    @property
    def chain(self) -> tuple[Certificate, ...]:
        """Issuer certificates, nearest first."""
        return self._signer.chain

    @property
    def algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        """Supported signature schemes."""
        return self._signer.algorithms

    async def sign_digest(self, request: DigestToSign) -> bytes:
        """Sign one request."""
        return self._signer.sign_digest(request)

    async def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        """Sign several requests."""
        return self._signer.sign_digests(requests)


def as_async_signer(signer: Signer) -> AsyncSigner:
    """Wrap a synchronous signer (a key in memory) so that async code can use it.

    The wrapped calls run in the event loop's thread: fine for keys in memory, which sign in
    microseconds; a slow token should implement :class:`AsyncSigner` itself.
    """
    return _AsyncAdapter(signer)
