"""QR codes drawn as vector paths in a PDF content stream.

Private helper of :mod:`huesign.pki.stamp`.  The ``qrcode`` package computes the module
matrix; each horizontal run of dark modules becomes one ``re`` rectangle, all filled at once,
so the code stays sharp at any zoom and costs a few hundred bytes.
"""

from __future__ import annotations

import functools

import qrcode
import qrcode.constants
from qrcode.exceptions import DataOverflowError

__all__ = ["MAX_QR_DATA", "qr_matrix", "qr_operators"]

#: Longest verification reference (UTF-8 bytes) a stamp's QR code carries.
MAX_QR_DATA = 512
_MASK = 2


@functools.lru_cache(maxsize=256)
def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The module matrix of a QR code (error correction level M, no quiet zone) for ``data``.

    The mask pattern is fixed rather than searched: every mask gives a valid code that any
    reader decodes, and the search costs about ten milliseconds in pure Python.

    Raises:
        ValueError: ``data`` is empty or longer than :data:`MAX_QR_DATA` bytes.
    """
    raw = data.encode("utf-8")
    if not raw or len(raw) > MAX_QR_DATA:
        raise ValueError(f"a QR reference must be 1 to {MAX_QR_DATA} bytes of UTF-8")
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=_MASK
    )
    code.add_data(raw)
    try:
        code.make(fit=True)
    except DataOverflowError as exc:  # pragma: no cover - MAX_QR_DATA fits in version 40
        raise ValueError("the QR reference is too long") from exc
    return tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())


def qr_operators(data: str, *, x: float, y: float, size: float, quiet: int = 2) -> bytes:
    """Operators drawing the QR code of ``data`` in the square at ``(x, y)`` of side ``size``.

    ``quiet`` modules of light margin are left inside the square on every side (the area is
    painted white first, so the code reads on any background).
    """
    matrix = qr_matrix(data)
    count = len(matrix)
    module = size / (count + 2 * quiet)
    origin_x = x + quiet * module
    top = y + size - quiet * module
    out = [b"q\n1 g\n%s %s %s %s re f\n0 g\n" % (_num(x), _num(y), _num(size), _num(size))]
    for r, row in enumerate(matrix):
        c = 0
        while c < count:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < count and row[c]:
                c += 1
            out.append(
                b"%s %s %s %s re\n"
                % (
                    _num(origin_x + start * module),
                    _num(top - (r + 1) * module),
                    _num((c - start) * module),
                    _num(module),
                )
            )
    out.append(b"f\nQ\n")
    return b"".join(out)


def _num(value: float) -> bytes:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode("ascii")
