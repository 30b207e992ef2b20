"""Hypothesis strategies for PDF documents: plain, PAdES-signed and tampered after signing.

Documents are small (a few pages of text, optional empty text fields) and made in memory with
fpdf2 and huesign's PDF engine.  Signed documents are signed with
:func:`huesign.pki.pades.sign_pdf` by a certificate from
:func:`~huesign.testing.strategies.certificate_chains`, and carry what
:func:`huesign.pki.verify_pdf` needs to judge them offline.  Tampered documents are labelled
with the attack class and the verdict a verifier must give.

Import these from :mod:`huesign.testing.strategies`.
"""

from __future__ import annotations

import binascii
import datetime as dt
import enum
import io
import os
import re
import tempfile
from collections.abc import Sequence

import attrs
from asn1crypto import cms as asn1_cms
from fpdf import FPDF
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from huesign.pki.fonts import FontWeight, font_bytes
from huesign.pki.indications import Indication, SubIndication
from huesign.pki.pades import sign_pdf
from huesign.pki.pdffields import page_refs
from huesign.pki.pdfobjects import Name, PDFDict, PDFStream, PDFString, Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfwriter import IncrementalWriter
from huesign.pki.profiles import CertificateProfile
from huesign.pki.signers import KeySigner
from huesign.testing.pki_strategies import CertificateChain, certificate_chains

__all__ = [
    "PDFAttack",
    "SignedPDF",
    "TamperedPDF",
    "pdf_documents",
    "signed_pdfs",
    "tampered_pdfs",
]

_MAX_PAGES = 8
_MAX_FIELDS = 4
_FIXED_DATE = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
_BYTE_RANGE = re.compile(rb"/ByteRange ?\[ *(\d+) +(\d+) +(\d+) +(\d+) *\]")
_STREAM = re.compile(rb"stream\r?\n")
_LINES_ASCII = (
    "To khai dang ky khai sinh",
    "Ho va ten: Nguyen Thi Huong Giang",
    "So CCCD: 046190001234",
    "Noi cu tru: phuong Thuan Hoa, thanh pho Hue",
    "Le phi: 8.000 dong",
    "Kinh gui: UBND phuong Phu Xuan",
)
_LINES_VIETNAMESE = (
    "Tờ khai đăng ký khai sinh",
    "Họ và tên: Nguyễn Thị Hương Giang",
    "Số CCCD: 046190001234",
    "Nơi cư trú: phường Thuận Hóa, thành phố Huế",
    "Lệ phí: 8.000 đồng",
    "Kính gửi: UBND phường Phú Xuân",
)
_FIELD_NAMES = ("HoTen", "SoCCCD", "DiaChi", "SoDienThoai", "NgaySinh", "GhiChu")


class PDFAttack(enum.Enum):
    """How a :class:`TamperedPDF` was changed after it was signed."""

    #: Content appended after the signed revision without a cross-reference section
    #: (an incremental saving attack that the signature does not cover).
    CONTENT_APPENDED = "content_appended"
    #: An incremental update that replaces the signed page's content stream (shadow attack).
    PAGE_CONTENT_SHADOWED = "page_content_shadowed"
    #: One byte inside the signed byte range changed (in a stream's data).
    SIGNED_BYTE_FLIPPED = "signed_byte_flipped"
    #: One hex digit of the signature value inside ``/Contents`` changed.
    SIGNATURE_CONTENTS_ALTERED = "signature_contents_altered"

    @property
    def verdict(self) -> tuple[Indication, SubIndication]:
        """The indication and sub-indication a verifier must give for this attack."""
        return _VERDICTS[self]


_VERDICTS = {
    PDFAttack.CONTENT_APPENDED: (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE),
    PDFAttack.PAGE_CONTENT_SHADOWED: (
        Indication.TOTAL_FAILED,
        SubIndication.SIG_CONSTRAINTS_FAILURE,
    ),
    PDFAttack.SIGNED_BYTE_FLIPPED: (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE),
    PDFAttack.SIGNATURE_CONTENTS_ALTERED: (
        Indication.TOTAL_FAILED,
        SubIndication.SIG_CRYPTO_FAILURE,
    ),
}


@attrs.frozen(kw_only=True, repr=False)
class SignedPDF:
    """A PDF with one valid PAdES B-B signature and what is needed to verify it offline.

    Attributes:
        data: the signed file's bytes.
        chain: the signer's certificate, trust store, validation time and revocation data.
    """

    data: bytes
    chain: CertificateChain

    def __repr__(self) -> str:
        return f"<SignedPDF {len(self.data)} bytes signed by {self.chain.issued!r}>"


