"""Each package's ``__all__`` is exactly its public API, sorted, and every name is documented."""

from __future__ import annotations
import __future__

import importlib
import inspect

import pytest

PACKAGES = [
    "huesign",
    "huesign.errors",
    "huesign.pki",
    "huesign.forms",
    "huesign.client",
    "huesign.sandbox",
]


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 enforces: CONSTANTS, then Classes, then functions.
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


def _is_ours(value: object) -> bool:
    # Helpers imported for the module's own use (typing.Any, attrs...) are not its API.
    origin = getattr(value, "__module__", None)
    if inspect.isclass(value) or inspect.isfunction(value) or origin == "typing":
        return bool(origin and origin.startswith("huesign"))
    return not isinstance(value, __future__._Feature)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_key)
    assert len(set(exported)) == len(exported)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_") and not inspect.ismodule(value) and _is_ours(value)
    }
    assert set(exported) - {"__version__"} == public


@pytest.mark.parametrize("name", PACKAGES)
def test_exported_classes_and_functions_have_docstrings(name: str) -> None:
    module = importlib.import_module(name)
    for attr in module.__all__:
        value = getattr(module, attr)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"
