"""PKCS#11 plumbing for :mod:`huesign.pki.pkcs11`: modules, tokens, login, objects, pairing.

Everything here speaks python-pkcs11 and turns its exceptions into
:class:`~huesign.errors.TokenError`.  Private keys are paired with certificates by key
material (RSA modulus and exponent, EC point), or, when a token does not show an EC key's
point, by a test signature over a random digest checked with the certificate; labels are
never used.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import attrs
import pkcs11
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11e

from huesign.errors import CertificateError, TokenError
from huesign.pki.algorithms import HashAlgorithm, RSAPadding, SignatureAlgorithm
from huesign.pki.certificates import Certificate

if TYPE_CHECKING:
    from pkcs11._pkcs11 import lib as _pkcs11_lib

__all__ = [
    "MAX_TOKEN_OBJECTS",
    "PINStatus",
    "TokenInfo",
    "bytes_attr",
    "describe_token",
    "key_type",
    "label_of",
    "load_module",
    "login",
    "mechanism_for",
    "order_chain",
    "paired_keys",
    "read_objects",
    "select_token",
    "token_certificates",
    "token_sign",
    "tokens",
    "verifies",
]

#: Most objects of one class read from a token (real tokens hold a handful).
MAX_TOKEN_OBJECTS = 256

# DER prefix of a DigestInfo for each digest: RSA_PKCS signs DigestInfo(oid, digest).
_DIGEST_INFO = {
    HashAlgorithm.SHA256: bytes.fromhex("3031300d060960864801650304020105000420"),
    HashAlgorithm.SHA384: bytes.fromhex("3041300d060960864801650304020205000430"),
    HashAlgorithm.SHA512: bytes.fromhex("3051300d060960864801650304020305000440"),
}
_PSS_PARAMS = {
    HashAlgorithm.SHA256: (Mechanism.SHA256, pkcs11.MGF.SHA256, 32),
    HashAlgorithm.SHA384: (Mechanism.SHA384, pkcs11.MGF.SHA384, 48),
    HashAlgorithm.SHA512: (Mechanism.SHA512, pkcs11.MGF.SHA512, 64),
}


class PINStatus(enum.Enum):
    """What a token says about its user PIN (from the ``CKF_USER_PIN_*`` token flags)."""

    OK = "ok"
    COUNT_LOW = "count_low"
    FINAL_TRY = "final_try"
    LOCKED = "locked"
    NOT_INITIALIZED = "not_initialized"

    @classmethod
    def from_flags(cls, flags: int) -> PINStatus:
        """The status that the token flags ``flags`` describe (the most severe one)."""
        if flags & TokenFlag.USER_PIN_LOCKED:
            return cls.LOCKED
        if flags & TokenFlag.USER_PIN_FINAL_TRY:
            return cls.FINAL_TRY
        if flags & TokenFlag.USER_PIN_COUNT_LOW:
            return cls.COUNT_LOW
        if not flags & TokenFlag.USER_PIN_INITIALIZED:
            return cls.NOT_INITIALIZED
        return cls.OK

    @property
    def remaining_tries(self) -> int | None:
        """PIN tries left when the flags tell (1 on the final try, 0 when locked)."""
        return {PINStatus.FINAL_TRY: 1, PINStatus.LOCKED: 0}.get(self)


@attrs.frozen(kw_only=True)
class TokenInfo:
    """A slot and the token in it, as the module describes them (no login needed).

    Attributes:
        slot_id: the module's slot number.
        slot_description: the slot's description.
        label: the token label (empty for an uninitialised token).
        serial: the token serial number.
        manufacturer: the token manufacturer.
        model: the token model.
        initialized: whether the token has been initialised.
        pin_status: the user PIN's state.
        flags: names of the token flags that are set.
        mechanisms: names of the mechanisms the slot supports, sorted.
    """

    slot_id: int
    slot_description: str
    label: str
    serial: str
    manufacturer: str
    model: str
    initialized: bool
    pin_status: PINStatus
    flags: tuple[str, ...]
    mechanisms: tuple[str, ...]

    @property
    def problems(self) -> tuple[str, ...]:
        """What is wrong with the token as its description shows, in English."""
        if not self.initialized:
            return ("the token is not initialised",)
        found = {
            PINStatus.LOCKED: ["the user PIN is locked"],
            PINStatus.FINAL_TRY: ["one PIN try left before the PIN locks"],
            PINStatus.COUNT_LOW: ["a wrong PIN was entered since the last successful login"],
            PINStatus.NOT_INITIALIZED: ["the user PIN is not set"],
        }.get(self.pin_status, [])
        if not {"RSA_PKCS", "ECDSA"} & set(self.mechanisms):
            found.append("the token offers neither CKM_RSA_PKCS nor CKM_ECDSA")
        return tuple(found)


# -- module and token ---------------------------------------------------------------------------


def load_module(module_path: str | os.PathLike[str]) -> _pkcs11_lib:
    """Load a PKCS#11 module by path, with a clear error when it is missing or not one."""
    path = os.fspath(module_path)
    if not path:
        raise ValueError("module_path must not be empty")
    if os.sep in path and not os.path.exists(path):
        raise TokenError(f"PKCS#11 module not found: {path}")
    try:
        return pkcs11.lib(path)
    except p11e.PKCS11Error as exc:
        text = str(exc)
        if "already initialized" in text:
            raise TokenError(
                f"{path}: this library is already loaded in this process under another path; "
                "open it always through the same path"
            ) from exc
        raise TokenError(f"{path} is not a usable PKCS#11 module: {text}") from exc


