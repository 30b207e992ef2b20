"""Trust stores: the bundled Vietnamese pack, separate domains, issuer search and chains."""

from __future__ import annotations

import datetime as dt
import doctest
import subprocess
from pathlib import Path
from types import ModuleType

import attrs
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from huesign.pki import (
    Certificate,
    KeyAlgorithm,
    PrivateKey,
    TrustAnchor,
    TrustDomain,
    TrustStore,
)
from huesign.pki import certificates as certificates_module
from huesign.pki import trust as trust_module
from huesign.pki.trust import MAX_CHAIN_LENGTH
from judges import require_program

NATIONAL_ROOT_SHA256 = (
    "BA:C8:BF:60:9A:B4:20:A8:EE:17:80:D7:4F:4D:E5:C7:"
    "F7:18:49:59:D2:A7:37:5B:0A:75:E4:C2:9F:09:08:E7"
)


@attrs.frozen
class Authority:
    name: str
    key: PrivateKey
    certificate: Certificate


def _certify(
    subject: str,
    key: PrivateKey,
    issuer: Authority | None = None,
    *,
    ca: bool = True,
    key_ids: bool = True,
) -> Certificate:
    """A certificate for ``key`` named ``subject``, self-signed unless ``issuer`` is given."""
    signer_name, signer_key = (issuer.name, issuer.key) if issuer else (subject, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, signer_name)]))
        .public_key(key.public_key.to_cryptography())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if key_ids:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key.to_cryptography()),
            critical=False,
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                signer_key.public_key.to_cryptography()  # type: ignore[arg-type]
            ),
            critical=False,
        )
    cert = builder.sign(signer_key.to_cryptography(), hashes.SHA256())
    return Certificate.from_cryptography(cert)


def _authority(name: str, issuer: Authority | None = None, **options: bool) -> Authority:
    key = PrivateKey.generate(KeyAlgorithm.EC_P256)
    return Authority(name, key, _certify(name, key, issuer, **options))


@attrs.frozen
class PKI:
    root: Authority
    intermediate: Authority
    leaf: Certificate


@pytest.fixture(scope="session")
def pki() -> PKI:
    root = _authority("Huesign Test Root")
    intermediate = _authority("Huesign Test Issuing CA", root)
    leaf_key = PrivateKey.generate(KeyAlgorithm.EC_P256)
    leaf = _certify("Nguyễn Văn An", leaf_key, intermediate, ca=False)
    return PKI(root, intermediate, leaf)


@pytest.fixture(scope="session")
def store(pki: PKI) -> TrustStore:
    return TrustStore.from_certificates(
        [pki.root.certificate], intermediates=[pki.intermediate.certificate]
    )


@pytest.fixture(scope="session")
def vietnam() -> TrustStore:
    return TrustStore.vietnam(government=True)


# -- the bundled pack ----------------------------------------------------------------------------


def test_national_root_fingerprint_is_the_published_one() -> None:
    (root,) = TrustStore.vietnam().anchors
    assert root.sha256_fingerprint == NATIONAL_ROOT_SHA256


def test_national_root_is_the_rsa_4096_root_of_2014() -> None:
    (root,) = TrustStore.vietnam().anchors
    assert root.identity.common_name == "Vietnam National Root CA"
    assert root.public_key.key_size == 4096
    assert (root.not_before.date(), root.not_after.date()) == (
        dt.date(2014, 4, 15),
        dt.date(2039, 4, 15),
    )


def test_vnpt_intermediate_chains_to_the_national_root() -> None:
    store = TrustStore.vietnam()
    (vnpt,) = store.intermediates
    chain = store.chain_for(vnpt)
    assert chain is not None
    assert [c.identity.common_name for c in chain] == ["VNPT-CA SHA2", "Vietnam National Root CA"]
    assert store.domain_of(chain[-1]) is TrustDomain.PUBLIC


def test_default_pack_leaves_out_the_government_root() -> None:
    store = TrustStore.vietnam()
    assert [store.domain_of(a) for a in store.anchors] == [TrustDomain.PUBLIC]


