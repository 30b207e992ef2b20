"""Small builders shared by the forms tests."""

from __future__ import annotations

import datetime as dt
import hashlib

from huesign.forms import (
    Attachment,
    Field,
    Procedure,
    ProcedureLevel,
    ProcessingTime,
    Submission,
    builtin_catalogue,
)


def tiny_procedure(*fields: Field) -> Procedure:
    """A communal procedure (code ``9.000001``) that asks for ``fields`` and nothing else."""
    return Procedure(
        code="9.000001",
        version="1",
        name_vi="Thử",
        domain="Thử",
        level=ProcedureLevel.COMMUNAL,
        agency="UBND",
        processing_time=ProcessingTime(days=1),
        fields=fields,
    )


TODAY = dt.date(2026, 3, 1)
HUE_ADDRESS = {"province_code": "46", "ward_code": "46004", "street": "12 Lê Lợi"}
CERTIFICATE_BYTES = b"%PDF-1.4 giay chung sinh (birth certificate scan)"


def birth_values() -> dict[str, object]:
    """A valid birth registration, as an applicant types it."""
    return {
        "applicant": {
            "full_name": "Nguyễn Văn An",
            "birth_date": "15/04/1990",
            "cccd": "046090000123",
            "phone": "0905 123 456",
            "address": HUE_ADDRESS,
        },
        "applicant_relation": "father",
        "child": {
            "full_name": "Nguyễn Ngọc Hân",
            "birth_date": "2026-02-20",
            "sex": "female",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "place_of_birth": "Bệnh viện Trung ương Huế",
        },
        "mother": {
            "full_name": "Trần Thị Mai",
            "birth_date": "1992-08-01",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "residence": HUE_ADDRESS,
        },
        "father_known": False,
        "late_registration": False,
        "birth_certificate": "att-1",
        "commitment": True,
    }


def birth_attachment() -> Attachment:
    """The birth certificate scan's metadata (matching :data:`CERTIFICATE_BYTES`)."""
    return Attachment(
        id="att-1",
        document_type="birth_certificate",
        file_name="giấy chứng sinh.pdf",
        media_type="application/pdf",
        size=len(CERTIFICATE_BYTES),
        sha256=hashlib.sha256(CERTIFICATE_BYTES).hexdigest(),
    )


def birth_procedure() -> Procedure:
    """The built-in birth registration procedure."""
    return builtin_catalogue()["1.001193"]


def birth_submission() -> Submission:
    """A valid (raw) birth registration submission."""
    return Submission.for_procedure(
        birth_procedure(), birth_values(), attachments=[birth_attachment()]
    )
