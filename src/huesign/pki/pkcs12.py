"""PKCS#12 (``.p12``/``.pfx``) files: a private key, its certificate and the issuing chain.

Citizens receive their public digital signature from a provider as a password-protected
PKCS#12 file.  :class:`PKCS12Bundle` reads and writes such files; its ``repr`` names the
certificate's subject and never shows the key or the password.

>>> from huesign.pki import PrivateKey, KeyAlgorithm
>>> bundle = PKCS12Bundle.from_bytes(data, password="1234")  # doctest: +SKIP
>>> bundle.certificate.identity.cccd  # doctest: +SKIP
'046085000123'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import attrs
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from huesign.errors import CertificateError, KeyLoadError
from huesign.pki.certificates import Certificate
from huesign.pki.keys import PrivateKey

__all__ = ["MAX_PKCS12_FILE_SIZE", "PKCS12Bundle"]

#: Largest PKCS#12 input accepted; real files are a few KiB.
MAX_PKCS12_FILE_SIZE = 1 << 20

#: ``aes256``: PBES2 with PBKDF2 and AES-256-CBC, HMAC-SHA256 MAC (OpenSSL 3 default).
#: ``legacy``: PBE-SHA1-3DES with a SHA-1 MAC, for old Windows and Java key stores.
PKCS12Encryption = Literal["aes256", "legacy"]

_LEGACY_ROUNDS = 50_000


def _password_bytes(password: str | bytes | None) -> bytes | None:
    if password is None:
        return None
    if isinstance(password, str):
        password = password.encode("utf-8")
    if not isinstance(password, bytes):
        raise TypeError("password must be str, bytes or None")
    if b"\0" in password:
        # PKCS#12 passwords are NUL-terminated strings: such a password cannot be used.
        raise ValueError("a PKCS#12 password cannot contain the NUL character")
    return password


def _chain(values: Iterable[Certificate]) -> tuple[Certificate, ...]:
    return tuple(values)


def _friendly(value: str | None) -> str | None:
    return value or None


@attrs.frozen(kw_only=True, repr=False)
class PKCS12Bundle:
    """A private key with its certificate and chain, as a PKCS#12 file holds them.

    Attributes:
        key: the private key.
        certificate: the certificate of ``key``.
        chain: the other certificates of the file (issuers), in file order.
        friendly_name: the label of the key and certificate, when the file has one.
    """

    key: PrivateKey
    certificate: Certificate
    chain: tuple[Certificate, ...] = attrs.field(default=(), converter=_chain)
    friendly_name: str | None = attrs.field(default=None, converter=_friendly)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.key, PrivateKey):
            raise TypeError("key must be a PrivateKey")
        if not isinstance(self.certificate, Certificate):
            raise TypeError("certificate must be a Certificate")
        if not all(isinstance(c, Certificate) for c in self.chain):
            raise TypeError("chain must hold Certificate objects")
        if self.certificate.public_key != self.key.public_key:
            raise ValueError("the certificate does not belong to the key (public keys differ)")

    # -- reading ------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes, *, password: str | bytes | None) -> PKCS12Bundle:
        """Parse a DER PKCS#12 file.

        Raises :class:`~huesign.errors.KeyLoadError` for a wrong password, damaged or
        truncated data, no key inside or an unsupported key type, and
        :class:`~huesign.errors.CertificateError` when the certificate is missing or does
        not match the key.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("PKCS#12 data must be bytes")
        data = bytes(data)
        if len(data) > MAX_PKCS12_FILE_SIZE:
            raise KeyLoadError(f"PKCS#12 data is larger than {MAX_PKCS12_FILE_SIZE} bytes")
        secret = _password_bytes(password)
        try:
            loaded = pkcs12.load_pkcs12(data, secret)
        except UnsupportedAlgorithm as exc:
            raise KeyLoadError(f"unsupported algorithm in the PKCS#12 file: {exc}") from exc
        except (ValueError, TypeError) as exc:
            state = _structure(data)
            if secret and state != "malformed" and _opens_without_password(data):
                raise KeyLoadError(
                    "wrong password: the PKCS#12 file is not password-protected (give none)"
                ) from exc
            if state == "protected":
                raise KeyLoadError(
                    "wrong password for the PKCS#12 file"
                    + (" (the file is protected: give its password)" if not secret else "")
                ) from exc
            raise KeyLoadError("not a readable PKCS#12 file (damaged or truncated)") from exc
        if loaded.key is None:
            raise KeyLoadError("the PKCS#12 file holds no private key")
        key = PrivateKey.from_cryptography(loaded.key)
        first = [loaded.cert] if loaded.cert is not None else []
        found = [_certificate(c.certificate) for c in (*first, *loaded.additional_certs)]
        if not found:
            raise CertificateError("the PKCS#12 file holds no certificate for its key")
        # The key's certificate is normally marked by a shared localKeyId; some tools leave
        # it unmarked among the others, so look for the one whose public key matches.
        matching = [c for c in found if c.public_key == key.public_key]
        if not matching:
            raise CertificateError(
                "no certificate in the PKCS#12 file belongs to its key (public keys differ)"
            )
        certificate = matching[0]
        chain = tuple(c for c in found if c is not certificate)
        name = loaded.cert.friendly_name if loaded.cert is not None else None
        return cls(
            key=key,
            certificate=certificate,
            chain=chain,
            friendly_name=name.decode("utf-8", "replace") if name else None,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, password: str | bytes | None) -> PKCS12Bundle:
        """Read a PKCS#12 file from disk; see :meth:`from_bytes`."""
        target = Path(path)
        try:
            with target.open("rb") as fh:
                data = fh.read(MAX_PKCS12_FILE_SIZE + 1)
        except OSError as exc:
            raise KeyLoadError(f"cannot read PKCS#12 file {target}: {exc.strerror}") from exc
        return cls.from_bytes(data, password=password)

    # -- writing --------------------------------------------------------------------------

    def to_bytes(
        self,
        *,
        password: str | bytes | None = None,
        encryption: PKCS12Encryption = "aes256",
    ) -> bytes:
        """Encode as DER PKCS#12.

        Without a password the contents are not encrypted (the integrity MAC then uses the
        empty password, which is what readers try first).  ``encryption``
        picks the scheme used with a password: ``"aes256"`` (default) or ``"legacy"``
        (PBE-SHA1-3DES, only for old readers).
        """
        secret = _password_bytes(password)
        algorithm: serialization.KeySerializationEncryption
        if encryption not in ("aes256", "legacy"):
            raise ValueError(f"unknown PKCS#12 encryption {encryption!r}: use aes256 or legacy")
        if not secret:
            algorithm = serialization.NoEncryption()
        elif encryption == "aes256":
            algorithm = serialization.BestAvailableEncryption(secret)
        else:
            algorithm = (
                serialization.PrivateFormat.PKCS12.encryption_builder()
                .kdf_rounds(_LEGACY_ROUNDS)
                .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                .hmac_hash(hashes.SHA1())  # noqa: S303 - legacy readers need the SHA-1 MAC
                .build(secret)
            )
        name = self.friendly_name.encode("utf-8") if self.friendly_name else None
        return pkcs12.serialize_key_and_certificates(
            name,
            self.key.to_cryptography(),
            self.certificate.to_cryptography(),
            [c.to_cryptography() for c in self.chain] or None,
            algorithm,
        )

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        password: str | bytes | None = None,
        encryption: PKCS12Encryption = "aes256",
    ) -> None:
        """Write the PKCS#12 file to ``path`` with owner-only permissions."""
        data = self.to_bytes(password=password, encryption=encryption)
        fd = os.open(Path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    def __repr__(self) -> str:
        return (
            f"<PKCS12Bundle subject={self.certificate.subject_text!r} "
            f"key={self.key.public_key.description} chain={len(self.chain)}>"
        )

    __str__ = __repr__

    def __getstate__(self) -> None:
        raise TypeError("PKCS12Bundle cannot be pickled; use to_bytes(password=...)")


def _certificate(cert: object) -> Certificate:
    if not isinstance(cert, x509.Certificate):
        raise CertificateError("the PKCS#12 file holds an unreadable certificate")
    try:
        return Certificate.from_der(cert.public_bytes(serialization.Encoding.DER))
    except ValueError as exc:
        raise CertificateError(f"the PKCS#12 file holds an unreadable certificate: {exc}") from exc


def _opens_without_password(data: bytes) -> bool:
    try:
        pkcs12.load_pkcs12(data, None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _structure(data: bytes) -> Literal["protected", "unprotected", "malformed"]:
    """Whether ``data`` parses as a PFX, and whether it carries a password MAC.

    A well-formed PFX that cryptography refused was refused for its password.
    """
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        auth_safe = pfx["auth_safe"]
        _ = pfx["version"].native, auth_safe["content_type"].native
        content = auth_safe["content"]
        _ = content.parsed if hasattr(content, "parsed") else content
        mac = pfx["mac_data"]
        if mac.native is None:
            return "unprotected"
        _ = mac["mac"]["digest"].native, mac["mac_salt"].native
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        return "malformed"
    return "protected"
