"""Named algorithms: key types, digests and signature schemes, with their OIDs.

Options are types: callers pick an enum member, never a free-form string.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes

__all__ = ["HashAlgorithm", "KeyAlgorithm", "RSAPadding", "SignatureAlgorithm"]


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


class SignatureAlgorithm(enum.Enum):
    """Signature schemes for CMS and PDF signatures: key family, padding and digest together.

    RSA PKCS#1 v1.5 and ECDSA sign a digest, so a remote provider that only ever sees the
    digest can produce them.  Ed25519 (RFC 8419, pure EdDSA) signs the message itself, so it
    needs the full to-be-signed bytes; :attr:`prehashed` says which kind a member is.
    """

    RSA_PKCS1V15_SHA256 = "rsa-pkcs1v15-sha256"
    RSA_PKCS1V15_SHA384 = "rsa-pkcs1v15-sha384"
    RSA_PKCS1V15_SHA512 = "rsa-pkcs1v15-sha512"
    RSA_PSS_SHA256 = "rsa-pss-sha256"
    RSA_PSS_SHA384 = "rsa-pss-sha384"
    RSA_PSS_SHA512 = "rsa-pss-sha512"
    ECDSA_SHA256 = "ecdsa-sha256"
    ECDSA_SHA384 = "ecdsa-sha384"
    ECDSA_SHA512 = "ecdsa-sha512"
    ED25519 = "ed25519"

    @property
    def key_family(self) -> str:
        """``"rsa"``, ``"ec"`` or ``"ed25519"``: the key type that makes this signature."""
        return _SIGNATURE_PARTS[self][0]

    @property
    def hash_algorithm(self) -> HashAlgorithm:
        """The digest the scheme uses (SHA-512 for Ed25519, as RFC 8419 requires in CMS)."""
        return _SIGNATURE_PARTS[self][1]

    @property
    def rsa_padding(self) -> RSAPadding | None:
        """The RSA padding, or ``None`` for ECDSA and Ed25519."""
        return _SIGNATURE_PARTS[self][2]

    @property
    def prehashed(self) -> bool:
        """Whether a signer can make this signature from the digest alone."""
        return self is not SignatureAlgorithm.ED25519

    @property
    def oid(self) -> str:
        """The dotted OID used in a CMS ``signatureAlgorithm`` field."""
        return _SIGNATURE_OIDS[self]

    @classmethod
    def for_key(
        cls,
        key_algorithm: KeyAlgorithm | str,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        *,
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
    ) -> SignatureAlgorithm:
        """The scheme a key of ``key_algorithm`` (or family ``"rsa"``/``"ec"``) signs with."""
        family = key_algorithm.family if isinstance(key_algorithm, KeyAlgorithm) else key_algorithm
        if family == "ed25519":
            return cls.ED25519
        if family == "ec":
            return cls(f"ecdsa-{hash_algorithm.value}")
        if family == "rsa":
            return cls(f"rsa-{rsa_padding.value}-{hash_algorithm.value}")
        raise ValueError(f"unknown key family {family!r}: use rsa, ec or ed25519")


_SIGNATURE_OIDS = {
    SignatureAlgorithm.RSA_PKCS1V15_SHA256: "1.2.840.113549.1.1.11",
    SignatureAlgorithm.RSA_PKCS1V15_SHA384: "1.2.840.113549.1.1.12",
    SignatureAlgorithm.RSA_PKCS1V15_SHA512: "1.2.840.113549.1.1.13",
    SignatureAlgorithm.RSA_PSS_SHA256: "1.2.840.113549.1.1.10",
    SignatureAlgorithm.RSA_PSS_SHA384: "1.2.840.113549.1.1.10",
    SignatureAlgorithm.RSA_PSS_SHA512: "1.2.840.113549.1.1.10",
    SignatureAlgorithm.ECDSA_SHA256: "1.2.840.10045.4.3.2",
    SignatureAlgorithm.ECDSA_SHA384: "1.2.840.10045.4.3.3",
    SignatureAlgorithm.ECDSA_SHA512: "1.2.840.10045.4.3.4",
    SignatureAlgorithm.ED25519: "1.3.101.112",
}


def _parts(member: SignatureAlgorithm) -> tuple[str, HashAlgorithm, RSAPadding | None]:
    if member is SignatureAlgorithm.ED25519:
        return ("ed25519", HashAlgorithm.SHA512, None)
    head, *_, digest = member.value.split("-")
    if head == "ecdsa":
        return ("ec", HashAlgorithm(digest), None)
    padding = RSAPadding.PSS if "-pss-" in member.value else RSAPadding.PKCS1V15
    return ("rsa", HashAlgorithm(digest), padding)


_SIGNATURE_PARTS = {member: _parts(member) for member in SignatureAlgorithm}
