"""The SoftHSM2 token helper makes a token that a PKCS#11 client can sign with."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from huesign.pki import Certificate, KeyAlgorithm, PrivateKey


def _self_signed(key: PrivateKey) -> Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Nguyễn Văn An")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key.to_cryptography())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key.to_cryptography(), hashes.SHA256())
    )
    return Certificate.from_cryptography(cert)


def test_imported_keys_sign_and_verify_with_their_certificates(
    tmp_path: Path, softhsm_module: str
) -> None:
    # SoftHSM2 reads SOFTHSM2_CONF once per process, so the token is made and used in a child.
    rsa_key = PrivateKey.generate(KeyAlgorithm.RSA_2048)
    ec_key = PrivateKey.generate(KeyAlgorithm.EC_P256)
    for name, key in (("rsa", rsa_key), ("ec", ec_key)):
        (tmp_path / f"{name}.key").write_bytes(key.to_pem())
        (tmp_path / f"{name}.crt").write_bytes(_self_signed(key).to_pem())
    script = textwrap.dedent(
        """
        import hashlib
        import sys
        from pathlib import Path
        import pkcs11
        from huesign.pki import Certificate, PrivateKey
        from huesign.testing.softhsm import create_softhsm_token

        d = Path(sys.argv[1])
        objects = [
            (n, PrivateKey.from_pem((d / f"{n}.key").read_bytes()),
             Certificate.from_pem((d / f"{n}.crt").read_bytes()))
            for n in ("rsa", "ec")
        ]
        token = create_softhsm_token(d / "hsm", objects=objects)
        assert "1234" not in repr(token)
        lib = pkcs11.lib(token.module_path)
        with lib.get_token(token_label=token.label).open(user_pin=token.user_pin) as s:
            for name, key, cert in objects:
                handle = s.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=name)
                found = s.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
                                       pkcs11.Attribute.ID: bytes.fromhex(token.objects[name])})
                assert [o[pkcs11.Attribute.VALUE] for o in found] == [cert.der]
                if name == "rsa":
                    sig = handle.sign(b"to be signed", mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS)
                    assert key.public_key.verify(sig, b"to be signed")
                    assert not key.public_key.verify(sig, b"something else")
                else:  # SoftHSM2 signs EC digests with the raw ECDSA mechanism
                    from pkcs11.util.ec import encode_ecdsa_signature
                    digest = hashlib.sha256(b"to be signed").digest()
                    raw = handle.sign(digest, mechanism=pkcs11.Mechanism.ECDSA)
                    sig = encode_ecdsa_signature(raw)
                    assert key.public_key.verify(sig, digest, prehashed=True)
                    assert not key.public_key.verify(sig, bytes(32), prehashed=True)
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
