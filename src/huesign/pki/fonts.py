"""The font shipped with huesign for Vietnamese text in stamps and rendered forms.

Noto Sans (SIL Open Font License 1.1; see ``data/fonts/OFL.txt``), subset to Latin and
Vietnamese, in regular and bold weights.  Every Vietnamese letter, precomposed or written with
combining marks, has a glyph.
"""

from __future__ import annotations

import enum
import functools
from importlib import resources

__all__ = ["FontWeight", "font_bytes"]


class FontWeight(enum.Enum):
    """The weights shipped."""

    REGULAR = "Regular"
    BOLD = "Bold"


@functools.cache
def font_bytes(weight: FontWeight = FontWeight.REGULAR) -> bytes:
    """The TrueType file of the shipped font in ``weight`` (read once per process)."""
    name = f"NotoSans-{weight.value}.ttf"
    return resources.files("huesign.pki").joinpath("data", "fonts", name).read_bytes()