def test_government_root_is_a_separate_domain(vietnam: TrustStore) -> None:
    domains = {a.certificate.identity.common_name: a.domain for a in vietnam.trust_anchors}
    assert domains == {
        "Vietnam National Root CA": TrustDomain.PUBLIC,
        "RootCA chuyên dùng Chính phủ G2": TrustDomain.GOVERNMENT,
    }


def test_vnpt_never_chains_to_the_government_root(vietnam: TrustStore) -> None:
    (vnpt,) = vietnam.intermediates
    assert vietnam.domain_for(vnpt) is TrustDomain.PUBLIC


def test_openssl_agrees_vnpt_chains_to_the_national_root(tmp_path: Path) -> None:
    openssl = require_program("openssl")
    store = TrustStore.vietnam()
    (tmp_path / "root.pem").write_bytes(store.anchors[0].to_pem())
    (tmp_path / "vnpt.pem").write_bytes(store.intermediates[0].to_pem())
    at = str(int(dt.datetime(2025, 6, 1, tzinfo=dt.UTC).timestamp()))
    done = subprocess.run(
        [openssl, "verify", "-attime", at, "-CAfile", str(tmp_path / "root.pem"),
         str(tmp_path / "vnpt.pem")],
        capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(b": OK")


# -- construction ------------------------------------------------------------------------------


def test_from_certificates_marks_anchors_custom(store: TrustStore, pki: PKI) -> None:
    assert store.domain_of(pki.root.certificate) is TrustDomain.CUSTOM


def test_with_anchors_returns_a_new_store(vietnam: TrustStore, pki: PKI) -> None:
    extended = vietnam.with_anchors([pki.root.certificate])
    assert extended.is_anchor(pki.root.certificate)
    assert not vietnam.is_anchor(pki.root.certificate)
    assert len(extended.anchors) == len(vietnam.anchors) + 1


def test_with_intermediates_returns_a_new_store(pki: PKI) -> None:
    bare = TrustStore.from_certificates([pki.root.certificate])
    assert bare.chain_for(pki.leaf) is None
    assert bare.with_intermediates([pki.intermediate.certificate]).chain_for(pki.leaf)
    assert bare.intermediates == ()


def test_adding_an_anchor_twice_keeps_one(pki: PKI) -> None:
    store = TrustStore.from_certificates([pki.root.certificate, pki.root.certificate])
    assert store.with_anchors([pki.root.certificate]).anchors == (pki.root.certificate,)


def test_from_pem_files_reads_bundles(pki: PKI, tmp_path: Path) -> None:
    (tmp_path / "roots.pem").write_bytes(pki.root.certificate.to_pem())
    (tmp_path / "chain.pem").write_bytes(pki.intermediate.certificate.to_pem())
    store = TrustStore.from_pem_files(
        [tmp_path / "roots.pem"], intermediates=[tmp_path / "chain.pem"]
    )
    assert store.chain_for(pki.leaf) == (
        pki.leaf,
        pki.intermediate.certificate,
        pki.root.certificate,
    )


def test_from_pem_files_rejects_a_single_path(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="iterable of paths"):
        TrustStore.from_pem_files(str(tmp_path / "roots.pem"))


def test_from_certificates_rejects_a_single_certificate(pki: PKI) -> None:
    with pytest.raises(TypeError, match="not one certificate"):
        TrustStore.from_certificates(pki.root.certificate)  # type: ignore[arg-type]


def test_anchor_needs_a_certificate() -> None:
    with pytest.raises(TypeError):
        TrustAnchor(b"not a certificate")  # type: ignore[arg-type]


def test_repr_counts_anchors_and_domains(vietnam: TrustStore) -> None:
    assert repr(vietnam) == (
        "<TrustStore anchors=2 intermediates=1 domains=['government', 'public']>"
    )


# -- queries ---------------------------------------------------------------------------------------


def test_chain_walks_intermediate_to_anchor(store: TrustStore, pki: PKI) -> None:
    assert store.chain_for(pki.leaf) == (
        pki.leaf,
        pki.intermediate.certificate,
        pki.root.certificate,
    )


def test_anchor_is_its_own_chain(store: TrustStore, pki: PKI) -> None:
    assert store.chain_for(pki.root.certificate) == (pki.root.certificate,)


def test_extra_certificates_complete_a_chain(pki: PKI) -> None:
    bare = TrustStore.from_certificates([pki.root.certificate])
    assert bare.chain_for(pki.leaf, extra=[pki.intermediate.certificate]) == (
        pki.leaf,
        pki.intermediate.certificate,
        pki.root.certificate,
    )


def test_no_chain_for_a_certificate_of_an_unknown_ca(store: TrustStore) -> None:
    stranger = _authority("Stranger CA")
    leaf = _certify("Trần Thị Bình", PrivateKey.generate(KeyAlgorithm.EC_P256), stranger, ca=False)
    assert store.chain_for(leaf) is None
    assert store.domain_for(leaf) is None


def test_impostor_with_the_issuer_name_but_another_key_gets_no_chain(pki: PKI) -> None:
    impostor = _authority("Huesign Test Issuing CA", key_ids=False)
    forged = _certify(
        "Kẻ Giả Mạo", PrivateKey.generate(KeyAlgorithm.EC_P256), impostor, ca=False, key_ids=False
    )
    store = TrustStore.from_certificates(
        [pki.root.certificate], intermediates=[pki.intermediate.certificate]
    )
    assert store.find_issuers(forged) == (pki.intermediate.certificate,)
    assert store.chain_for(forged) is None


def test_find_issuers_skips_a_candidate_whose_key_id_differs(pki: PKI) -> None:
    twin = _authority("Huesign Test Issuing CA", pki.root)
    store = TrustStore.from_certificates(
        [pki.root.certificate],
        intermediates=[twin.certificate, pki.intermediate.certificate],
    )
    assert store.find_issuers(pki.leaf) == (pki.intermediate.certificate,)


def test_find_issuers_puts_anchors_first(pki: PKI) -> None:
    store = TrustStore.from_certificates(
        [pki.intermediate.certificate], intermediates=[pki.intermediate.certificate]
    )
    assert store.find_issuers(pki.leaf) == (pki.intermediate.certificate,)


def test_reissued_anchor_with_same_name_and_key_is_an_anchor(pki: PKI) -> None:
    again = _certify(pki.root.name, pki.root.key)
    store = TrustStore.from_certificates([pki.root.certificate])
    assert again != pki.root.certificate
    assert store.is_anchor(again)


def test_domain_of_a_non_anchor_is_none(store: TrustStore, pki: PKI) -> None:
    assert store.domain_of(pki.intermediate.certificate) is None


def test_cross_signed_loop_ends_without_a_chain() -> None:
    key_a = PrivateKey.generate(KeyAlgorithm.EC_P256)
    key_b = PrivateKey.generate(KeyAlgorithm.EC_P256)
    a_cert = _certify("CA A", key_a, Authority("CA B", key_b, _certify("CA B", key_b)))
    b_cert = _certify("CA B", key_b, Authority("CA A", key_a, a_cert))
    leaf = _certify(
        "Lá", PrivateKey.generate(KeyAlgorithm.EC_P256), Authority("CA A", key_a, a_cert)
    )
    unrelated = _authority("Unrelated Root")
    store = TrustStore.from_certificates([unrelated.certificate], intermediates=[a_cert, b_cert])
    assert store.chain_for(leaf) is None


def test_chains_longer_than_the_bound_are_not_built() -> None:
    root = _authority("Depth Root")
    chain = [root]
    for level in range(MAX_CHAIN_LENGTH):
        chain.append(_authority(f"Depth CA {level}", chain[-1]))
    store = TrustStore.from_certificates(
        [root.certificate], intermediates=[a.certificate for a in chain[1:]]
    )
    assert store.chain_for(chain[MAX_CHAIN_LENGTH - 2].certificate) is not None
    assert len(store.chain_for(chain[MAX_CHAIN_LENGTH - 1].certificate) or ()) == MAX_CHAIN_LENGTH
    assert store.chain_for(chain[MAX_CHAIN_LENGTH].certificate) is None


def test_chain_for_rejects_a_non_certificate(store: TrustStore) -> None:
    with pytest.raises(TypeError):
        store.chain_for(b"pem")  # type: ignore[arg-type]


@pytest.mark.parametrize("module", [trust_module, certificates_module], ids=lambda m: m.__name__)
def test_module_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
