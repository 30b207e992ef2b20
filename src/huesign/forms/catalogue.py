"""The catalogue of procedures, with search by code or by Vietnamese text.

huesign ships definitions of common citizen procedures (birth, death, residence, marital
status, certified copies) in ``data/procedures/``.  Fees and processing times marked
``sample`` there are illustrations, not official figures.

Search ignores case and diacritics (``đ`` folds to ``d`` too), so people can type without
Vietnamese input:

>>> cat = builtin_catalogue()
>>> [p.code for p in cat.search("dang ky khai sinh")]
['1.001193']
>>> cat["1.000656"].name_vi
'Đăng ký khai tử'
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from importlib import resources

import attrs

from huesign.errors import ProcedureError
from huesign.forms._text import fold
from huesign.forms.procedure import Procedure

__all__ = ["Catalogue", "builtin_catalogue"]

_CODE_PREFIX = re.compile(r"^\d(\.\d{0,6})?$")
_WORD = re.compile(r"\w+")
_MAX_QUERY = 200


def _procedures(items: Iterable[Procedure]) -> tuple[Procedure, ...]:
    return tuple(sorted(items, key=lambda p: p.code))


@attrs.frozen
class Catalogue:
    """A set of procedures, one version per code.

    Attributes:
        procedures: the procedures, ordered by code.
    """

    procedures: tuple[Procedure, ...] = attrs.field(converter=_procedures)

    @procedures.validator
    def _check_unique(self, _attr: object, value: tuple[Procedure, ...]) -> None:
        codes = [p.code for p in value]
        if len(set(codes)) != len(codes):
            raise ValueError("a catalogue holds one procedure per code")

    def __len__(self) -> int:
        return len(self.procedures)

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self.procedures)

    def __contains__(self, code: object) -> bool:
        return any(p.code == code for p in self.procedures)

    def __getitem__(self, code: str) -> Procedure:
        found = self.get(code)
        if found is None:
            raise KeyError(code)
        return found

    def get(self, code: str) -> Procedure | None:
        """The procedure with ``code``, or ``None``."""
        return next((p for p in self.procedures if p.code == code.strip()), None)

    def with_procedures(self, *procedures: Procedure) -> Catalogue:
        """A new catalogue with ``procedures`` added (replacing those with the same codes)."""
        codes = {p.code for p in procedures}
        return Catalogue([p for p in self.procedures if p.code not in codes] + list(procedures))

    def search(self, query: str, *, limit: int = 20) -> tuple[Procedure, ...]:
        """Procedures matching ``query``: a code or code prefix, or words of the name.

        Words match the beginnings of words in the name, domain and English name, ignoring
        case and diacritics; every word of the query must match.  Names containing the query
        as written (with its diacritics) come first, then names containing it folded, then
        the rest, each by code.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        text = unicodedata.normalize("NFC", query[:_MAX_QUERY]).strip()
        if not text:
            return ()
        if _CODE_PREFIX.match(text):
            return tuple(p for p in self.procedures if p.code.startswith(text))[:limit]
        words = _WORD.findall(fold(text))
        exact, folded = text.casefold(), fold(text)
        ranked: list[tuple[int, str, Procedure]] = []
        for proc in self.procedures:
            haystack = {
                w
                for part in (proc.name_vi, proc.name_en, proc.domain)
                for w in _WORD.findall(fold(part))
            }
            if not all(any(h.startswith(w) for h in haystack) for w in words):
                continue
            if exact in proc.name_vi.casefold():
                rank = 0
            elif folded in fold(proc.name_vi):
                rank = 1
            else:
                rank = 2
            ranked.append((rank, proc.code, proc))
        return tuple(proc for _, _, proc in sorted(ranked, key=lambda r: r[:2]))[:limit]


@functools.cache
def builtin_catalogue() -> Catalogue:
    """The procedures shipped with huesign.

    Raises:
        ProcedureError: a shipped definition is broken (a packaging bug).
    """
    folder = resources.files("huesign.forms").joinpath("data", "procedures")
    procedures = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            try:
                procedures.append(Procedure.from_json(entry.read_bytes()))
            except ProcedureError as exc:
                detail = str(exc).removeprefix(f"{exc.path}: ")
                raise ProcedureError(f"{entry.name}: {detail}", path=exc.path) from exc
    return Catalogue(procedures)
