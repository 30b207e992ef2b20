"""Raw CMS (RFC 5652) building and parsing: the hazmat under ``sign_cms`` and ``verify_cms``.

Nothing here talks to the network or decides a verdict: functions build DER, parse DER into
asn1crypto objects, and answer yes/no questions about integrity.  Parse failures raise
:class:`CMSFormatError`, which the recipes turn into a FORMAT_FAILURE report.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import attrs
from asn1crypto import algos, cms, core, parser

from huesign.errors import CertificateError
from huesign.pki import _cms_build as build
from huesign.pki.algorithms import HashAlgorithm, RSAPadding, SignatureAlgorithm
from huesign.pki.certificates import Certificate
from huesign.pki.keys import PublicKey

#: Largest CMS structure parsed (signature plus any encapsulated content).
MAX_CMS_SIZE = 64 << 20
#: Chunk size used when hashing streams.
CHUNK_SIZE = 1 << 20
#: Most certificates or signer infos looked at in one SignedData.
MAX_ITEMS = 64

ID_DATA = "1.2.840.113549.1.7.1"
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_TST_INFO = "1.2.840.113549.1.9.16.1.4"

Content: TypeAlias = bytes | bytearray | memoryview | BinaryIO | os.PathLike[str] | Iterable[bytes]


class CMSFormatError(ValueError):
    """The input is not a well-formed CMS structure of the expected kind."""


# --- digests ---------------------------------------------------------------------------------


def digest_content(content: Content, hash_algorithm: HashAlgorithm) -> tuple[bytes, int]:
    """Hash ``content`` in chunks; return the digest and the number of bytes hashed.

    ``content`` may be bytes, a binary file object, a path, or an iterable of byte chunks;
    memory use does not grow with its size.
    """
    h = hashlib.new(hash_algorithm.value)
    size = 0
    if isinstance(content, bytes | bytearray | memoryview):
        h.update(content)
        return h.digest(), len(content)
    if isinstance(content, os.PathLike):
        with Path(content).open("rb") as fh:
            return digest_content(fh, hash_algorithm)
    if isinstance(content, str):
        raise TypeError("give content as bytes, a binary file, a Path or an iterable of bytes")
    read = getattr(content, "read", None)
    if callable(read):
        while True:
            chunk = read(CHUNK_SIZE)
            if not chunk:
                break
            if not isinstance(chunk, bytes | bytearray):
                raise TypeError("the file must be opened in binary mode")
            h.update(chunk)
            size += len(chunk)
        return h.digest(), size
    for chunk in content:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError("content chunks must be bytes")
        h.update(chunk)
        size += len(chunk)
    return h.digest(), size


def read_all(content: Content, limit: int) -> bytes:
    """Read ``content`` fully (for encapsulation), refusing more than ``limit`` bytes."""
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
    elif isinstance(content, os.PathLike):
        with Path(content).open("rb") as fh:
            data = fh.read(limit + 1)
    elif callable(read := getattr(content, "read", None)):
        data = bytes(read(limit + 1))
    elif isinstance(content, str):
        raise TypeError("give content as bytes, a binary file, a Path or an iterable of bytes")
    else:
        parts: list[bytes] = []
        total = 0
        for chunk in content:
            parts.append(bytes(chunk))
            total += len(chunk)
            if total > limit:
                break
        data = b"".join(parts)
    if len(data) > limit:
        raise ValueError(f"attached content is limited to {limit} bytes; sign it detached")
    return data


def signed_attributes_der(signed_attrs: cms.CMSAttributes) -> bytes:
    """The DER that is signed: the attributes as a SET (tag 0x31), original encoding kept."""
    der = bytes(signed_attrs.dump())
    if not der:
        raise CMSFormatError("empty signed attributes")
    return b"\x31" + der[1:]


# --- parsing ---------------------------------------------------------------------------------


def parse_signed_data(data: bytes, *, expect_content_type: str | None = None) -> cms.SignedData:
    """Parse a ContentInfo holding SignedData, forcing the parts verification reads.

    Raises :class:`CMSFormatError` for anything that is not such a structure.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("signature must be bytes")
    if len(data) > MAX_CMS_SIZE:
        raise CMSFormatError(f"CMS input is larger than {MAX_CMS_SIZE} bytes")
    try:
        info = cms.ContentInfo.load(bytes(data), strict=True)
        if info["content_type"].dotted != ID_SIGNED_DATA:
            raise CMSFormatError(f"content type is {info['content_type'].dotted}, not SignedData")
        signed = info["content"]
        if not isinstance(signed, cms.SignedData):
            raise CMSFormatError("content is not SignedData")
        eci = signed["encap_content_info"]
        if expect_content_type is not None and eci["content_type"].dotted != expect_content_type:
            raise CMSFormatError(
                f"encapsulated content type is {eci['content_type'].dotted}, "
                f"expected {expect_content_type}"
            )
        signer_infos = signed["signer_infos"]
        if len(signer_infos) == 0:
            raise CMSFormatError("SignedData has no SignerInfo")
        if len(signer_infos) > MAX_ITEMS:
            raise CMSFormatError("too many SignerInfos")
        certs = signed["certificates"]
        if not absent(certs) and len(certs) > MAX_ITEMS:
            raise CMSFormatError("too many certificates")
        for si in signer_infos:
            _ = (si["sid"].chosen, si["digest_algorithm"]["algorithm"].dotted)
            _ = (si["signature_algorithm"]["algorithm"].dotted, si["signature"].native)
            sa = si["signed_attrs"]
            if not absent(sa):
                for attr in sa:
                    _ = (attr["type"].dotted, len(attr["values"]))
        _ = encapsulated_content(signed)
    except CMSFormatError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise CMSFormatError(f"damaged CMS structure: {exc}") from exc
    except RecursionError as exc:
        raise CMSFormatError("CMS structure nested too deeply") from exc
    return signed