def _text(value: bytes | str) -> str:
    raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return raw.rstrip("\x00 ").strip()


def _flag_names(flags: int) -> tuple[str, ...]:
    return tuple(f.name for f in TokenFlag if f.name and flags & f)


def _mechanism_names(mechanisms: Iterable[Mechanism | int]) -> tuple[str, ...]:
    names = {m.name if isinstance(m, Mechanism) else f"0x{int(m):08x}" for m in mechanisms}
    return tuple(sorted(str(n) for n in names))


def describe_token(token: pkcs11.Token) -> TokenInfo:
    """The description of ``token`` and its slot (flags, PIN state, mechanisms)."""
    slot = token.slot
    flags = int(token.flags)
    try:
        mechanisms = _mechanism_names(slot.get_mechanisms())
    except p11e.PKCS11Error:
        mechanisms = ()
    return TokenInfo(
        slot_id=int(slot.slot_id),
        slot_description=_text(slot.slot_description),
        label=_text(token.label),
        serial=_text(token.serial),
        manufacturer=_text(token.manufacturer_id),
        model=_text(token.model),
        initialized=bool(flags & TokenFlag.TOKEN_INITIALIZED),
        pin_status=PINStatus.from_flags(flags),
        flags=_flag_names(flags),
        mechanisms=mechanisms,
    )


def tokens(lib: _pkcs11_lib) -> Iterator[pkcs11.Token]:
    """The tokens present in the module, in slot order."""
    try:
        slots = lib.get_slots(token_present=True)
    except p11e.PKCS11Error as exc:
        raise TokenError(f"the PKCS#11 module could not list its slots: {exc}") from exc
    for slot in slots:
        try:
            yield slot.get_token()
        except (p11e.TokenNotPresent, p11e.TokenNotRecognised):
            continue


def select_token(lib: _pkcs11_lib, label: str | None, serial: str | None) -> pkcs11.Token:
    """The one token matching ``label`` and ``serial`` (or the one initialised token)."""
    present = list(tokens(lib))
    found = [
        t
        for t in present
        if (label is None or _text(t.label) == label)
        and (serial is None or _text(t.serial) == serial)
        and (label is not None or serial is not None or t.flags & TokenFlag.TOKEN_INITIALIZED)
    ]
    wanted = " and ".join(
        part
        for part in (
            f"label {label!r}" if label is not None else "",
            f"serial {serial!r}" if serial is not None else "",
        )
        if part
    )
    if not found:
        labels = ", ".join(repr(_text(t.label)) for t in present) or "none"
        what = f"with {wanted}" if wanted else "(initialised)"
        raise TokenError(f"no token {what} in this module; tokens present: {labels}")
    if len(found) > 1:
        serials = ", ".join(_text(t.serial) for t in found)
        raise TokenError(f"several tokens match (serials {serials}): choose one by serial")
    return found[0]


