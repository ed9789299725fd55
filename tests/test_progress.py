"""CLI progress: a bar on a terminal, one plain line per long stage in a log, never `\\r` spam."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from choreo_studio.core.cli import main, missing_extra_hint
from choreo_studio.core.clock import format_clock
from choreo_studio.core.progress import cli_stage

ROOT = Path(__file__).resolve().parents[1]
COMMAND_FOLDERS = ("core/commands", "training/commands", "editor/commands")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run_stage(stream, **kwargs) -> None:
    with cli_stage("load", stream, **kwargs) as progress:
        for i in range(5):
            progress(i / 4, f"step {i}")


def test_a_long_stage_is_one_line_in_a_log():
    log = io.StringIO()
    _run_stage(log, line_after_s=0.0)
    text = log.getvalue()
    assert "\r" not in text
    assert text.count("\n") == 1 and text.startswith("load: ") and text.endswith(" …\n")


def test_a_short_stage_writes_nothing_in_a_log():
    log = io.StringIO()
    _run_stage(log, line_after_s=3600.0)
    assert log.getvalue() == ""


def test_a_terminal_gets_a_bar():
    terminal = _Terminal()
    _run_stage(terminal, line_after_s=0.0)
    text = terminal.getvalue()
    assert "\r" in text and "load:" in text and "step 4" in text


def test_the_stage_line_does_not_swallow_errors():
    log = io.StringIO()
    with pytest.raises(ValueError), cli_stage("load", log, line_after_s=3600.0):
        raise ValueError("boom")


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_cli_commands_draw_progress_only_through_cli_stage():
    direct = [str(p.relative_to(ROOT)) for folder in COMMAND_FOLDERS
              for p in (ROOT / folder).glob("*.py") if "tqdm" in _imported_modules(p)
              and p.name != "train.py"]  # train.py's tqdm.write keeps epoch lines above bars
    assert direct == []
    train = (ROOT / "training/commands/train.py").read_text(encoding="utf-8")
    assert "tqdm(" not in train


def test_library_info_in_a_log_has_no_carriage_returns(capsys):
    assert main(["library", "info", "demo"]) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "library " in captured.out


def test_train_demo_data_in_a_log_has_no_carriage_returns(capsys, monkeypatch, tmp_path):
    def fake_demo_set(out, library, *, progress, **kwargs):
        for i in range(3):
            progress(i / 2, f"song {i}")
        return Path(out) / "labeled", Path(out) / "unlabeled"

    monkeypatch.setattr("choreo_studio.training.demo_data.write_demo_set", fake_demo_set)
    assert main(["train", "demo-data", str(tmp_path)]) == 0
    assert "\r" not in capsys.readouterr().err


@pytest.mark.parametrize(("seconds", "decimals", "text"), [
    (65.25, 2, "1:05.25"), (0.0, 2, "0:00.00"), (-3.0, 2, "0:00.00"), (59.999, 2, "1:00.00"),
    (4.46, 1, "0:04.5"), (3600.0, 2, "60:00.00"),
])
def test_format_clock(seconds, decimals, text):
    assert format_clock(seconds, decimals) == text


@pytest.mark.parametrize(("module", "command", "expected"), [
    ("torch", "auto", "pip install 'choreo-studio[model]', or pass --no-model"),
    ("torch.nn", "train", "training needs torch, which is not installed — pip install "
                          "'choreo-studio[train]'"),
    ("PySide6.QtCore", "edit", "the editor needs PySide6, which is not installed — pip install "
                               "'choreo-studio[gui]'"),
])
def test_missing_extra_hint(module, command, expected):
    hint = missing_extra_hint(ModuleNotFoundError(f"No module named {module!r}", name=module),
                              command)
    assert hint is not None and expected in hint


def test_a_missing_ordinary_module_is_not_blamed_on_an_extra():
    assert missing_extra_hint(ModuleNotFoundError("x", name="numpy"), "auto") is None