def absent(value: object) -> bool:
    """Whether an optional ASN.1 field is missing (cheap: never builds native values)."""
    return value is None or isinstance(value, core.Void)


def encapsulated_content(signed: cms.SignedData) -> bytes | None:
    """The encapsulated content's octets, or ``None`` for a detached signature."""
    content = signed["encap_content_info"]["content"]
    if absent(content) or content.contents is None:
        return None
    if isinstance(content, core.ParsableOctetString | core.OctetString):
        return bytes(content.__bytes__())
    raise CMSFormatError("encapsulated content is not an OCTET STRING")


def attribute_values(attrs: cms.CMSAttributes | None, oid: str) -> list[Any] | None:
    """The values of the attribute ``oid`` (dotted), ``None`` when absent.

    Raises :class:`CMSFormatError` when the attribute occurs more than once.
    """
    if attrs is None or absent(attrs):
        return None
    found = [a for a in attrs if a["type"].dotted == oid]
    if not found:
        return None
    if len(found) > 1:
        raise CMSFormatError(f"attribute {oid} occurs more than once")
    return list(found[0]["values"])


class _Attributes:
    """The attributes of one SET, indexed by dotted OID in a single pass."""

    __slots__ = ("_by_oid",)

    def __init__(self, attrs: cms.CMSAttributes) -> None:
        self._by_oid: dict[str, list[Any]] = {}
        for attr in attrs:
            self._by_oid.setdefault(attr["type"].dotted, []).append(attr)

    def values(self, oid: str) -> list[Any] | None:
        """Like :func:`attribute_values`, without scanning the set again."""
        found = self._by_oid.get(oid)
        if not found:
            return None
        if len(found) > 1:
            raise CMSFormatError(f"attribute {oid} occurs more than once")
        return list(found[0]["values"])


def certificates_of(signed: cms.SignedData) -> list[Certificate]:
    """Every X.509 certificate embedded in ``signed`` that parses (others are skipped)."""
    out: list[Certificate] = []
    certs = signed["certificates"]
    if absent(certs):
        return out
    # Walk the SET's elements directly: the ``certificate`` choice is the universal
    # SEQUENCE; the other choices carry context-specific tags and are skipped.
    data = bytes(certs.contents or b"")
    while data:
        cls, constructed, tag, header, contents, trailer = parser.parse(data, strict=False)
        der = header + contents + trailer
        data = data[len(der) :]
        if (cls, constructed, tag) != (0, 1, 16):
            continue
        try:
            out.append(Certificate.from_der(der))
        except (ValueError, CertificateError):
            continue
    return out