@attrs.frozen(kw_only=True, repr=False)
class TamperedPDF:
    """A signed PDF changed after signing, labelled with the attack and the verdict.

    ``verify_pdf(data, trust=chain.trust, at=chain.at,
    revocation=chain.revocation_source())`` must report the (first) signature with
    ``expected_indication`` and ``expected_sub_indication``.

    Attributes:
        data: the changed file's bytes.
        chain: the original signer's certificate, trust, validation time and revocation data.
        attack: what was changed.
        expected_indication: the main verdict.
        expected_sub_indication: why it does not pass.
    """

    data: bytes
    chain: CertificateChain
    attack: PDFAttack
    expected_indication: Indication
    expected_sub_indication: SubIndication

    def __repr__(self) -> str:
        return f"<TamperedPDF {self.attack.value} -> {self.expected_sub_indication.value}>"


# --- plain documents -----------------------------------------------------------------------


def pdf_documents(
    *,
    min_pages: int = 1,
    max_pages: int = 3,
    max_fields: int = 0,
    vietnamese_text: bool = False,
) -> st.SearchStrategy[bytes]:
    """Small valid PDFs: ``min_pages``..``max_pages`` pages of form text (at most 8).

    With ``max_fields`` > 0, up to that many empty text fields (an AcroForm, as a form to
    fill) are added on page 1 in an incremental update.  ``vietnamese_text`` writes the text
    with diacritics in the shipped Noto Sans font (embedded, slower) instead of plain ASCII
    in Helvetica.
    """
    if not isinstance(min_pages, int) or not isinstance(max_pages, int):
        raise InvalidArgument("min_pages and max_pages must be ints")
    if not 1 <= min_pages <= max_pages <= _MAX_PAGES:
        raise InvalidArgument(
            f"need 1 <= min_pages ({min_pages}) <= max_pages ({max_pages}) <= {_MAX_PAGES}"
        )
    if not isinstance(max_fields, int) or not 0 <= max_fields <= _MAX_FIELDS:
        raise InvalidArgument(f"max_fields={max_fields!r} must be an int in 0..{_MAX_FIELDS}")
    lines = _LINES_VIETNAMESE if vietnamese_text else _LINES_ASCII
    pages = st.lists(
        st.lists(st.sampled_from(lines), min_size=1, max_size=4),
        min_size=min_pages,
        max_size=max_pages,
    )
    fields = st.lists(st.sampled_from(_FIELD_NAMES), max_size=max_fields, unique=True).map(tuple)
    return st.builds(_make_pdf, pages, fields, st.just(vietnamese_text))