def _check_pin_state(token: pkcs11.Token) -> None:
    info = describe_token(token)
    if not info.initialized:
        raise TokenError(f"token {info.label!r} is not initialised")
    if info.pin_status is PINStatus.LOCKED:
        raise TokenError(
            f"the user PIN of token {info.label!r} is locked: unblock it with the PUK or the "
            "provider's tool",
            remaining_tries=0,
        )
    if info.pin_status is PINStatus.NOT_INITIALIZED:
        raise TokenError(f"token {info.label!r} has no user PIN set")


def login(token: pkcs11.Token, pin: str | None) -> pkcs11.Session:
    """Open a session on ``token`` logged in with ``pin`` (``None``: the PIN pad).

    The PIN state is checked first, so a locked PIN is never tried; errors say how many
    tries remain when the token tells.
    """
    _check_pin_state(token)
    label = _text(token.label)
    secret: str | object
    if pin is None:
        if not token.flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH:
            raise ValueError(f"token {label!r} has no PIN pad: give the PIN")
        secret = pkcs11.PROTECTED_AUTH
    else:
        secret = pin
    try:
        return token.open(user_pin=secret)
    except p11e.PinIncorrect as exc:
        status = PINStatus.from_flags(int(token.slot.get_token().flags))
        hint = {
            PINStatus.LOCKED: "; the PIN is now locked",
            PINStatus.FINAL_TRY: "; one try left before the PIN locks",
            PINStatus.COUNT_LOW: "; the token says few tries are left",
        }.get(status, "")
        raise TokenError(
            f"wrong PIN for token {label!r}{hint}", remaining_tries=status.remaining_tries
        ) from exc
    except p11e.PinLocked as exc:
        raise TokenError(f"the user PIN of token {label!r} is locked", remaining_tries=0) from exc
    except (p11e.PinLenRange, p11e.PinInvalid) as exc:
        raise TokenError(f"the PIN has a length or characters token {label!r} rejects") from exc
    except (p11e.UserAlreadyLoggedIn, p11e.AnotherUserAlreadyLoggedIn) as exc:
        raise TokenError(
            f"token {label!r} is already logged in from this process (another open signer): "
            "close it first"
        ) from exc
    except p11e.PKCS11Error as exc:
        raise TokenError(f"token {label!r} refused the login: {type(exc).__name__}") from exc


# -- objects and pairing ------------------------------------------------------------------------


def _attr(obj: pkcs11.Object, attribute: Attribute) -> object:
    try:
        return obj[attribute]
    except (p11e.PKCS11Error, KeyError, ValueError):
        return None


def bytes_attr(obj: pkcs11.Object, attribute: Attribute) -> bytes | None:
    """The attribute as bytes, or ``None`` when the token does not give it."""
    value = _attr(obj, attribute)
    return bytes(value) if isinstance(value, bytes | bytearray) else None


def read_objects(session: pkcs11.Session, object_class: ObjectClass) -> list[pkcs11.Object]:
    """The objects of one class on the token (at most :data:`MAX_TOKEN_OBJECTS`)."""
    found: list[pkcs11.Object] = []
    for obj in session.get_objects({Attribute.CLASS: object_class}):
        if len(found) >= MAX_TOKEN_OBJECTS:
            raise TokenError(f"the token holds more than {MAX_TOKEN_OBJECTS} objects of a class")
        found.append(obj)
    return found


def _ec_points(point: bytes) -> set[bytes]:
    """The point as given and unwrapped from a DER OCTET STRING (tokens use both)."""
    forms = {point}
    if len(point) > 2 and point[0] == 0x04 and point[1] == len(point) - 2:
        forms.add(point[2:])
    if len(point) > 3 and point[0] == 0x04 and point[1] == 0x81 and point[2] == len(point) - 3:
        forms.add(point[3:])
    return forms


