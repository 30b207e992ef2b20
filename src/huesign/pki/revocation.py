"""Revocation checking: CRLs (RFC 5280, 6.3) and OCSP responses (RFC 6960).

A :class:`RevocationSource` holds what the caller supplies (``RevocationData``: CRLs and OCSP
responses, e.g. embedded in a signature) and, optionally, a :class:`~huesign.pki.Fetcher` for
the network.  :func:`huesign.pki.validate_path` asks it about every certificate of a path and
reports one :class:`RevocationCheck` per certificate.

CRL processing covers issuer and AKI matching, signature and signer key usage (cRLSign, with
the signer's own path validated to the same anchor when the CRL has a separate key),
thisUpdate/nextUpdate against the validation time, distribution points and issuing
distribution point scope, indirect CRLs (certificate issuer entries), reason partitions,
delta CRLs, hold and removeFromCRL, and unknown critical CRL or entry extensions (which make
a CRL unusable).  OCSP processing covers response status, CertID (SHA-1 or SHA-256), the
responder (the issuer itself or a delegated id-kp-OCSPSigning certificate it issued), the
signature, thisUpdate/nextUpdate and the nonce.  A delegated responder's own revocation
status is not checked: responders carry id-pkix-ocsp-nocheck and short lifetimes instead.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from collections.abc import Callable, Iterable, Sequence

import attrs
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from huesign.errors import PKIError, RevocationFetchError
from huesign.pki._certinfo import CertInfo
from huesign.pki._crl import CRLOutcome, ParsedCRL, check_crls, hash_name, parse_crl
from huesign.pki._names import NormName, normalize_name
from huesign.pki.certificates import Certificate
from huesign.pki.fetch import Fetcher
from huesign.pki.policy import RevocationMode, ValidationPolicy

__all__ = [
    "MAX_REVOCATION_ITEMS",
    "RevocationCheck",
    "RevocationContext",
    "RevocationData",
    "RevocationSource",
    "RevocationSourceType",
    "RevocationStatus",
    "WorkLimitExceeded",
    "build_ocsp_request",
    "check_revocation",
    "verify_signature",
]

#: Most CRLs plus OCSP responses a :class:`RevocationData` may hold.
MAX_REVOCATION_ITEMS = 1024

_OCSP_SIGNING = ExtendedKeyUsageOID.OCSP_SIGNING


class WorkLimitExceeded(Exception):
    """The validation used up its signature-check budget (internal control flow)."""


class RevocationStatus(enum.Enum):
    """The revocation status of one certificate."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class RevocationSourceType(enum.Enum):
    """Where a revocation status came from."""

    CRL = "crl"
    OCSP = "ocsp"


@attrs.frozen(kw_only=True)
class RevocationCheck:
    """The revocation status of one certificate of a path.

    Attributes:
        certificate: the certificate checked.
        status: good, revoked or unknown.
        source: CRL or OCSP, ``None`` when unknown or not checked.
        revocation_time: when it was revoked (``None`` unless revoked).
        reason: the RFC 5280 reason name (``keyCompromise``...), when given.
        evidence: DER encodings of the CRLs or OCSP response used.
        detail: a short English sentence, e.g. why the status is unknown.
    """

    certificate: Certificate
    status: RevocationStatus
    source: RevocationSourceType | None = None
    revocation_time: dt.datetime | None = None
    reason: str | None = None
    evidence: tuple[bytes, ...] = ()
    detail: str = ""


def _bytes_tuple(values: Iterable[bytes]) -> tuple[bytes, ...]:
    out = tuple(bytes(v) for v in values)
    if len(out) > MAX_REVOCATION_ITEMS:
        raise ValueError(f"at most {MAX_REVOCATION_ITEMS} revocation items are accepted")
    return out


@attrs.frozen(kw_only=True)
class RevocationData:
    """Revocation information supplied by the caller (DER CRLs and DER OCSP responses)."""

    crls: tuple[bytes, ...] = attrs.field(default=(), converter=_bytes_tuple)
    ocsp_responses: tuple[bytes, ...] = attrs.field(default=(), converter=_bytes_tuple)


def _parse_ocsp(der: bytes) -> ocsp.OCSPResponse | None:
    try:
        return ocsp.load_der_ocsp_response(der)
    except (ValueError, TypeError):
        return None


