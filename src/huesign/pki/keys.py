"""Private and public keys: generation, loading, saving and raw signatures.

A :class:`PrivateKey` is parsed once and keeps the ``cryptography`` object, so signing many
times never re-parses the key.  Its ``repr`` and ``str`` show the key type and the public
key's fingerprint only; no private material or password is ever printed, logged or put in an
exception message.

>>> key = PrivateKey.generate(KeyAlgorithm.EC_P256)
>>> PrivateKey.from_pem(key.to_pem(password="s3cret"), password="s3cret") == key
True
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TypeAlias

import attrs
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from huesign.errors import KeyLoadError, SigningError
from huesign.pki.algorithms import HashAlgorithm, KeyAlgorithm, RSAPadding

__all__ = ["PrivateKey", "PublicKey"]

CryptoPrivateKey: TypeAlias = (
    rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
)
CryptoPublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

#: Largest key file accepted; real keys are a few KiB.
MAX_KEY_FILE_SIZE = 1 << 20

_RSA_SIZES = {KeyAlgorithm.RSA_2048: 2048, KeyAlgorithm.RSA_3072: 3072, KeyAlgorithm.RSA_4096: 4096}
_CURVES: dict[KeyAlgorithm, type[ec.EllipticCurve]] = {
    KeyAlgorithm.EC_P256: ec.SECP256R1,
    KeyAlgorithm.EC_P384: ec.SECP384R1,
}
_CURVE_NAMES = {"secp256r1": KeyAlgorithm.EC_P256, "secp384r1": KeyAlgorithm.EC_P384}


def _password_bytes(password: str | bytes | None) -> bytes | None:
    if password is None or isinstance(password, bytes):
        return password or None
    if isinstance(password, str):
        return password.encode("utf-8") or None
    raise TypeError("password must be str, bytes or None")


def _describe(key: CryptoPrivateKey | CryptoPublicKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"ec-{key.curve.name}"
    return "ed25519"


def _algorithm_of(key: CryptoPrivateKey | CryptoPublicKey) -> KeyAlgorithm | None:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return {2048: KeyAlgorithm.RSA_2048, 3072: KeyAlgorithm.RSA_3072}.get(
            key.key_size, KeyAlgorithm.RSA_4096 if key.key_size == 4096 else None
        )
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return _CURVE_NAMES.get(key.curve.name)
    return KeyAlgorithm.ED25519


def _check_private(obj: object) -> CryptoPrivateKey:
    if isinstance(obj, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        return obj
    raise KeyLoadError(
        f"unsupported key type {type(obj).__name__}: huesign signs with RSA, ECDSA or Ed25519 keys"
    )


def _check_public(obj: object) -> CryptoPublicKey:
    if isinstance(obj, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return obj
    raise KeyLoadError(f"unsupported public key type {type(obj).__name__}")


@attrs.frozen(eq=False)
class PublicKey:
    """A public key (RSA, ECDSA or Ed25519).

    Equal when their SubjectPublicKeyInfo encodings are equal.
    """

    _key: CryptoPublicKey = attrs.field(alias="key")

    @classmethod
    def from_cryptography(cls, key: object) -> PublicKey:
        """Wrap a ``cryptography`` public key object."""
        return cls(key=_check_public(key))

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        """Parse a PEM ``PUBLIC KEY`` block."""
        try:
            return cls(key=_check_public(serialization.load_pem_public_key(data)))
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyLoadError(f"not a readable PEM public key: {exc}") from exc

    @classmethod
    def from_der(cls, data: bytes) -> PublicKey:
        """Parse a DER SubjectPublicKeyInfo."""
        try:
            return cls(key=_check_public(serialization.load_der_public_key(data)))
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyLoadError(f"not a readable DER public key: {exc}") from exc

    def to_cryptography(self) -> CryptoPublicKey:
        """Return the wrapped ``cryptography`` object (hazmat)."""
        return self._key

    def to_der(self) -> bytes:
        """The DER SubjectPublicKeyInfo."""
        return self._key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def to_pem(self) -> bytes:
        """The PEM ``PUBLIC KEY`` block."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def algorithm(self) -> KeyAlgorithm | None:
        """The key's algorithm, or ``None`` for an RSA size or curve huesign does not generate."""
        return _algorithm_of(self._key)

    @property
    def description(self) -> str:
        """A short text such as ``rsa-2048`` or ``ec-secp256r1``."""
        return _describe(self._key)

    @property
    def key_size(self) -> int:
        """Size in bits (the modulus for RSA, the curve order for EC, 256 for Ed25519)."""
        if isinstance(self._key, ed25519.Ed25519PublicKey):
            return 256
        return (
            self._key.key_size
            if isinstance(self._key, rsa.RSAPublicKey)
            else self._key.curve.key_size
        )

    @property
    def fingerprint(self) -> str:
        """Lower-case hex SHA-256 of the SubjectPublicKeyInfo."""
        return hashlib.sha256(self.to_der()).hexdigest()

    def verify(
        self,
        signature: bytes,
        data: bytes,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
        prehashed: bool = False,
    ) -> bool:
        """Return whether ``signature`` is valid over ``data`` (or over the digest ``data``)."""
        key = self._key
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                if prehashed:
                    raise ValueError("Ed25519 signs the message itself, not a digest")
                key.verify(signature, data)
                return True
            algo: hashes.HashAlgorithm | utils.Prehashed = hash_algorithm.to_cryptography()
            if prehashed:
                algo = utils.Prehashed(hash_algorithm.to_cryptography())
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, data, _rsa_padding(rsa_padding, hash_algorithm), algo)
            else:
                key.verify(signature, data, ec.ECDSA(algo))
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self.to_der() == other.to_der()

    def __hash__(self) -> int:
        return hash(self.to_der())

    def __repr__(self) -> str:
        return f"<PublicKey {self.description} sha256={self.fingerprint[:16]}>"


