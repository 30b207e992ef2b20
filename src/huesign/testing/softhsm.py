"""Throwaway SoftHSM2 tokens holding a development key and certificate.

SoftHSM2 reads its configuration (``SOFTHSM2_CONF``) once, when a process first initialises
the PKCS#11 module, so one process uses one token directory: :func:`create_softhsm_token`
writes the configuration, initialises a token with ``softhsm2-util`` and imports RSA or EC keys
with their certificates through python-pkcs11, each key and certificate pair sharing a
``CKA_ID``.  The caller sets ``SOFTHSM2_CONF`` (the pytest fixture does) before any PKCS#11
module is opened.

The module also lists its tokens only when it is first loaded, so make every token first,
then add keys to any of them with :func:`import_into_token`::

    empty = create_softhsm_token(root, label="spare")
    main = create_softhsm_token(root, label="main", objects=[("me", key, cert)])  # loads it
    spare = import_into_token(empty, [("other", other_key, other_cert)])
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
import pkcs11
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import Attribute, CertificateType, ObjectClass
from pkcs11.util.ec import decode_ec_private_key
from pkcs11.util.rsa import decode_rsa_private_key

from huesign.errors import TokenError
from huesign.pki import Certificate, PrivateKey

__all__ = [
    "SOFTHSM_MODULE_CANDIDATES",
    "SoftHSMToken",
    "create_softhsm_token",
    "find_softhsm_module",
    "import_into_token",
]

#: Where Debian, Fedora and Homebrew put the SoftHSM2 PKCS#11 module.
SOFTHSM_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)


def find_softhsm_module() -> str | None:
    """The SoftHSM2 module path, or ``None`` when SoftHSM2 is not installed."""
    explicit = os.environ.get("HUESIGN_SOFTHSM_MODULE")
    candidates = (explicit, *SOFTHSM_MODULE_CANDIDATES) if explicit else SOFTHSM_MODULE_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@attrs.frozen(kw_only=True, repr=False)
class SoftHSMToken:
    """A SoftHSM2 token made for a test run.

    Attributes:
        module_path: the PKCS#11 module to open.
        config_path: the SoftHSM2 configuration file (``SOFTHSM2_CONF``).
        label: the token label.
        user_pin: the user PIN (a throwaway test value).
        so_pin: the security officer PIN (a throwaway test value).
        objects: for each imported pair, its label mapped to its hex ``CKA_ID``.
    """

    module_path: str
    config_path: Path
    label: str
    user_pin: str
    so_pin: str
    objects: Mapping[str, str]

    @property
    def environment(self) -> dict[str, str]:
        """The environment variables a process needs to see this token."""
        return {"SOFTHSM2_CONF": str(self.config_path)}

    def __repr__(self) -> str:
        return f"<SoftHSMToken label={self.label!r} objects={sorted(self.objects)}>"


def create_softhsm_token(
    directory: str | os.PathLike[str],
    *,
    label: str = "huesign-test",
    user_pin: str = "1234",
    so_pin: str = "5678",
    objects: Iterable[tuple[str, PrivateKey, Certificate]] = (),
    module_path: str | None = None,
) -> SoftHSMToken:
    """Initialise a SoftHSM2 token in ``directory`` and import key/certificate pairs.

    ``objects`` holds ``(label, key, certificate)`` triples; RSA and EC keys only (SoftHSM2's
    EdDSA support varies between releases).  The process must not have opened the module with
    another configuration before (see the module docstring).
    """
    module = module_path or find_softhsm_module()
    if module is None:
        raise TokenError("SoftHSM2 is not installed (apt-get install softhsm2)")
    util = shutil.which("softhsm2-util")
    if util is None:
        raise TokenError("softhsm2-util is not on PATH (apt-get install softhsm2)")
    root = Path(directory)
    tokens = root / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    config = root / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n",
        encoding="utf-8",
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(config)}
    result = subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", user_pin, "--so-pin", so_pin],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise TokenError(f"softhsm2-util could not initialise the token: {result.stderr.strip()}")
    token = SoftHSMToken(
        module_path=module,
        config_path=config,
        label=label,
        user_pin=user_pin,
        so_pin=so_pin,
        objects={},
    )
    return import_into_token(token, objects)


def import_into_token(
    token: SoftHSMToken, objects: Iterable[tuple[str, PrivateKey, Certificate]]
) -> SoftHSMToken:
    """Import ``(label, key, certificate)`` triples into ``token``; return it with them listed.

    Works whether or not this process has loaded the PKCS#11 module yet, as long as the
    token existed when it was loaded (see the module docstring) and ``SOFTHSM2_CONF`` is unset
    or points at ``token.config_path`` (it is set to it).  RSA and EC keys only.

    Raises:
        ValueError: a label is given twice or is already on the token.
        TokenError: ``SOFTHSM2_CONF`` names another configuration, or a key type is not
            supported.
    """
    wanted = list(objects)
    labels = [label for label, _key, _cert in wanted]
    if len(set(labels)) != len(labels) or set(labels) & set(token.objects):
        raise ValueError("each imported object needs a label not yet used on the token")
    if not wanted:
        return token
    imported = _import_objects(token, wanted)
    return attrs.evolve(token, objects={**token.objects, **imported})


def _import_objects(
    target: SoftHSMToken, objects: list[tuple[str, PrivateKey, Certificate]]
) -> dict[str, str]:
    config = str(target.config_path)
    previous = os.environ.get("SOFTHSM2_CONF")
    if previous not in (None, config):
        raise TokenError("SOFTHSM2_CONF already points at another SoftHSM2 configuration")
    os.environ["SOFTHSM2_CONF"] = config
    lib = pkcs11.lib(target.module_path)
    token = lib.get_token(token_label=target.label)
    ids: dict[str, str] = {}
    with token.open(rw=True, user_pin=target.user_pin) as session:
        for obj_label, key, cert in objects:
            raw = key.to_cryptography()
            key_id = hashlib.sha1(key.public_key.to_der(), usedforsecurity=False).digest()
            if isinstance(raw, rsa.RSAPrivateKey):
                der = raw.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                )
                attrs_ = decode_rsa_private_key(der)
            elif isinstance(raw, ec.EllipticCurvePrivateKey):
                der = raw.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                )
                attrs_ = decode_ec_private_key(der)
            else:
                raise TokenError(f"SoftHSM2 import supports RSA and EC keys, not {key!r}")
            attrs_.update(
                {
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.SIGN: True,
                    Attribute.ID: key_id,
                    Attribute.LABEL: obj_label,
                }
            )
            session.create_object(attrs_)
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.ID: key_id,
                    Attribute.LABEL: obj_label,
                    Attribute.SUBJECT: cert.to_cryptography().subject.public_bytes(),
                    Attribute.ISSUER: cert.to_cryptography().issuer.public_bytes(),
                    Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
                    Attribute.VALUE: cert.der,
                }
            )
            ids[obj_label] = key_id.hex()
    return ids


def _der_integer(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 8) // 8 or 1, "big")
    return bytes([0x02, len(body)]) + body