def _issuer_body(certificate: Certificate) -> bytes:
    der = certificate.to_cryptography().issuer.public_bytes()
    first = der[1]
    return der[2 if first < 0x80 else 2 + (first & 0x7F) :]


class _IssuerBodies:
    """:func:`_issuer_body` computed at most once per certificate within one check."""

    __slots__ = ("_memo",)

    def __init__(self) -> None:
        self._memo: dict[Certificate, bytes] = {}

    def __call__(self, certificate: Certificate) -> bytes:
        found = self._memo.get(certificate)
        if found is None:
            found = self._memo[certificate] = _issuer_body(certificate)
        return found


def find_signer_certificate(
    signer_info: cms.SignerInfo,
    candidates: Sequence[Certificate],
    *,
    issuer_body: Callable[[Certificate], bytes] = _issuer_body,
) -> Certificate | None:
    """The certificate the SignerInfo's ``sid`` names, among ``candidates``."""
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        issuer = name_body(sid.chosen["issuer"])
        serial = sid.chosen["serial_number"].native
        for cand in candidates:
            if cand.serial_number == serial and issuer_body(cand) == issuer:
                return cand
        return None
    ski = sid.chosen.native
    for cand in candidates:
        if cand.subject_key_identifier == ski:
            return cand
    return None


def name_body(name: Any) -> bytes:
    """The contents of an asn1crypto ``Name`` (its RDN sequence without tag and length)."""
    return bytes(name.chosen.contents or b"")


def signature_algorithm_of(signer_info: cms.SignerInfo) -> SignatureAlgorithm:
    """The scheme a SignerInfo uses, checked against huesign's accepted list.

    Raises :class:`CMSFormatError` (unreadable) or :class:`UnsupportedAlgorithm`.
    """
    sda = signer_info["signature_algorithm"]
    try:
        family = sda.signature_algo
    except ValueError as exc:
        raise UnsupportedAlgorithmError(
            f"unknown signature algorithm {sda['algorithm'].dotted}"
        ) from exc
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if family == "ed25519":
        return SignatureAlgorithm.ED25519
    try:
        if family == "rsassa_pss":
            params = sda["parameters"]
            hash_name = params["hash_algorithm"]["algorithm"].native
            mgf = params["mask_gen_algorithm"]
            if (
                mgf["algorithm"].native != "mgf1"
                or mgf["parameters"]["algorithm"].native != hash_name
            ):
                raise UnsupportedAlgorithmError("RSA-PSS with a different MGF1 digest")
            if params["salt_length"].native != HashAlgorithm(hash_name).digest_size:
                raise UnsupportedAlgorithmError("RSA-PSS salt length differs from digest size")
            return SignatureAlgorithm(f"rsa-pss-{hash_name}")
        try:
            hash_name = sda.hash_algo
        except ValueError:
            hash_name = digest_name
        if family == "rsassa_pkcs1v15":
            return SignatureAlgorithm(f"rsa-pkcs1v15-{hash_name}")
        if family == "ecdsa":
            return SignatureAlgorithm(f"ecdsa-{hash_name}")
    except ValueError as exc:
        raise UnsupportedAlgorithmError(f"digest {hash_name!r} is not accepted") from exc
    raise UnsupportedAlgorithmError(f"signature algorithm {family} is not accepted")


class UnsupportedAlgorithmError(ValueError):
    """The signature uses an algorithm huesign does not accept."""


def content_hash_algorithm(signer_info: cms.SignerInfo) -> HashAlgorithm:
    """The digest algorithm of a SignerInfo, if accepted."""
    name = signer_info["digest_algorithm"]["algorithm"].native
    try:
        return HashAlgorithm(name)
    except ValueError as exc:
        raise UnsupportedAlgorithmError(f"digest algorithm {name!r} is not accepted") from exc


def verify_signature_value(
    public_key: PublicKey, algorithm: SignatureAlgorithm, signed_bytes: bytes, signature: bytes
) -> bool:
    """Whether ``signature`` over ``signed_bytes`` verifies with ``public_key``."""
    family = public_key.description.split("-", 1)[0]
    if family != algorithm.key_family:
        return False
    if not algorithm.prehashed:
        return public_key.verify(signature, signed_bytes)
    return public_key.verify(
        signature,
        signed_bytes,
        hash_algorithm=algorithm.hash_algorithm,
        rsa_padding=algorithm.rsa_padding or RSAPadding.PKCS1V15,
    )