def _rsa_padding(choice: RSAPadding, hash_algorithm: HashAlgorithm) -> padding.AsymmetricPadding:
    if choice is RSAPadding.PSS:
        return padding.PSS(
            mgf=padding.MGF1(hash_algorithm.to_cryptography()),
            salt_length=hash_algorithm.digest_size,
        )
    return padding.PKCS1v15()


@attrs.frozen(eq=False, repr=False)
class PrivateKey:
    """A private key held in memory, parsed once.

    Create with :meth:`generate`, :meth:`from_pem`, :meth:`from_der`, :meth:`load` or
    :meth:`from_cryptography`.  Two keys are equal when their public keys are equal.
    """

    _key: CryptoPrivateKey = attrs.field(alias="key")
    _public: PublicKey = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_public", PublicKey(key=self._key.public_key()))

    # -- construction ------------------------------------------------------------------

    @classmethod
    def generate(cls, algorithm: KeyAlgorithm = KeyAlgorithm.RSA_2048) -> PrivateKey:
        """Generate a new key of the given algorithm."""
        if not isinstance(algorithm, KeyAlgorithm):
            raise TypeError("algorithm must be a KeyAlgorithm")
        key: CryptoPrivateKey
        if algorithm in _RSA_SIZES:
            key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_SIZES[algorithm])
        elif algorithm in _CURVES:
            key = ec.generate_private_key(_CURVES[algorithm]())
        else:
            key = ed25519.Ed25519PrivateKey.generate()
        return cls(key=key)

    @classmethod
    def from_cryptography(cls, key: object) -> PrivateKey:
        """Wrap a ``cryptography`` private key object."""
        return cls(key=_check_private(key))

    @classmethod
    def from_pem(cls, data: bytes, *, password: str | bytes | None = None) -> PrivateKey:
        """Parse a PEM private key: PKCS#8 (encrypted or not), PKCS#1 RSA or SEC1 EC."""
        return cls(key=_load(data, password, pem=True))

    @classmethod
    def from_der(cls, data: bytes, *, password: str | bytes | None = None) -> PrivateKey:
        """Parse a DER private key: PKCS#8 (encrypted or not), PKCS#1 RSA or SEC1 EC."""
        return cls(key=_load(data, password, pem=False))

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, password: str | bytes | None = None
    ) -> PrivateKey:
        """Read a PEM or DER key file (the format is detected)."""
        data = _read_bounded(Path(path))
        return cls(key=_load(data, password, pem=b"-----BEGIN" in data[:4096]))

    # -- export ---------------------------------------------------------------------------

    def to_pem(self, *, password: str | bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with the best available scheme when ``password`` is given."""
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _encryption(password)
        )

    def to_der(self, *, password: str | bytes | None = None) -> bytes:
        """PKCS#8 DER, encrypted with the best available scheme when ``password`` is given."""
        return self._key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, _encryption(password)
        )

    def save(self, path: str | os.PathLike[str], *, password: str | bytes | None = None) -> None:
        """Write PKCS#8 PEM to ``path`` with owner-only permissions."""
        target = Path(path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.to_pem(password=password))

    def to_cryptography(self) -> CryptoPrivateKey:
        """Return the wrapped ``cryptography`` object (hazmat: handle with care)."""
        return self._key

    # -- properties -------------------------------------------------------------------------

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self._public

    @property
    def algorithm(self) -> KeyAlgorithm | None:
        """The key's algorithm, or ``None`` for an RSA size or curve huesign does not generate."""
        return _algorithm_of(self._key)

    @property
    def key_size(self) -> int:
        """Size in bits."""
        return self._public.key_size

    # -- signing -------------------------------------------------------------------------------

    def sign(
        self,
        data: bytes,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
    ) -> bytes:
        """Sign ``data``: RSA (PKCS#1 v1.5 or PSS), ECDSA (DER signature) or Ed25519."""
        return self._sign(data, hash_algorithm, rsa_padding, prehashed=False)

    def sign_digest(
        self,
        digest: bytes,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
    ) -> bytes:
        """Sign a precomputed digest.  Ed25519 cannot sign digests and raises ``ValueError``."""
        if len(digest) != hash_algorithm.digest_size:
            raise ValueError(
                f"digest is {len(digest)} bytes, {hash_algorithm.name} digests are "
                f"{hash_algorithm.digest_size}"
            )
        return self._sign(digest, hash_algorithm, rsa_padding, prehashed=True)

    def _sign(
        self,
        data: bytes,
        hash_algorithm: HashAlgorithm,
        rsa_padding: RSAPadding,
        *,
        prehashed: bool,
    ) -> bytes:
        key = self._key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            if prehashed:
                raise ValueError("Ed25519 signs the message itself, not a digest")
            return key.sign(data)
        algo: hashes.HashAlgorithm | utils.Prehashed = hash_algorithm.to_cryptography()
        if prehashed:
            algo = utils.Prehashed(hash_algorithm.to_cryptography())
        try:
            if isinstance(key, rsa.RSAPrivateKey):
                return key.sign(data, _rsa_padding(rsa_padding, hash_algorithm), algo)
            return key.sign(data, ec.ECDSA(algo))
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise SigningError(f"{_describe(key)} key could not sign: {exc}") from exc

    # -- dunder -----------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PrivateKey):
            return NotImplemented
        return self._public == other._public

    def __hash__(self) -> int:
        return hash(self._public)

    def __repr__(self) -> str:
        return f"<PrivateKey {_describe(self._key)} public-sha256={self._public.fingerprint[:16]}>"

    __str__ = __repr__

    def __getstate__(self) -> None:
        raise TypeError("PrivateKey cannot be pickled; save it with to_pem(password=...)")


