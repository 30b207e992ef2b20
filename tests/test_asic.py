"""ASiC-E containers: shape, manifest signature, digests, unlisted files, hostile archives."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from formhelpers import CERTIFICATE_BYTES, TODAY, birth_procedure, birth_submission
from huesign.errors import FormError
from huesign.forms.asic import (
    ASIC_E_MIMETYPE,
    MANIFEST_NAME,
    SIGNATURE_NAME,
    ASiCEntry,
    ASiCLimits,
    package_asic,
    read_asic,
    verify_asic,
)
from huesign.forms.dossier import Dossier, sign_dossier, verify_dossier
from huesign.pki import (
    DevelopmentCA,
    KeyAlgorithm,
    KeySigner,
    RevocationSource,
    TrustStore,
)
from judges import require_program

ENTRIES = (
    ASiCEntry(name="dossier.pdf", data=b"%PDF-1.7 pretend", media_type="application/pdf"),
    ASiCEntry(name="attachments/a/scan.png", data=b"\x89PNG scan", media_type="image/png"),
)


@pytest.fixture(scope="module")
def container(signer: KeySigner) -> bytes:
    return package_asic(ENTRIES, signer)


def _rezip(
    data: bytes, change: dict[str, bytes | None], *, extra: dict[str, bytes] | None = None
) -> bytes:
    """Copy a container, replacing (or, with ``None``, dropping) entries, adding ``extra``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = change.get(info.filename, src.read(info))
            if content is not None:
                dst.writestr(info, content)
        for name, content in (extra or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def test_a_packaged_container_verifies(
    container: bytes, trust: TrustStore, revocation: RevocationSource
) -> None:
    report = verify_asic(container, trust=trust, revocation=revocation)
    assert report.problems == ()
    assert report.passed
    assert [e.name for e in report.entries] == [e.name for e in ENTRIES]
    assert report.entry("dossier.pdf") == ENTRIES[0]


def test_mimetype_is_the_first_entry_stored_uncompressed(container: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(container)) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype"
        assert first.compress_type == zipfile.ZIP_STORED
        assert archive.read(first) == ASIC_E_MIMETYPE.encode()
    # The media type sits at a fixed offset, so tools can sniff it (EN 319 162-1 A.1).
    assert container[30:38] == b"mimetype"
    assert container[38 : 38 + len(ASIC_E_MIMETYPE)] == ASIC_E_MIMETYPE.encode()


def test_the_manifest_lists_every_data_file_with_its_sha256(container: bytes) -> None:
    files = read_asic(container)
    manifest = files[MANIFEST_NAME].decode()
    assert 'URI="dossier.pdf"' in manifest
    assert 'URI="attachments/a/scan.png"' in manifest
    assert f'URI="{SIGNATURE_NAME}"' in manifest
    assert manifest.count("xmlenc#sha256") == 2


def test_openssl_verifies_the_cades_signature_over_the_manifest(
    container: bytes, huesign_pki: DevelopmentCA, tmp_path: Path
) -> None:
    openssl = require_program("openssl")
    files = read_asic(container)
    (tmp_path / "manifest.xml").write_bytes(files[MANIFEST_NAME])
    (tmp_path / "signature.p7s").write_bytes(files[SIGNATURE_NAME])
    (tmp_path / "root.pem").write_bytes(huesign_pki.root.to_pem())
    result = subprocess.run(
        [
            openssl, "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(tmp_path / "signature.p7s"), "-content", str(tmp_path / "manifest.xml"),
            "-CAfile", str(tmp_path / "root.pem"), "-purpose", "any", "-out", "/dev/null",
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr


def test_a_changed_data_file_fails_its_digest(
    container: bytes, trust: TrustStore, revocation: RevocationSource
) -> None:
    tampered = _rezip(container, {"dossier.pdf": b"%PDF-1.7 changed"})
    report = verify_asic(tampered, trust=trust, revocation=revocation)
    assert not report.passed
    assert report.problems == ("the digest of 'dossier.pdf' does not match the manifest",)


def test_a_changed_manifest_fails_the_signature(
    container: bytes, trust: TrustStore, revocation: RevocationSource
) -> None:
    manifest = read_asic(container)[MANIFEST_NAME].replace(b"scan.png", b"scan.PNG")
    tampered = _rezip(container, {MANIFEST_NAME: manifest})
    report = verify_asic(tampered, trust=trust, revocation=revocation)
    assert not report.passed
    assert report.signature is not None
    assert not report.signature.passed


def test_a_file_missing_from_the_container_is_reported(
    container: bytes, trust: TrustStore, revocation: RevocationSource
) -> None:
    tampered = _rezip(container, {"attachments/a/scan.png": None})
    report = verify_asic(tampered, trust=trust, revocation=revocation)
    assert "'attachments/a/scan.png'" in report.problems[0]
    assert not report.passed


def test_a_file_the_manifest_does_not_list_is_reported(
    container: bytes, trust: TrustStore, revocation: RevocationSource
) -> None:
    tampered = _rezip(container, {}, extra={"extra.txt": b"unsigned"})
    report = verify_asic(tampered, trust=trust, revocation=revocation)
    assert report.problems == ("'extra.txt' is in the container but not in the signed manifest",)


def test_a_signature_by_an_untrusted_ca_fails(
    container: bytes, revocation: RevocationSource
) -> None:
    other = DevelopmentCA.create(name="Other", key_algorithm=KeyAlgorithm.EC_P256)
    report = verify_asic(
        container, trust=TrustStore.from_certificates([other.root]), revocation=revocation
    )
    assert not report.passed


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a/../../b", "C:\\x", "a//b"])
def test_names_that_could_escape_the_folder_are_refused(
    container: bytes, trust: TrustStore, name: str
) -> None:
    tampered = _rezip(container, {}, extra={name: b"x"})
    report = verify_asic(tampered, trust=trust)
    assert not report.passed
    assert report.signature is None  # refused before anything is trusted


def test_a_zip_bomb_is_refused_within_the_limits(container: bytes, trust: TrustStore) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ASIC_E_MIMETYPE)
        archive.writestr("bomb.bin", b"\0" * (8 * 1024 * 1024), zipfile.ZIP_DEFLATED)
    report = verify_asic(
        bomb.getvalue(), trust=trust, limits=ASiCLimits(max_total_size=4 * 1024 * 1024)
    )
    assert report.signature is None
    assert "larger than the limits" in report.problems[0]
    ratio = verify_asic(bomb.getvalue(), trust=trust)
    assert "compressed suspiciously well" in ratio.problems[0]


def test_a_compressed_or_misplaced_mimetype_is_refused(trust: TrustStore) -> None:
    for first, compress in (("mimetype", zipfile.ZIP_DEFLATED), ("other", zipfile.ZIP_STORED)):
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            archive.writestr(first, ASIC_E_MIMETYPE, compress)
        report = verify_asic(data.getvalue(), trust=trust)
        assert report.signature is None
        assert "mimetype" in report.problems[0]


def test_a_manifest_with_a_dtd_is_refused(container: bytes, trust: TrustStore) -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    report = verify_asic(_rezip(container, {MANIFEST_NAME: hostile}), trust=trust)
    assert report.problems == ("the manifest declares a DTD or entities",)


def test_not_a_zip_file_is_reported_not_raised(trust: TrustStore) -> None:
    report = verify_asic(b"not a zip", trust=trust)
    assert report.problems[0].startswith("not a ZIP file")
    with pytest.raises(FormError):
        read_asic(b"not a zip")


@pytest.mark.parametrize("name", ["../x", "mimetype", "META-INF/x.xml", "", "a\\b", "e\u0301"])
def test_entries_with_unsafe_or_reserved_names_cannot_be_made(name: str) -> None:
    with pytest.raises(ValueError, match=r"entry name|reserved|1 to 255"):
        ASiCEntry(name=name, data=b"")


def test_entry_names_must_be_unique(signer: KeySigner) -> None:
    with pytest.raises(ValueError, match="unique"):
        package_asic([ENTRIES[0], ENTRIES[0]], signer)


# -- dossiers in containers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dossier(signer: KeySigner) -> Dossier:
    return sign_dossier(
        birth_submission(),
        birth_procedure(),
        signer,
        attachments={"att-1": CERTIFICATE_BYTES},
        today=TODAY,
    )


def test_a_dossier_container_verifies_with_its_attachments(
    dossier: Dossier, signer: KeySigner, trust: TrustStore, revocation: RevocationSource
) -> None:
    opened = verify_dossier(
        dossier.to_asic(signer), trust=trust, revocation=revocation, today=TODAY
    )
    assert opened.reasons == ()
    assert opened.submission == dossier.submission
    assert [f.data for f in opened.files] == [CERTIFICATE_BYTES]
    assert opened.asic is not None
    assert opened.asic.passed


def test_the_attachment_is_stored_under_an_ascii_name(dossier: Dossier) -> None:
    assert [f.archive_name for f in dossier.files] == ["attachments/att-1/giay_chung_sinh.pdf"]


def test_a_dossier_container_without_a_declared_attachment_is_refused(
    signer: KeySigner, trust: TrustStore, revocation: RevocationSource
) -> None:
    bare = sign_dossier(birth_submission(), birth_procedure(), signer, today=TODAY)
    opened = verify_dossier(bare.to_asic(signer), trust=trust, revocation=revocation, today=TODAY)
    assert not opened.accepted
    assert opened.reasons == ("attachment 'att-1' (giấy chứng sinh.pdf) is missing",)


def test_a_dossier_container_with_a_foreign_file_is_refused(
    dossier: Dossier, signer: KeySigner, trust: TrustStore, revocation: RevocationSource
) -> None:
    entries = (*dossier.asic_entries(), ASiCEntry(name="other.bin", data=b"surprise"))
    container = package_asic(entries, signer)
    opened = verify_dossier(container, trust=trust, revocation=revocation, today=TODAY)
    assert not opened.accepted
    assert "'other.bin' is not an attachment the submission declares" in opened.reasons


def test_verify_dossier_takes_a_bare_pdf_too(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    opened = verify_dossier(dossier.pdf, trust=trust, revocation=revocation, today=TODAY)
    assert opened.accepted
    assert opened.asic is None
