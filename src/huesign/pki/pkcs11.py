"""PKCS#11 tokens: sign with a key on a USB token or HSM, and say what a token holds.

:class:`PKCS11Signer` implements :class:`~huesign.pki.signers.Signer` over a PKCS#11 module
(python-pkcs11).  It opens the module by path, finds the token by label or serial, logs in
with the caller's PIN, and finds the private key that belongs to the certificate by its key
material: RSA modulus and exponent, or EC point (on the private key or on a public-key object
sharing its ``CKA_ID``).  When a token does not show an EC key's point, the candidate keys on
the certificate's curve make one test signature over a random digest, checked with the
certificate.  Labels are never used to pair objects: on the tokens Vietnamese providers hand
out they are often empty or generic.

Every signature the token returns is checked against the certificate's public key before it
is handed back, so a key/certificate mix-up or a faulty token is caught before anything gets
embedded in a document.

>>> PINStatus.from_flags(0x00020000).remaining_tries
1

Process-wide facts of PKCS#11 that callers should know:

* python-pkcs11 loads each module path once per process and keeps it loaded; huesign never
  unloads a module (other code in the process may use it).  Open a module always through the
  same path string: the same library under two paths would be initialised twice.
* The logged-in state of a token belongs to the whole process, not to one session: only one
  :class:`PKCS11Signer` per token may be open at a time in one process.  Opening a second one
  raises :class:`~huesign.errors.TokenError`; closing a signer logs the process out.
* SoftHSM2 reads ``SOFTHSM2_CONF`` once, when the module is first loaded.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self

import attrs
import pkcs11
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11 import exceptions as p11e

from huesign.errors import TokenError
from huesign.pki._pkcs11_token import (
    MAX_TOKEN_OBJECTS,
    PINStatus,
    TokenInfo,
    bytes_attr,
    describe_token,
    key_type,
    label_of,
    load_module,
    login,
    mechanism_for,
    order_chain,
    paired_keys,
    read_objects,
    select_token,
    token_certificates,
    token_sign,
    tokens,
    verifies,
)
from huesign.pki.algorithms import HashAlgorithm, RSAPadding, SignatureAlgorithm
from huesign.pki.certificates import Certificate
from huesign.pki.signers import MAX_BATCH_SIZE, DigestToSign

__all__ = [
    "MAX_TOKEN_OBJECTS",
    "PINStatus",
    "PKCS11Signer",
    "TokenDiagnosis",
    "TokenEntry",
    "TokenInfo",
    "diagnose_token",
    "list_tokens",
]


@attrs.frozen(kw_only=True)
class TokenEntry:
    """A certificate and/or private key found on a token, paired by key material.

    Attributes:
        certificate: the certificate, or ``None`` for a key without a certificate.
        key_id: the hex ``CKA_ID`` of the private key (or of the certificate when no key).
        key_label: the private key's label (informative only; never used for pairing).
        key_type: ``rsa-2048``, ``ec-secp256r1``...; ``None`` when no key was found.
        problems: what is wrong with this entry, in English, empty when all is well.
    """

    certificate: Certificate | None
    key_id: str | None
    key_label: str | None
    key_type: str | None
    problems: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class TokenDiagnosis:
    """What :func:`diagnose_token` found on one token.

    Attributes:
        token: the token's description.
        logged_in: whether a PIN was given and accepted (private keys are visible only then).
        entries: certificates paired with their keys, keys without certificates, CA
            certificates.
        problems: token-level problems (PIN state, missing objects...), in English.
    """

    token: TokenInfo
    logged_in: bool
    entries: tuple[TokenEntry, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong with the token or any entry."""
        return not self.problems and not any(e.problems for e in self.entries)


def list_tokens(module_path: str | os.PathLike[str]) -> tuple[TokenInfo, ...]:
    """Describe every slot of the module that holds a token, in slot order; no PIN needed.

    Raises :class:`~huesign.errors.TokenError` when the module cannot be loaded.
    """
    return tuple(describe_token(t) for t in tokens(load_module(module_path)))


# -- the signer ---------------------------------------------------------------------------------


def _supported(
    family: str,
    mechanisms: frozenset[Mechanism | int],
    rsa_padding: RSAPadding,
    hash_algorithm: HashAlgorithm,
) -> tuple[SignatureAlgorithm, ...]:
    """The schemes a ``family`` key can make with ``mechanisms``, the preferred one first."""
    if family not in ("rsa", "ec"):
        return ()
    hashes = (hash_algorithm, *(h for h in HashAlgorithm if h is not hash_algorithm))
    paddings = (rsa_padding, *(p for p in RSAPadding if p is not rsa_padding))
    candidates = (
        [SignatureAlgorithm.for_key("ec", h) for h in hashes]
        if family == "ec"
        else [SignatureAlgorithm.for_key("rsa", h, rsa_padding=p) for p in paddings for h in hashes]
    )
    return tuple(a for a in candidates if mechanism_for(a) in mechanisms)