def _encryption(password: str | bytes | None) -> serialization.KeySerializationEncryption:
    secret = _password_bytes(password)
    if secret is None:
        return serialization.NoEncryption()
    return serialization.BestAvailableEncryption(secret)


def _read_bounded(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_KEY_FILE_SIZE + 1)
    except OSError as exc:
        raise KeyLoadError(f"cannot read key file {path}: {exc.strerror}") from exc
    if len(data) > MAX_KEY_FILE_SIZE:
        raise KeyLoadError(f"{path} is larger than {MAX_KEY_FILE_SIZE} bytes: not a key file")
    return data


def _load(data: bytes, password: str | bytes | None, *, pem: bool) -> CryptoPrivateKey:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("key data must be bytes")
    data = bytes(data)
    if len(data) > MAX_KEY_FILE_SIZE:
        raise KeyLoadError(f"key data is larger than {MAX_KEY_FILE_SIZE} bytes")
    secret = _password_bytes(password)
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    kind = "PEM" if pem else "DER"
    try:
        obj = loader(data, password=secret)
    except TypeError as exc:
        # cryptography raises TypeError for "password given but key not encrypted" and the
        # reverse; the message names which, and contains no secret.
        if secret is None:
            raise KeyLoadError("the key is encrypted: give its password") from exc
        raise KeyLoadError("the key is not encrypted: do not give a password") from exc
    except UnsupportedAlgorithm as exc:
        raise KeyLoadError(f"unsupported key algorithm in {kind} key: {exc}") from exc
    except ValueError as exc:
        if secret is not None and _looks_encrypted(data, pem=pem):
            raise KeyLoadError("wrong password, or the encrypted key is damaged") from exc
        raise KeyLoadError(f"not a readable {kind} private key (damaged or truncated)") from exc
    return _check_private(obj)


def _looks_encrypted(data: bytes, *, pem: bool) -> bool:
    if pem:
        return b"ENCRYPTED" in data[:200]
    # An EncryptedPrivateKeyInfo starts SEQUENCE { SEQUENCE { OID pbes2/pbe... } ... }; a plain
    # PKCS#8 starts SEQUENCE { INTEGER 0 ... }.  Cheap check on the first inner tag.
    try:
        hdr = 2 + (data[1] & 0x7F if data[1] & 0x80 else 0)
        return data[hdr] == 0x30
    except IndexError:
        return False