# --- integrity of one SignerInfo -------------------------------------------------------------


class Failure(enum.Enum):
    """Why a SignerInfo failed its integrity checks."""

    NO_CERTIFICATE = "no_signing_certificate"
    CERTIFICATE_BINDING = "signing_certificate_mismatch"
    MISSING_ATTRIBUTE = "missing_signed_attribute"
    CONTENT_TYPE = "content_type_mismatch"
    ALGORITHM_PROTECTION = "algorithm_protection_mismatch"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    HASH = "message_digest_mismatch"
    SIGNATURE = "signature_invalid"
    FORMAT = "format"


@attrs.frozen(kw_only=True)
class SignerCheck:
    """What the integrity checks of one SignerInfo found (no verdict, just facts)."""

    certificate: Certificate | None = None
    algorithm: SignatureAlgorithm | None = None
    failure: Failure | None = None
    detail: str = ""
    signing_time: dt.datetime | None = None
    has_signing_certificate_v2: bool = False


def check_signer_info(
    signer_info: cms.SignerInfo,
    *,
    content_digest: bytes,
    content_type: str,
    candidates: Sequence[Certificate],
    raw_content: bytes | None = None,
) -> SignerCheck:
    """Check one SignerInfo: certificate, attributes, message digest and signature value.

    ``content_digest`` is the digest of the signed content made with the SignerInfo's own
    digest algorithm (see :func:`content_hash_algorithm`).  ``raw_content`` is needed only
    for a SignerInfo without signed attributes, whose signature covers the content itself.
    """
    issuer_body = _IssuerBodies()
    cert = find_signer_certificate(signer_info, candidates, issuer_body=issuer_body)
    try:
        algorithm = signature_algorithm_of(signer_info)
        hash_algorithm = content_hash_algorithm(signer_info)
    except UnsupportedAlgorithmError as exc:
        return SignerCheck(certificate=cert, failure=Failure.UNSUPPORTED_ALGORITHM, detail=str(exc))
    if cert is None:
        return SignerCheck(algorithm=algorithm, failure=Failure.NO_CERTIFICATE)
    signed_attrs = signer_info["signed_attrs"]
    signature = signer_info["signature"].native
    if absent(signed_attrs):
        if raw_content is None:
            return SignerCheck(
                certificate=cert,
                algorithm=algorithm,
                failure=Failure.MISSING_ATTRIBUTE,
                detail="no signed attributes and the content is not available",
            )
        ok = verify_signature_value(cert.public_key, algorithm, raw_content, signature)
        return SignerCheck(
            certificate=cert, algorithm=algorithm, failure=None if ok else Failure.SIGNATURE
        )

    def fail(failure: Failure, detail: str = "") -> SignerCheck:
        return SignerCheck(certificate=cert, algorithm=algorithm, failure=failure, detail=detail)

    # The signed bytes first, while the parsed attributes still hold their original encoding
    # (reading a DEFAULT field below makes asn1crypto re-encode on the next dump).
    tbs = signed_attributes_der(signed_attrs)
    attributes = _Attributes(signed_attrs)

    ctype = attributes.values("1.2.840.113549.1.9.3")
    digest = attributes.values("1.2.840.113549.1.9.4")
    if not ctype or not digest or len(ctype) != 1 or len(digest) != 1:
        return fail(Failure.MISSING_ATTRIBUTE, "content-type and message-digest are required")
    if ctype[0].dotted != content_type:
        return fail(Failure.CONTENT_TYPE)
    # Signing certificate binding (ESS signing-certificate-v2, or v1 with SHA-1).
    has_v2 = False
    ess_v2 = attributes.values("1.2.840.113549.1.9.16.2.47")
    ess_v1 = attributes.values("1.2.840.113549.1.9.16.2.12")
    if ess_v2 and ess_v2[0].dump() in _usual_ess_v2(cert, issuer_body):
        has_v2 = True
    elif ess_v2:
        has_v2 = True
        first = ess_v2[0]["certs"][0]
        name = first["hash_algorithm"]["algorithm"].native
        if name not in ("sha256", "sha384", "sha512"):
            return fail(Failure.UNSUPPORTED_ALGORITHM, f"ESSCertIDv2 digest {name}")
        if hashlib.new(name, cert.der).digest() != first["cert_hash"].native:
            return fail(Failure.CERTIFICATE_BINDING)
        if not _issuer_serial_matches(first["issuer_serial"], cert, issuer_body):
            return fail(Failure.CERTIFICATE_BINDING)
    elif ess_v1:
        first = ess_v1[0]["certs"][0]
        if hashlib.sha1(cert.der, usedforsecurity=False).digest() != first["cert_hash"].native:
            return fail(Failure.CERTIFICATE_BINDING)
    protection = attributes.values("1.2.840.113549.1.9.52")
    if protection and protection[0].dump() == _usual_protection(signer_info):
        pass
    elif protection:
        prot = protection[0]
        if prot["digest_algorithm"].dump() != signer_info["digest_algorithm"].dump() and (
            prot["digest_algorithm"]["algorithm"].native != hash_algorithm.value
        ):
            return fail(Failure.ALGORITHM_PROTECTION, "digest algorithm differs")
        sig_alg = prot["signature_algorithm"]
        if absent(sig_alg) or not _same_signature_algorithm(
            sig_alg, signer_info["signature_algorithm"]
        ):
            return fail(Failure.ALGORITHM_PROTECTION, "signature algorithm differs")
    if digest[0].native != content_digest:
        return fail(Failure.HASH)
    if not verify_signature_value(cert.public_key, algorithm, tbs, signature):
        return fail(Failure.SIGNATURE)
    signing_time = None
    times = attributes.values("1.2.840.113549.1.9.5")
    if times:
        value = times[0].native
        if isinstance(value, dt.datetime):
            signing_time = value
    return SignerCheck(
        certificate=cert,
        algorithm=algorithm,
        signing_time=signing_time,
        has_signing_certificate_v2=has_v2,
    )


