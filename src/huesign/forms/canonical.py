"""Canonical bytes of submitted data: RFC 8785 (JSON Canonicalization Scheme) and SHA-256.

The same data always gives the same bytes, whatever the key order or the Python types of
the containers; these bytes are what a dossier signature covers.

>>> canonical_json({"b": [1, "Huế"], "a": True})
b'{"a":true,"b":[1,"Hu\\xe1\\xba\\xbf"]}'
>>> canonical_sha256({"a": 1}) == canonical_sha256({"a": 1})
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, cast

import rfc8785

from huesign.errors import FormError

__all__ = ["canonical_json", "canonical_sha256"]

_MAX_SAFE = 2**53 - 1


def _plain(value: object, depth: int = 0) -> object:
    if depth > 32:
        raise FormError("data is nested too deeply for canonical JSON")
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE:
            raise FormError("whole numbers beyond 2^53 have no canonical JSON form")
        return value
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormError("canonical JSON keys must be strings")
            out[key] = _plain(item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, depth + 1) for item in value]
    raise FormError(f"{type(value).__name__} has no canonical JSON form (normalise first)")


def canonical_json(data: Mapping[str, object]) -> bytes:
    """The RFC 8785 serialisation of ``data`` (strings, whole numbers, booleans, null, lists
    and objects only; normalised submissions contain nothing else).

    Raises:
        FormError: ``data`` holds a value without a canonical form (a float, a date...).
    """
    plain = _plain(data)
    try:
        encoded: bytes = rfc8785.dumps(cast(Any, plain))
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise FormError(f"no canonical JSON form: {type(exc).__name__}") from exc
    return encoded


def canonical_sha256(data: Mapping[str, object]) -> str:
    """The SHA-256 of :func:`canonical_json` of ``data``, as lower-case hex."""
    return hashlib.sha256(canonical_json(data)).hexdigest()