@attrs.frozen(init=False)
class RevocationSource:
    """Supplied revocation data plus, optionally, a fetcher for CRL and OCSP URLs.

    Args:
        data: CRLs and OCSP responses to use first (unreadable items are ignored).
        fetcher: used for the URLs in certificates unless the policy says offline.
        use_ocsp: whether OCSP responders are asked over the network.
        use_crl: whether CRL distribution points are fetched.
    """

    data: RevocationData
    fetcher: Fetcher | None
    use_ocsp: bool
    use_crl: bool
    _crls: tuple[ParsedCRL, ...]
    _ocsp: tuple[tuple[ocsp.OCSPResponse, bytes], ...]

    def __init__(
        self,
        data: RevocationData | None = None,
        *,
        fetcher: Fetcher | None = None,
        use_ocsp: bool = True,
        use_crl: bool = True,
    ) -> None:
        data = data or RevocationData()
        crls = tuple(p for p in map(parse_crl, data.crls) if p is not None)
        responses = tuple((r, d) for d in data.ocsp_responses if (r := _parse_ocsp(d)) is not None)
        self.__attrs_init__(data, fetcher, use_ocsp, use_crl, crls, responses)

    def supplied_crls(self) -> tuple[ParsedCRL, ...]:
        """The readable supplied CRLs."""
        return self._crls

    def supplied_ocsp(self) -> tuple[tuple[ocsp.OCSPResponse, bytes], ...]:
        """The readable supplied OCSP responses with their DER."""
        return self._ocsp


# -- signatures ---------------------------------------------------------------------------