# Fast paths: an attribute whose bytes are exactly the usual encoding of what the checks
# below accept is accepted without building asn1crypto objects for its fields; anything else
# (other digests, extra fields, other encodings) goes through the full checks.


def _usual_ess_v2(
    cert: Certificate, issuer_body: Callable[[Certificate], bytes]
) -> tuple[bytes, bytes]:
    """The usual DERs of a SigningCertificateV2 naming ``cert`` by its SHA-256 hash.

    One ESSCertIDv2 with issuer and serial; the digest algorithm omitted (the DEFAULT) or
    written out.
    """
    issuer_serial = build.seq(
        build.seq(build.tlv(0xA4, build.tlv(0x30, issuer_body(cert)))),
        build.integer(cert.serial_number),
    )
    cert_hash = build.octets(hashlib.sha256(cert.der).digest())
    algorithm = build.digest_algorithm(HashAlgorithm.SHA256)
    return (
        build.seq(build.seq(build.seq(cert_hash, issuer_serial))),
        build.seq(build.seq(build.seq(algorithm, cert_hash, issuer_serial))),
    )


def _usual_protection(signer_info: cms.SignerInfo) -> bytes:
    """The usual DER of the CMSAlgorithmProtection matching the SignerInfo's algorithms."""
    digest = signer_info["digest_algorithm"].dump()
    signature = parser.parse(signer_info["signature_algorithm"].dump())[4]
    return build.seq(digest, build.tlv(0xA1, signature))


def _issuer_serial_matches(
    issuer_serial: Any, cert: Certificate, issuer_body: Callable[[Certificate], bytes]
) -> bool:
    if absent(issuer_serial):
        return True
    if issuer_serial["serial_number"].native != cert.serial_number:
        return False
    names = [name_body(gn.chosen) for gn in issuer_serial["issuer"] if gn.name == "directory_name"]
    return not names or issuer_body(cert) in names


def _same_signature_algorithm(
    a: algos.SignedDigestAlgorithm, b: algos.SignedDigestAlgorithm
) -> bool:
    if a["algorithm"].dotted != b["algorithm"].dotted:
        return False
    pa, pb = a["parameters"], b["parameters"]
    da = None if absent(pa) or isinstance(pa, core.Null) else pa.dump()
    db = None if absent(pb) or isinstance(pb, core.Null) else pb.dump()
    return bool(da == db)
