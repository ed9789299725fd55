"""The main window: waveform + timeline, skeleton preview, suggestions, library, transport.

It wires views to the :class:`~editor.document.Document`, turns user gestures into undoable
commands, and runs everything slow (decoding audio, analysis, scoring, re-solving, rendering,
export) as background jobs with a progress bar and a Cancel button. Errors for people are shown
as dialogs that say what is wrong and what to do; the open project is never lost.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.project.project_file import (
    PROJECT_SUFFIX,
    LibraryRef,
    ModelRef,
    SongMissingError,
    read_project,
)
from choreo_studio.editor import session_ops as ops
from choreo_studio.editor.autosave import Autosaver
from choreo_studio.editor.document import Document, Segmentation
from choreo_studio.editor.exporting import export_all
from choreo_studio.editor.library_browser import LibraryBrowser
from choreo_studio.editor.placement_inspector import PlacementInspector
from choreo_studio.editor.shortcuts import SHORTCUTS, shortcut_sheet_html
from choreo_studio.editor.skeleton_view import make_skeleton_view
from choreo_studio.editor.suggestions_panel import SuggestionsPanel
from choreo_studio.editor.tempo_tools import TapTempo
from choreo_studio.editor.timeline_view import Block, TimelineView
from choreo_studio.editor.transport import Transport
from choreo_studio.editor.undo_commands import SetChoreographyCommand, SetSegmentationCommand
from choreo_studio.editor.video_export import VIDEO_SIZE
from choreo_studio.editor.waveform_view import WaveformView, WavePyramid
from choreo_studio.editor.workers import JobRunner
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

AUDIO_FILTER = "Songs (*.wav *.flac *.ogg *.mp3 *.m4a *.aac *.aiff *.aif)"
PROJECT_FILTER = f"Choreo Studio projects (*{PROJECT_SUFFIX})"
MAX_RECENT = 10
RENDER_DEBOUNCE_MS = 120


class MainWindow(QMainWindow):
    """Choreo Studio's editor window."""

    choreography_ready = Signal()
    motion_ready = Signal()

    def __init__(
        self,
        settings: QSettings | None = None,
        *,
        want_sound: bool = True,
        autosave_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Choreo Studio")
        self.resize(1400, 860)
        self.setAcceptDrops(True)
        self.settings = settings or QSettings("ChoreoStudio", "Choreo Studio")
        self.doc = Document(self)
        self.engine: ops.EngineState | None = None
        self.transport = Transport(self, want_sound=want_sound)
        self.jobs = JobRunner(self)
        self._job = None
        self._render_generation = 0
        self._last_error = ""
        self._opened_settings: dict = {}
        self._pyramid: WavePyramid | None = None
        self.last_metrics = None
        self._recovering = False
        self.autosaver = Autosaver(self, autosave_dir)

        self._build_views()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect()
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_DEBOUNCE_MS)
        self._render_timer.timeout.connect(self._start_render)
        self._update_actions()

    # ======================================================================= construction
    def _build_views(self) -> None:
        self.waveform = WaveformView()
        self.timeline = TimelineView()
        self.timeline.setXLink(self.waveform)
        self.skeleton = make_skeleton_view()
        self.suggestions = SuggestionsPanel(k=int(self.settings.value("top_k", 10)))
        self.library_browser = LibraryBrowser()

        song_area = QWidget()
        song_layout = QVBoxLayout(song_area)
        song_layout.setContentsMargins(0, 0, 0, 0)
        song_layout.setSpacing(0)
        song_layout.addWidget(self.waveform, 1)
        song_layout.addWidget(self.timeline)

        self.inspector = PlacementInspector()
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 0)
        right_layout.addWidget(self.inspector)
        right_layout.addWidget(self.suggestions, 1)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.skeleton)
        lower.addWidget(right)
        lower.setSizes([520, 880])
        central = QSplitter(Qt.Orientation.Vertical)
        central.addWidget(song_area)
        central.addWidget(lower)
        central.setSizes([380, 480])
        self.setCentralWidget(central)

        dock = QDockWidget("Library", self)
        dock.setObjectName("library_dock")
        dock.setWidget(self.library_browser)
        self.library_browser.setMinimumWidth(460)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.library_dock = dock
        history = QDockWidget("History", self)
        history.setObjectName("history_dock")
        self.history = QUndoView(self.doc.undo_stack)
        self.history.setEmptyLabel("opened")
        history.setWidget(self.history)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, history)
        self.tabifyDockWidget(dock, history)
        dock.raise_()
        self.history_dock = history

    def _act(
        self,
        text: str,
        slot,
        shortcut: str | QKeySequence | None = None,
        checkable: bool = False,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        s = SHORTCUTS
        self.act_open = self._act("&Open…", self.open_dialog, s["open"])
        self.act_save = self._act("&Save", self.save, s["save"])
        self.act_save_as = self._act("Save &As…", self.save_as, s["save_as"])
        self.act_export = self._act("&Export…", self.export_dialog, s["export"])
        self.act_quit = self._act("&Quit", self.close, s["quit"])
        self.act_undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence(s["undo"]))
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence(s["redo"]), QKeySequence("Ctrl+Y")])
        self.addActions([self.act_undo, self.act_redo])
        self.act_play = self._act("Play / Pause", self.transport.toggle, s["play"])
        self.act_loop = self._act("Loop selected phrase", self._toggle_loop, s["loop"], True)
        self.act_metronome = self._act(
            "Metronome", self.transport.set_metronome, s["metronome"], True
        )
        self.act_prev = self._act("Previous phrase", lambda: self._step_selection(-1), s["prev"])
        self.act_next = self._act("Next phrase", lambda: self._step_selection(1), s["next"])
        self.act_lock = self._act("Lock / unlock", self.toggle_lock, s["lock"])
        self.act_resolve = self._act(
            "Re-solve unlocked",
            self.resolve_unlocked,
            s["resolve"],
            tip="re-decode every unlocked phrase (constrained Viterbi)",
        )
        self.act_vary = self._act(
            "Vary", self.vary, s["vary"], tip="sample a different choreography for unlocked phrases"
        )
        self.act_same = self._act(
            "Same as section",
            self.same_as_section,
            s["same"],
            tip="repeat this dance on the same phrase of every repeat of this section",
        )
        self.act_tie = self._act(
            "Tie repeated sections when solving",
            lambda on: self.statusBar().showMessage(
                "repeated sections will share dances at the next re-solve / vary"
                if on
                else "repeated sections are solved independently",
                4000,
            ),
            checkable=True,
            tip="re-solve and vary give the same phrase of every repeat of a section one dance",
        )
        self.act_mirror = self._act("Mirror dance", self.toggle_mirror, s["mirror"])
        self.act_split = self._act("Split phrase at playhead", self.split_at_playhead, s["split"])
        self.act_merge = self._act("Merge with next phrase", self.merge_with_next, s["merge"])
        self.act_tap = self._act("Tap tempo", self.tap_tempo, s["tap"])
        self.act_downbeat = self._act(
            "Set first downbeat at playhead", self.set_first_downbeat, s["downbeat"]
        )
        self.act_meters = QActionGroup(self)
        self.meter_actions = {}
        for beats in (2, 3, 4, 6):
            action = QAction(f"{beats}/4", self, checkable=True)
            action.triggered.connect(lambda _c=False, b=beats: self.set_meter(b))
            self.act_meters.addAction(action)
            self.meter_actions[beats] = action
        self.act_zoom_fit = self._act("Zoom to song", self._zoom_fit, s["zoom_fit"])
        self.act_zoom_in = self._act("Zoom in", lambda: self.zoom(0.5), s["zoom_in"])
        self.act_zoom_out = self._act("Zoom out", lambda: self.zoom(2.0), s["zoom_out"])
        self.act_zoom_phrase = self._act(
            "Zoom to selected phrase", self._zoom_phrase, s["zoom_phrase"]
        )
        self.act_shortcuts = self._act("Keyboard shortcuts", self.show_shortcuts, s["help"])
        self.act_cancel = self._act("Cancel", self.cancel_job, "Escape")
        self.swap_actions = [
            self._act(
                f"Swap in suggestion {n}", lambda _c=False, r=n - 1: self.swap_suggestion(r), str(n)
            )
            for n in range(1, 10)
        ]

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self._act("Open &demo song", self.open_demo))
        file_menu.addSeparator()
        file_menu.addActions([self.act_save, self.act_save_as, self.act_export])
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.act_undo, self.act_redo])
        edit.addSeparator()
        edit.addActions([self.act_lock, self.act_mirror, self.act_same])
        edit.addSeparator()
        edit.addActions([self.act_resolve, self.act_vary, self.act_tie])
        edit.addSeparator()
        edit.addActions([self.act_split, self.act_merge])
        play = bar.addMenu("&Playback")
        play.addActions([self.act_play, self.act_loop, self.act_metronome])
        play.addSeparator()
        play.addActions([self.act_prev, self.act_next])
        tempo = bar.addMenu("&Tempo")
        tempo.addActions([self.act_tap, self.act_downbeat])
        meter = tempo.addMenu("Meter")
        meter.addActions(self.act_meters.actions())
        view = bar.addMenu("&View")
        view.addActions(
            [self.act_zoom_in, self.act_zoom_out, self.act_zoom_phrase, self.act_zoom_fit]
        )
        view.addAction(self.library_dock.toggleViewAction())
        view.addAction(self.history_dock.toggleViewAction())
        engine_menu = bar.addMenu("&Library")
        engine_menu.addAction(self._act("Use dance library folder…", self.choose_library))
        engine_menu.addAction(
            self._act("Use the bundled demo library", lambda: self.use_engine(library_path=""))
        )
        engine_menu.addSeparator()
        engine_menu.addAction(self._act("Use model bundle…", self.choose_model))
        engine_menu.addAction(
            self._act("Use the best model for the library", lambda: self.use_engine(model_path=""))
        )
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)

        tools = QToolBar("Transport")
        tools.setObjectName("transport_toolbar")
        tools.addActions([self.act_open, self.act_save])
        tools.addSeparator()
        tools.addActions([self.act_play, self.act_loop, self.act_metronome])
        tools.addSeparator()
        tools.addActions([self.act_lock, self.act_resolve, self.act_vary, self.act_same])
        tools.addSeparator()
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setMinimumWidth(130)
        tools.addWidget(self.time_label)
        self.song_label = QLabel("")
        tools.addWidget(self.song_label)
        self.addToolBar(tools)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.metrics_label = QLabel("")
        self.scorer_label = QLabel("")
        self.audio_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.cancel_button.hide()
        status.addPermanentWidget(self.metrics_label)
        status.addPermanentWidget(self.scorer_label)
        status.addPermanentWidget(self.audio_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)

    def _connect(self) -> None:
        doc = self.doc
        doc.audio_changed.connect(self._on_audio)
        doc.segmentation_changed.connect(self._on_segmentation)
        doc.choreography_changed.connect(self._on_choreography)
        doc.selection_changed.connect(self._on_selection)
        doc.undo_stack.cleanChanged.connect(self._on_clean_changed)
        doc.undo_stack.indexChanged.connect(self._on_undo_index)
        self.transport.position_changed.connect(self._on_position)
        self.transport.playing_changed.connect(lambda _p: self._update_actions())
        self.waveform.seek_requested.connect(self.transport.seek)
        self.waveform.boundary_moved.connect(self.move_boundary)
        self.timeline.phrase_clicked.connect(self.doc.select)
        self.timeline.phrase_activated.connect(self._audition_selected_phrase)
        self.suggestions.audition_requested.connect(self.audition_suggestion)
        self.suggestions.swap_requested.connect(self.swap_suggestion)
        self.suggestions.k_changed.connect(self._on_k_changed)
        self.library_browser.preview_requested.connect(self.preview_dance)
        self.library_browser.place_requested.connect(self.place_dance)
        self.inspector.changed.connect(self.edit_placement)

    def _on_clean_changed(self, _clean: bool) -> None:
        self._update_title()

    def _on_undo_index(self, _index: int) -> None:
        self._update_actions()

    # ======================================================================= jobs
    def _run(
        self, label: str, fn, on_done, *, on_error=None, on_cancel=None, exclusive: bool = True
    ):
        """Run ``fn(progress)`` in the background with the status-bar progress and Cancel."""
        if exclusive and self._job is not None:
            self._job.cancel()
        self.progress.setValue(0)
        self.progress.setFormat(label)
        self.progress.show()
        self.cancel_button.show()

        def done(result):
            self._finish_job(job)
            on_done(result)

        def failed(message):
            self._finish_job(job)
            (on_error or self.show_error)(message)

        def cancelled():
            self._finish_job(job)
            self.statusBar().showMessage(f"{label}: cancelled", 4000)
            if on_cancel is not None:
                on_cancel()

        job = self.jobs.start(
            label,
            fn,
            on_done=done,
            on_error=failed,
            on_cancel=cancelled,
            on_progress=self._on_progress,
        )
        if exclusive:
            self._job = job
        return job

    def _finish_job(self, job) -> None:
        if self._job is job:
            self._job = None
        if not self.jobs.busy or self._job is None:
            self.progress.hide()
            self.cancel_button.hide()

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(1000 * fraction))
        self.progress.setFormat(f"{message} %p%")

    def cancel_job(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def show_error(self, message: str) -> None:
        """A dialog saying what is wrong and what to do (the project stays open)."""
        self._last_error = message
        self.statusBar().showMessage(message, 10000)
        if os.environ.get("CHOREO_NO_DIALOGS"):
            return
        QMessageBox.warning(self, "Choreo Studio", message)

    # ======================================================================= opening
    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a song or project",
            self._last_dir(),
            f"{AUDIO_FILTER};;{PROJECT_FILTER};;All files (*)",
        )
        if path:
            self.open_path(path, ask_to_save=False)

    def open_demo(self) -> None:
        if self.maybe_save():
            self.open_path(str(ops.demo_song_path()), ask_to_save=False)

    def open_path(self, path: str, *, ask_to_save: bool = True) -> None:
        """Open a song file or a ``.choreo`` project."""
        if ask_to_save and not self.maybe_save():
            return
        if path.lower().endswith(PROJECT_SUFFIX):
            self.open_project(path)
        else:
            self.open_song(path)

    def open_song(self, path: str) -> None:
        """Decode the song (waveform shows at once), then analyse, score and decode it."""
        self._add_recent(path)

        def loaded(result):
            audio, pyramid = result
            previous = self._snapshot()
            self._show_new_audio(audio, pyramid, path)
            self._run(
                "Analysing",
                lambda p: ops.open_new_song(audio, path, self._engine_spec(), p),
                self._on_opened,
                on_error=lambda message: self._back_to(previous, message),
                on_cancel=lambda: self._back_to(previous),
            )

        self._run("Opening", lambda p: _load_with_waveform(path, p), loaded)

    def open_project(self, path: str, project=None) -> None:
        """Open a ``.choreo`` project; a moved song is located, mismatches explained."""
        try:
            project = project or read_project(path)
        except SongMissingError as exc:
            located = self._locate_song(str(exc), exc.project.song_path)
            if not located:
                return
            try:
                project = ops.relocate(exc.project, located)
            except ChoreoError as err:
                self.show_error(str(err))
                return
        except ChoreoError as exc:
            self.show_error(str(exc))
            return
        self._add_recent(path)

        def loaded(result):
            audio, pyramid = result
            previous = self._snapshot()
            self._show_new_audio(audio, pyramid, project.song_path)
            self._run(
                "Restoring project",
                lambda p: ops.restore_project(project, audio, p),
                lambda opened: self._on_opened(opened, project_path=path),
                on_error=lambda message: self._back_to(previous, message),
                on_cancel=lambda: self._back_to(previous),
            )

        self._run("Opening project", lambda p: _load_with_waveform(project.song_path, p), loaded)

    def _snapshot(self) -> dict | None:
        """The open choreography, kept while another song opens (None when nothing is open)."""
        if not self.doc.ready:
            return None
        return {
            "audio": self.doc.audio,
            "pyramid": self._pyramid,
            "path": self.doc.song_path,
            "project_path": self.doc.project_path,
            "engine": self.engine,
            "segmentation": self.doc.segmentation,
            "dirty": self.doc.dirty,
            "selected": self.doc.selected,
            "settings": dict(self._opened_settings),
        }

    def _back_to(self, previous: dict | None, message: str = "") -> None:
        """Opening failed or was cancelled: put the previous choreography back on screen."""
        self._recovering = False
        if previous is not None:
            self._show_new_audio(previous["audio"], previous["pyramid"], previous["path"])
            opened = ops.Opened(
                previous["engine"], previous["segmentation"], settings=previous["settings"]
            )
            self._on_opened(opened, project_path=previous["project_path"])
            self.doc.select(previous["selected"])
            if previous["dirty"]:
                self.doc.undo_stack.resetClean()
                self._update_title()
        if message:
            self.show_error(message)

    def choose_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Dance library folder (library.json)", self._last_dir()
        )
        if folder:
            self.use_engine(library_path=folder)

    def choose_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model bundle folder", self._last_dir())
        if folder:
            self.use_engine(model_path=folder)

    def use_engine(self, *, library_path: str | None = None, model_path: str | None = None) -> None:
        """Switch the dance library and/or model; the open choreography is carried over.

        Placements whose dance exists in the new library are kept (locks too), the rest are
        re-solved, and the window says what happened. The result is unsaved work.
        """
        if library_path is not None:
            self.settings.setValue("library_path", library_path)
        if model_path is not None:
            self.settings.setValue("model_path", model_path)
        if not self.doc.ready:
            return
        project = self.current_project()
        spec = self._engine_spec()
        project.library = LibraryRef(
            project.library.name, project.library.fingerprint, spec.library_path
        )
        project.model = ModelRef(project.model.scorer, spec.model_path)
        audio, project_path = self.doc.audio, self.doc.project_path

        def done(opened: ops.Opened) -> None:
            self._on_opened(opened, project_path=project_path)
            self.doc.undo_stack.resetClean()
            self._update_title()

        self._run(
            "Switching library / model", lambda p: ops.restore_project(project, audio, p), done
        )

    def recover(self, autosave_path: str) -> None:
        """Reopen an autosaved project: unsaved (dirty), saving to where it was saved before."""
        self._recovering = True
        self.open_project(autosave_path)
        if self._job is None:  # the file could not even be read: nothing is being recovered
            self._recovering = False

    def _locate_song(self, message: str, old_path: str) -> str:
        if os.environ.get("CHOREO_NO_DIALOGS"):
            self._last_error = message
            return ""
        answer = QMessageBox.question(self, "Song not found", f"{message}\n\nLocate it now?")
        if answer != QMessageBox.StandardButton.Yes:
            return ""
        path, _ = QFileDialog.getOpenFileName(
            self, f"Locate {Path(old_path).name}", str(Path(old_path).parent), AUDIO_FILTER
        )
        return path

    def _engine_spec(self) -> ops.EngineSpec:
        return ops.EngineSpec(
            library_path=str(self.settings.value("library_path", "") or ""),
            model_path=str(self.settings.value("model_path", "") or ""),
        )

    def _show_new_audio(self, audio, pyramid: WavePyramid, path: str) -> None:
        self._pyramid = pyramid
        self.transport.stop()
        self.doc.clear()
        self.engine = None
        self.suggestions.clear()
        self.timeline.set_blocks([])
        self.doc.set_audio(audio, path)

    def _on_opened(self, opened: ops.Opened, project_path: str = "") -> None:
        self.engine = opened.engine
        self._opened_settings = dict(opened.settings)
        self.doc.undo_stack.clear()
        self.doc.project_path = project_path
        self.doc.set_segmentation(opened.segmentation)
        self.doc.undo_stack.setClean()
        self.library_browser.set_library(self.engine.library.phrases)
        self.scorer_label.setText(f"scorer: {self.engine.scorer_name}")
        if opened.settings.get("top_k"):
            self.suggestions.k_spin.setValue(int(opened.settings["top_k"]))
        self.doc.select(0)
        for note in opened.notes:
            self.statusBar().showMessage(note, 10000)
        if opened.warning:
            self.show_error(opened.warning)
        self._update_title()
        self._update_actions()
        self.autosaver.start()
        if self._recovering:
            self._recovering = False
            self.doc.project_path = str(self._opened_settings.get("project_path") or "")
            self.doc.undo_stack.resetClean()
            self._update_title()
        self.choreography_ready.emit()

    # ======================================================================= document → views
    def _on_audio(self) -> None:
        audio = self.doc.audio
        self.waveform.set_audio(self._pyramid)
        self.transport.set_audio(audio.samples, audio.sr)
        self.audio_label.setText(self.transport.description)
        self.song_label.setText(f"  {Path(self.doc.song_path).name}")
        self._on_position(0.0)

    def _on_segmentation(self) -> None:
        seg = self.doc.segmentation
        a = seg.analysis
        self.waveform.set_grid(a.beats_s, a.downbeats, a.sections)
        self.waveform.set_phrase_starts([p.start_s for p in seg.phrases])
        self.transport.set_beats(a.beats_s, a.downbeats)
        for beats, action in self.meter_actions.items():
            action.setChecked(beats == a.beats_per_bar)
        self.song_label.setText(
            f"  {Path(self.doc.song_path).name} · {a.tempo_bpm:.1f} BPM · {a.meter} · "
            f"{len(seg.phrases)} phrases"
        )

    def _on_choreography(self) -> None:
        """Refresh the cheap views at once; re-render the motion shortly after, off-thread."""
        self._refresh_blocks()
        self._refresh_suggestions()
        chor = self.doc.choreography
        self.library_browser.set_usage(chor.dance_ids)
        self.metrics_label.setText(ops.quick_metrics(chor))
        self._update_title()
        self._update_actions()
        self._render_timer.start()

    def _refresh_blocks(self) -> None:
        seg, chor = self.doc.segmentation, self.doc.choreography
        blocks = []
        for phrase, placement in zip(seg.phrases, chor.placements, strict=True):
            dance = self.engine.dance(placement.dance_id)
            blocks.append(
                Block(
                    phrase.start_s,
                    phrase.end_s,
                    (short_name(dance.name) if dance else placement.dance_id)
                    + (" ⇋" if placement.mirror else ""),
                    dance.style if dance else "?",
                    placement.locked,
                    placement.music_fit,
                    phrase.section_label,
                )
            )
        self.timeline.set_blocks(blocks)
        self.timeline.set_selected(self.doc.selected)

    def _refresh_suggestions(self) -> None:
        t = self.doc.selected
        if not self.doc.ready or t < 0:
            self.suggestions.clear()
            self.inspector.show_placement(None)
            return
        self.inspector.show_placement(self.doc.choreography[t])
        rows = ops.suggestion_rows(
            self.engine, self.doc.segmentation, self.doc.choreography, t, self.suggestions.k
        )
        phrase = self.doc.phrases[t]
        lock = " (locked)" if self.doc.choreography[t].locked else ""
        self.suggestions.set_rows(
            f"Phrase {t + 1}{lock} · {phrase.section_label} · {phrase.n_bars} bars · "
            f"{phrase.start_s:.1f}–{phrase.end_s:.1f} s",
            rows,
        )

    def _on_selection(self, index: int) -> None:
        self.timeline.set_selected(index)
        if index >= 0 and self.doc.phrases:
            p = self.doc.phrases[index]
            self.waveform.set_selection((p.start_s, p.end_s))
            if self.act_loop.isChecked():
                self.transport.set_loop((p.start_s, p.end_s))
        else:
            self.waveform.set_selection(None)
        if self.doc.ready:
            self._refresh_suggestions()
        self._update_actions()

    def _on_position(self, position_s: float) -> None:
        self.waveform.set_playhead(position_s)
        if self.transport.playing:
            self.waveform.ensure_visible(position_s)
        self.skeleton.set_time(position_s)
        self.timeline.set_playing(self.doc.phrase_at(position_s))
        self.time_label.setText(f"{_clock(position_s)} / {_clock(self.transport.duration_s)}")

    def _on_k_changed(self, k: int) -> None:
        self.settings.setValue("top_k", k)
        if self.doc.ready:
            self._refresh_suggestions()

    # ======================================================================= rendering
    def _start_render(self) -> None:
        if not self.doc.ready:
            return
        self._render_generation += 1
        generation = self._render_generation
        seg, chor, engine = self.doc.segmentation, self.doc.choreography, self.engine

        def done(scene: ops.RenderedScene):
            if generation == self._render_generation:
                self.skeleton.set_motion(scene.positions, scene.parents, scene.fps)
                self.skeleton.set_time(self.transport.position_s())
                self.metrics_label.setText(ops.quick_metrics(chor, scene.metrics))
                self.last_metrics = scene.metrics
                self.motion_ready.emit()

        self.jobs.start(
            "Rendering",
            lambda p: ops.render_scene(engine, seg, chor, p),
            on_done=done,
            on_error=self.show_error,
        )

    def preview_dance(self, dance_id: str) -> None:
        """Library preview: the dance on the selected phrase, beat-warped, with the music."""
        self.audition_dance(dance_id)

    # ======================================================================= edits
    def _push_choreography(self, after, text: str, select: int | None = None) -> None:
        before = self.doc.choreography
        if after.placements == before.placements:
            self.statusBar().showMessage(f"{text}: nothing changed", 3000)
            return
        self.doc.undo_stack.push(SetChoreographyCommand(self.doc, before, after, text, select))

    def swap_suggestion(self, row: int) -> None:
        rows = self.suggestions.rows
        if 0 <= row < len(rows):
            self.place_dance(rows[row].dance_id)

    def place_dance(self, dance_id: str) -> None:
        """Swap ``dance_id`` onto the selected phrase (undoable; neighbours' scores refresh)."""
        t = self.doc.selected
        if not self.doc.ready or t < 0:
            return
        if self.doc.choreography[t].locked:
            self.statusBar().showMessage("phrase is locked — unlock it (L) to swap", 4000)
            return
        name = self.engine.library.phrase(dance_id).name
        after = ops.swap(self.engine, self.doc.segmentation, self.doc.choreography, t, dance_id)
        self._push_choreography(after, f"Swap phrase {t + 1} to {name}", select=t)

    def toggle_lock(self) -> None:
        t = self.doc.selected
        if not self.doc.ready or t < 0:
            return
        p = self.doc.choreography[t]
        after = self.doc.choreography.with_placement(p.with_changes(locked=not p.locked))
        verb = "Unlock" if p.locked else "Lock"
        self._push_choreography(after, f"{verb} phrase {t + 1}", select=t)

    def edit_placement(self, name: str, value: object) -> None:
        """Change one field (blend_s, mirror, mirror_on_repeat) of the selected placement."""
        t = self.doc.selected
        if not self.doc.ready or t < 0 or self.doc.choreography[t].locked:
            return
        p = self.doc.choreography[t]
        after = self.doc.choreography.with_placement(p.with_changes(**{name: value}))
        label = {
            "blend_s": f"Blend {value:.2f} s",
            "mirror": "Mirror",
            "mirror_on_repeat": "Mirror on repeat",
        }[name]
        self._push_choreography(after, f"{label} on phrase {t + 1}", select=t)

    def toggle_mirror(self) -> None:
        t = self.doc.selected
        if not self.doc.ready or t < 0:
            return
        p = self.doc.choreography[t]
        after = self.doc.choreography.with_placement(p.with_changes(mirror=not p.mirror))
        self._push_choreography(after, f"Mirror phrase {t + 1}", select=t)

    def resolve_unlocked(self) -> None:
        self._solve("Re-solve unlocked", temperature=0.0)

    def vary(self) -> None:
        self._solve("Vary", temperature=1.0)

    def _solve(self, text: str, temperature: float) -> None:
        if not self.doc.ready:
            return
        seg, chor, engine = self.doc.segmentation, self.doc.choreography, self.engine
        tie = self.act_tie.isChecked()
        seed = int(time.time() * 1000) % (2**31)

        def done(after):
            if self.doc.choreography is chor:
                self._push_choreography(after, text)
            else:
                self.statusBar().showMessage(f"{text}: edited meanwhile — try again", 5000)

        self._run(
            text,
            lambda p: ops.solve(
                engine, seg, chor, temperature=temperature, tie_sections=tie, seed=seed, progress=p
            ),
            done,
        )

    def same_as_section(self) -> None:
        """Put the selected phrase's dance on the same phrase of every repeat of its section."""
        t = self.doc.selected
        if not self.doc.ready or t < 0:
            return
        after, changed = ops.same_as_section(
            self.engine, self.doc.segmentation, self.doc.choreography, t
        )
        if not changed:
            self.statusBar().showMessage("no other unlocked repeat of this section phrase", 4000)
            return
        self._push_choreography(after, f"Same as section ({len(changed)} phrases)", select=t)

    # -- segmentation edits (re-segment, re-solve only what changed) -----------------------
    def _resegment(self, text: str, make) -> None:
        """Run ``make(progress) -> Segmentation`` in a worker, then push it as one command."""
        if not self.doc.ready:
            return
        before = self.doc.segmentation

        def restore_lines() -> None:
            self.waveform.set_phrase_starts([p.start_s for p in self.doc.phrases])

        def done(after: Segmentation):
            if self.doc.segmentation is before:
                self.doc.undo_stack.push(SetSegmentationCommand(self.doc, before, after, text))
            else:
                restore_lines()
                self.statusBar().showMessage(
                    f"{text}: the song changed meanwhile — try again", 5000
                )

        def failed(message: str):
            restore_lines()
            self.show_error(message)

        self._run(text, make, done, on_error=failed, on_cancel=restore_lines)

    def move_boundary(self, index: int, to_s: float) -> None:
        """A dragged boundary (the start of phrase ``index``) was dropped at ``to_s``."""
        if not self.doc.ready or not 0 < index < len(self.doc.phrases):
            return
        from_s = self.doc.phrases[index].start_s
        if abs(from_s - to_s) < 1e-3:
            return
        seg, engine = self.doc.segmentation, self.engine
        self._resegment(
            f"Move boundary {index}",
            lambda p: ops.resegment(engine, seg, seg.constraints.move(from_s, to_s), p),
        )

    def split_at_playhead(self) -> None:
        if not self.doc.ready:
            return
        at = self.waveform.snap_to_downbeat(self.transport.position_s())
        t = self.doc.phrase_at(at)
        if t < 0 or abs(self.doc.phrases[t].start_s - at) < 1e-3:
            self.statusBar().showMessage("move the playhead inside a phrase to split it", 4000)
            return
        seg, engine = self.doc.segmentation, self.engine
        self._resegment(
            f"Split phrase {t + 1}",
            lambda p: ops.resegment(engine, seg, seg.constraints.pin(at), p),
        )

    def merge_with_next(self) -> None:
        t = self.doc.selected
        if not self.doc.ready or not 0 <= t < len(self.doc.phrases) - 1:
            return
        at = self.doc.phrases[t + 1].start_s
        seg, engine = self.doc.segmentation, self.engine
        self._resegment(
            f"Merge phrases {t + 1}–{t + 2}",
            lambda p: ops.resegment(engine, seg, seg.constraints.remove(at), p),
        )

    # -- tempo tools --------------------------------------------------------------------------
    def tap_tempo(self) -> None:
        if not self.doc.ready:
            return
        dialog = TapTempo(self.doc.analysis.tempo_bpm, self)
        if os.environ.get("CHOREO_NO_DIALOGS") or not dialog.exec():
            return
        self.set_tempo(dialog.bpm)

    def set_tempo(self, bpm: float) -> None:
        seg, engine, audio = self.doc.segmentation, self.engine, self.doc.audio
        self._resegment(
            f"Set tempo {bpm:.1f} BPM", lambda p: ops.retime(engine, seg, audio, p, tempo_bpm=bpm)
        )

    def set_first_downbeat(self) -> None:
        if not self.doc.ready:
            return
        at = self.transport.position_s()
        seg, engine, audio = self.doc.segmentation, self.engine, self.doc.audio
        self._resegment(
            f"First downbeat at {at:.2f} s",
            lambda p: ops.retime(engine, seg, audio, p, first_downbeat_s=at),
        )

    def set_meter(self, beats_per_bar: int) -> None:
        if not self.doc.ready or beats_per_bar == self.doc.analysis.beats_per_bar:
            return
        seg, engine, audio = self.doc.segmentation, self.engine, self.doc.audio
        self._resegment(
            f"Meter {beats_per_bar}/4",
            lambda p: ops.retime(engine, seg, audio, p, beats_per_bar=beats_per_bar),
        )

    # ======================================================================= transport
    def _toggle_loop(self, on: bool) -> None:
        t = self.doc.selected
        if on and t >= 0 and self.doc.phrases:
            p = self.doc.phrases[t]
            self.transport.set_loop((p.start_s, p.end_s))
        else:
            self.transport.set_loop(None)

    def _step_selection(self, step: int) -> None:
        if self.doc.phrases:
            self.doc.select(max(self.doc.selected, 0) + step)

    def _audition_selected_phrase(self, index: int) -> None:
        self.doc.select(index)
        p = self.doc.phrases[index]
        self.transport.audition(p.start_s, p.end_s)

    def audition_suggestion(self, row: int) -> None:
        """Play the selected phrase of the song with this suggestion on the skeleton."""
        rows = self.suggestions.rows
        if 0 <= row < len(rows):
            self.audition_dance(rows[row].dance_id)

    def audition_dance(self, dance_id: str) -> None:
        """Play the selected phrase of the song with ``dance_id`` on the skeleton.

        The phrase starts playing at once; its beat-warped preview is rendered in a worker
        and replaces the skeleton's motion when ready. The full dance comes back afterwards.
        """
        t = self.doc.selected
        if not self.doc.ready or t < 0:
            return
        p = self.doc.phrases[t]
        seg, chor, engine = self.doc.segmentation, self.doc.choreography, self.engine
        self._render_generation += 1
        generation = self._render_generation
        self.transport.audition(p.start_s, p.end_s)

        def show(scene) -> None:
            if generation == self._render_generation:
                positions, parents, fps = scene
                self.skeleton.set_motion(positions, parents, fps, start_s=p.start_s)
                self.skeleton.set_time(self.transport.position_s())

        def restore() -> None:
            if generation == self._render_generation:
                self._start_render()

        self.jobs.start(
            "Audition",
            lambda _p: ops.audition_scene(engine, seg, chor, t, dance_id),
            on_done=show,
            on_error=self.show_error,
        )
        # Bound to self so a pending restore dies with the window instead of firing after it.
        QTimer.singleShot(max(1000, int(1000 * (p.end_s - p.start_s)) + 300), self, restore)

    def _zoom_fit(self) -> None:
        self.waveform.getViewBox().setXRange(0, max(self.transport.duration_s, 1.0), padding=0)

    def zoom(self, factor: float) -> None:
        """Zoom the time axis by ``factor`` around the playhead (kept where it is on screen)."""
        vb = self.waveform.getViewBox()
        lo, hi = vb.viewRange()[0]
        at = min(max(self.transport.position_s(), lo), hi)
        vb.setXRange(at - (at - lo) * factor, at + (hi - at) * factor, padding=0)

    def _zoom_phrase(self) -> None:
        t = self.doc.selected
        if t >= 0 and self.doc.phrases:
            p = self.doc.phrases[t]
            margin = 0.1 * (p.end_s - p.start_s)
            self.waveform.getViewBox().setXRange(p.start_s - margin, p.end_s + margin, padding=0)

    # ======================================================================= saving
    def current_project(self):
        return ops.make_project(self.engine, self.doc, self.suggestions.k)

    def save(self) -> bool:
        if not self.doc.ready:
            return False
        if not self.doc.project_path:
            return self.save_as()
        return self.save_to(self.doc.project_path)

    def save_as(self) -> bool:
        if not self.doc.ready:
            return False
        default = str(Path(self.doc.song_path).with_suffix(PROJECT_SUFFIX))
        path, _ = QFileDialog.getSaveFileName(self, "Save project", default, PROJECT_FILTER)
        if not path:
            return False
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        """Atomically write the project; on failure the document stays open and dirty."""
        try:
            ops.save_project_file(self.current_project(), path)
        except (OSError, ChoreoError) as exc:
            self.show_error(f"{path}: could not save ({exc}) — choose another folder")
            return False
        self.doc.project_path = path
        self.doc.undo_stack.setClean()
        self.autosaver.discard()
        self._add_recent(path)
        self.statusBar().showMessage(f"saved {path}", 4000)
        self._update_title()
        return True

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False when the user cancels."""
        if not self.doc.ready or not self.doc.dirty or os.environ.get("CHOREO_NO_DIALOGS"):
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            "Save the changes to this choreography?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return True

    def export_dialog(self) -> None:
        if not self.doc.ready:
            return
        from choreo_studio.editor.export_dialog import ExportDialog

        dialog = ExportDialog(self, default_dir=str(Path(self.doc.song_path).parent))
        if dialog.exec():
            self.export(
                dialog.out_dir, dialog.formats, fps=dialog.fps, video_size=dialog.video_size
            )

    def export(
        self,
        out_dir: str,
        formats: list[str],
        *,
        fps: float = 30.0,
        video_size: tuple[int, int] = VIDEO_SIZE,
        on_done=None,
    ) -> None:
        """Export in the background; ``on_done(paths)`` receives the written files."""
        seg, chor, engine = self.doc.segmentation, self.doc.choreography, self.engine
        audio, song_path = self.doc.audio, self.doc.song_path

        def done(paths):
            self.statusBar().showMessage(f"exported {len(paths)} files to {out_dir}", 6000)
            if on_done is not None:
                on_done(paths)

        self._run(
            "Exporting",
            lambda p: export_all(
                engine,
                seg,
                chor,
                audio,
                song_path,
                out_dir,
                formats,
                fps=fps,
                video_size=video_size,
                progress=p,
            ),
            done,
        )

    # ======================================================================= misc
    def show_shortcuts(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(shortcut_sheet_html())
        if not os.environ.get("CHOREO_NO_DIALOGS"):
            box.exec()

    def _update_title(self) -> None:
        name = Path(self.doc.project_path or self.doc.song_path).name or "untitled"
        self.setWindowTitle(f"{name}[*] — Choreo Studio")
        self.setWindowModified(self.doc.dirty)

    def _update_actions(self) -> None:
        ready = self.doc.ready
        has_sel = ready and self.doc.selected >= 0
        for action in (
            self.act_save,
            self.act_save_as,
            self.act_export,
            self.act_resolve,
            self.act_vary,
            self.act_split,
            self.act_tap,
            self.act_downbeat,
        ):
            action.setEnabled(ready)
        for action in (self.act_lock, self.act_mirror, self.act_same, self.act_merge):
            action.setEnabled(has_sel)
        self.act_play.setText("Pause" if self.transport.playing else "Play")

    def _last_dir(self) -> str:
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.settings.setValue("recent_files", files[:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(path)
            action.setEnabled(Path(path).exists())
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self.maybe_save():
            event.ignore()
            return
        self.jobs.cancel_all()
        self.jobs.wait(5000)
        self.transport.close()
        self.autosaver.stop(discard=True)
        self._render_timer.stop()
        self.doc.undo_stack.blockSignals(True)
        self.doc.blockSignals(True)
        event.accept()


def _load_with_waveform(path: str, progress) -> tuple:
    """Worker: decode the song and build its waveform envelopes (nothing slow on the GUI)."""
    audio = ops.load_song_audio(path, progress)
    return audio, WavePyramid(audio.samples, audio.sr)


def short_name(name: str) -> str:
    """A dance name as the timeline shows it: the part before any ``:`` description."""
    return name.split(":", 1)[0].strip() or name


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"