def verify_signature(
    public_key: object,
    signature: bytes,
    data: bytes,
    hash_algorithm: hashes.HashAlgorithm | None,
    parameters: object = None,
) -> bool:
    """Verify a raw signature made by ``public_key``; never raises for bad input."""
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            if hash_algorithm is None:
                return False
            pad = parameters if isinstance(parameters, padding.PSS) else padding.PKCS1v15()
            public_key.verify(signature, data, pad, hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            if hash_algorithm is None:
                return False
            public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
        elif isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            public_key.verify(signature, data)
        elif isinstance(public_key, dsa.DSAPublicKey):
            if hash_algorithm is None:
                return False
            public_key.verify(signature, data, hash_algorithm)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


# -- the per-validation context -------------------------------------------------------------


@attrs.define(kw_only=True)
class RevocationContext:
    """What revocation checking needs from the path validation that runs it (one call).

    Attributes:
        source: the revocation source.
        policy: the validation policy.
        at: the validation time.
        count_signature: called before every signature check; raises WorkLimitExceeded.
        validate_signer: validates a CRL or OCSP signer's own path (to the same anchor);
            returns why it fails, or ``None``.
        certificates_named: certificates known to the validation with a given subject.
        certificate_info: the validation's parsed facts of a certificate (``None``: the
            context parses each certificate once itself).
        fetched: answers fetched during this validation, by URL (``None`` for failures).
    """

    source: RevocationSource
    policy: ValidationPolicy
    at: dt.datetime
    count_signature: Callable[[], None]
    validate_signer: Callable[[Certificate], str | None]
    certificates_named: Callable[[NormName], Sequence[Certificate]]
    certificate_info: Callable[[Certificate], CertInfo] | None = None
    fetched: dict[str, bytes | None] = attrs.field(factory=dict)
    _infos: dict[Certificate, CertInfo] = attrs.field(factory=dict, init=False, repr=False)
    _crl_signatures: dict[tuple[bytes, Certificate], bool] = attrs.field(
        factory=dict, init=False, repr=False
    )

    def info(self, cert: Certificate) -> CertInfo:
        """The parsed facts of ``cert``, parsed once per validation."""
        if self.certificate_info is not None:
            return self.certificate_info(cert)
        found = self._infos.get(cert)
        if found is None:
            found = self._infos[cert] = CertInfo(cert)
        return found

    def crl_signed_by(self, parsed: ParsedCRL, signer: Certificate) -> bool:
        """Whether ``signer``'s key verifies the CRL (counted, checked once per validation)."""
        key = (parsed.der, signer)
        found = self._crl_signatures.get(key)
        if found is None:
            self.count_signature()
            public_key = self.info(signer).key
            try:
                if public_key is None:
                    public_key = signer.to_cryptography().public_key()
                found = parsed.crl.is_signature_valid(public_key)  # type: ignore[arg-type]
            except (ValueError, TypeError, UnsupportedAlgorithm):
                found = False
            self._crl_signatures[key] = found
        return found

    @property
    def online(self) -> bool:
        """Whether the network may be used."""
        return (
            self.source.fetcher is not None
            and self.policy.revocation_mode is not RevocationMode.OFFLINE
        )

    def fetch(self, url: str, *, body: bytes | None = None) -> bytes | None:
        """Fetch once per validation; ``None`` when the fetch failed."""
        key = url if body is None else url + "#" + hashlib.sha256(body).hexdigest()
        if key in self.fetched:
            return self.fetched[key]
        fetcher = self.source.fetcher
        result: bytes | None = None
        if fetcher is not None:
            try:
                if body is None:
                    result = fetcher.fetch(url)
                else:
                    result = fetcher.fetch(
                        url, method="POST", body=body, content_type="application/ocsp-request"
                    )
            except (RevocationFetchError, PKIError):
                result = None
        self.fetched[key] = result
        return result

    def signature_ok(
        self,
        public_key: object,
        signature: bytes,
        data: bytes,
        hash_algorithm: hashes.HashAlgorithm | None,
        parameters: object = None,
    ) -> bool:
        """Verify a signature, counting it against the work budget."""
        self.count_signature()
        return verify_signature(public_key, signature, data, hash_algorithm, parameters)

    def hash_accepted(self, name: str | None) -> bool:
        """Whether a signature digest name is acceptable (``None``: no separate digest)."""
        return name is None or name in self.policy.accepted_hash_algorithms


# -- OCSP ---------------------------------------------------------------------------------


def build_ocsp_request(
    certificate: Certificate,
    issuer: Certificate,
    *,
    nonce: bytes | None = None,
    hash_algorithm: str = "sha1",
) -> bytes:
    """A DER OCSP request for ``certificate`` (CertID hashed with ``sha1`` or ``sha256``).

    ``nonce`` adds an RFC 8954 nonce extension (give 16 to 32 random bytes).
    """
    algo: hashes.HashAlgorithm
    if hash_algorithm == "sha1":
        algo = hashes.SHA1()  # noqa: S303 - CertID hashes identify, they do not protect
    elif hash_algorithm == "sha256":
        algo = hashes.SHA256()
    else:
        raise ValueError("hash_algorithm must be 'sha1' or 'sha256'")
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        certificate.to_cryptography(), issuer.to_cryptography(), algo
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _key_hash(cert: Certificate, algo: hashes.HashAlgorithm) -> bytes:
    spki = (
        cert.to_cryptography()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    bits = asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    digest = hashes.Hash(algo)
    digest.update(bits)
    return digest.finalize()


def _ocsp_check(
    cert: Certificate,
    issuer: Certificate,
    response: ocsp.OCSPResponse,
    der: bytes,
    ctx: RevocationContext,
    nonce: bytes | None,
) -> RevocationCheck | None:
    try:
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return None
        single = None
        for item in response.responses:
            algo = item.hash_algorithm
            if item.serial_number != cert.serial_number or algo.name not in ("sha1", "sha256"):
                continue
            name_hash = hashlib.new(algo.name, issuer.subject.public_bytes()).digest()
            if item.issuer_name_hash == name_hash and item.issuer_key_hash == _key_hash(
                issuer, algo
            ):
                single = item
                break
        if single is None:
            return None
        if nonce is not None:
            try:
                got = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
            except x509.ExtensionNotFound:
                got = None
            if got is not None and got != nonce:
                return None
        if not _ocsp_signed(issuer, response, ctx):
            return None
        skew = dt.timedelta(seconds=ctx.policy.clock_skew_seconds)
        this_update = single.this_update_utc
        next_update = single.next_update_utc
        if this_update < ctx.at - skew and (next_update is None or next_update < ctx.at - skew):
            return None
        status = single.certificate_status
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.DuplicateExtension):
        return None
    if status is ocsp.OCSPCertStatus.GOOD:
        return RevocationCheck(
            certificate=cert,
            status=RevocationStatus.GOOD,
            source=RevocationSourceType.OCSP,
            evidence=(der,),
        )
    if status is ocsp.OCSPCertStatus.REVOKED:
        reason = single.revocation_reason
        return RevocationCheck(
            certificate=cert,
            status=RevocationStatus.REVOKED,
            source=RevocationSourceType.OCSP,
            revocation_time=single.revocation_time_utc,
            reason=reason.value if reason else None,
            evidence=(der,),
        )
    return None


def _signature_hash_getter(cert: x509.Certificate) -> Callable[[], object]:
    return lambda: cert.signature_hash_algorithm


def _ocsp_signed(issuer: Certificate, response: ocsp.OCSPResponse, ctx: RevocationContext) -> bool:
    if not ctx.hash_accepted(hash_name(lambda: response.signature_hash_algorithm)):
        return False
    candidates: list[Certificate] = [issuer]
    candidates.extend(Certificate.from_cryptography(c) for c in response.certificates)
    key_hash = response.responder_key_hash
    name = response.responder_name
    for cand in candidates:
        if name is not None and normalize_name(cand.subject) != normalize_name(name):
            continue
        if key_hash is not None and key_hash != _key_hash(cand, hashes.SHA1()):  # noqa: S303
            continue
        if cand != issuer:
            eku = cand.extended_key_usage or ()
            if _OCSP_SIGNING.dotted_string not in eku:
                continue
            if normalize_name(cand.issuer) != normalize_name(issuer.subject):
                continue
            crypto = cand.to_cryptography()
            if not ctx.hash_accepted(hash_name(_signature_hash_getter(crypto))):
                continue
            if not ctx.signature_ok(
                issuer.to_cryptography().public_key(),
                crypto.signature,
                crypto.tbs_certificate_bytes,
                crypto.signature_hash_algorithm,
                crypto.signature_algorithm_parameters,
            ):
                continue
            if not cand.is_valid_at(ctx.at) and not cand.is_valid_at(response.produced_at_utc):
                continue
        if ctx.signature_ok(
            cand.to_cryptography().public_key(),
            response.signature,
            response.tbs_response_bytes,
            response.signature_hash_algorithm,
        ):
            return True
    return False


# -- the entry point ------------------------------------------------------------------------


def _from_crls(
    cert: Certificate, issuer: Certificate, crls: Sequence[ParsedCRL], ctx: RevocationContext
) -> RevocationCheck | None:
    if not crls:
        return None
    try:
        outcome: CRLOutcome | None = check_crls(cert, issuer, crls, ctx)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.DuplicateExtension, PKIError):
        return None
    if outcome is None:
        return None
    return RevocationCheck(
        certificate=cert,
        status=RevocationStatus.REVOKED if outcome.revoked else RevocationStatus.GOOD,
        source=RevocationSourceType.CRL,
        revocation_time=outcome.time,
        reason=outcome.reason,
        evidence=outcome.evidence,
    )


