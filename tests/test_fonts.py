"""The shipped font covers Vietnamese: shaping never falls back to the missing glyph."""

from __future__ import annotations

import io
import unicodedata

import pytest
import uharfbuzz as hb
from fontTools.ttLib import TTFont

from huesign.pki.fonts import FontWeight, font_bytes

VIETNAMESE_LETTERS = (
    "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ"
)
SAMPLES = [
    VIETNAMESE_LETTERS,
    VIETNAMESE_LETTERS.upper(),
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM — Độc lập - Tự do - Hạnh phúc",
    "Lệ phí: 8.000 ₫",
]


@pytest.mark.parametrize("weight", list(FontWeight))
@pytest.mark.parametrize("form", ["NFC", "NFD"])
@pytest.mark.parametrize("text", SAMPLES)
def test_every_vietnamese_character_shapes_to_a_real_glyph(
    weight: FontWeight, form: str, text: str
) -> None:
    font = hb.Font(hb.Face(font_bytes(weight)))
    buf = hb.Buffer()
    buf.add_str(unicodedata.normalize(form, text))
    buf.guess_segment_properties()
    hb.shape(font, buf, {})
    missing = [info.cluster for info in buf.glyph_infos if info.codepoint == 0]
    assert missing == []


def test_font_is_a_subset_small_enough_to_embed() -> None:
    data = font_bytes()
    assert len(data) < 200_000
    names = TTFont(io.BytesIO(data))["name"]
    assert "Noto Sans" in str(names.getDebugName(1))
