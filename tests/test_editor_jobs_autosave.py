"""The editor's job runner, action rules, prompter, files and autosave, as a user meets them:
an export that survives a vary, jobs that outlive their window, actions that are only enabled
when they can run, recovery after a kill -9 five seconds after an edit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from choreo_studio.core.errors import ChoreoError  # noqa: E402
from choreo_studio.editor import file_handling  # noqa: E402
from choreo_studio.editor.actions import ACTIONS, MENU_ORDER  # noqa: E402
from choreo_studio.editor.app import make_app, offer_recovery  # noqa: E402
from choreo_studio.editor.autosave import describe_recovery, pending_recoveries  # noqa: E402
from choreo_studio.editor.prompter import CANCEL, DISCARD, NO, YES, ScriptedPrompter  # noqa: E402
from choreo_studio.editor.workers import JobRunner  # noqa: E402
from PySide6.QtCore import QObject  # noqa: E402

from tests import test_editor as editor_tests  # noqa: E402

WAIT_MS = editor_tests.WAIT_MS
GATE_TIMEOUT_S = 120.0
SUBPROCESS_DEADLINE_S = 240.0
"""The killed editor gives up (and says so) if it never gets to make its edit."""
assets = editor_tests.assets
_quiet = editor_tests._quiet
opened = editor_tests.opened
_window, _open, _idle = editor_tests._window, editor_tests._open, editor_tests._idle


def _gate():
    """An event the test opens, and a job body that waits for it (never forever)."""
    gate = threading.Event()

    def wait_then(value):
        def body(progress):
            if not gate.wait(GATE_TIMEOUT_S):
                raise ChoreoError("test gate never opened")
            return value

        return body

    return gate, wait_then


# ============================================================================ job runner
def test_a_job_replaces_only_its_own_kind(qtbot):
    make_app()
    runner = JobRunner()
    gate, wait_then = _gate()
    seen: list[str] = []
    for name, kind in (("first export", "export"), ("vary", "edit"), ("second vary", "edit")):
        runner.start(
            name,
            wait_then(name),
            kind=kind,
            on_done=seen.append,
            on_cancel=lambda n=name: seen.append(f"{n} cancelled"),
        )
    assert [j.label for j in runner.running("edit")] == ["vary", "second vary"]
    assert runner.running("edit")[0].cancelled and not runner.running("export")[0].cancelled
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT_MS)
    assert sorted(seen) == ["first export", "second vary", "vary cancelled"]


def test_a_job_that_outlives_its_runner_reports_to_nobody(qtbot):
    """closeEvent's wait can expire: the job then ends after the window (and its runner) is
    gone. Its signals must not reach the deleted runner (was: RuntimeError: Signal source has
    been deleted, from JobRunner._release)."""
    import shiboken6

    make_app()
    owner = QObject()
    runner = JobRunner(owner)
    seen = []
    runner.start("late", lambda _p: "result", kind="export", on_done=seen.append)
    assert runner.wait(WAIT_MS)  # the job ran and emitted; the report is still queued
    shiboken6.delete(owner)  # the window goes before the report is delivered
    qtbot.wait(50)  # deliver whatever is queued (pytest-qt fails on an exception in a slot)
    assert seen == []


def test_many_short_jobs_with_cancels_report_exactly_once_on_the_gui_thread(qtbot):
    """Hundreds of short jobs, cancelled at random (by hand or by a newer job of their kind),
    some failing: each reports exactly one outcome, the one it earned, on the GUI thread, and
    no progress after it; the runner ends idle. (Jobs were QRunnables whose QObject the GUI
    thread freed on the result while the worker was still returning from them.)"""
    import random

    make_app()
    runner = JobRunner()
    gui = threading.get_ident()
    rng = random.Random(14)
    outcomes: dict[int, list[tuple[str, object]]] = {}
    late_progress: list[int] = []
    off_thread: list[str] = []
    ended: list[object] = []
    runner.job_ended.connect(ended.append)
    jobs: dict[int, object] = {}
    cancelled_by_test: set[int] = set()

    def body(i: int, behaviour: int):
        def run(progress):
            if behaviour == 1:
                raise ChoreoError(f"job {i} failed")
            deadline = time.perf_counter() + GATE_TIMEOUT_S
            for step in range({0: 3, 2: 10**9, 3: 0}[behaviour]):  # 3 returns at once
                progress(step / 3, "working")
                if behaviour == 2 and time.perf_counter() > deadline:
                    raise ChoreoError(f"job {i} was never cancelled")
                time.sleep(0.0005)
            return i

        return run

    def record(i: int, name: str):
        def callback(*args):
            if threading.get_ident() != gui:
                off_thread.append(name)
            if name == "progress":
                if outcomes.get(i):
                    late_progress.append(i)
                return
            outcomes.setdefault(i, []).append((name, args[0] if args else None))

        return callback

    n = 0
    for _batch in range(40):
        for _ in range(rng.randint(3, 12)):
            i, behaviour = n, n % 4
            n += 1
            kind = "edit" if rng.random() < 0.3 else ""
            if kind:
                cancelled_by_test.update(
                    k for k, job in jobs.items() if job in runner.running(kind)
                )
            outcomes[i] = []
            jobs[i] = runner.start(
                f"job {i}", body(i, behaviour), kind=kind,
                on_done=record(i, "done"), on_error=record(i, "error"),
                on_progress=record(i, "progress"), on_cancel=record(i, "cancel"),
            )
        for k, job in jobs.items():  # long jobs always, others now and then, never delivered
            if job in runner.running() and (k % 4 == 2 or rng.random() < 0.2):
                cancelled_by_test.add(k)
                job.cancel()
        qtbot.wait(rng.choice([0, 1, 3]))
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT_MS)
    qtbot.wait(20)  # anything posted twice would arrive now

    assert not off_thread and not late_progress
    assert len(ended) == n and len({id(j) for j in ended}) == n
    for i in range(n):
        if i % 4 == 1:
            expected = ("error", f"job {i} failed")
        elif i in cancelled_by_test:
            expected = ("cancel", None)
        else:
            expected = ("done", i)
        assert outcomes[i] == [expected], f"job {i}"
    assert cancelled_by_test and any(i % 4 == 0 and i in cancelled_by_test for i in range(n))


def test_an_export_survives_a_vary_and_a_swap(opened, qtbot, tmp_path, monkeypatch):
    real_export = file_handling.export_all
    gate = threading.Event()
    started = threading.Event()

    def held_export(*args, **kwargs):  # the export is slow: it runs until the test lets it go
        started.set()
        if not gate.wait(GATE_TIMEOUT_S):
            raise ChoreoError("test gate never opened")
        return real_export(*args, **kwargs)

    monkeypatch.setattr(file_handling, "export_all", held_export)
    formats = ["json", "csv"]
    try:
        from choreo_studio.editor.video_export import find_ffmpeg

        find_ffmpeg()
        formats.append("mp4")
    except ChoreoError:
        pass
    written: list[Path] = []
    opened.files.export(
        str(tmp_path / "out"), formats, video_size=(160, 90), on_done=written.extend
    )
    assert started.wait(GATE_TIMEOUT_S)
    doc = opened.doc
    doc.select(1)
    opened.action("vary").trigger()
    qtbot.waitUntil(lambda: not opened.jobs.running("edit"), timeout=WAIT_MS)
    opened.action("swap_2").trigger()
    assert doc.undo_stack.count() >= 1
    export = opened.jobs.running("export")
    assert len(export) == 1 and not export[0].cancelled, "the vary did not cancel the export"
    assert "Exporting" in " ".join(opened.job_panel.labels())
    gate.set()
    _idle(qtbot, opened)
    assert opened._last_error == ""
    assert {p.suffix for p in written} == {"." + f for f in formats}
    assert all(p.stat().st_size > 0 for p in written)


@pytest.mark.parametrize("stage", ["rendering", "encoding video", "exported"])
def test_an_export_reports_progress_and_cancel_is_truthful(
        opened, qtbot, tmp_path, monkeypatch, stage):
    """The export renders and encodes in a worker with its bar moving. Cancel (Esc) while it
    renders or encodes the MP4 ends it as cancelled with no file of the set written; a Cancel
    once the set is written is too late, and the export says what it wrote (it said
    'cancelled' with the files there)."""
    formats = ["json", "bvh"]
    if stage == "encoding video":
        from choreo_studio.editor.video_export import find_ffmpeg

        try:
            find_ffmpeg()
        except ChoreoError:
            pytest.skip("no ffmpeg: no MP4 to cancel")
        formats.append("mp4")
    real_export = file_handling.export_all
    reached, go = threading.Event(), threading.Event()
    messages: list[str] = []

    def held_export(*args, progress, **kwargs):  # holds at the stage until the test cancels
        def report(fraction: float, message: str) -> None:
            messages.append(message)
            # the stage's second report (its first went through, so the bar has moved)
            if messages.count(message) == 1 + (stage != "exported") and stage in message and (
                    not reached.is_set()):
                reached.set()
                if not go.wait(GATE_TIMEOUT_S):
                    raise ChoreoError("test gate never opened")
            progress(fraction, message)

        return real_export(*args, progress=report, **kwargs)

    monkeypatch.setattr(file_handling, "export_all", held_export)
    shown: list[float] = []
    opened.jobs.job_progress.connect(
        lambda job: shown.append(job.fraction) if job.kind == "export" else None)
    written: list[Path] = []
    out = tmp_path / "export"
    opened.files.export(str(out), formats, video_size=(160, 90), on_done=written.extend)
    qtbot.waitUntil(reached.is_set, timeout=WAIT_MS)
    opened.cancel_job()  # Esc
    go.set()
    _idle(qtbot, opened)
    assert shown and opened._last_error == ""
    files = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if stage == "exported":
        assert written and files and "exported" in opened.statusBar().currentMessage()
    else:
        assert written == [] and "Exporting: cancelled" in opened.statusBar().currentMessage()
        assert [f for f in files if not f.startswith(".")] == [], files
        assert "exported" not in messages


# ============================================================================ actions
def test_actions_are_enabled_only_when_they_can_run(qtbot, tmp_path, assets):
    window = _window(qtbot, tmp_path, assets)
    for action_id in ("save", "export", "vary", "lock", "merge", "split", "swap_1"):
        assert not window.action(action_id).isEnabled(), action_id
        assert window.action_set.run(action_id) is None  # a key press does nothing, no error
    assert window.action("open").isEnabled() and window.action("help").isEnabled()
    _open(qtbot, window, assets["song"])
    for action_id in ("save", "export", "vary", "lock", "split", "swap_1"):
        assert window.action(action_id).isEnabled(), action_id
    window.doc.select(len(window.doc.phrases) - 1)
    assert not window.action("merge").isEnabled(), "the last phrase has no next one to merge"
    window.doc.select(0)
    assert window.action("merge").isEnabled()
    assert not window.action("undo").isEnabled()
    window.action("lock").trigger()
    assert window.action("undo").isEnabled()
    assert window.action("undo").text() == "&Undo Lock phrase 1"


def test_menus_come_from_the_one_table_and_every_slot_exists(qtbot, tmp_path, assets):
    ids = [s.id for s in ACTIONS]
    assert len(ids) == len(set(ids))
    keys = [k for s in ACTIONS for k in s.shortcuts]
    assert len(keys) == len(set(keys)), "no two actions share a key"
    window = _window(qtbot, tmp_path, assets)
    for s in ACTIONS:
        target = window
        for part in s.slot.split("."):
            target = getattr(target, part)
        assert callable(target), s.slot
    in_menus = set()
    pending = [m.menu() for m in window.menuBar().actions()]
    while pending:
        menu = pending.pop()
        for a in menu.actions():
            if a.menu() is not None:
                pending.append(a.menu())
            in_menus.add(a)
    for s in ACTIONS:
        assert (window.action(s.id) in in_menus) == bool(s.menu), s.id
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == list(MENU_ORDER)


# ============================================================================ prompter, files
def test_closing_with_unsaved_work_asks_and_cancel_keeps_it_open(opened):
    opened.action("lock").trigger()
    opened.prompter = ScriptedPrompter(answers=[CANCEL])
    assert not opened.close()
    assert opened.isVisible() and opened.doc.dirty
    assert "Save the changes" in opened.prompter.asked[0]
    opened.prompter = ScriptedPrompter(answers=[DISCARD])
    assert opened.close()


def test_open_filter_recent_and_default_folders(opened, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(file_handling, "documents_dir", lambda: tmp_path / "Documents")
    recent = opened.files.recent_files()
    opened.prompter = ScriptedPrompter(files=[""])  # the user cancels the Open dialog
    opened.files.open_dialog()
    first_filter = opened.prompter.asked[0].split("] ", 1)[1].split(";;")[0]
    assert "*.choreo" in first_filter and "*.wav" in first_filter
    assert opened.files.recent_files() == recent, "a cancelled open is not recent"
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    opened.files.open_path(str(broken), ask_to_save=False)
    qtbot.waitUntil(lambda: "broken.wav" in opened._last_error, timeout=WAIT_MS)
    _idle(qtbot, opened)
    assert opened.files.recent_files() == recent, "a failed open is not recent"
    opened.prompter = ScriptedPrompter()  # cancel Save As: what folder did it offer?
    assert not opened.files.save_as()
    assert f"[{tmp_path / 'Documents' / 'short demo.choreo'}]" in opened.prompter.asked[0]
    folder = tmp_path / "my projects"
    assert opened.files.save_to(str(folder / "mine.choreo"))
    opened.doc.project_path = ""  # a fresh Save As of the same song remembers that folder
    opened.prompter = ScriptedPrompter()
    opened.files.save_as()
    assert f"[{folder.resolve() / 'short demo.choreo'}]" in opened.prompter.asked[0]
    assert opened.files.export_folder() == folder.resolve() / "short demo export"


# ============================================================================ autosave
def test_an_edit_is_autosaved_soon_without_a_save(opened, qtbot, tmp_path):
    folder = Path(opened.autosaver.folder)
    opened.doc.select(0)
    opened.edits.swap_suggestion(
        next(i for i, r in enumerate(opened.suggestions.rows) if not r.current))
    qtbot.waitUntil(lambda: bool(pending_recoveries(folder)), timeout=WAIT_MS)
    saved = json.loads(pending_recoveries(folder)[0].read_text())
    ids = [p["dance_id"] for p in saved["choreography"]["placements"]]
    assert ids == opened.doc.choreography.dance_ids
    opened.doc.undo_stack.undo()  # back to the saved state: nothing left to recover
    assert pending_recoveries(folder) == []


def test_losing_focus_autosaves_at_once(opened):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    opened.doc.select(0)
    opened.edits.swap_suggestion(
        next(i for i, r in enumerate(opened.suggestions.rows) if not r.current))
    assert pending_recoveries(opened.autosaver.folder) == []  # the debounce has not fired yet
    QGuiApplication.instance().applicationStateChanged.emit(Qt.ApplicationState.ApplicationInactive)
    assert len(pending_recoveries(opened.autosaver.folder)) == 1


def test_recovery_names_project_and_song_and_no_asks_before_deleting(
    opened, qtbot, tmp_path, assets
):
    opened.doc.select(0)
    opened.edits.swap_suggestion(
        next(i for i, r in enumerate(opened.suggestions.rows) if not r.current))
    assert opened.autosaver.save_now()
    autosaved = opened.autosaver.path
    assert describe_recovery(autosaved).song == "short demo.wav"
    later = _window(qtbot, tmp_path, assets)  # the same autosave folder: the next launch
    later.prompter = ScriptedPrompter(answers=[NO, NO])
    assert not offer_recovery(later)
    offer, confirm = later.prompter.asked
    assert "short demo.wav" in offer and autosaved.stem.rsplit("-", 1)[1] not in offer
    assert "Delete" in confirm and autosaved.is_file(), "No, then No: the autosave is kept"
    later.prompter = ScriptedPrompter(answers=[NO, YES])
    assert not offer_recovery(later)
    assert not autosaved.exists(), "deleted only after the user confirmed"


KILLED_EDITOR = """
import json, sys
from PySide6.QtCore import QSettings, QTimer
from choreo_studio.editor.app import make_app
from choreo_studio.editor.main_window import MainWindow
from choreo_studio.editor.prompter import ScriptedPrompter