@attrs.frozen
class _Material:
    """The public material of a certificate, as a token would store it."""

    family: str
    rsa: tuple[int, int] | None
    ec_params: bytes | None
    ec_point: bytes | None

    @classmethod
    def of(cls, certificate: Certificate) -> _Material:
        key = certificate.public_key.to_cryptography()
        if isinstance(key, rsa.RSAPublicKey):
            numbers = key.public_numbers()
            return cls("rsa", (numbers.n, numbers.e), None, None)
        if isinstance(key, ec.EllipticCurvePublicKey):
            info = asn1_keys.PublicKeyInfo.load(certificate.public_key.to_der())
            params = info["algorithm"]["parameters"].dump()
            point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
            return cls("ec", None, params, point)
        return cls(certificate.public_key.description, None, None, None)

    def matches_rsa(self, obj: pkcs11.Object) -> bool | None:
        modulus = bytes_attr(obj, Attribute.MODULUS)
        exponent = bytes_attr(obj, Attribute.PUBLIC_EXPONENT)
        if self.rsa is None or modulus is None or exponent is None:
            return None
        found = (int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big"))
        return found == self.rsa

    def matches_ec_point(self, obj: pkcs11.Object) -> bool | None:
        point = bytes_attr(obj, Attribute.EC_POINT)
        if self.ec_point is None or point is None:
            return None
        return self.ec_point in _ec_points(point)


def key_type(obj: pkcs11.Object) -> str | None:
    """A short key description such as ``rsa-2048`` or ``ec-secp256r1``."""
    kind = _attr(obj, Attribute.KEY_TYPE)
    if kind == KeyType.RSA:
        modulus = bytes_attr(obj, Attribute.MODULUS)
        return f"rsa-{len(modulus) * 8}" if modulus else "rsa"
    if kind == KeyType.EC:
        params = bytes_attr(obj, Attribute.EC_PARAMS)
        try:
            curve = asn1_keys.ECDomainParameters.load(params).chosen.native if params else None
        except ValueError:
            curve = None
        return f"ec-{curve}" if isinstance(curve, str) else "ec"
    return None if kind is None else "other"


def _candidates(
    certificate: Certificate,
    private_keys: Sequence[pkcs11.Object],
    certificate_objects: Sequence[pkcs11.Object],
    public_keys: Sequence[pkcs11.Object],
) -> list[tuple[pkcs11.Object, bool]]:
    """Private keys that may belong to the certificate, each with whether its key material
    proved it (``True``) or only a ``CKA_ID`` shared with the certificate links it."""
    material = _Material.of(certificate)
    linked_ids = {
        bytes_attr(o, Attribute.ID)
        for o in certificate_objects
        if bytes_attr(o, Attribute.VALUE) == certificate.der
    }
    for pub in public_keys:
        if material.matches_rsa(pub) or material.matches_ec_point(pub):
            linked_ids.add(bytes_attr(pub, Attribute.ID))
    linked_ids.discard(None)
    linked_ids.discard(b"")
    found: list[tuple[pkcs11.Object, bool]] = []
    for key in private_keys:
        kind = _attr(key, Attribute.KEY_TYPE)
        if material.family == "rsa" and kind == KeyType.RSA:
            verdict = material.matches_rsa(key)
        elif material.family == "ec" and kind == KeyType.EC:
            if bytes_attr(key, Attribute.EC_PARAMS) != material.ec_params:
                continue
            verdict = material.matches_ec_point(key)
        else:
            continue
        if verdict is None:  # material unreadable: only the shared CKA_ID links them
            if bytes_attr(key, Attribute.ID) in linked_ids:
                found.append((key, False))
        elif verdict:
            found.append((key, True))
    return found


def paired_keys(
    certificate: Certificate,
    private_keys: Sequence[pkcs11.Object],
    certificate_objects: Sequence[pkcs11.Object],
    public_keys: Sequence[pkcs11.Object],
) -> list[pkcs11.Object]:
    """The private keys of ``certificate``: proven by key material, or by a test signature
    over a random digest when the token does not show an EC key's point (the key sharing
    the certificate's ``CKA_ID``, else every key on the curve)."""
    family = certificate.public_key.description.split("-", 1)[0]
    probe = SignatureAlgorithm.for_key(family) if family in ("rsa", "ec") else None
    candidates = _candidates(certificate, private_keys, certificate_objects, public_keys)
    paired = [key for key, proven in candidates if proven]
    untried = [key for key, proven in candidates if not proven]
    if not candidates and family == "ec":
        # Nothing links the certificate to a key (it is not stored on the token): try every
        # key on the same curve.
        params = _Material.of(certificate).ec_params
        untried = [
            k
            for k in private_keys
            if _attr(k, Attribute.KEY_TYPE) == KeyType.EC
            and bytes_attr(k, Attribute.EC_PARAMS) == params
        ]
    for key in untried:
        if probe is not None and isinstance(key, pkcs11.SignMixin):
            digest = os.urandom(probe.hash_algorithm.digest_size)
            try:
                signature = token_sign(key, probe, digest)
            except p11e.PKCS11Error:
                continue
            if verifies(certificate, probe, digest, signature):
                paired.append(key)
    return paired


def token_sign(key: pkcs11.SignMixin, algorithm: SignatureAlgorithm, digest: bytes) -> bytes:
    """Sign ``digest`` on the token; DER for ECDSA.  Raises python-pkcs11's errors."""
    mechanism = mechanism_for(algorithm)
    hash_algorithm = algorithm.hash_algorithm
    param: tuple[Mechanism, pkcs11.MGF, int] | None = None
    data = digest
    if mechanism is Mechanism.RSA_PKCS:
        data = _DIGEST_INFO[hash_algorithm] + digest
    elif mechanism is Mechanism.RSA_PKCS_PSS:
        param = _PSS_PARAMS[hash_algorithm]
    raw = bytes(key.sign(data, mechanism=mechanism, mechanism_param=param))
    if mechanism is not Mechanism.ECDSA:
        return raw
    if not raw or len(raw) % 2:
        raise p11e.SignatureLenRange("malformed ECDSA signature")
    half = len(raw) // 2
    return encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


def verifies(
    certificate: Certificate, algorithm: SignatureAlgorithm, digest: bytes, signature: bytes
) -> bool:
    """Whether ``signature`` over ``digest`` verifies with the certificate."""
    return certificate.public_key.verify(
        signature,
        digest,
        hash_algorithm=algorithm.hash_algorithm,
        rsa_padding=algorithm.rsa_padding or RSAPadding.PKCS1V15,
        prehashed=True,
    )


def token_certificates(objects: Sequence[pkcs11.Object]) -> list[tuple[Certificate, bytes]]:
    """The parseable X.509 certificates among ``objects``, each with its ``CKA_ID``."""
    result: list[tuple[Certificate, bytes]] = []
    for obj in objects:
        value = bytes_attr(obj, Attribute.VALUE)
        if value is None:
            continue
        try:
            result.append((Certificate.from_der(value), bytes_attr(obj, Attribute.ID) or b""))
        except CertificateError:
            continue
    return result


def order_chain(leaf: Certificate, pool: Iterable[Certificate]) -> tuple[Certificate, ...]:
    """The issuers of ``leaf`` found in ``pool``, nearest first."""
    remaining = [c for c in dict.fromkeys(pool) if c != leaf]
    chain: list[Certificate] = []
    current = leaf
    while remaining and not current.is_self_issued:
        issuer = next((c for c in remaining if current.is_issued_by(c)), None)
        if issuer is None:
            break
        chain.append(issuer)
        remaining.remove(issuer)
        current = issuer
    return tuple(chain)


def label_of(obj: pkcs11.Object) -> str | None:
    """The object's label (informative only), or ``None``."""
    value = _attr(obj, Attribute.LABEL)
    return _text(value) if isinstance(value, str | bytes) else None


def mechanism_for(algorithm: SignatureAlgorithm) -> Mechanism | None:
    """The PKCS#11 mechanism that makes ``algorithm`` from a digest, if any."""
    if algorithm.key_family == "ec":
        return Mechanism.ECDSA
    if algorithm.key_family == "rsa":
        if algorithm.rsa_padding is RSAPadding.PSS:
            return Mechanism.RSA_PKCS_PSS
        return Mechanism.RSA_PKCS
    return None
