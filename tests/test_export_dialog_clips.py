"""The editor's export dialog offers the per-dance clips and FBX: both off by default (the usual
set stays the CLI's four files), FBX disabled with the one-line hint where Blender's bpy is
missing, enabled where it is."""

import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
from choreo_studio.editor.export_dialog import ExportDialog  # noqa: E402


def test_clips_and_fbx_are_offered_and_off_by_default(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("CHOREO_BLENDER_PYTHON", str(tmp_path / "no-such-python"))
    dialog = ExportDialog(None, str(tmp_path), prompter=None)
    qtbot.addWidget(dialog)
    assert dialog.formats == ["json", "bvh", "glb", "csv"]
    assert dialog.checks["clips"].isEnabled() and not dialog.checks["fbx"].isEnabled()
    assert "pip install 'choreo-studio[fbx]'" in dialog.checks["fbx"].toolTip()
    dialog.checks["clips"].setChecked(True)
    assert "clips" in dialog.formats


def test_fbx_is_enabled_where_a_python_with_bpy_is_set(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("CHOREO_BLENDER_PYTHON", sys.executable)
    dialog = ExportDialog(None, str(tmp_path), prompter=None)
    qtbot.addWidget(dialog)
    assert dialog.checks["fbx"].isEnabled() and not dialog.checks["fbx"].isChecked()
