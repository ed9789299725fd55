"""Imports go one way: core's sub-packages down the pipeline, core below editor and training.

Parsed with ``ast`` (nothing is imported), so a violation anywhere in a file is caught, including
imports inside functions and ``TYPE_CHECKING`` blocks.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "choreo_studio"
PIPELINE = ("audio", "analysis", "phrases", "motion", "library", "retrieval", "choreography",
            "export", "project")
"""core's sub-packages in pipeline order: each may import only those before it (and itself)."""
TOP_LEVEL = ("core", "editor", "training", "resources")


@dataclass(frozen=True)
class Import:
    """One imported module name, where it is written, and whether it runs when the file loads."""

    file: str
    line: int
    module: str
    at_import_time: bool

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.module}"


class _Collector(ast.NodeVisitor):
    """Every absolute import of a file, marked lazy when it sits inside a function body."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append(Import(self.file, node.lineno, alias.name, self.depth == 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        assert node.level == 0, f"{self.file}:{node.lineno}: use absolute imports"
        self.found.append(Import(self.file, node.lineno, node.module or "", self.depth == 0))


def imports_of(folder: str) -> list[Import]:
    """The imports of every Python file under the repository folder ``folder``."""
    found: list[Import] = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        collector = _Collector(str(path.relative_to(ROOT)))
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found += collector.found
    return found


def _parts(module: str) -> list[str]:
    return module.split(".")


def _core_subpackage(file_or_module: str) -> str | None:
    """The pipeline sub-package a core file (``core/x/y.py``) or module name belongs to."""
    if file_or_module.endswith(".py"):
        parts = Path(file_or_module).parts[:-1]
    else:
        parts = tuple(_parts(file_or_module)[1:]) if file_or_module.startswith(PACKAGE) else ()
    return parts[1] if len(parts) > 1 and parts[0] == "core" and parts[1] in PIPELINE else None


def test_every_core_subpackage_is_in_the_pipeline_order():
    folders = {p.parent.name for p in (ROOT / "core").glob("*/__init__.py")} - {"commands"}
    assert folders == set(PIPELINE), "add a new core sub-package to PIPELINE (and pyproject)"


def test_nothing_imports_the_bare_top_level_names():
    bare = [str(i) for folder in TOP_LEVEL for i in imports_of(folder)
            if _parts(i.module)[0] in TOP_LEVEL]
    assert bare == [], f"import through {PACKAGE}.*, never a bare core/editor/…: {bare}"


def test_core_subpackages_import_only_earlier_ones():
    upward = []
    for imp in imports_of("core"):
        here, there = _core_subpackage(imp.file), _core_subpackage(imp.module)
        if here and there and PIPELINE.index(there) > PIPELINE.index(here):
            upward.append(str(imp))
    assert upward == [], f"core sub-packages import only those before them: {upward}"


@pytest.mark.parametrize("forbidden", ["motion", "retrieval"])
def test_analysis_never_imports_motion_or_retrieval(forbidden):
    bad = [str(i) for i in imports_of("core/analysis")
           if i.module.startswith(f"{PACKAGE}.core.{forbidden}")]
    assert bad == []


def test_core_imports_editor_training_resources_only_lazily():
    eager = [str(i) for i in imports_of("core") if i.at_import_time
             and _parts(i.module)[:2] in ([PACKAGE, "editor"], [PACKAGE, "training"],
                                          [PACKAGE, "resources"])]
    assert eager == [], f"core may only import these inside a function: {eager}"


def test_core_never_imports_the_editor_or_qt():
    bad = [str(i) for i in imports_of("core")
           if _parts(i.module)[0] in ("PySide6", "pyqtgraph")
           or _parts(i.module)[:2] == [PACKAGE, "editor"]]
    assert bad == []


def test_training_never_imports_the_editor_or_qt():
    bad = [str(i) for i in imports_of("training")
           if _parts(i.module)[0] in ("PySide6", "pyqtgraph")
           or _parts(i.module)[:2] == [PACKAGE, "editor"]]
    assert bad == []


def test_the_collector_sees_lazy_and_upward_imports():
    source = ("from choreo_studio.core.retrieval import x\n"
              "def f():\n    import choreo_studio.editor.app\n")
    collector = _Collector("core/analysis/fake.py")
    collector.visit(ast.parse(source))
    first, second = collector.found
    assert (first.module, first.at_import_time) == ("choreo_studio.core.retrieval", True)
    assert (second.module, second.at_import_time) == ("choreo_studio.editor.app", False)
    assert _core_subpackage(first.file) == "analysis"
    assert _core_subpackage(first.module) == "retrieval"
    assert _core_subpackage("core/progress.py") is None
