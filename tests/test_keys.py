"""Private and public keys: generation, every file format, signatures, and secrecy."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, x25519
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.errors import KeyLoadError
from huesign.pki import HashAlgorithm, KeyAlgorithm, PrivateKey, PublicKey, RSAPadding
from huesign.testing.strategies import private_keys
from judges import run_openssl

PASSWORD = "mật-khẩu-9f3a"
FAST = (KeyAlgorithm.EC_P256, KeyAlgorithm.EC_P384, KeyAlgorithm.ED25519, KeyAlgorithm.RSA_2048)


@pytest.fixture(scope="session")
def keys() -> dict[KeyAlgorithm, PrivateKey]:
    return {algorithm: PrivateKey.generate(algorithm) for algorithm in FAST}


@pytest.fixture(scope="session")
def rsa_key(keys: dict[KeyAlgorithm, PrivateKey]) -> PrivateKey:
    return keys[KeyAlgorithm.RSA_2048]


@pytest.fixture(scope="session")
def ec_key(keys: dict[KeyAlgorithm, PrivateKey]) -> PrivateKey:
    return keys[KeyAlgorithm.EC_P256]


# -- generation ------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", FAST, ids=lambda a: a.value)
def test_generated_key_reports_its_algorithm(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm
) -> None:
    assert keys[algorithm].algorithm is algorithm
    assert keys[algorithm].public_key.algorithm is algorithm


@pytest.mark.parametrize(
    ("algorithm", "bits"), [(KeyAlgorithm.RSA_3072, 3072), (KeyAlgorithm.RSA_4096, 4096)]
)
def test_large_rsa_keys_have_the_requested_size(algorithm: KeyAlgorithm, bits: int) -> None:
    key = PrivateKey.generate(algorithm)
    assert key.key_size == bits
    assert key.algorithm is algorithm


def test_generate_rejects_a_string_algorithm() -> None:
    with pytest.raises(TypeError):
        PrivateKey.generate("ec-p256")  # type: ignore[arg-type]


def test_public_key_sizes_match_the_curve_or_modulus(keys: dict[KeyAlgorithm, PrivateKey]) -> None:
    sizes = {a: keys[a].public_key.key_size for a in FAST}
    assert sizes == {
        KeyAlgorithm.EC_P256: 256,
        KeyAlgorithm.EC_P384: 384,
        KeyAlgorithm.ED25519: 256,
        KeyAlgorithm.RSA_2048: 2048,
    }


# -- signatures --------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", FAST, ids=lambda a: a.value)
def test_signature_verifies_with_the_public_key(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm
) -> None:
    key = keys[algorithm]
    signature = key.sign(b"don xin cap ban sao")
    assert key.public_key.verify(signature, b"don xin cap ban sao")


@pytest.mark.parametrize("algorithm", FAST, ids=lambda a: a.value)
def test_signature_fails_on_other_data(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm
) -> None:
    key = keys[algorithm]
    signature = key.sign(b"original")
    assert not key.public_key.verify(signature, b"tampered")


def test_rsa_pss_signature_verifies_only_as_pss(rsa_key: PrivateKey) -> None:
    signature = rsa_key.sign(b"data", rsa_padding=RSAPadding.PSS)
    assert rsa_key.public_key.verify(signature, b"data", rsa_padding=RSAPadding.PSS)
    assert not rsa_key.public_key.verify(signature, b"data", rsa_padding=RSAPadding.PKCS1V15)


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.RSA_2048, KeyAlgorithm.EC_P256])
@pytest.mark.parametrize("hash_algorithm", list(HashAlgorithm), ids=lambda h: h.value)
def test_digest_signature_equals_message_signature_check(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm, hash_algorithm: HashAlgorithm
) -> None:
    key = keys[algorithm]
    h = hash_algorithm.to_cryptography()
    ctx = hashes.Hash(h)
    ctx.update(b"payload")
    signature = key.sign_digest(ctx.finalize(), hash_algorithm=hash_algorithm)
    assert key.public_key.verify(signature, b"payload", hash_algorithm=hash_algorithm)


def test_sign_digest_rejects_a_digest_of_the_wrong_length(ec_key: PrivateKey) -> None:
    with pytest.raises(ValueError, match="digest is 20 bytes"):
        ec_key.sign_digest(b"x" * 20)


def test_ed25519_cannot_sign_a_digest(keys: dict[KeyAlgorithm, PrivateKey]) -> None:
    with pytest.raises(ValueError, match="Ed25519"):
        keys[KeyAlgorithm.ED25519].sign_digest(b"x" * 32)


# -- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", FAST, ids=lambda a: a.value)
@pytest.mark.parametrize("password", [None, PASSWORD, PASSWORD.encode()])
def test_pem_round_trip(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm, password: str | bytes | None
) -> None:
    key = keys[algorithm]
    assert PrivateKey.from_pem(key.to_pem(password=password), password=password) == key


@pytest.mark.parametrize("algorithm", FAST, ids=lambda a: a.value)
def test_encrypted_der_round_trip(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm
) -> None:
    key = keys[algorithm]
    assert PrivateKey.from_der(key.to_der(password=PASSWORD), password=PASSWORD) == key


def test_encrypted_pem_is_pkcs8_encrypted(ec_key: PrivateKey) -> None:
    assert ec_key.to_pem(password=PASSWORD).startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_traditional_rsa_and_sec1_ec_pem_load(keys: dict[KeyAlgorithm, PrivateKey]) -> None:
    for algorithm in (KeyAlgorithm.RSA_2048, KeyAlgorithm.EC_P256):
        raw = (
            keys[algorithm]
            .to_cryptography()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        assert PrivateKey.from_pem(raw) == keys[algorithm]


def test_wrong_password_is_named(ec_key: PrivateKey) -> None:
    with pytest.raises(KeyLoadError, match="wrong password"):
        PrivateKey.from_pem(ec_key.to_pem(password=PASSWORD), password="sai")


def test_wrong_password_on_der_is_named(ec_key: PrivateKey) -> None:
    with pytest.raises(KeyLoadError, match="wrong password"):
        PrivateKey.from_der(ec_key.to_der(password=PASSWORD), password="sai")


def test_missing_password_says_the_key_is_encrypted(ec_key: PrivateKey) -> None:
    with pytest.raises(KeyLoadError, match="encrypted: give its password"):
        PrivateKey.from_pem(ec_key.to_pem(password=PASSWORD))


def test_password_for_a_plain_key_is_refused(ec_key: PrivateKey) -> None:
    with pytest.raises(KeyLoadError, match="not encrypted"):
        PrivateKey.from_pem(ec_key.to_pem(), password=PASSWORD)


def test_truncated_pem_is_a_key_load_error(ec_key: PrivateKey) -> None:
    data = ec_key.to_pem()
    with pytest.raises(KeyLoadError, match="damaged or truncated"):
        PrivateKey.from_pem(data[: len(data) // 2])


def test_truncated_der_is_a_key_load_error(rsa_key: PrivateKey) -> None:
    with pytest.raises(KeyLoadError):
        PrivateKey.from_der(rsa_key.to_der()[:-7])


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(lambda: dsa.generate_private_key(1024), id="dsa"),  # noqa: S505 - only parsed
        pytest.param(lambda: x25519.X25519PrivateKey.generate(), id="x25519"),
    ],
)
def test_key_types_huesign_cannot_sign_with_are_refused(raw: object) -> None:
    obj = raw()  # type: ignore[operator]
    pem = obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyLoadError, match="unsupported key type"):
        PrivateKey.from_pem(pem)


def test_curve_huesign_does_not_generate_loads_without_an_algorithm_name() -> None:
    raw = ec.generate_private_key(ec.SECP256K1())
    pem = raw.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert PrivateKey.from_pem(pem).algorithm is None


def test_oversized_input_is_refused_before_parsing() -> None:
    with pytest.raises(KeyLoadError, match="larger than"):
        PrivateKey.from_der(b"\x30" * ((1 << 20) + 1))


def test_non_bytes_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        PrivateKey.from_pem(12345)  # type: ignore[arg-type]


# -- files -------------------------------------------------------------------------------------


def test_saved_key_is_owner_only_and_loads_back(ec_key: PrivateKey, tmp_path: Path) -> None:
    target = tmp_path / "key.pem"
    ec_key.save(target, password=PASSWORD)
    assert target.stat().st_mode & 0o777 == 0o600
    assert PrivateKey.load(target, password=PASSWORD) == ec_key


def test_load_detects_der(rsa_key: PrivateKey, tmp_path: Path) -> None:
    target = tmp_path / "key.der"
    target.write_bytes(rsa_key.to_der())
    assert PrivateKey.load(target) == rsa_key


def test_missing_key_file_is_a_key_load_error(tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError, match="cannot read key file"):
        PrivateKey.load(tmp_path / "absent.pem")


# -- secrecy -----------------------------------------------------------------------------------


def test_repr_and_str_show_no_private_material(ec_key: PrivateKey) -> None:
    raw = ec_key.to_cryptography()
    assert isinstance(raw, ec.EllipticCurvePrivateKey)
    secret = f"{raw.private_numbers().private_value:x}"
    for text in (repr(ec_key), str(ec_key)):
        assert secret not in text
        assert text.startswith("<PrivateKey ec-secp256r1 public-sha256=")


def test_error_messages_never_contain_the_password(ec_key: PrivateKey) -> None:
    wrong = "mật-khẩu-sai-123"
    with pytest.raises(KeyLoadError) as info:
        PrivateKey.from_pem(ec_key.to_pem(password=PASSWORD), password=wrong)
    chain = [info.value, info.value.__cause__]
    assert all(wrong not in str(e) and PASSWORD not in str(e) for e in chain)


def test_private_key_refuses_pickling(ec_key: PrivateKey) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(ec_key)


# -- public keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", FAST, ids=lambda a: a.value)
def test_public_key_round_trips_pem_and_der(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm
) -> None:
    public = keys[algorithm].public_key
    assert PublicKey.from_pem(public.to_pem()) == public
    assert PublicKey.from_der(public.to_der()) == public
    assert hash(PublicKey.from_der(public.to_der())) == hash(public)


def test_keys_compare_by_public_key(keys: dict[KeyAlgorithm, PrivateKey]) -> None:
    assert keys[KeyAlgorithm.EC_P256] != keys[KeyAlgorithm.EC_P384]
    assert (
        len({keys[KeyAlgorithm.EC_P256], PrivateKey.from_pem(keys[KeyAlgorithm.EC_P256].to_pem())})
        == 1
    )


def test_public_key_from_garbage_is_a_key_load_error() -> None:
    with pytest.raises(KeyLoadError):
        PublicKey.from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_public_key_repr_names_type_and_fingerprint(ec_key: PrivateKey) -> None:
    text = repr(ec_key.public_key)
    assert text == f"<PublicKey ec-secp256r1 sha256={ec_key.public_key.fingerprint[:16]}>"


# -- openssl as an independent judge ---------------------------------------------------------


def test_fingerprint_matches_openssl(ec_key: PrivateKey) -> None:
    der = run_openssl("pkey", "-pubin", "-outform", "DER", stdin=ec_key.public_key.to_pem())
    digest = run_openssl("dgst", "-sha256", "-r", stdin=der).split()[0].decode()
    assert digest == ec_key.public_key.fingerprint


@pytest.mark.parametrize("algorithm", FAST, ids=lambda a: a.value)
def test_openssl_decrypts_our_encrypted_pkcs8(
    keys: dict[KeyAlgorithm, PrivateKey], algorithm: KeyAlgorithm
) -> None:
    key = keys[algorithm]
    plain = run_openssl("pkey", "-passin", f"pass:{PASSWORD}", stdin=key.to_pem(password=PASSWORD))
    assert PrivateKey.from_pem(plain) == key


@pytest.mark.parametrize(
    "genpkey",
    [
        ("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"),
        ("-algorithm", "ED25519"),
        ("-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"),
    ],
    ids=["ec", "ed25519", "rsa"],
)
def test_we_load_encrypted_keys_openssl_made(genpkey: tuple[str, ...]) -> None:
    encrypted = run_openssl("genpkey", *genpkey, "-aes-256-cbc", "-pass", "pass:1234")
    key = PrivateKey.from_pem(encrypted, password="1234")
    public = run_openssl("pkey", "-passin", "pass:1234", "-pubout", stdin=encrypted)
    assert PublicKey.from_pem(public) == key.public_key


def test_openssl_verifies_our_ecdsa_signature(ec_key: PrivateKey, tmp_path: Path) -> None:
    (tmp_path / "pub.pem").write_bytes(ec_key.public_key.to_pem())
    (tmp_path / "data").write_bytes(b"to sign")
    (tmp_path / "sig").write_bytes(ec_key.sign(b"to sign"))
    out = run_openssl(
        "dgst", "-sha256", "-verify", str(tmp_path / "pub.pem"),
        "-signature", str(tmp_path / "sig"), str(tmp_path / "data"),
    )  # fmt: skip
    assert b"Verified OK" in out


# -- properties --------------------------------------------------------------------------------

_FORMATS = st.sampled_from(["pem", "der"])
_PASSWORDS = st.none() | st.text(min_size=1, max_size=20)


@settings(max_examples=30, deadline=None)
@given(key=private_keys(), fmt=_FORMATS, password=_PASSWORDS)
def test_any_key_round_trips_through_pkcs8(key: PrivateKey, fmt: str, password: str | None) -> None:
    if fmt == "pem":
        back = PrivateKey.from_pem(key.to_pem(password=password), password=password)
    else:
        back = PrivateKey.from_der(key.to_der(password=password), password=password)
    assert back == key
    assert key.public_key.verify(
        back.sign(b"m", hash_algorithm=HashAlgorithm.SHA384),
        b"m",
        hash_algorithm=HashAlgorithm.SHA384,
    )
