"""X.509 certificates: a frozen :class:`Certificate` wrapper and bundle loaders.

>>> from huesign.pki import TrustStore
>>> root = TrustStore.vietnam().anchors[0]
>>> root.subject_text  # doctest: +ELLIPSIS
'CN=Vietnam National Root CA,OU=National Centre of Digital Signature Authentication,...'
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import attrs
from asn1crypto import cms as asn1_cms
from asn1crypto import pem as asn1_pem
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from huesign.errors import CertificateError, KeyLoadError
from huesign.pki.identity import CitizenIdentity
from huesign.pki.keys import PublicKey

__all__ = [
    "MAX_CERTIFICATE_FILE_SIZE",
    "Certificate",
    "KeyUsage",
    "bounded_input",
    "load_certificates",
    "load_certificates_file",
]

#: Largest certificate or bundle accepted by the loaders (real bundles are a few KiB).
MAX_CERTIFICATE_FILE_SIZE = 4 << 20


class KeyUsage(enum.Enum):
    """The nine bits of the X.509 key usage extension, named as RFC 5280 names them."""

    DIGITAL_SIGNATURE = "digital_signature"
    NON_REPUDIATION = "content_commitment"
    KEY_ENCIPHERMENT = "key_encipherment"
    DATA_ENCIPHERMENT = "data_encipherment"
    KEY_AGREEMENT = "key_agreement"
    KEY_CERT_SIGN = "key_cert_sign"
    CRL_SIGN = "crl_sign"
    ENCIPHER_ONLY = "encipher_only"
    DECIPHER_ONLY = "decipher_only"

    @classmethod
    def from_extension(cls, value: x509.KeyUsage) -> frozenset[KeyUsage]:
        """The bits set in a ``cryptography`` key usage extension value."""
        found = set()
        for usage in cls:
            try:
                if getattr(value, usage.value):
                    found.add(usage)
            except ValueError:  # encipher/decipher_only are undefined without key_agreement
                continue
        return frozenset(found)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@attrs.frozen(eq=False, repr=False)
class Certificate:
    """An immutable, parsed X.509 certificate.

    Build with :meth:`from_pem`, :meth:`from_der`, :meth:`from_cryptography` or the bundle
    loaders.  Two certificates are equal when their DER encodings are equal.  Extension
    accessors return ``None`` (or an empty tuple) when the extension is absent and raise
    :class:`~huesign.errors.CertificateError` when it is present but malformed.
    """

    _cert: x509.Certificate = attrs.field(alias="cert")
    _der: bytes = attrs.field(alias="der")

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_cryptography(cls, cert: x509.Certificate) -> Certificate:
        """Wrap a ``cryptography`` certificate object."""
        if not isinstance(cert, x509.Certificate):
            raise TypeError("expected a cryptography x509.Certificate")
        _check_fields(cert)
        return cls(cert=cert, der=cert.public_bytes(serialization.Encoding.DER))

    @classmethod
    def from_der(cls, data: bytes) -> Certificate:
        """Parse one DER-encoded certificate."""
        data = bounded_input(data)
        try:
            cert = x509.load_der_x509_certificate(data)
        except (ValueError, TypeError, x509.InvalidVersion) as exc:
            raise CertificateError(f"not a readable DER certificate: {exc}") from exc
        _check_fields(cert)
        return cls(cert=cert, der=data)

    @classmethod
    def from_pem(cls, data: bytes | str) -> Certificate:
        """Parse exactly one PEM ``CERTIFICATE`` block (use :func:`load_certificates` for more)."""
        found = _pem_certificates(bounded_input(data))
        if len(found) != 1:
            raise CertificateError(f"expected one PEM certificate, found {len(found)}")
        return found[0]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Certificate:
        """Read a file holding exactly one certificate (PEM or DER)."""
        found = load_certificates_file(path)
        if len(found) != 1:
            raise CertificateError(f"{path}: expected one certificate, found {len(found)}")
        return found[0]

    # -- encodings ---------------------------------------------------------------------------

    @property
    def der(self) -> bytes:
        """The DER encoding."""
        return self._der

    def to_pem(self) -> bytes:
        """The PEM encoding."""
        return self._cert.public_bytes(serialization.Encoding.PEM)

    def to_cryptography(self) -> x509.Certificate:
        """The wrapped ``cryptography`` object (hazmat)."""
        return self._cert

    # -- basic fields ------------------------------------------------------------------------

    @property
    def subject(self) -> x509.Name:
        """The subject name."""
        return self._cert.subject

    @property
    def issuer(self) -> x509.Name:
        """The issuer name."""
        return self._cert.issuer

    @property
    def subject_text(self) -> str:
        """The subject as an RFC 4514 string."""
        return self._cert.subject.rfc4514_string()

    @property
    def issuer_text(self) -> str:
        """The issuer as an RFC 4514 string."""
        return self._cert.issuer.rfc4514_string()

    @property
    def serial_number(self) -> int:
        """The serial number."""
        return self._cert.serial_number

    @property
    def not_before(self) -> dt.datetime:
        """Start of validity (UTC, timezone-aware)."""
        return _utc(self._cert.not_valid_before_utc)

    @property
    def not_after(self) -> dt.datetime:
        """End of validity (UTC, timezone-aware)."""
        return _utc(self._cert.not_valid_after_utc)

    def is_valid_at(self, when: dt.datetime) -> bool:
        """Whether ``when`` (timezone-aware) lies within the validity period."""
        if when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        return self.not_before <= when <= self.not_after

    @functools.cached_property
    def public_key(self) -> PublicKey:
        """The subject public key."""
        try:
            return PublicKey.from_cryptography(self._cert.public_key())
        except (ValueError, UnsupportedAlgorithm, KeyLoadError) as exc:
            raise CertificateError(f"unsupported public key: {exc}") from exc

    @property
    def signature_hash_algorithm(self) -> str | None:
        """Name of the digest in the certificate's signature (``sha256``...), if any."""
        try:
            algo = self._cert.signature_hash_algorithm
        except UnsupportedAlgorithm:
            return None
        return algo.name if algo else None

    def fingerprint(self, algorithm: str = "sha256") -> bytes:
        """Digest of the DER encoding (``sha1``, ``sha256``, ``sha384``, ``sha512``)."""
        if algorithm not in ("sha1", "sha256", "sha384", "sha512"):
            raise ValueError(f"unsupported fingerprint algorithm {algorithm!r}")
        return hashlib.new(algorithm, self._der).digest()

    @property
    def sha256_fingerprint(self) -> str:
        """SHA-256 fingerprint as upper-case hex pairs joined by colons."""
        return ":".join(f"{b:02X}" for b in self.fingerprint("sha256"))

    @functools.cached_property
    def identity(self) -> CitizenIdentity:
        """The holder's identity as Vietnamese certificates state it."""
        return CitizenIdentity.from_name(self._cert.subject)

    # -- extensions ---------------------------------------------------------------------------

    def _extension(self, oid: x509.ObjectIdentifier) -> x509.Extension[x509.ExtensionType] | None:
        try:
            return self._cert.extensions.get_extension_for_oid(oid)
        except x509.ExtensionNotFound:
            return None
        except (ValueError, x509.DuplicateExtension) as exc:
            raise CertificateError(f"malformed extensions: {exc}") from exc

    def _value(self, oid: x509.ObjectIdentifier) -> x509.ExtensionType | None:
        ext = self._extension(oid)
        return ext.value if ext else None

    @property
    def extension_oids(self) -> tuple[str, ...]:
        """Dotted OIDs of every extension present, in certificate order."""
        try:
            return tuple(e.oid.dotted_string for e in self._cert.extensions)
        except (ValueError, x509.DuplicateExtension) as exc:
            raise CertificateError(f"malformed extensions: {exc}") from exc

    @property
    def critical_extension_oids(self) -> tuple[str, ...]:
        """Dotted OIDs of every extension marked critical."""
        try:
            return tuple(e.oid.dotted_string for e in self._cert.extensions if e.critical)
        except (ValueError, x509.DuplicateExtension) as exc:
            raise CertificateError(f"malformed extensions: {exc}") from exc

    @property
    def key_usage(self) -> frozenset[KeyUsage] | None:
        """The key usage bits set, or ``None`` when the extension is absent."""
        ku = self._value(ExtensionOID.KEY_USAGE)
        return KeyUsage.from_extension(ku) if isinstance(ku, x509.KeyUsage) else None

    @property
    def extended_key_usage(self) -> tuple[str, ...] | None:
        """Dotted OIDs of the extended key usages, or ``None`` when absent."""
        eku = self._value(ExtensionOID.EXTENDED_KEY_USAGE)
        if not isinstance(eku, x509.ExtendedKeyUsage):
            return None
        return tuple(oid.dotted_string for oid in eku)

    @property
    def policies(self) -> tuple[str, ...]:
        """Dotted OIDs of the certificate policies."""
        pol = self._value(ExtensionOID.CERTIFICATE_POLICIES)
        if not isinstance(pol, x509.CertificatePolicies):
            return ()
        return tuple(p.policy_identifier.dotted_string for p in pol)

    @property
    def is_ca(self) -> bool:
        """Whether basic constraints say ``cA=TRUE``."""
        bc = self._value(ExtensionOID.BASIC_CONSTRAINTS)
        return isinstance(bc, x509.BasicConstraints) and bc.ca

    @property
    def path_length(self) -> int | None:
        """The basic constraints path length, when set on a CA."""
        bc = self._value(ExtensionOID.BASIC_CONSTRAINTS)
        return bc.path_length if isinstance(bc, x509.BasicConstraints) else None

    @property
    def subject_key_identifier(self) -> bytes | None:
        """The SKI, when present."""
        ski = self._value(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        return ski.digest if isinstance(ski, x509.SubjectKeyIdentifier) else None

    @property
    def authority_key_identifier(self) -> bytes | None:
        """The AKI key identifier, when present."""
        aki = self._value(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        return aki.key_identifier if isinstance(aki, x509.AuthorityKeyIdentifier) else None

    @property
    def crl_distribution_points(self) -> tuple[str, ...]:
        """Every URI in the CRL distribution points extension."""
        cdp = self._value(ExtensionOID.CRL_DISTRIBUTION_POINTS)
        if not isinstance(cdp, x509.CRLDistributionPoints):
            return ()
        return tuple(
            name.value
            for point in cdp
            for name in (point.full_name or ())
            if isinstance(name, x509.UniformResourceIdentifier)
        )

    def _aia(self, method: x509.ObjectIdentifier) -> tuple[str, ...]:
        aia = self._value(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
        if not isinstance(aia, x509.AuthorityInformationAccess):
            return ()
        return tuple(
            d.access_location.value
            for d in aia
            if d.access_method == method
            and isinstance(d.access_location, x509.UniformResourceIdentifier)
        )

    @property
    def ocsp_urls(self) -> tuple[str, ...]:
        """OCSP responder URIs from the AIA extension."""
        return self._aia(AuthorityInformationAccessOID.OCSP)

    @property
    def ca_issuer_urls(self) -> tuple[str, ...]:
        """CA-issuer URIs from the AIA extension."""
        return self._aia(AuthorityInformationAccessOID.CA_ISSUERS)

    @property
    def has_ocsp_no_check(self) -> bool:
        """Whether the id-pkix-ocsp-nocheck extension is present (OCSP responder certificates)."""
        return self._extension(ExtensionOID.OCSP_NO_CHECK) is not None

    @property
    def is_self_issued(self) -> bool:
        """Whether subject and issuer names are equal."""
        return self._cert.subject == self._cert.issuer

    # -- relations -------------------------------------------------------------------------

    def is_signed_by(self, issuer: Certificate) -> bool:
        """Whether ``issuer``'s key verifies this certificate's signature."""
        try:
            self._cert.verify_directly_issued_by(issuer._cert)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            return False
        return True

    def is_issued_by(self, issuer: Certificate) -> bool:
        """Whether ``issuer`` names and signed this certificate (no validity or policy checks)."""
        if self._cert.issuer != issuer._cert.subject:
            return False
        ski = issuer.subject_key_identifier
        aki = self.authority_key_identifier
        if ski is not None and aki is not None and ski != aki:
            return False
        return self.is_signed_by(issuer)

    # -- dunder --------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Certificate):
            return NotImplemented
        return self._der == other._der

    def __hash__(self) -> int:
        return hash(self._der)

    def __repr__(self) -> str:
        return f"<Certificate subject={self.subject_text!r} serial={self.serial_number:#x}>"


def _check_fields(cert: x509.Certificate) -> None:
    # Read the lazy parts that commonly fail on damaged input now, so that a Certificate that
    # exists is one whose basic fields can be read.
    # cryptography warns about attributes over the X.509 upper bounds counted in bytes; real
    # Vietnamese certificates carry such names (RFC 5280 counts characters), so the warning is
    # noise.  The names are parsed here once and cached by cryptography.
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Attribute's length", UserWarning)
            _ = (cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.serial_number)
        _ = (cert.not_valid_before_utc, cert.not_valid_after_utc)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"certificate has unreadable fields: {exc}") from exc


def bounded_input(
    data: bytes | str, *, limit: int = MAX_CERTIFICATE_FILE_SIZE, what: str = "certificate"
) -> bytes:
    """``data`` as bytes (text as ASCII, for PEM), refused beyond ``limit`` bytes.

    Raises:
        TypeError: ``data`` is not bytes or text.
        CertificateError: ``data`` is larger than ``limit``.
    """
    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"{what} data must be bytes")
    data = bytes(data)
    if len(data) > limit:
        raise CertificateError(f"{what} input is larger than {limit} bytes")
    return data


def _pem_certificates(data: bytes) -> list[Certificate]:
    if b"-----BEGIN PKCS7-----" in data:
        return _pkcs7(data, pem=True)
    if b"CERTIFICATE-----" not in data:
        return []
    try:
        certs = x509.load_pem_x509_certificates(data)
    except (ValueError, x509.InvalidVersion) as exc:
        if b"-----BEGIN" not in data:
            return []
        raise CertificateError(f"not a readable PEM certificate: {exc}") from exc
    return [Certificate.from_cryptography(c) for c in certs]


def _pkcs7(data: bytes, *, pem: bool) -> list[Certificate]:
    # asn1crypto reads the BER that openssl writes into .p7b files (SET OF in file order);
    # cryptography's reader only accepts it with a warning that it may one day refuse it.
    try:
        der = data
        if pem:
            _, _, der = asn1_pem.unarmor(data[data.index(b"-----BEGIN PKCS7-----") :])
        info = asn1_cms.ContentInfo.load(der, strict=not pem)
        if info["content_type"].native != "signed_data":
            raise CertificateError("the PKCS#7 bundle is not a SignedData structure")
        choices = info["content"]["certificates"]
        found = [c.chosen.dump() for c in choices if c.name == "certificate"] if choices else []
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise CertificateError(f"not a readable PKCS#7 certificate bundle: {exc}") from exc
    if not found:
        raise CertificateError("the PKCS#7 bundle holds no certificate")
    return [Certificate.from_der(c) for c in found]


def load_certificates(data: bytes | str) -> tuple[Certificate, ...]:
    """Parse every certificate in ``data``.

    Accepts PEM with any number of ``CERTIFICATE`` blocks, a PEM or DER PKCS#7 bundle
    (``.p7b``/``.p7c``) and a single DER certificate.  Raises
    :class:`~huesign.errors.CertificateError` when nothing readable is found.
    """
    data = bounded_input(data)
    if b"-----BEGIN" in data:
        found = _pem_certificates(data)
        if not found:
            raise CertificateError("no PEM certificate found")
        return tuple(found)
    if not data:
        raise CertificateError("empty input: no certificate found")
    try:
        return (Certificate.from_der(data),)
    except CertificateError as as_cert:
        try:
            return tuple(_pkcs7(data, pem=False))
        except CertificateError:
            raise CertificateError(
                "neither a DER certificate nor a PKCS#7 bundle (damaged or truncated?)"
            ) from as_cert


def load_certificates_file(path: str | os.PathLike[str]) -> tuple[Certificate, ...]:
    """Read every certificate in a file; see :func:`load_certificates`."""
    target = Path(path)
    try:
        with target.open("rb") as fh:
            data = fh.read(MAX_CERTIFICATE_FILE_SIZE + 1)
    except OSError as exc:
        raise CertificateError(f"cannot read {target}: {exc.strerror}") from exc
    try:
        return load_certificates(data)
    except CertificateError as exc:
        raise CertificateError(f"{target}: {exc}") from exc


def unique(certs: Iterable[Certificate]) -> tuple[Certificate, ...]:
    """Drop repeated certificates, keeping first occurrences in order."""
    return tuple(dict.fromkeys(certs))
