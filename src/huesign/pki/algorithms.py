"""Named algorithms: key types, digests and signature schemes, with their OIDs.

Options are types: callers pick an enum member, never a free-form string.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes

__all__ = ["HashAlgorithm", "KeyAlgorithm", "RSAPadding"]


class KeyAlgorithm(enum.Enum):
    """Key types and sizes that huesign generates."""

    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    ED25519 = "ed25519"

    @property
    def family(self) -> str:
        """``"rsa"``, ``"ec"`` or ``"ed25519"``."""
        return self.value.split("-", 1)[0]


class HashAlgorithm(enum.Enum):
    """Digest algorithms accepted for signatures (SHA-2 family only)."""

    SHA256 = "sha256"
    SHA384 = "sha384"
    SHA512 = "sha512"

    @property
    def oid(self) -> str:
        """The dotted OID of the digest algorithm."""
        return _HASH_OIDS[self]

    @property
    def digest_size(self) -> int:
        """Length of the digest in bytes."""
        return self.to_cryptography().digest_size

    def to_cryptography(self) -> hashes.HashAlgorithm:
        """Return a fresh ``cryptography`` hash object for this algorithm."""
        return _HASH_FACTORIES[self]()

    @classmethod
    def from_name(cls, name: str) -> HashAlgorithm:
        """Look an algorithm up by name (``"sha256"``, ``"SHA-256"``) or dotted OID."""
        norm = name.lower().replace("-", "").replace("_", "")
        for member in cls:
            if norm == member.value or name == member.oid:
                return member
        raise ValueError(f"unsupported digest algorithm {name!r}; use SHA-256, SHA-384 or SHA-512")


class RSAPadding(enum.Enum):
    """Padding schemes for RSA signatures."""

    PKCS1V15 = "pkcs1v15"
    PSS = "pss"


_HASH_OIDS = {
    HashAlgorithm.SHA256: "2.16.840.1.101.3.4.2.1",
    HashAlgorithm.SHA384: "2.16.840.1.101.3.4.2.2",
    HashAlgorithm.SHA512: "2.16.840.1.101.3.4.2.3",
}
_HASH_FACTORIES: dict[HashAlgorithm, type[hashes.HashAlgorithm]] = {
    HashAlgorithm.SHA256: hashes.SHA256,
    HashAlgorithm.SHA384: hashes.SHA384,
    HashAlgorithm.SHA512: hashes.SHA512,
}
