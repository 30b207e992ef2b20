"""The guides cannot rot: every Python example in README.md and docs/*.md runs.

Convention for code blocks in the guides:

- ```` ```python ```` blocks are executed, in order, in one namespace per file (so a later
  block may use what an earlier one made), in a fresh temporary working directory;
- ```` ```pycon ```` blocks are run as doctests (``>>>`` prompts, expected output checked);
- anything that must not run (needs a USB token, a network service, an installed venv) is
  fenced as ```` ```text ```` or ```` ```sh ````.
"""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def _blocks(path: Path, *languages: str) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(2))
        for match in FENCE.finditer(text)
        if match.group(1) in languages
    ]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


WITH_PYTHON = [p for p in GUIDES if _blocks(p, "python")]
WITH_PYCON = [p for p in GUIDES if _blocks(p, "pycon")]


def test_the_guides_exist() -> None:
    names = {p.name for p in GUIDES}
    expected = {"README.md", "index.md", "app-developers.md", "integrators.md"}
    assert expected | {"testing.md", "judges.md"} <= names


def test_readme_opens_with_the_demo_then_the_test_command() -> None:
    commands = [code.strip() for _, code in _blocks(ROOT / "README.md", "sh")]
    assert len(commands) >= 2
    assert commands[0].endswith("huesign demo")
    assert "pip install ." in commands[0]
    assert commands[1].endswith("python -m pytest -n 2")
    assert "pip install -e '.[test]'" in commands[1]


def test_every_guide_links_from_the_index() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    for guide in GUIDES:
        if guide.parent.name == "docs" and guide.name != "index.md":
            assert f"({guide.name})" in index, f"docs/index.md does not link {guide.name}"


def test_the_testing_guide_names_only_fixtures_and_strategies_that_exist() -> None:
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)(\(.*?\))?` \|", text, re.MULTILINE)
    fixtures = {name for name, call in rows if not call}
    strategies = {name for name, call in rows if call}
    assert fixtures
    assert strategies
    plugin = importlib.import_module("huesign.testing.plugin")
    assert fixtures <= set(plugin.__all__)
    modules = ("huesign.testing.strategies", "huesign.testing.forms_strategies")
    available = {n for m in modules for n in importlib.import_module(m).__all__}
    assert strategies <= available


@pytest.mark.parametrize("path", WITH_PYTHON, ids=_ids(WITH_PYTHON))
def test_python_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks(path, "python")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"guide_{path.stem.replace('-', '_')}"}
    for line, code in blocks:
        try:
            exec(compile(code, f"{path.name}:{line}", "exec"), namespace)  # noqa: S102
        except Exception as exc:
            pytest.fail(f"{path.name}, block at line {line}: {type(exc).__name__}: {exc}")


@pytest.mark.parametrize("path", WITH_PYCON, ids=_ids(WITH_PYCON))
def test_pycon_blocks_give_the_output_shown(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = _blocks(path, "pycon")
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs: dict[str, object] = {}
    for line, code in blocks:
        test = parser.get_doctest(code, globs, f"{path.name}:{line}", str(path), line)
        result = runner.run(test, clear_globs=False)
        assert result.failed == 0, f"{path.name}, block at line {line} printed something else"
