"""CMS / CAdES signatures: :func:`sign_cms` and :func:`verify_cms`.

:func:`sign_cms` makes a CAdES baseline B-B signature (B-T with a timestamp source) over data
given as bytes, a binary file, a path or an iterable of chunks, detached by default.
:func:`verify_cms` checks integrity, the signer's certificate path, revocation and the
timestamp, and returns a :class:`~huesign.pki.report.ValidationReport`; it never raises for a
bad signature.  The raw ASN.1 work is in :mod:`huesign.pki._cms_asn1`.

The signing logic is written once: :func:`prepare_cms` computes what the signer must sign,
and :meth:`PreparedCMS.finish` assembles the result; :func:`sign_cms` and
:func:`sign_cms_async` only add the calls to the signer and the timestamp source.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import inspect
from collections.abc import Awaitable, Iterable, Sequence

import attrs

from huesign.errors import CertificateError, RevocationFetchError, SigningError
from huesign.pki import _cms_asn1 as raw
from huesign.pki import _cms_build as build
from huesign.pki import _cms_verify as v
from huesign.pki._cms_asn1 import Content
from huesign.pki.algorithms import SignatureAlgorithm
from huesign.pki.certificates import Certificate
from huesign.pki.indications import Indication, SubIndication
from huesign.pki.policy import ValidationPolicy
from huesign.pki.report import ValidationReport
from huesign.pki.revocation import RevocationSource
from huesign.pki.signers import (
    AsyncSigner,
    DigestToSign,
    KeySigner,
    Signer,
    choose_algorithm,
    embedded_chain,
)
from huesign.pki.trust import TrustStore
from huesign.pki.tsp import (
    AsyncHTTPTimestampClient,
    AsyncTimestampSource,
    HTTPTimestampClient,
    TimestampSource,
    check_timestamp_token,
)

__all__ = [
    "MAX_ATTACHED_SIZE",
    "CommitmentType",
    "PreparedCMS",
    "SignerLocation",
    "prepare_cms",
    "sign_cms",
    "sign_cms_async",
    "verify_cms",
]

#: Largest content that :func:`sign_cms` encapsulates (attached); larger data is signed detached.
MAX_ATTACHED_SIZE = 32 << 20


class CommitmentType(enum.Enum):
    """Why the signer signs (ETSI TS 119 172-1 commitment types)."""

    PROOF_OF_ORIGIN = "1.2.840.113549.1.9.16.6.1"
    PROOF_OF_RECEIPT = "1.2.840.113549.1.9.16.6.2"
    PROOF_OF_DELIVERY = "1.2.840.113549.1.9.16.6.3"
    PROOF_OF_SENDER = "1.2.840.113549.1.9.16.6.4"
    PROOF_OF_APPROVAL = "1.2.840.113549.1.9.16.6.5"
    PROOF_OF_CREATION = "1.2.840.113549.1.9.16.6.6"


def _lines(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class SignerLocation:
    """Where the signer says they signed (CAdES signer-location attribute).

    Attributes:
        country: two-letter country code, e.g. ``VN``.
        locality: city or commune, e.g. ``Huế``.
        postal_address: up to six address lines.
    """

    country: str | None = None
    locality: str | None = None
    postal_address: tuple[str, ...] = attrs.field(default=(), converter=_lines)

    def __attrs_post_init__(self) -> None:
        if len(self.postal_address) > 6:
            raise ValueError("a postal address has at most six lines")
        if not (self.country or self.locality or self.postal_address):
            raise ValueError("give at least one of country, locality, postal_address")


@attrs.frozen(kw_only=True, repr=False)
class PreparedCMS:
    """A signature waiting for its signature value (the I/O-free half of signing).

    Attributes:
        request: what the signer must sign.
        certificate: the signer's certificate.
        certificates: certificates to embed (signer and chain).
        content: the encapsulated content, or ``None`` for a detached signature.
        signed_attributes: the DER of the signed attributes (a SET): the bytes to sign.
    """

    request: DigestToSign
    certificate: Certificate
    certificates: tuple[Certificate, ...]
    content: bytes | None
    signed_attributes: bytes

    def timestamp_imprint(self, signature: bytes) -> bytes:
        """The digest a signature timestamp must cover: the hash of the signature value."""
        return hashlib.new(self.request.algorithm.hash_algorithm.value, signature).digest()

    def finish(
        self, signature: bytes, *, timestamp_token: bytes | None = None, check: bool = True
    ) -> bytes:
        """Assemble the DER ContentInfo with ``signature`` (and a signature timestamp).

        With ``check`` (the default) the signature is verified against the certificate first,
        so that a token or remote provider that signed with another key is caught here.
        """
        if not isinstance(signature, bytes) or not signature:
            raise SigningError("the signer returned no signature")
        if check and not raw.verify_signature_value(
            self.certificate.public_key,
            self.request.algorithm,
            self.request.message or b"",
            signature,
        ):
            raise SigningError("the signer's signature does not verify with its certificate")
        return build.signed_data(
            hash_algorithm=self.request.algorithm.hash_algorithm,
            algorithm=self.request.algorithm,
            certificate=self.certificate,
            certificates=self.certificates,
            signed_attrs=self.signed_attributes,
            signature=signature,
            content=self.content,
            timestamp_token=timestamp_token,
        )

    def __repr__(self) -> str:
        return f"<PreparedCMS {self.request.algorithm.value} signer={self.certificate!r}>"


def prepare_cms(
    data: Content,
    *,
    certificate: Certificate,
    chain: Sequence[Certificate] = (),
    algorithm: SignatureAlgorithm,
    attached: bool = False,
    signing_time: dt.datetime | None = None,
    commitment_type: CommitmentType | None = None,
    signer_location: SignerLocation | None = None,
    claimed_roles: Sequence[str] = (),
) -> PreparedCMS:
    """Hash ``data`` and build the signed attributes; return what is left to sign.

    ``data`` is hashed in chunks (bytes, binary file, ``Path`` or iterable of bytes).  With
    ``attached=True`` it is read into memory, up to :data:`MAX_ATTACHED_SIZE` bytes.
    """
    if not isinstance(algorithm, SignatureAlgorithm):
        raise TypeError("algorithm must be a SignatureAlgorithm")
    if signing_time is not None and signing_time.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    hash_algorithm = algorithm.hash_algorithm
    content: bytes | None = None
    if attached:
        content = raw.read_all(data, MAX_ATTACHED_SIZE)
        digest, _ = raw.digest_content(content, hash_algorithm)
    else:
        digest, _ = raw.digest_content(data, hash_algorithm)
    location = None
    if signer_location is not None:
        loc = signer_location
        location = (loc.country, loc.locality, loc.postal_address)
    when = signing_time or dt.datetime.now(dt.UTC).replace(microsecond=0)
    tbs = build.signed_attributes(
        message_digest=digest,
        hash_algorithm=hash_algorithm,
        algorithm=algorithm,
        certificate=certificate,
        signing_time=when,
        commitment_type=commitment_type.value if commitment_type else None,
        location=location,
        claimed_roles=tuple(claimed_roles),
    )
    return PreparedCMS(
        request=DigestToSign.for_message(tbs, algorithm, label="CMS signature"),
        certificate=certificate,
        certificates=(certificate, *chain),
        content=content,
        signed_attributes=tbs,
    )


def sign_cms(
    data: Content,
    signer: Signer,
    *,
    attached: bool = False,
    algorithm: SignatureAlgorithm | None = None,
    timestamp: TimestampSource | str | None = None,
    signing_time: dt.datetime | None = None,
    commitment_type: CommitmentType | None = None,
    signer_location: SignerLocation | None = None,
    claimed_roles: Sequence[str] = (),
) -> bytes:
    """Sign ``data`` and return a DER CMS ``ContentInfo`` (``.p7s``).

    Detached by default; ``attached=True`` encapsulates the data.  With ``timestamp`` (a TSA
    URL or any :class:`~huesign.pki.tsp.TimestampSource`) the signature reaches CAdES B-T.
    ``algorithm`` defaults to the signer's preferred one.

    Raises :class:`~huesign.errors.SigningError` when the signer fails and
    :class:`~huesign.errors.RevocationFetchError` when the TSA cannot be reached.
    """
    prepared = prepare_cms(
        data,
        certificate=signer.certificate,
        chain=embedded_chain(signer.chain),
        algorithm=choose_algorithm(signer.algorithms, algorithm),
        attached=attached,
        signing_time=signing_time,
        commitment_type=commitment_type,
        signer_location=signer_location,
        claimed_roles=claimed_roles,
    )
    signature = signer.sign_digest(prepared.request)
    token = None
    if timestamp is not None:
        imprint = prepared.timestamp_imprint(signature)
        hash_algorithm = prepared.request.algorithm.hash_algorithm
        if isinstance(timestamp, str):
            with HTTPTimestampClient(timestamp) as client:
                token = client.timestamp(imprint, hash_algorithm=hash_algorithm)
        else:
            token = timestamp.timestamp(imprint, hash_algorithm=hash_algorithm)
        _check_fresh_token(token, signature)
    # A KeySigner's key was matched with its certificate when it was built; other signers
    # (tokens, remote providers) have their output checked before it is used.
    return prepared.finish(
        signature, timestamp_token=token, check=not isinstance(signer, KeySigner)
    )


async def sign_cms_async(
    data: Content,
    signer: AsyncSigner,
    *,
    attached: bool = False,
    algorithm: SignatureAlgorithm | None = None,
    timestamp: AsyncTimestampSource | TimestampSource | str | None = None,
    signing_time: dt.datetime | None = None,
    commitment_type: CommitmentType | None = None,
    signer_location: SignerLocation | None = None,
    claimed_roles: Sequence[str] = (),
) -> bytes:
    """The asynchronous twin of :func:`sign_cms`, for remote signers and async TSAs.

    Hashing the data runs in the caller's thread; give large files to a worker thread first
    if the event loop must not pause.
    """
    prepared = prepare_cms(
        data,
        certificate=signer.certificate,
        chain=embedded_chain(signer.chain),
        algorithm=choose_algorithm(signer.algorithms, algorithm),
        attached=attached,
        signing_time=signing_time,
        commitment_type=commitment_type,
        signer_location=signer_location,
        claimed_roles=claimed_roles,
    )
    signature = await signer.sign_digest(prepared.request)
    token = None
    if timestamp is not None:
        imprint = prepared.timestamp_imprint(signature)
        hash_algorithm = prepared.request.algorithm.hash_algorithm
        if isinstance(timestamp, str):
            async with AsyncHTTPTimestampClient(timestamp) as client:
                token = await client.timestamp(imprint, hash_algorithm=hash_algorithm)
        else:
            result: bytes | Awaitable[bytes] = timestamp.timestamp(
                imprint, hash_algorithm=hash_algorithm
            )
            token = await result if inspect.isawaitable(result) else result
        _check_fresh_token(token, signature)
    return prepared.finish(signature, timestamp_token=token)


def _check_fresh_token(token: bytes, signature: bytes) -> None:
    check = check_timestamp_token(token, data=signature)
    if check.info is None or check.problem == "timestamp_imprint_mismatch":
        raise RevocationFetchError(f"unusable timestamp token ({check.problem})")


def verify_cms(
    signature: bytes,
    data: Content | None = None,
    *,
    trust: TrustStore,
    policy: ValidationPolicy | None = None,
    revocation: RevocationSource | None = None,
    at: dt.datetime | None = None,
    extra_certificates: Iterable[Certificate] = (),
) -> ValidationReport:
    """Validate a CMS signature and say why it passes or not.

    Args:
        signature: the DER ``ContentInfo`` (a ``.p7s`` file's bytes).
        data: the signed data for a detached signature (bytes, binary file, ``Path`` or an
            iterable of chunks, hashed in chunks); ``None`` for an attached one.
        trust: the trust anchors (e.g. ``TrustStore.vietnam()``).
        policy: path and revocation rules (default: hard-fail revocation).
        revocation: supplied revocation data and the fetcher to use.
        at: validation time; default: the time of a valid signature timestamp, else now.
        extra_certificates: certificates to consider besides those in the signature.

    Never raises for a bad or hostile signature: the report's indication says what failed.
    """
    if at is not None and at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    checked_at = at or v.now()
    try:
        signed = raw.parse_signed_data(signature)
    except raw.CMSFormatError as exc:
        return ValidationReport(
            indication=Indication.TOTAL_FAILED,
            sub_indication=SubIndication.FORMAT_FAILURE,
            validation_time=checked_at,
            errors=[v.message("cms_unreadable", str(exc)[:200])],
        )
    try:
        facts = v.integrity(signed, data, tuple(extra_certificates))
    except (*v.ASN1_ERRORS, RecursionError, raw.CMSFormatError, CertificateError) as exc:
        return ValidationReport(
            indication=Indication.TOTAL_FAILED,
            sub_indication=SubIndication.FORMAT_FAILURE,
            validation_time=checked_at,
            errors=[v.message(raw.Failure.FORMAT.value, type(exc).__name__)],
        )
    return v.conclude(facts, trust=trust, policy=policy, revocation=revocation, at=at)
