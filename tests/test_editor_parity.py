"""The editor and `choreo auto` are one engine: for the same song, library, model and options
they give the same placements, labels, mirror flags and exported files (pytest-qt, offscreen)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("pytestqt")

from choreo_studio.core.cli import main as cli_main  # noqa: E402
from choreo_studio.core.export.timeline import read_timeline  # noqa: E402
from choreo_studio.editor import edit_handlers  # noqa: E402
from choreo_studio.editor.app import make_app  # noqa: E402
from choreo_studio.editor.main_window import MainWindow  # noqa: E402
from choreo_studio.editor.prompter import DISCARD, ScriptedPrompter  # noqa: E402
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from tests import engine_synthetic  # noqa: E402

WAIT_MS = 60_000
SONG = DemoSongSpec(
    tempo_bpm=132.0,
    structure=(("intro", 2), ("verse", 4), ("chorus", 4), ("verse", 4), ("chorus", 4)),
    seed=3,
)
FILES = ("timeline.json", "timeline.csv", "dance.bvh", "dance.glb")


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    song = render_demo_song(SONG).write_wav(root / "parity song.wav")
    engine_synthetic.library(k=12).save(root / "library")
    return {"song": song, "library": root / "library", "cache": root / "cache"}


@pytest.fixture(autouse=True)
def _cache(monkeypatch, assets):
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(assets["cache"]))


@pytest.fixture()
def window(qtbot, tmp_path, assets):
    make_app()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("library_path", str(assets["library"]))
    win = MainWindow(settings, want_sound=False, autosave_dir=str(tmp_path / "autosave"),
                     prompter=ScriptedPrompter(default=DISCARD))
    qtbot.addWidget(win)
    win.files.open_path(str(assets["song"]), ask_to_save=False)
    qtbot.waitUntil(lambda: win.doc.ready and not win.jobs.busy, timeout=WAIT_MS)
    assert win._last_error == ""
    return win


def _auto(assets, out: Path, *extra: str) -> None:
    args = ["auto", str(assets["song"]), "--library", str(assets["library"]), "-o", str(out)]
    assert cli_main([*args, *extra]) == 0


def _export(qtbot, window, out: Path) -> list[Path]:
    written: list[Path] = []
    window.files.export(str(out), ["json", "csv", "bvh", "glb"], on_done=written.extend)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=WAIT_MS)
    assert window._last_error == ""
    return written


def _same_files(a: Path, b: Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    manifests = [json.loads((d / "manifest.json").read_text())["files"] for d in (a, b)]
    assert manifests[0] == manifests[1]


def test_editor_and_auto_export_the_same_files(window, qtbot, assets, tmp_path):
    _auto(assets, tmp_path / "cli")
    written = _export(qtbot, window, tmp_path / "editor")
    assert sorted(p.name for p in written) == sorted(FILES)  # the CLI's names, not {stem}.*
    _same_files(tmp_path / "cli", tmp_path / "editor")
    timeline = read_timeline(tmp_path / "editor" / "timeline.json")
    assert timeline.choreography.placements == window.doc.choreography.placements
    assert timeline.choreography.decoder == "viterbi"
    glb = (tmp_path / "editor" / "dance.glb").read_bytes()
    assert assets["song"].name.encode() in glb  # the glb's node is the song, not "Dance"


def test_vary_in_the_editor_matches_auto_vary_and_keeps_mirrors(window, qtbot, assets,
                                                               tmp_path, monkeypatch):
    """Regression: the editor's vary dropped a phrase's mirror and was labelled "vary"."""
    _auto(assets, tmp_path / "cli", "--vary", "1", "--seed", "7")
    cli = read_timeline(tmp_path / "cli" / "timeline.json").choreography
    monkeypatch.setattr(edit_handlers, "time", SimpleNamespace(time=lambda: 0.007))  # seed 7
    window.edits.vary()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=WAIT_MS)
    editor = window.doc.choreography
    assert editor.placements == cli.placements and editor.decoder == cli.decoder
    assert editor.decoder == "viterbi (vary)"
    _same_files(tmp_path / "cli", _export(qtbot, window, tmp_path / "editor")[0].parent)
    window.doc.select(1)
    window.edits.toggle_mirror()
    mirrored = window.doc.choreography[1]
    assert mirrored.mirror
    dances = set()
    for seed in range(11, 17):
        monkeypatch.setattr(edit_handlers, "time", SimpleNamespace(time=lambda s=seed: s / 1000))
        window.edits.vary()
        qtbot.waitUntil(lambda: not window.jobs.busy, timeout=WAIT_MS)
        assert window.doc.choreography[1].mirror
        dances.add(window.doc.choreography[1].dance_id)
    assert dances - {mirrored.dance_id}, "vary never gave phrase 2 another dance"