class PKCS11Signer:
    """A :class:`~huesign.pki.signers.Signer` whose key stays on a PKCS#11 token.

    Open with :meth:`open`; use as a context manager or call :meth:`close` (idempotent).  One
    logged-in session is kept open and reused for every signature.  A lock serialises the
    use of that session, so one signer may be shared by several threads (their signatures are
    made one after another: a token signs one thing at a time anyway).  The PIN is used to log
    in and then dropped: the object never stores it, and it appears in no message or repr.

    Mechanisms: RSA PKCS#1 v1.5 as ``CKM_RSA_PKCS`` over the DigestInfo, RSA-PSS as
    ``CKM_RSA_PKCS_PSS`` (salt as long as the digest), ECDSA as ``CKM_ECDSA`` over the
    digest, its ``r||s`` output encoded as DER.  :attr:`algorithms` lists only schemes whose
    mechanism the token supports.
    """

    def __init__(
        self,
        *,
        session: pkcs11.Session,
        key: pkcs11.SignMixin,
        certificate: Certificate,
        chain: tuple[Certificate, ...],
        algorithms: tuple[SignatureAlgorithm, ...],
        token: TokenInfo,
    ) -> None:
        """Wrap an open session; use :meth:`open` rather than calling this directly."""
        self._session: pkcs11.Session | None = session
        self._key = key
        self._certificate = certificate
        self._chain = chain
        self._algorithms = algorithms
        self._token = token
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        module_path: str | os.PathLike[str],
        *,
        pin: str | None,
        token_label: str | None = None,
        token_serial: str | None = None,
        certificate: Certificate | None = None,
        chain: Iterable[Certificate] = (),
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
    ) -> PKCS11Signer:
        """Load the module, find the token, log in and find the key for ``certificate``.

        Args:
            module_path: the PKCS#11 library (``.so``/``.dll``/``.dylib``) of the token.
            pin: the user PIN; ``None`` only for a token with a PIN pad.
            token_label: the token's label; with ``token_serial`` when labels repeat.
            token_serial: the token's serial number.
            certificate: the signing certificate; default: the one end-entity certificate
                on the token that has its private key there.
            chain: issuer certificates to add to those found on the token.
            rsa_padding: the preferred RSA padding (PKCS#1 v1.5 by default).
            hash_algorithm: the preferred digest.

        Raises :class:`~huesign.errors.TokenError` when the module, the token or the key
        cannot be found, the PIN is wrong or locked, or the key and certificate do not match.
        """
        lib = load_module(module_path)
        token = select_token(lib, token_label, token_serial)
        info = describe_token(token)
        session = login(token, pin)
        try:
            certs = read_objects(session, ObjectClass.CERTIFICATE)
            private_keys = read_objects(session, ObjectClass.PRIVATE_KEY)
            public_keys = read_objects(session, ObjectClass.PUBLIC_KEY)
            on_token = [c for c, _ in token_certificates(certs)]
            if certificate is None:
                paired = [
                    c
                    for c in on_token
                    if not c.is_ca and paired_keys(c, private_keys, certs, public_keys)
                ]
                if len(paired) != 1:
                    names = "; ".join(c.subject_text for c in paired) or "none"
                    raise TokenError(
                        f"token {info.label!r} holds {len(paired)} signing certificates with "
                        f"their keys ({names}): choose one with certificate="
                    )
                certificate = paired[0]
            keys = paired_keys(certificate, private_keys, certs, public_keys)
            if not keys:
                raise TokenError(
                    f"token {info.label!r} holds no private key for the certificate of "
                    f"{certificate.subject_text}"
                )
            if len(keys) > 1:
                raise TokenError(f"token {info.label!r} holds several keys for this certificate")
            family = certificate.public_key.description.split("-", 1)[0]
            mechanisms = frozenset(token.slot.get_mechanisms())
            algorithms = _supported(family, mechanisms, rsa_padding, hash_algorithm)
            if not algorithms:
                raise TokenError(
                    f"token {info.label!r} supports no signing mechanism huesign uses for "
                    f"{certificate.public_key.description} keys"
                )
            pool = [c for c in on_token if c.is_ca] + list(chain)
            key = keys[0]
            if not isinstance(key, pkcs11.SignMixin):
                raise TokenError(f"the private key on token {info.label!r} cannot sign")
            return cls(
                session=session,
                key=key,
                certificate=certificate,
                chain=order_chain(certificate, pool),
                algorithms=algorithms,
                token=info,
            )
        except BaseException:
            session.close()
            raise

    # -- Signer protocol --------------------------------------------------------------------

    @property
    def certificate(self) -> Certificate:
        """The signing certificate."""
        return self._certificate

    @property
    def chain(self) -> tuple[Certificate, ...]:
        """Issuer certificates, nearest first (from the token and the caller)."""
        return self._chain

    @property
    def algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        """Schemes the key and the token's mechanisms allow, the preferred one first."""
        return self._algorithms

    @property
    def token(self) -> TokenInfo:
        """The token the key lives on (as described when the signer was opened)."""
        return self._token

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._session is None

    def sign_digest(self, request: DigestToSign) -> bytes:
        """Sign one request on the token; the result is verified before it is returned."""
        algorithm = request.algorithm
        mechanism = mechanism_for(algorithm)
        if algorithm not in self._algorithms or mechanism is None:
            raise TokenError(
                f"token {self._token.label!r} cannot sign {algorithm.value} with this "
                f"{self._certificate.public_key.description} key (supported: "
                f"{', '.join(a.value for a in self._algorithms)})"
            )
        with self._lock:
            if self._session is None:
                raise TokenError("this PKCS#11 signer is closed")
            try:
                signature = token_sign(self._key, algorithm, request.digest)
            except p11e.PKCS11Error as exc:
                raise TokenError(
                    f"token {self._token.label!r} failed to sign: {type(exc).__name__}"
                ) from exc
        if not verifies(self._certificate, algorithm, request.digest, signature):
            raise TokenError(
                f"the signature from token {self._token.label!r} does not verify with the "
                "certificate: the key and the certificate do not match"
            )
        return signature

    def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        """Sign several requests, in order, in the same session."""
        if len(requests) > MAX_BATCH_SIZE:
            raise ValueError(f"at most {MAX_BATCH_SIZE} digests per batch")
        return tuple(self.sign_digest(r) for r in requests)

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Log out and close the session; calling it again does nothing."""
        with self._lock:
            session, self._session = self._session, None
        if session is None:
            return
        try:
            session.close()
        except p11e.PKCS11Error as exc:
            raise TokenError(f"token {self._token.label!r} did not close cleanly") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._session is None else "open"
        return (
            f"<PKCS11Signer token={self._token.label!r} {self._certificate.subject_text!r} {state}>"
        )


# -- diagnostics --------------------------------------------------------------------------------


def diagnose_token(
    module_path: str | os.PathLike[str],
    *,
    token_label: str | None = None,
    token_serial: str | None = None,
    pin: str | None = None,
    at: dt.datetime | None = None,
) -> TokenDiagnosis:
    """Say what a token holds and what is wrong with it.

    Without ``pin`` only public objects are read, so keys are not checked.  With it the
    function logs in, pairs every certificate with its private key by key material and
    reports certificates without a key, keys without a certificate, certificates expired or
    not yet valid at ``at`` (default: now) and the PIN's state.  A key that only a
    ``CKA_ID`` links to a certificate is confirmed by one test signature over a random
    digest.  A wrong PIN raises :class:`~huesign.errors.TokenError`, as do a missing module
    or token.
    """
    if at is not None and at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    when = at or dt.datetime.now(dt.UTC)
    lib = load_module(module_path)
    token = select_token(lib, token_label, token_serial)
    info = describe_token(token)
    problems = list(info.problems)
    logged_in = pin is not None and info.pin_status is not PINStatus.LOCKED
    session = login(token, pin) if logged_in else token.open()
    with session:
        certs = read_objects(session, ObjectClass.CERTIFICATE)
        private_keys = read_objects(session, ObjectClass.PRIVATE_KEY) if logged_in else []
        public_keys = read_objects(session, ObjectClass.PUBLIC_KEY)
        entries: list[TokenEntry] = []
        used: set[int] = set()
        parsed = token_certificates(certs)
        if len(parsed) < len(certs):
            problems.append(f"{len(certs) - len(parsed)} certificate object(s) cannot be parsed")
        for cert, cert_id in parsed:
            check = logged_in and not cert.is_ca
            found = paired_keys(cert, private_keys, certs, public_keys) if check else []
            entry_problems: list[str] = []
            if when > cert.not_after:
                entry_problems.append(f"certificate expired on {cert.not_after:%Y-%m-%d}")
            elif when < cert.not_before:
                entry_problems.append(f"certificate not valid before {cert.not_before:%Y-%m-%d}")
            if check and not found:
                entry_problems.append("no private key on the token matches this certificate")
            used.update(id(k) for k in found)
            key = found[0] if found else None
            key_id = (bytes_attr(key, Attribute.ID) if key is not None else None) or cert_id
            entries.append(
                TokenEntry(
                    certificate=cert,
                    key_id=key_id.hex() or None,
                    key_label=label_of(key) if key is not None else None,
                    key_type=key_type(key) if key is not None else None,
                    problems=tuple(entry_problems),
                )
            )
        for key in private_keys:
            if id(key) not in used:
                entries.append(
                    TokenEntry(
                        certificate=None,
                        key_id=(bytes_attr(key, Attribute.ID) or b"").hex() or None,
                        key_label=label_of(key),
                        key_type=key_type(key),
                        problems=("private key without a certificate",),
                    )
                )
    if info.initialized and not certs:
        problems.append("the token holds no certificate")
    return TokenDiagnosis(
        token=info, logged_in=logged_in, entries=tuple(entries), problems=tuple(problems)
    )
