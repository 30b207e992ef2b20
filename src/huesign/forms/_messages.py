"""Bilingual messages for field error codes.

Every code a validation can report is a key of :data:`MESSAGES`; the templates take keyword
parameters with ``str.format``.  Messages never quote the rejected value, which may be personal
data (a CCCD, a phone number).
"""

from __future__ import annotations

from huesign.errors import FieldError

__all__ = ["MESSAGES", "field_error"]

#: code -> (Vietnamese template, English template).
MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("Trường này là bắt buộc.", "This field is required."),
    "unknown_field": ("Trường này không có trong biểu mẫu.", "This field is not in the form."),
    "wrong_type": ("Giá trị không đúng kiểu (cần {expected}).", "Expected {expected}."),
    "too_short": ("Cần ít nhất {limit} ký tự.", "Enter at least {limit} characters."),
    "too_long": ("Không được quá {limit} ký tự.", "Enter at most {limit} characters."),
    "pattern_mismatch": ("Giá trị không đúng định dạng.", "The value has the wrong format."),
    "below_minimum": ("Giá trị phải từ {limit} trở lên.", "The value must be at least {limit}."),
    "above_maximum": ("Giá trị không được vượt quá {limit}.", "The value must be at most {limit}."),
    "invalid_date": (
        "Ngày không hợp lệ (YYYY-MM-DD hoặc DD/MM/YYYY).",
        "Not a valid date (YYYY-MM-DD or DD/MM/YYYY).",
    ),
    "date_too_early": ("Ngày không được trước {limit}.", "The date must not be before {limit}."),
    "date_too_late": ("Ngày không được sau {limit}.", "The date must not be after {limit}."),
    "date_in_future": ("Ngày không được ở tương lai.", "The date must not be in the future."),
    "too_young": ("Phải đủ {limit} tuổi trở lên.", "Must be at least {limit} years old."),
    "too_old": ("Không được quá {limit} tuổi.", "Must be at most {limit} years old."),
    "invalid_choice": ("Lựa chọn không hợp lệ.", "Not one of the allowed options."),
    "duplicate_choice": ("Một lựa chọn bị lặp lại.", "An option is chosen twice."),
    "too_few_choices": ("Chọn ít nhất {limit} mục.", "Choose at least {limit} options."),
    "too_many_choices": ("Chọn tối đa {limit} mục.", "Choose at most {limit} options."),
    "must_be_true": ("Bạn cần xác nhận mục này.", "This must be confirmed."),
    "invalid_email": ("Địa chỉ thư điện tử không hợp lệ.", "Not a valid e-mail address."),
    "invalid_phone": ("Số điện thoại không hợp lệ.", "Not a valid Vietnamese phone number."),
    "not_mobile": ("Cần số điện thoại di động.", "A mobile number is required."),
    "not_landline": ("Cần số điện thoại cố định.", "A landline number is required."),
    "invalid_cccd": ("Số CCCD phải gồm 12 chữ số.", "A CCCD number has 12 digits."),
    "unknown_province": ("Mã tỉnh không tồn tại.", "No province has this code."),
    "invalid_birth_year": (
        "Năm sinh trong số định danh không hợp lệ.",
        "The birth year encoded in the number is not possible.",
    ),
    "invalid_cmnd": ("Số CMND phải gồm 9 hoặc 12 chữ số.", "A CMND number has 9 or 12 digits."),
    "invalid_passport": ("Số hộ chiếu không hợp lệ.", "Not a valid passport number."),
    "invalid_tax_code": (
        "Mã số thuế không hợp lệ (sai định dạng hoặc chữ số kiểm tra).",
        "Not a valid tax code (format or check digit).",
    ),
    "tax_code_form_not_allowed": (
        "Dạng mã số thuế này không được chấp nhận ở đây.",
        "This form of tax code is not accepted here.",
    ),
    "unknown_ward": ("Mã xã/phường không tồn tại.", "No commune or ward has this code."),
    "ward_not_in_province": (
        "Xã/phường không thuộc tỉnh/thành phố đã chọn.",
        "The commune or ward is not in the chosen province.",
    ),
    "province_not_allowed": (
        "Tỉnh/thành phố này không được chấp nhận ở đây.",
        "This province is not accepted here.",
    ),
    "legacy_address_not_allowed": (
        "Cần địa chỉ theo đơn vị hành chính mới (tỉnh, xã/phường).",
        "Use an address under the current units (province, commune or ward).",
    ),
    "unknown_legacy_province": (
        "Không tìm thấy tỉnh/thành phố cũ này.",
        "No former province has this name or code.",
    ),
    "unknown_attachment": ("Không tìm thấy tệp đính kèm.", "No attachment has this id."),
    "wrong_document_type": (
        "Tệp đính kèm không đúng loại giấy tờ ({expected}).",
        "The attachment is not a {expected} document.",
    ),
    "media_type_not_allowed": (
        "Định dạng tệp không được chấp nhận.",
        "This file type is not accepted.",
    ),
    "file_too_large": ("Tệp vượt quá {limit} byte.", "The file is larger than {limit} bytes."),
    "too_few_items": ("Cần ít nhất {limit} mục.", "Add at least {limit} entries."),
    "too_many_items": ("Không được quá {limit} mục.", "Add at most {limit} entries."),
    "missing_document": (
        "Thiếu giấy tờ bắt buộc: {expected}.",
        "A required document is missing: {expected}.",
    ),
    "wrong_procedure": (
        "Hồ sơ không thuộc thủ tục này.",
        "The submission is for another procedure.",
    ),
}


#: Vietnamese for the ``expected`` words of ``wrong_type``.
_EXPECTED_VI = {
    "text": "văn bản",
    "a whole number": "số nguyên",
    "an amount in VND": "số tiền (đồng)",
    "one of the options": "một lựa chọn",
    "a list of options": "danh sách lựa chọn",
    "true or false": "đúng hoặc sai",
    "an address": "địa chỉ",
    "an attachment id": "mã tệp đính kèm",
    "an object": "nhóm thông tin",
    "a list": "danh sách",
}


def field_error(path: str, code: str, **params: object) -> FieldError:
    """A :class:`FieldError` with the bilingual messages of ``code`` filled in."""
    vi, en = MESSAGES[code]
    params_vi = dict(params)
    if code == "wrong_type":
        params_vi["expected"] = _EXPECTED_VI.get(str(params.get("expected")), "khác")
    return FieldError(
        path=path, code=code, message_vi=vi.format(**params_vi), message_en=en.format(**params)
    )
