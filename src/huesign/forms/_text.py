"""Text helpers shared by the forms modules: NFC cleaning and diacritic folding."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_text", "fold"]

_SPACES = re.compile(r"\s+")
# Letters that carry no combining mark under NFD, so stripping marks leaves them as they are.
_NON_DECOMPOSING = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Trim, normalise to NFC and collapse runs of spaces (keeping line breaks if multiline)."""
    text = unicodedata.normalize("NFC", value)
    if multiline:
        lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
        return "\n".join(lines).strip()
    return _SPACES.sub(" ", text).strip()


def fold(value: str) -> str:
    """Lower-case ``value`` and strip Vietnamese diacritics (``Đăng ký`` -> ``dang ky``)."""
    decomposed = unicodedata.normalize("NFD", value.translate(_NON_DECOMPOSING))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare.casefold()).strip()