def _make_pdf(pages: list[list[str]], fields: tuple[str, ...], unicode_font: bool) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_producer("huesign.testing")
    if unicode_font:
        with tempfile.TemporaryDirectory(prefix="huesign-font-") as folder:
            path = os.path.join(folder, "NotoSans-Regular.ttf")
            with open(path, "wb") as fh:
                fh.write(font_bytes(FontWeight.REGULAR))
            pdf.add_font("NotoSans", fname=path)
        pdf.set_font("NotoSans", size=12)
    else:
        pdf.set_font("helvetica", size=12)
    for number, page in enumerate(pages, 1):
        pdf.add_page()
        for line in page:
            pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
        pdf.cell(text=f"- {number} -", new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    return _with_fields(data, fields) if fields else data


def _with_fields(data: bytes, names: tuple[str, ...]) -> bytes:
    out = io.BytesIO()
    with PDFReader(io.BytesIO(data)) as reader:
        writer = IncrementalWriter(reader)
        page = page_refs(reader)[0]
        widgets: list[Ref] = []
        for n, name in enumerate(names):
            top = 700 - 30 * n
            widgets.append(
                writer.add(
                    PDFDict(
                        {
                            "Type": Name("Annot"),
                            "Subtype": Name("Widget"),
                            "FT": Name("Tx"),
                            "T": PDFString.from_text(name),
                            "Rect": (50, top, 250, top + 20),
                            "F": 4,
                            "P": page,
                        }
                    )
                )
            )
        fields = tuple(widgets)
        writer.update(page, reader.get_dict(page).updated(Annots=fields))
        form = writer.add(PDFDict({"Fields": fields}))
        writer.update(reader.root_ref, reader.root.updated(AcroForm=form))
        writer.write(out)
    return out.getvalue()


# --- signed and tampered documents -----------------------------------------------------------


def signed_pdfs(
    *,
    documents: st.SearchStrategy[bytes] | None = None,
    profile: CertificateProfile = CertificateProfile.CITIZEN,
) -> st.SearchStrategy[SignedPDF]:
    """PDFs with one valid, invisible PAdES B-B signature.

    ``documents`` draws the PDFs to sign (default: :func:`pdf_documents`); the signer comes
    from :func:`~huesign.testing.strategies.certificate_chains` with ``profile``.
    """
    source = documents if documents is not None else pdf_documents()
    if not isinstance(source, st.SearchStrategy):
        raise InvalidArgument("documents must be a SearchStrategy of PDF bytes or None")
    if not isinstance(profile, CertificateProfile) or not profile.is_end_entity:
        raise InvalidArgument(f"profile={profile!r} must be an end-entity CertificateProfile")
    return _signed(source, profile)


@st.composite
def _signed(
    draw: st.DrawFn, source: st.SearchStrategy[bytes], profile: CertificateProfile
) -> SignedPDF:
    document = draw(source)
    chain = draw(certificate_chains(profile=profile))
    issued = chain.issued
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    signed = sign_pdf(document, signer, signing_time=chain.at)
    if signed is None:  # pragma: no cover - sign_pdf returns bytes when output is None
        raise AssertionError("sign_pdf returned nothing")
    return SignedPDF(data=signed, chain=chain)


def tampered_pdfs(
    *,
    attacks: Sequence[PDFAttack] = tuple(PDFAttack),
    documents: st.SearchStrategy[bytes] | None = None,
) -> st.SearchStrategy[TamperedPDF]:
    """Signed PDFs changed after signing by one of ``attacks``, labelled with the verdict.

    Starts from :func:`signed_pdfs` values (of ``documents``, default
    :func:`pdf_documents`).
    """
    chosen = tuple(attacks)
    if not chosen or not all(isinstance(a, PDFAttack) for a in chosen):
        raise InvalidArgument("attacks must be a non-empty sequence of PDFAttack members")
    return _tampered(chosen, signed_pdfs(documents=documents))


@st.composite
def _tampered(
    draw: st.DrawFn, attacks: tuple[PDFAttack, ...], signed: st.SearchStrategy[SignedPDF]
) -> TamperedPDF:
    attack = draw(st.sampled_from(attacks))
    original = draw(signed)
    data = original.data
    if attack is PDFAttack.CONTENT_APPENDED:
        text = draw(st.sampled_from(("DA THANH TOAN", "DA DUYET", "HUY")))
        body = f"BT /F1 36 Tf 100 400 Td ({text}) Tj ET".encode("ascii")
        data += b"\n99 0 obj\n<</Length %d>>stream\n%s\nendstream\nendobj\n" % (len(body), body)
    elif attack is PDFAttack.PAGE_CONTENT_SHADOWED:
        data = _shadow_page(data, draw(st.sampled_from(("1 VND", "0 dong", "DA NOP"))))
    elif attack is PDFAttack.SIGNED_BYTE_FLIPPED:
        data = _flip_in_stream(data, draw(st.integers(0, 999)), draw(st.integers(1, 255)))
    else:
        data = _alter_signature_value(data, draw(st.integers(1, 15)))
    indication, sub = attack.verdict
    return TamperedPDF(
        data=data,
        chain=original.chain,
        attack=attack,
        expected_indication=indication,
        expected_sub_indication=sub,
    )


def _shadow_page(data: bytes, text: str) -> bytes:
    """Replace page 1's content with new text in an incremental update."""
    content = f"BT /F1 12 Tf 10 780 Td (So tien phai nop: {text}) Tj ET".encode("ascii")
    out = io.BytesIO()
    with PDFReader(io.BytesIO(data)) as reader:
        writer = IncrementalWriter(reader)
        page = page_refs(reader)[0]
        stream = writer.add(PDFStream(PDFDict({"Length": len(content)}), content))
        writer.update(page, reader.get_dict(page).updated(Contents=stream))
        writer.write(out)
    return out.getvalue()


def _signed_range(data: bytes) -> tuple[int, int, int, int]:
    match = list(_BYTE_RANGE.finditer(data))[-1]
    a, b, c, d = (int(g) for g in match.groups())
    return a, b, c, d


def _flip_in_stream(data: bytes, fraction: int, mask: int) -> bytes:
    """Flip a byte inside the data of the first stream of the signed range."""
    _, first_end, _, _ = _signed_range(data)
    opening = _STREAM.search(data, 0, first_end)
    if opening is None:  # pragma: no cover - every fpdf2 page has a content stream
        raise AssertionError("no stream in the signed bytes")
    start = opening.end()
    end = data.index(b"endstream", start)
    length = max(1, end - start - 2)
    at = start + fraction * (length - 1) // 999
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1 :]


def _alter_signature_value(data: bytes, delta: int) -> bytes:
    """Change one hex digit of the signature value inside ``/Contents``."""
    _, first_end, second_start, _ = _signed_range(data)
    hex_start = first_end + 1  # after '<'
    hex_text = data[hex_start : second_start - 1]
    der = binascii.unhexlify(hex_text)
    info = asn1_cms.ContentInfo.load(der, strict=False)
    value = info["content"]["signer_infos"][0]["signature"].native
    offset = der.index(value) + len(value) - 1  # the last byte lies inside every encoding
    digit = hex_start + 2 * offset + 1
    old = int(data[digit : digit + 1], 16)
    new = b"%X" % ((old + delta) % 16)
    if data[digit : digit + 1].islower():
        new = new.lower()
    return data[:digit] + new + data[digit + 1 :]
