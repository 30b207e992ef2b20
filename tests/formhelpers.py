"""Small builders shared by the forms tests."""

from __future__ import annotations

from huesign.forms import Field, Procedure, ProcedureLevel, ProcessingTime


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