def check_revocation(
    cert: Certificate, issuer: Certificate, ctx: RevocationContext
) -> RevocationCheck:
    """Find the revocation status of ``cert`` (issued by ``issuer``) at ``ctx.at``.

    Supplied OCSP responses and CRLs come first; the network (OCSP, then CRL distribution
    points) only when the source has a fetcher and the policy is not offline.  Hostile data
    never raises: unusable items are skipped and the status becomes UNKNOWN.
    """
    source = ctx.source
    for response, der in source.supplied_ocsp():
        found = _ocsp_check(cert, issuer, response, der, ctx, None)
        if found is not None:
            return found
    found = _from_crls(cert, issuer, source.supplied_crls(), ctx)
    if found is not None:
        return found
    tried: list[str] = []
    if ctx.online and source.use_ocsp:
        for url in cert.ocsp_urls[:2]:
            nonce = secrets.token_bytes(16)
            request = build_ocsp_request(cert, issuer, nonce=nonce)
            data = ctx.fetch(url, body=request)
            tried.append(url)
            parsed = _parse_ocsp(data) if data else None
            if parsed is not None and data is not None:
                found = _ocsp_check(cert, issuer, parsed, data, ctx, nonce)
                if found is not None:
                    return found
    if ctx.online and source.use_crl:
        fetched: list[ParsedCRL] = []
        for url in cert.crl_distribution_points[:4]:
            data = ctx.fetch(url)
            tried.append(url)
            item = parse_crl(data) if data else None
            if item is not None:
                fetched.append(item)
        if fetched:
            found = _from_crls(cert, issuer, [*fetched, *source.supplied_crls()], ctx)
            if found is not None:
                return found
    detail = "no usable CRL or OCSP response"
    if tried:
        detail += " (asked " + ", ".join(tried) + ")"
    return RevocationCheck(certificate=cert, status=RevocationStatus.UNKNOWN, detail=detail)
