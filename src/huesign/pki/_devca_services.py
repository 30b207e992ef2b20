"""Wire formats the development CA answers with: CRLs, OCSP responses, RFC 3161 timestamps.

Private to :mod:`huesign.pki.devca`.  Every function here is free of I/O and of the CA's
mutable state: the caller passes in the keys, certificates and a snapshot of what it knows.
The request parsers never raise on bad bytes; they answer with an error status instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping

import attrs
from asn1crypto import algos as a_algos
from asn1crypto import cms as a_cms
from asn1crypto import core as a_core
from asn1crypto import tsp as a_tsp
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from huesign.pki.algorithms import HashAlgorithm, KeyAlgorithm
from huesign.pki.certificates import Certificate
from huesign.pki.keys import PrivateKey

__all__: list[str] = []

#: Largest OCSP or timestamp request accepted (real ones are a few hundred bytes).
MAX_REQUEST_SIZE = 64 * 1024

# Errors that asn1crypto and cryptography raise on malformed input.
_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, UnsupportedAlgorithm)


@attrs.frozen(kw_only=True)
class RevokedEntry:
    """What the CRL and OCSP builders need to know about one revoked certificate."""

    serial_number: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags | None


@attrs.frozen(kw_only=True)
class Authority:
    """A certificate-signing authority: its certificate and key."""

    certificate: Certificate
    key: PrivateKey


def signature_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    """The digest that goes with ``key`` in certificate, CRL and OCSP signatures."""
    return hashes.SHA384() if key.algorithm is KeyAlgorithm.EC_P384 else hashes.SHA256()


# --- CRL -----------------------------------------------------------------------------------


def build_crl(
    *,
    authority: Authority,
    revoked: Iterable[RevokedEntry],
    this_update: dt.datetime,
    next_update: dt.datetime,
    number: int,
) -> bytes:
    """A DER CRL signed by ``authority`` listing ``revoked`` (RFC 5280, version 2)."""
    cert = authority.certificate.to_cryptography()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(_aki(authority.certificate), critical=False)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for entry in sorted(revoked, key=lambda e: e.serial_number):
        item = x509.RevokedCertificateBuilder().serial_number(entry.serial_number)
        item = item.revocation_date(entry.revoked_at)
        if entry.reason is not None and entry.reason is not x509.ReasonFlags.unspecified:
            item = item.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(item.build())
    key = authority.key
    crl = builder.sign(key.to_cryptography(), signature_hash(key))
    return crl.public_bytes(serialization.Encoding.DER)


def _aki(issuer: Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.subject_key_identifier
    if ski is not None:
        return x509.AuthorityKeyIdentifier(ski, None, None)
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(
        issuer.to_cryptography().public_key()  # type: ignore[arg-type]
    )


# --- OCSP ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OCSPAuthority:
    """One CA the responder answers for.

    Attributes:
        issuer: the CA whose certificates are asked about.
        responder: who signs the answers (the CA itself or a delegated responder).
        issued: serial numbers the CA issued.
        revoked: revocation entries by serial number.
    """

    issuer: Certificate
    responder: Authority
    issued: frozenset[int]
    revoked: Mapping[int, RevokedEntry]


_OCSP_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _issuer_hashes(issuer: Certificate, algorithm: str) -> tuple[bytes, bytes]:
    parsed = a_x509.Certificate.load(issuer.der)
    name_hash = hashlib.new(algorithm, issuer.subject.public_bytes()).digest()
    # The key hash covers the subjectPublicKey BIT STRING value, without its unused-bits byte.
    key_bits = parsed.public_key["public_key"].contents[1:]
    return name_hash, hashlib.new(algorithm, key_bits).digest()


def build_ocsp_response(
    request: bytes,
    *,
    authorities: Iterable[OCSPAuthority],
    now: dt.datetime,
    validity: dt.timedelta,
) -> bytes:
    """Answer a DER OCSP request (RFC 6960); never raises on bad request bytes.

    Garbage gives ``malformedRequest``; a request about a CA this responder does not serve
    gives ``unauthorized``; a serial the CA never issued is ``unknown``.  A nonce in the
    request is echoed in the response.
    """
    if not isinstance(request, bytes) or len(request) > MAX_REQUEST_SIZE:
        return _ocsp_error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        req = ocsp.load_der_ocsp_request(request)
        serial = req.serial_number
        name_hash, key_hash = req.issuer_name_hash, req.issuer_key_hash
        algorithm = req.hash_algorithm.name
        nonce = _nonce(req)
    except (*_PARSE_ERRORS, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return _ocsp_error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    if algorithm not in _OCSP_HASHES or serial < 0:  # RFC 5280 serials are positive
        return _ocsp_error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    for auth in authorities:
        if _issuer_hashes(auth.issuer, algorithm) != (name_hash, key_hash):
            continue
        return _ocsp_answer(auth, serial, name_hash, key_hash, algorithm, nonce, now, validity)
    return _ocsp_error(ocsp.OCSPResponseStatus.UNAUTHORIZED)


def _nonce(req: ocsp.OCSPRequest) -> bytes | None:
    try:
        ext = req.extensions.get_extension_for_class(x509.OCSPNonce)
    except x509.ExtensionNotFound:
        return None
    return ext.value.nonce


def _ocsp_answer(
    auth: OCSPAuthority,
    serial: int,
    name_hash: bytes,
    key_hash: bytes,
    algorithm: str,
    nonce: bytes | None,
    now: dt.datetime,
    validity: dt.timedelta,
) -> bytes:
    revoked_at: dt.datetime | None = None
    reason: x509.ReasonFlags | None = None
    if serial not in auth.issued:
        status = ocsp.OCSPCertStatus.UNKNOWN
    elif serial in auth.revoked and auth.revoked[serial].revoked_at <= now:
        status = ocsp.OCSPCertStatus.REVOKED
        entry = auth.revoked[serial]
        revoked_at = entry.revoked_at
        reason = None if entry.reason is x509.ReasonFlags.unspecified else entry.reason
    else:
        status = ocsp.OCSPCertStatus.GOOD
    responder = auth.responder
    responder_cert = responder.certificate.to_cryptography()
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=name_hash,
            issuer_key_hash=key_hash,
            serial_number=serial,
            algorithm=_OCSP_HASHES[algorithm](),
            cert_status=status,
            this_update=now,
            next_update=now + validity,
            revocation_time=revoked_at,
            revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert)
        .certificates([responder_cert])
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    key = responder.key
    signed = builder.sign(key.to_cryptography(), signature_hash(key))
    return signed.public_bytes(serialization.Encoding.DER)


def _ocsp_error(status: ocsp.OCSPResponseStatus) -> bytes:
    response = ocsp.OCSPResponseBuilder.build_unsuccessful(status)
    return response.public_bytes(serialization.Encoding.DER)


# --- RFC 3161 timestamps -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TimestampRequest:
    """The parts of an RFC 3161 request the TSA acts on."""

    imprint: bytes
    hash_algorithm: HashAlgorithm
    nonce: int | None = None
    policy: str | None = None
    cert_req: bool = False


class TimestampRejected(Exception):
    """A timestamp request that gets a ``rejection`` status; ``failure`` names the bit."""

    def __init__(self, failure: str, text: str) -> None:
        super().__init__(text)
        self.failure = failure
        self.text = text


def parse_timestamp_request(request: bytes) -> TimestampRequest:
    """Read a DER TimeStampReq; raises :class:`TimestampRejected` on anything unusable."""
    if not isinstance(request, bytes) or len(request) > MAX_REQUEST_SIZE:
        raise TimestampRejected("bad_request", "request is not a DER TimeStampReq")
    try:
        req = a_tsp.TimeStampReq.load(request, strict=True)
        version = req["version"].native
        imprint = req["message_imprint"]
        algo_oid = imprint["hash_algorithm"]["algorithm"].dotted
        digest = imprint["hashed_message"].native
        nonce = req["nonce"].native
        policy = req["req_policy"].dotted if req["req_policy"].native is not None else None
        cert_req = bool(req["cert_req"].native)
        has_extensions = req["extensions"].native is not None
    except _PARSE_ERRORS as exc:
        raise TimestampRejected("bad_request", "request is not a DER TimeStampReq") from exc
    if version != "v1":
        raise TimestampRejected("bad_request", "only version 1 requests are supported")
    if has_extensions:
        raise TimestampRejected("unaccepted_extensions", "request extensions are not supported")
    try:
        hash_algorithm = HashAlgorithm.from_name(algo_oid)
    except ValueError as exc:
        raise TimestampRejected("bad_alg", "imprint digest must be SHA-256/384/512") from exc
    if not isinstance(digest, bytes) or len(digest) != hash_algorithm.digest_size:
        raise TimestampRejected("bad_data_format", "imprint length does not fit its algorithm")
    return TimestampRequest(
        imprint=digest, hash_algorithm=hash_algorithm, nonce=nonce, policy=policy, cert_req=cert_req
    )


def timestamp_rejection(failure: str, text: str) -> bytes:
    """A DER TimeStampResp with status ``rejection`` and one failure bit."""
    status = a_tsp.PKIStatusInfo(
        {"status": "rejection", "status_string": [text], "fail_info": {failure}}
    )
    body = bytes(status.dump())
    # TimeStampResp is SEQUENCE { status, timeStampToken OPTIONAL }: built by hand because
    # asn1crypto's schema marks the token as required.
    return b"\x30" + _der_length(len(body)) + body


def timestamp_granted(token: bytes) -> bytes:
    """A DER TimeStampResp with status ``granted`` around ``token``."""
    resp = a_tsp.TimeStampResp(
        {"status": {"status": "granted"}, "time_stamp_token": a_cms.ContentInfo.load(token)}
    )
    return bytes(resp.dump())


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


@attrs.frozen(kw_only=True)
class TSAIdentity:
    """The DER pieces that name a TSA in its tokens; constant for one TSA certificate.

    Built once: asn1crypto re-encodes names slowly, and these never change.
    """

    authority: Authority
    signer_id: bytes
    signing_certificate: bytes
    signature_algorithm: str

    @classmethod
    def of(cls, tsa: Authority) -> TSAIdentity:
        """Prepare the pieces for ``tsa``."""
        cert = tsa.certificate
        issuer = a_x509.Name.load(cert.issuer.public_bytes())
        ess = a_tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "cert_hash": hashlib.sha256(cert.der).digest(),
                        "issuer_serial": {
                            "issuer": [a_x509.GeneralName("directory_name", issuer)],
                            "serial_number": cert.serial_number,
                        },
                    }
                ]
            }
        )
        sid = a_cms.SignerIdentifier(
            "issuer_and_serial_number", {"issuer": issuer, "serial_number": cert.serial_number}
        )
        algorithm = tsa.key.algorithm
        family = algorithm.family if algorithm else "rsa"
        return cls(
            authority=tsa,
            signer_id=bytes(sid.dump()),
            signing_certificate=bytes(ess.dump()),
            signature_algorithm="sha256_ecdsa" if family == "ec" else "rsassa_pkcs1v15",
        )


def build_timestamp_token(
    *,
    tsa: TSAIdentity,
    request: TimestampRequest,
    policy: str,
    serial_number: int,
    gen_time: dt.datetime,
) -> bytes:
    """A DER RFC 3161 TimeStampToken (CMS SignedData over a TSTInfo) signed by ``tsa``.

    The signer info carries content type, message digest and signing-certificate-v2
    (ESSCertIDv2 over the TSA certificate, SHA-256).  The TSA certificate is included when
    the request asked for it (``certReq``).
    """
    tst_fields: dict[str, object] = {
        "version": "v1",
        "policy": policy,
        "message_imprint": {
            "hash_algorithm": {"algorithm": request.hash_algorithm.value},
            "hashed_message": request.imprint,
        },
        "serial_number": serial_number,
        "gen_time": gen_time.replace(microsecond=0),
        "accuracy": {"seconds": 1},
    }
    if request.nonce is not None:
        tst_fields["nonce"] = request.nonce
    tst_der = bytes(a_tsp.TSTInfo(tst_fields).dump())

    ess = a_tsp.SigningCertificateV2.load(tsa.signing_certificate)
    attributes = [
        a_cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
        a_cms.CMSAttribute(
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]}
        ),
        a_cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]}),
    ]
    # DER orders a SET OF by encoding; verifiers re-encode before checking the signature.
    attributes.sort(key=lambda attr: attr.dump())
    signed_attrs_der = bytes(a_cms.CMSAttributes(attributes).dump())
    key = tsa.authority.key
    signature = key.sign(signed_attrs_der, hash_algorithm=HashAlgorithm.SHA256)
    signer_info = a_cms.SignerInfo(
        {
            "version": "v1",
            "sid": a_cms.SignerIdentifier.load(tsa.signer_id),
            "digest_algorithm": a_algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": a_cms.CMSAttributes.load(signed_attrs_der),
            "signature_algorithm": a_algos.SignedDigestAlgorithm(
                {"algorithm": tsa.signature_algorithm}
            ),
            "signature": signature,
        }
    )
    signed_data: dict[str, object] = {
        "version": "v3",
        "digest_algorithms": [a_algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {
            "content_type": "tst_info",
            "content": a_core.ParsableOctetString(tst_der),
        },
        "signer_infos": [signer_info],
    }
    if request.cert_req:
        signed_data["certificates"] = [a_x509.Certificate.load(tsa.authority.certificate.der)]
    token = a_cms.ContentInfo(
        {"content_type": "signed_data", "content": a_cms.SignedData(signed_data)}
    )
    return bytes(token.dump())
