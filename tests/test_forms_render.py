"""Rendering a submission: Vietnamese text, the embedded data, reserved signature fields.

pdftotext, pdftoppm and qpdf judge the output; each test skips when its program is missing,
and fails instead when ``HUESIGN_REQUIRE_JUDGES=1``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
import unicodedata
from pathlib import Path

import attrs
import pytest

from formhelpers import (
    TODAY,
    birth_attachment,
    birth_procedure,
    birth_submission,
    birth_values,
)
from huesign.errors import FormValidationError
from huesign.forms import (
    GroupField,
    Procedure,
    ProcedureLevel,
    ProcessingTime,
    Submission,
    TextField,
)
from huesign.forms.render import (
    CITIZEN_SIGNATURE_FIELD,
    OFFICER_SIGNATURE_FIELD,
    SUBMISSION_FILE_NAME,
    render_submission,
)
from huesign.pki.pdffields import iter_fields
from huesign.pki.pdfobjects import Name, PDFDict, PDFStream, PDFString
from huesign.pki.pdfreader import PDFReader
from judges import require_program


@pytest.fixture(scope="module")
def rendered_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rendered = render_submission(birth_submission(), birth_procedure(), today=TODAY)
    path = tmp_path_factory.mktemp("render") / "birth.pdf"
    path.write_bytes(rendered.pdf)
    return path


def _text(path: Path) -> str:
    result = subprocess.run(
        [require_program("pdftotext"), "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
    )
    return result.stdout.decode("utf-8")


def test_vietnamese_text_comes_back_exactly_in_nfc(rendered_pdf: Path) -> None:
    text = _text(rendered_pdf)
    assert unicodedata.normalize("NFC", text) == text
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "ĐĂNG KÝ KHAI SINH",
        "Nguyễn Ngọc Hân",
        "Bệnh viện Trung ương Huế",
        "Trần Thị Mai",
        "12 Lê Lợi",
    ):
        assert expected in text


def test_procedure_code_version_and_data_fingerprint_are_printed(rendered_pdf: Path) -> None:
    text = _text(rendered_pdf)
    normalised = birth_submission().validate(birth_procedure(), today=TODAY)
    assert "1.001193" in text
    assert "2025.1" in text
    assert normalised.sha256() in text


def test_values_are_shown_as_people_read_them(rendered_pdf: Path) -> None:
    text = _text(rendered_pdf)
    assert "20/02/2026" in text  # ISO dates printed day first
    assert "Nữ" in text  # the option's label, not its value
    assert "Phường Thuận Hóa" in text  # the ward's name from the units table
    assert "giấy chứng sinh.pdf" in text  # the attachment list


def _gray_page(path: Path, tmp_path: Path) -> tuple[int, int, bytes]:
    out = tmp_path / "page"
    pdftoppm = require_program("pdftoppm")
    subprocess.run(
        [pdftoppm, "-r", "40", "-gray", "-f", "1", "-l", "1", str(path), str(out)],
        check=True,
        capture_output=True,
    )
    (image,) = tmp_path.glob("page*.pgm")
    data = image.read_bytes()
    magic, width, height, maxval, pixels = data.split(maxsplit=4)
    assert magic == b"P5"
    assert maxval == b"255"
    return int(width), int(height), pixels


def test_page_one_renders_as_a4_with_ink_in_the_header_band(
    rendered_pdf: Path, tmp_path: Path
) -> None:
    width, height, pixels = _gray_page(rendered_pdf, tmp_path)
    assert (width, height) == (331, 468)  # A4 at 40 dpi
    band = pixels[: width * height // 10]
    below_band = pixels[width * height * 85 // 100 :]
    assert sum(1 for p in band if p < 128) > 200
    assert min(below_band) > 128  # the foot of the page is blank


def test_qpdf_finds_no_structural_errors(rendered_pdf: Path) -> None:
    result = subprocess.run(
        [require_program("qpdf"), "--check", str(rendered_pdf)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors" in result.stdout


def test_qpdf_extracts_the_canonical_json_exactly(rendered_pdf: Path) -> None:
    result = subprocess.run(
        [require_program("qpdf"), f"--show-attachment={SUBMISSION_FILE_NAME}", str(rendered_pdf)],
        capture_output=True,
        check=True,
    )
    expected = birth_submission().validate(birth_procedure(), today=TODAY).canonical_json()
    assert result.stdout == expected


def _embedded_filespec(pdf: bytes) -> PDFDict:
    with PDFReader(io.BytesIO(pdf)) as reader:
        names = reader.get_dict(reader.root.get("Names"))
        tree = reader.get_dict(names.get("EmbeddedFiles"))
        pairs = reader.resolve(tree.get("Names"))
        assert isinstance(pairs, tuple)
        assert pairs[0] == PDFString.from_text(SUBMISSION_FILE_NAME)
        spec = reader.get_dict(pairs[1])
        stream = reader.resolve(reader.get_dict(spec["EF"])["F"])
        assert isinstance(stream, PDFStream)
        return spec.updated(Data=PDFString(reader.stream_data(stream)))


def test_the_data_is_embedded_as_associated_data() -> None:
    rendered = render_submission(birth_submission(), birth_procedure(), today=TODAY)
    spec = _embedded_filespec(rendered.pdf)
    assert spec["AFRelationship"] == Name("Data")
    data = spec["Data"]
    assert isinstance(data, PDFString)
    assert data.data == rendered.data
    assert hashlib.sha256(rendered.data).hexdigest() == rendered.sha256


def test_the_same_submission_renders_to_the_same_bytes() -> None:
    first = render_submission(birth_submission(), birth_procedure(), today=TODAY)
    second = render_submission(birth_submission(), birth_procedure(), today=TODAY)
    assert first.pdf == second.pdf


def test_a_different_value_renders_to_different_bytes() -> None:
    values = birth_values()
    values["child"]["full_name"] = "Nguyễn Ngọc Hà"  # type: ignore[index]
    other = Submission.for_procedure(birth_procedure(), values, attachments=[birth_attachment()])
    first = render_submission(birth_submission(), birth_procedure(), today=TODAY)
    second = render_submission(other, birth_procedure(), today=TODAY)
    assert first.pdf != second.pdf
    assert first.sha256 != second.sha256


def test_a_creation_date_is_written_when_given() -> None:
    when = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    rendered = render_submission(birth_submission(), birth_procedure(), today=TODAY, created=when)
    assert b"D:20260301093000Z" in rendered.pdf


def _signature_fields(pdf: bytes) -> dict[str, object]:
    with PDFReader(io.BytesIO(pdf)) as reader:
        return {f.name: f.value for f in iter_fields(reader) if f.field_type == "Sig"}


def test_an_empty_citizen_signature_field_is_reserved() -> None:
    rendered = render_submission(birth_submission(), birth_procedure(), today=TODAY)
    assert _signature_fields(rendered.pdf) == {CITIZEN_SIGNATURE_FIELD: None}
    box = rendered.box(CITIZEN_SIGNATURE_FIELD)
    assert box is not None
    x1, y1, x2, y2 = box.rect
    assert 0 < x1 < x2 <= 595.3
    assert 0 < y1 < y2 <= 841.9


def test_an_officer_field_is_reserved_when_the_procedure_asks() -> None:
    procedure = attrs.evolve(birth_procedure(), officer_signature=True)
    rendered = render_submission(birth_submission(), procedure, today=TODAY)
    assert _signature_fields(rendered.pdf) == {
        CITIZEN_SIGNATURE_FIELD: None,
        OFFICER_SIGNATURE_FIELD: None,
    }
    assert rendered.box(OFFICER_SIGNATURE_FIELD) is not None


def test_an_invalid_submission_is_not_rendered() -> None:
    values = birth_values()
    del values["child"]
    broken = Submission.for_procedure(birth_procedure(), values, attachments=[birth_attachment()])
    with pytest.raises(FormValidationError) as caught:
        render_submission(broken, birth_procedure(), today=TODAY)
    assert [e.path for e in caught.value.errors] == ["child"]


def test_a_naive_creation_date_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        render_submission(
            birth_submission(), birth_procedure(), today=TODAY, created=dt.datetime(2026, 1, 1)
        )


def test_repeating_group_items_are_rendered_one_by_one(tmp_path: Path) -> None:
    procedure = Procedure(
        code="9.000002",
        version="1",
        name_vi="Đăng ký tạm trú",
        domain="Cư trú",
        level=ProcedureLevel.COMMUNAL,
        agency="Công an phường",
        processing_time=ProcessingTime(days=3),
        fields=(
            GroupField(
                name="members",
                label_vi="Thành viên hộ gia đình",
                repeat=True,
                fields=(TextField(name="full_name", label_vi="Họ và tên", required=True),),
            ),
        ),
    )
    submission = Submission.for_procedure(
        procedure,
        {"members": [{"full_name": "Lê Thị Thu"}, {"full_name": "Phạm Quốc Bảo"}]},
    )
    path = tmp_path / "members.pdf"
    path.write_bytes(render_submission(submission, procedure, today=TODAY).pdf)
    text = _text(path)
    assert "Thành viên hộ gia đình — 1/2" in text
    assert "Thành viên hộ gia đình — 2/2" in text
    assert text.index("Lê Thị Thu") < text.index("Phạm Quốc Bảo")