song, library, settings_path, autosave = sys.argv[1:5]
app = make_app()
settings = QSettings(settings_path, QSettings.Format.IniFormat)
settings.setValue("library_path", library)
window = MainWindow(settings, want_sound=False, autosave_dir=autosave, prompter=ScriptedPrompter())
window.show()

def edit():
    if window._last_error:
        print("ERROR", window._last_error, flush=True)
        app.exit(1)
        return
    if not window.doc.ready or window.jobs.busy:
        QTimer.singleShot(50, edit)
        return
    window.doc.select(1)
    window.edits.swap_suggestion(2)
    print("EDITED", json.dumps(window.doc.choreography.dance_ids), flush=True)

window.files.open_path(song, ask_to_save=False)
QTimer.singleShot(50, edit)
give_up = lambda: (print("TIMEOUT", flush=True), app.exit(2))  # noqa: E731
QTimer.singleShot(int(float(sys.argv[5]) * 1000), give_up)
app.exec()
"""


def test_kill_9_five_seconds_after_an_edit_loses_nothing(qtbot, tmp_path, assets):
    autosave = tmp_path / "autosave"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_EDITOR,
            str(assets["song"]),
            str(assets["library"]),
            str(tmp_path / "killed.ini"),
            str(autosave),
            str(SUBPROCESS_DEADLINE_S),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("EDITED"), f"the editor did not edit: {line!r}"
        edited = json.loads(line.split(" ", 1)[1])
        time.sleep(5.0)  # the user pauses after the edit, then the editor is killed
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    window = _window(qtbot, tmp_path, assets)
    window.prompter = ScriptedPrompter(answers=[YES])
    assert offer_recovery(window)
    qtbot.waitUntil(lambda: window.doc.ready and not window.jobs.busy, timeout=WAIT_MS)
    assert window.doc.choreography.dance_ids == edited
    assert window.doc.dirty, "recovered work is unsaved until the user saves it"
    assert "short demo.wav" in window.prompter.asked[0]
    assert str(autosave) not in " ".join(window.files.recent_files()), "no autosave in Recent"
