"""sign_pdf: where the signature goes, what its CMS holds, and how the file is written."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.errors import PDFFormatError, SigningError
from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    DigestToSign,
    DocMDPPermission,
    FieldLock,
    Identifier,
    IssuedCertificate,
    KeyAlgorithm,
    KeySigner,
    LockAction,
    PAdESLevel,
    PrivateKey,
    SignatureAlgorithm,
    as_async_signer,
    sign_pdf,
    sign_pdf_async,
)
from huesign.pki._pades_ltv import trim_der
from huesign.pki._pades_sign import PendingDocument, estimate_signature_size
from huesign.pki.pdffields import Coverage, SignatureDictionary, find_signatures, iter_fields
from huesign.pki.pdfobjects import Name, PDFDict, PDFString, Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import SignatureSlot
from huesign.pki.pdfwriter import IncrementalWriter
from huesign.pki.stamp import FieldPlacement, RectPlacement, StampAppearance, StampContent

WHEN = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)
_SIGNING_TIME_OID = "1.2.840.113549.1.9.5"
_SIGNING_CERT_V2_OID = "1.2.840.113549.1.9.16.2.47"


def _pdf(pages: int = 1) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for page in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Don de nghi - trang {page + 1}")
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def form() -> bytes:
    return _pdf()


@pytest.fixture(scope="module")
def officer_signer(officer: IssuedCertificate) -> KeySigner:
    return KeySigner(key=officer.key, certificate=officer.certificate, chain=officer.chain)


def _signatures(data: bytes) -> list[SignatureDictionary]:
    with PDFReader(io.BytesIO(data)) as reader:
        return find_signatures(reader)


def _signer_info(sig: SignatureDictionary) -> asn1_cms.SignerInfo:
    assert sig.contents is not None
    info = asn1_cms.ContentInfo.load(trim_der(sig.contents))
    return info["content"]["signer_infos"][0]


def _attribute_types(sig: SignatureDictionary) -> set[str]:
    return {a["type"].dotted for a in _signer_info(sig)["signed_attrs"]}


def _digest_of_ranges(data: bytes, byte_range: Sequence[int]) -> bytes:
    a, b, c, d = byte_range
    return hashlib.sha256(data[a : a + b] + data[c : c + d]).digest()


def test_signed_bytes_hold_one_signature_over_the_whole_file(
    form: bytes, signer: KeySigner
) -> None:
    out = sign_pdf(form, signer)
    assert out is not None
    (sig,) = _signatures(out)
    assert sig.coverage is Coverage.WHOLE_FILE
    assert sig.sub_filter == "ETSI.CAdES.detached"


def test_original_bytes_are_kept_as_a_prefix(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer)
    assert out is not None
    assert out.startswith(form)


def test_message_digest_matches_the_byte_ranges(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer)
    assert out is not None
    (sig,) = _signatures(out)
    assert sig.byte_range is not None
    signed_digest = {
        a["type"].dotted: a["values"][0].native for a in _signer_info(sig)["signed_attrs"]
    }["1.2.840.113549.1.9.4"]
    assert signed_digest == _digest_of_ranges(out, sig.byte_range)


def test_cms_has_signing_certificate_v2_and_no_signing_time(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer)
    assert out is not None
    types = _attribute_types(_signatures(out)[0])
    assert _SIGNING_CERT_V2_OID in types
    assert _SIGNING_TIME_OID not in types


def test_claimed_signing_time_goes_into_m(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer, signing_time=WHEN)
    assert out is not None
    assert _signatures(out)[0].dictionary["M"] == PDFString(b"D:20260504030201+00'00'")


def test_cms_embeds_the_chain_without_the_root(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer)
    assert out is not None
    sig = _signatures(out)[0]
    assert sig.contents is not None
    signed = asn1_cms.ContentInfo.load(trim_der(sig.contents))["content"]
    embedded = {c.chosen.dump() for c in signed["certificates"]}
    assert embedded == {signer.certificate.der, signer.chain[0].der}


def test_output_path_gets_a_new_file_and_leaves_the_source_alone(
    form: bytes, signer: KeySigner, tmp_path: Path
) -> None:
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(form)
    assert sign_pdf(source, signer, output=target) is None
    assert source.read_bytes() == form
    assert _signatures(target.read_bytes())[0].coverage is Coverage.WHOLE_FILE


def test_same_path_as_output_signs_in_place(form: bytes, signer: KeySigner, tmp_path: Path) -> None:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(form)
    assert sign_pdf(path, signer, output=path) is None
    data = path.read_bytes()
    assert data.startswith(form)
    assert len(_signatures(data)) == 1


def test_an_open_source_file_cannot_also_be_the_output_path(
    form: bytes, signer: KeySigner, tmp_path: Path
) -> None:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(form)
    with path.open("rb") as fh, pytest.raises(ValueError, match="same path"):
        sign_pdf(fh, signer, output=path)
    assert path.read_bytes() == form


def test_file_objects_work_as_source_and_output(form: bytes, signer: KeySigner) -> None:
    target = io.BytesIO(b"stale bytes that must go " * 1000)
    assert sign_pdf(io.BytesIO(form), signer, output=target) is None
    assert _signatures(target.getvalue())[0].coverage is Coverage.WHOLE_FILE


def test_a_second_signature_gets_the_next_field_name_and_keeps_the_first(
    form: bytes, signer: KeySigner, officer_signer: KeySigner
) -> None:
    once = sign_pdf(form, signer)
    assert once is not None
    twice = sign_pdf(once, officer_signer)
    assert twice is not None
    first, second = _signatures(twice)
    assert (first.field_name, second.field_name) == ("Signature1", "Signature2")
    assert first.coverage is Coverage.WHOLE_REVISION
    assert second.coverage is Coverage.WHOLE_FILE


def test_field_names_the_new_signature_field(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer, field="NguoiNopDon")
    assert out is not None
    assert _signatures(out)[0].field_name == "NguoiNopDon"


def _with_empty_field(data: bytes, name: str) -> bytes:
    with PDFReader(io.BytesIO(data)) as reader:
        writer = IncrementalWriter(reader)
        page = reader.get_dict(reader.root).get("Pages")
        assert isinstance(page, Ref)
        first_page = reader.get_dict(page)["Kids"]
        assert isinstance(first_page, tuple)
        page_ref = first_page[0]
        assert isinstance(page_ref, Ref)
        field = writer.add(
            PDFDict(
                {
                    "Type": Name("Annot"),
                    "Subtype": Name("Widget"),
                    "FT": Name("Sig"),
                    "T": PDFString.from_text(name),
                    "Rect": (50.0, 50.0, 250.0, 110.0),
                    "P": page_ref,
                    "F": 4,
                }
            )
        )
        writer.update(page_ref, reader.get_dict(page_ref).updated(Annots=(field,)))
        form_ref = writer.add(PDFDict({"Fields": (field,)}))
        writer.update(reader.root_ref, reader.root.updated(AcroForm=form_ref))
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()


def test_an_existing_empty_field_is_filled(form: bytes, signer: KeySigner) -> None:
    prepared = _with_empty_field(form, "ChuKy")
    out = sign_pdf(prepared, signer, field="ChuKy")
    assert out is not None
    (sig,) = _signatures(out)
    with PDFReader(io.BytesIO(out)) as reader:
        assert len(iter_fields(reader)) == 1
    assert sig.field_name == "ChuKy"


def test_a_filled_field_cannot_be_signed_again(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer, field="ChuKy")
    assert out is not None
    with pytest.raises(ValueError, match="not an empty signature field"):
        sign_pdf(out, signer, field="ChuKy")


def test_text_entries_are_written(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer, reason="Nộp hồ sơ", location="Huế", contact_info="0234 3822")
    assert out is not None
    d = _signatures(out)[0].dictionary
    texts = {k: v.text() for k, v in d.items() if isinstance(v, PDFString) and k != "M"}
    assert texts["Reason"] == "Nộp hồ sơ"
    assert texts["Location"] == "Huế"
    assert texts["ContactInfo"] == "0234 3822"


def test_certify_writes_docmdp_permissions(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer, certify=DocMDPPermission.FORM_FILLING)
    assert out is not None
    with PDFReader(io.BytesIO(out)) as reader:
        perms = reader.get_dict(reader.root["Perms"])
        sig = reader.get_dict(perms["DocMDP"])
        (ref,) = sig["Reference"]  # type: ignore[misc]
        params = reader.get_dict(ref)["TransformParams"]  # type: ignore[arg-type]
    assert params["P"] == 2  # type: ignore[index]


def test_only_the_first_signature_can_certify(form: bytes, signer: KeySigner) -> None:
    once = sign_pdf(form, signer)
    assert once is not None
    with pytest.raises(ValueError, match="first signature"):
        sign_pdf(once, signer, certify=DocMDPPermission.NO_CHANGES)


def test_lock_writes_a_fieldmdp_reference(form: bytes, signer: KeySigner) -> None:
    lock = FieldLock(action=LockAction.INCLUDE, fields=("HoTen",))
    out = sign_pdf(form, signer, lock=lock)
    assert out is not None
    (ref,) = _signatures(out)[0].dictionary["Reference"]  # type: ignore[misc]
    assert ref["TransformMethod"] == Name("FieldMDP")  # type: ignore[index]


def test_b_t_without_a_timestamp_source_is_refused(form: bytes, signer: KeySigner) -> None:
    with pytest.raises(ValueError, match="needs a timestamp source"):
        sign_pdf(form, signer, level=PAdESLevel.B_T)


def test_naive_signing_time_is_refused(form: bytes, signer: KeySigner) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_pdf(form, signer, signing_time=dt.datetime(2026, 1, 1))


def test_encrypted_pdfs_are_refused(form: bytes, signer: KeySigner) -> None:
    head, _, tail = form.rpartition(b"trailer")
    hostile = head + b"trailer" + tail.replace(b"<<", b"<</Encrypt 1 0 R", 1)
    with pytest.raises(PDFFormatError, match="encrypted"):
        sign_pdf(hostile, signer)


class _FailingSigner:
    def __init__(self, inner: KeySigner) -> None:
        self._inner = inner
        self.certificate = inner.certificate
        self.chain = inner.chain
        self.algorithms = inner.algorithms

    def sign_digest(self, request: DigestToSign) -> bytes:
        raise SigningError("the user cancelled")

    def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        raise SigningError("the user cancelled")


def test_a_failing_signer_leaves_the_file_untouched(
    form: bytes, signer: KeySigner, tmp_path: Path
) -> None:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(form)
    with pytest.raises(SigningError, match="cancelled"):
        sign_pdf(path, _FailingSigner(signer), output=path)
    assert path.read_bytes() == form


def test_a_failing_signer_leaves_no_new_output_file(
    form: bytes, signer: KeySigner, tmp_path: Path
) -> None:
    target = tmp_path / "signed.pdf"
    with pytest.raises(SigningError):
        sign_pdf(form, _FailingSigner(signer), output=target)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_signer_keeps_an_existing_output_file(
    form: bytes, signer: KeySigner, tmp_path: Path
) -> None:
    target = tmp_path / "signed.pdf"
    target.write_bytes(b"yesterday's signed dossier")
    with pytest.raises(SigningError):
        sign_pdf(form, _FailingSigner(signer), output=target)
    assert target.read_bytes() == b"yesterday's signed dossier"
    assert list(tmp_path.iterdir()) == [target]


class _WrongKeySigner(_FailingSigner):
    def __init__(self, inner: KeySigner) -> None:
        super().__init__(inner)
        self._other = PrivateKey.generate(KeyAlgorithm.EC_P256)

    def sign_digest(self, request: DigestToSign) -> bytes:
        return self._other.sign_digest(
            request.digest, hash_algorithm=request.algorithm.hash_algorithm
        )


def test_a_signature_from_another_key_is_caught(form: bytes, signer: KeySigner) -> None:
    with pytest.raises(SigningError, match="does not verify"):
        sign_pdf(form, _WrongKeySigner(signer))


def test_a_container_larger_than_its_reservation_is_refused(form: bytes) -> None:
    with PDFReader(io.BytesIO(form)) as reader:
        doc = PendingDocument(reader)
        slot = doc.add_slot(SignatureSlot(contents_size=64))
        with pytest.raises(SigningError, match="only 64 were reserved"):
            doc.fill(slot, b"\x30" * 65)
        doc.close()


@pytest.mark.parametrize(
    "algorithm",
    [KeyAlgorithm.RSA_2048, KeyAlgorithm.EC_P384, KeyAlgorithm.ED25519],
    ids=lambda a: a.value,
)
def test_the_estimate_holds_the_container_for_each_key_type(
    form: bytes, huesign_pki: DevelopmentCA, citizen: IssuedCertificate, algorithm: KeyAlgorithm
) -> None:
    key = PrivateKey.generate(algorithm)
    cert = huesign_pki.certify(
        key.public_key,
        CitizenIdentity(common_name="Lê Thị Hoa", identifiers=(Identifier.cccd("046190004321"),)),
    )
    signer = KeySigner(key=key, certificate=cert, chain=citizen.chain)
    out = sign_pdf(form, signer, timestamp=huesign_pki, level=PAdESLevel.B_T)
    assert out is not None
    sig = _signatures(out)[0]
    assert sig.contents is not None
    used = len(trim_der(sig.contents))
    estimate = estimate_signature_size(
        certificate=cert,
        certificates=(cert, citizen.chain[0]),
        algorithm=signer.algorithms[0],
        timestamp_size=len(huesign_pki.timestamp(bytes(32))),
    )
    assert used <= estimate < used + 2048


def test_sign_pdf_async_works_with_a_wrapped_key_signer(form: bytes, signer: KeySigner) -> None:
    out = asyncio.run(sign_pdf_async(form, as_async_signer(signer), signing_time=WHEN))
    assert out is not None
    (sig,) = _signatures(out)
    assert sig.coverage is Coverage.WHOLE_FILE
    assert sig.byte_range is not None


def test_sign_pdf_async_accepts_an_async_timestamp_source(
    form: bytes, signer: KeySigner, huesign_pki: DevelopmentCA
) -> None:
    class AsyncTSA:
        async def timestamp(self, imprint: bytes, **kwargs: object) -> bytes:
            return huesign_pki.timestamp(imprint)

    out = asyncio.run(
        sign_pdf_async(form, as_async_signer(signer), level=PAdESLevel.B_T, timestamp=AsyncTSA())
    )
    assert out is not None
    unsigned = _signer_info(_signatures(out)[0])["unsigned_attrs"]
    assert [a["type"].dotted for a in unsigned] == ["1.2.840.113549.1.9.16.2.14"]


def test_the_choice_of_algorithm_is_used(form: bytes, signer: KeySigner) -> None:
    out = sign_pdf(form, signer, algorithm=SignatureAlgorithm.ECDSA_SHA384)
    assert out is not None
    info = _signer_info(_signatures(out)[0])
    assert info["digest_algorithm"]["algorithm"].native == "sha384"


def test_an_unsupported_algorithm_is_refused(form: bytes, signer: KeySigner) -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        sign_pdf(form, signer, algorithm=SignatureAlgorithm.RSA_PSS_SHA256)


def test_a_visible_stamp_becomes_the_widget_appearance(form: bytes, signer: KeySigner) -> None:
    stamp = StampAppearance(
        placement=RectPlacement(page=0, rect=(300, 60, 560, 150)),
        content=StampContent(),
    )
    out = sign_pdf(form, signer, appearance=stamp, signing_time=WHEN)
    assert out is not None
    (sig,) = _signatures(out)
    with PDFReader(io.BytesIO(out)) as reader:
        widget = reader.get_dict(sig.field_ref)
        normal = reader.get_dict(widget["AP"])["N"]  # type: ignore[arg-type]
        assert reader.get_dict(normal)["Subtype"] == Name("Form")
    assert widget["Rect"] == (300.0, 60.0, 560.0, 150.0)
    assert sig.coverage is Coverage.WHOLE_FILE


def test_a_stamp_placed_in_an_existing_field_becomes_its_appearance(
    form: bytes, signer: KeySigner
) -> None:
    prepared = _with_empty_field(form, "ChuKy")
    stamp = StampAppearance(placement=FieldPlacement(name="ChuKy"))
    out = sign_pdf(prepared, signer, appearance=stamp)
    assert out is not None
    (sig,) = _signatures(out)
    assert sig.field_name == "ChuKy"
    with PDFReader(io.BytesIO(out)) as reader:
        widget = reader.get_dict(sig.field_ref)
        normal = reader.get_dict(widget["AP"])["N"]  # type: ignore[arg-type]
        assert reader.get_dict(normal)["BBox"] == (0, 0, 200, 60)


def test_a_large_file_is_signed_with_bounded_memory(signer: KeySigner, tmp_path: Path) -> None:
    source = tmp_path / "large.pdf"
    base = _pdf()
    at = base.rindex(b"\nxref\n") + 1
    # A 24 MiB comment block just before the cross-reference table keeps every object
    # offset and makes the file large; only startxref moves.
    pad = (b"%" + b"0" * 1022 + b"\n") * (24 * 1024)
    tail = base[at:].rsplit(b"startxref", 1)[0]
    source.write_bytes(base[:at] + pad + tail + b"startxref\n%d\n%%%%EOF\n" % (at + len(pad)))
    tracemalloc.start()
    try:
        sign_pdf(source, signer, output=tmp_path / "signed.pdf")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    signed = (tmp_path / "signed.pdf").read_bytes()
    assert _signatures(signed)[0].coverage is Coverage.WHOLE_FILE


@settings(max_examples=25, deadline=None)
@given(
    reason=st.text(min_size=1, max_size=60).filter(lambda t: "\x00" not in t),
    location=st.sampled_from(["Huế", "Phường Thuận Hóa", "Đà Nẵng", "Hà Nội"]),
)
def test_any_reason_text_round_trips_and_the_signature_covers_the_file(
    form: bytes, signer: KeySigner, reason: str, location: str
) -> None:
    out = sign_pdf(form, signer, reason=reason, location=location)
    assert out is not None
    (sig,) = _signatures(out)
    assert sig.coverage is Coverage.WHOLE_FILE
    value = sig.dictionary["Reason"]
    assert isinstance(value, PDFString)
    assert value.text() == reason


@settings(max_examples=25, deadline=None)
@given(
    order=st.lists(st.sampled_from(["citizen", "officer"]), min_size=1, max_size=4),
    timestamped=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_every_signature_of_a_sequence_keeps_its_digest(
    form: bytes,
    signer: KeySigner,
    officer_signer: KeySigner,
    huesign_pki: DevelopmentCA,
    order: list[str],
    timestamped: list[bool],
) -> None:
    signers = {"citizen": signer, "officer": officer_signer}
    data = form
    for who, stamp in zip(order, timestamped, strict=False):
        level = PAdESLevel.B_T if stamp else PAdESLevel.B_B
        out = sign_pdf(data, signers[who], level=level, timestamp=huesign_pki)
        assert out is not None
        assert out.startswith(data)
        data = out
    found = _signatures(data)
    assert len(found) == len(order)
    assert found[-1].coverage is Coverage.WHOLE_FILE
    for sig in found:
        assert sig.byte_range is not None
        digest = {
            a["type"].dotted: a["values"][0].native for a in _signer_info(sig)["signed_attrs"]
        }
        assert digest["1.2.840.113549.1.9.4"] == _digest_of_ranges(data, sig.byte_range)
