"""The main window: waveform + timeline, skeleton preview, suggestions, library, transport.

It builds the views, wires them to the :class:`~editor.document.Document`, and hands user
gestures to the action table (:mod:`editor.actions`), whose slots live in
:mod:`editor.edit_handlers` (edits) and :mod:`editor.file_handling` (open, save, export).
Everything slow runs as a background job with a progress bar and a Cancel button; jobs of
different kinds (open, edit, export, render) run side by side. What the window asks or tells
the user goes through a :mod:`prompter <editor.prompter>`; the open project is never lost.
"""

from __future__ import annotations

from pathlib import Path

from choreo_studio.core.clock import format_clock
from choreo_studio.editor import session_ops as ops
from choreo_studio.editor.actions import ActionSet, EditorState
from choreo_studio.editor.autosave import Autosaver
from choreo_studio.editor.document import Document
from choreo_studio.editor.edit_handlers import EDIT_JOB, EditHandlers
from choreo_studio.editor.file_handling import FileHandler
from choreo_studio.editor.job_panel import JobPanel
from choreo_studio.editor.library_browser import LibraryBrowser
from choreo_studio.editor.placement_inspector import PlacementInspector
from choreo_studio.editor.prompter import Prompter, QtPrompter
from choreo_studio.editor.shortcuts import shortcut_sheet_html
from choreo_studio.editor.skeleton_view import make_skeleton_view
from choreo_studio.editor.suggestions_panel import SuggestionsPanel
from choreo_studio.editor.timeline_view import Block, TimelineView
from choreo_studio.editor.transport import Transport
from choreo_studio.editor.waveform_view import WaveformView, WavePyramid
from choreo_studio.editor.workers import Job, JobRunner
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QSplitter,
    QToolBar,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

RENDER_DEBOUNCE_MS = 120
RENDER_JOB = "render"
CLOSE_WAIT_MS = 5000


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
        prompter: Prompter | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Choreo Studio")
        self.resize(1400, 860)
        self.setAcceptDrops(True)
        self.settings = settings or QSettings("ChoreoStudio", "Choreo Studio")
        self.prompter: Prompter = prompter or QtPrompter(self)
        self.doc = Document(self)
        self.engine: ops.EngineState | None = None
        self.transport = Transport(self, want_sound=want_sound)
        self.jobs = JobRunner(self)
        self.pyramid: WavePyramid | None = None
        self.last_metrics = None
        self._last_error = ""
        self._render_generation = 0
        self.edits = EditHandlers(self)
        self.files = FileHandler(self)
        self.autosaver = Autosaver(
            self.doc, self.files.current_project, autosave_dir, notify=self.say
        )

        self._build_views()
        self.action_set = ActionSet(self, self.editor_state)
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

    def action(self, action_id: str) -> QAction:
        """The QAction declared as ``action_id`` in :data:`editor.actions.ACTIONS`."""
        return self.action_set[action_id]

    def _build_menus_and_toolbar(self) -> None:
        menus = self.action_set.fill_menus(self.menuBar())
        self.recent_menu = menus["&File"].addMenu("Open &Recent")
        menus["&File"].insertMenu(self.action("open_demo"), self.recent_menu)
        self.recent_menu.aboutToShow.connect(
            lambda: self.files.fill_recent_menu(self.recent_menu)
        )
        menus["&View"].addActions(
            [self.library_dock.toggleViewAction(), self.history_dock.toggleViewAction()]
        )
        tools = QToolBar("Transport")
        tools.setObjectName("transport_toolbar")
        self.action_set.fill_toolbar(tools)
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
        self.job_panel = JobPanel(self.jobs)
        status.addPermanentWidget(self.metrics_label)
        status.addPermanentWidget(self.scorer_label)
        status.addPermanentWidget(self.audio_label)
        status.addPermanentWidget(self.job_panel)

    def _connect(self) -> None:
        doc, run = self.doc, self.action_set.run
        doc.audio_changed.connect(self._on_audio)
        doc.segmentation_changed.connect(self._on_segmentation)
        doc.choreography_changed.connect(self._on_choreography)
        doc.selection_changed.connect(self._on_selection)
        doc.undo_stack.cleanChanged.connect(lambda _clean: self._update_title())
        doc.undo_stack.indexChanged.connect(lambda _index: self._update_actions())
        self.transport.position_changed.connect(self._on_position)
        self.transport.playing_changed.connect(lambda _p: self._update_actions())
        self.waveform.seek_requested.connect(self.transport.seek)
        self.waveform.boundary_moved.connect(lambda i, t: run("move_boundary", i, t))
        self.timeline.phrase_clicked.connect(self.doc.select)
        self.timeline.phrase_activated.connect(lambda i: run("audition_phrase", i))
        self.suggestions.audition_requested.connect(self.audition_suggestion)
        self.suggestions.swap_requested.connect(lambda row: run("swap", row))
        self.suggestions.k_changed.connect(self._on_k_changed)
        self.library_browser.preview_requested.connect(lambda d: run("audition_dance", d))
        self.library_browser.place_requested.connect(lambda d: run("place", d))
        self.inspector.changed.connect(lambda name, value: run("edit_placement", name, value))

    # ======================================================================= host services
    def editor_state(self) -> EditorState:
        """The snapshot the action rules look at."""
        doc, stack = self.doc, self.doc.undo_stack
        return EditorState(
            ready=doc.ready,
            selected=doc.selected,
            n_phrases=len(doc.phrases),
            playing=self.transport.playing,
            undo_text=stack.undoText() if stack.canUndo() else None,
            redo_text=stack.redoText() if stack.canRedo() else None,
        )

    def run_job(
        self, label: str, kind: str, fn, on_done, *, on_error=None, on_cancel=None
    ) -> Job:
        """Run ``fn(progress)`` in the background with a progress bar and Cancel; it replaces
        a running job of the same ``kind`` only (an export survives a vary)."""

        def cancelled() -> None:
            self.say(f"{label}: cancelled")
            if on_cancel is not None:
                on_cancel()

        return self.jobs.start(
            label,
            fn,
            kind=kind,
            visible=True,
            on_done=on_done,
            on_error=on_error or self.show_error,
            on_cancel=cancelled,
        )

    def cancel_job(self) -> None:
        """Cancel the most recently started job the status bar shows (Esc)."""
        job = self.jobs.latest_visible()
        if job is not None:
            job.cancel()

    def say(self, message: str, ms: int = 4000) -> None:
        """A transient status-bar message."""
        self.statusBar().showMessage(message, ms)

    def show_error(self, message: str) -> None:
        """A dialog saying what is wrong and what to do (the project stays open)."""
        self._last_error = message
        self.statusBar().showMessage(message, 10000)
        self.prompter.inform("Choreo Studio", message)

    def playhead_s(self) -> float:
        return self.transport.position_s()

    def snap_to_downbeat(self, time_s: float) -> float:
        return self.waveform.snap_to_downbeat(time_s)

    def show_boundaries(self) -> None:
        self.waveform.set_phrase_starts([p.start_s for p in self.doc.phrases])

    def tie_sections(self) -> bool:
        return self.action("tie").isChecked()

    def suggestion_rows(self) -> list:
        return self.suggestions.rows

    def top_k(self) -> int:
        return self.suggestions.k

    def saved(self) -> None:
        self.autosaver.discard()
        self._update_title()

    def recovered(self, autosave_path: str) -> None:
        """The recovered work is unsaved until the user saves it; its autosave stays until then."""
        self.autosaver.adopt(autosave_path)
        self.doc.undo_stack.resetClean()
        self._update_title()

    def show_new_audio(self, audio, pyramid: WavePyramid, path: str) -> None:
        """Clear the views and show a freshly decoded song (edits of the old one are dropped;
        an export of it keeps running)."""
        for job in self.jobs.running(EDIT_JOB):
            job.cancel()
        self.pyramid = pyramid
        self.transport.stop()
        self.doc.clear()
        self.engine = None
        self.suggestions.clear()
        self.timeline.set_blocks([])
        self.doc.set_audio(audio, path)

    def install(self, opened: ops.Opened, project_path: str = "") -> None:
        """Put an opened choreography on screen as a clean document (its own undo history)."""
        self.engine = opened.engine
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
            self.say(note, 10000)
        if opened.warning:
            self.show_error(opened.warning)
        self._update_title()
        self._update_actions()
        self.autosaver.start()
        self.choreography_ready.emit()

    # ======================================================================= document → views
    def _on_audio(self) -> None:
        audio = self.doc.audio
        self.waveform.set_audio(self.pyramid)
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
        for beats in (2, 3, 4, 6):
            self.action(f"meter_{beats}").setChecked(beats == a.beats_per_bar)
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
        parts = ops.score_parts(self.engine, seg, chor)
        blocks = []
        for phrase, placement, part in zip(seg.phrases, chor.placements, parts, strict=True):
            dance = self.engine.dance(placement.dance_id)
            blocks.append(
                Block(
                    phrase.start_s,
                    phrase.end_s,
                    (short_name(dance.name) if dance else placement.dance_id)
                    + (" ⇋" if placement.mirror else ""),
                    dance.style if dance else "?",
                    placement.locked,
                    part.music_fit,
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
            if self.action("loop").isChecked():
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
        self.time_label.setText(f"{format_clock(position_s, 1)} / "
                                f"{format_clock(self.transport.duration_s, 1)}")

    def _on_k_changed(self, k: int) -> None:
        self.settings.setValue("top_k", k)
        if self.doc.ready:
            self._refresh_suggestions()

    def _update_title(self) -> None:
        name = Path(self.doc.project_path or self.doc.song_path).name or "untitled"
        self.setWindowTitle(f"{name}[*] — Choreo Studio")
        self.setWindowModified(self.doc.dirty)

    def _update_actions(self) -> None:
        self.action_set.refresh()

    # ======================================================================= rendering
    def _start_render(self) -> None:
        if not self.doc.ready:
            return
        self._render_generation += 1
        generation = self._render_generation
        seg, chor, engine = self.doc.segmentation, self.doc.choreography, self.engine

        def done(scene: ops.RenderedScene) -> None:
            if generation == self._render_generation:
                self.skeleton.set_motion(scene.positions, scene.parents, scene.fps)
                self.skeleton.set_time(self.transport.position_s())
                self.metrics_label.setText(ops.quick_metrics(chor, scene.metrics))
                self.last_metrics = scene.metrics
                self.motion_ready.emit()

        self.jobs.start(
            "Rendering",
            lambda p: ops.render_scene(engine, seg, chor, p),
            kind=RENDER_JOB,
            on_done=done,
            on_error=self.show_error,
        )

    def audition_suggestion(self, row: int) -> None:
        """Play the selected phrase of the song with this suggestion on the skeleton."""
        rows = self.suggestions.rows
        if 0 <= row < len(rows):
            self.action_set.run("audition_dance", rows[row].dance_id)

    def audition_dance(self, dance_id: str) -> None:
        """Play the selected phrase of the song with ``dance_id`` on the skeleton.

        The phrase starts playing at once; its beat-warped preview is rendered in a worker
        and replaces the skeleton's motion when ready. The full dance comes back afterwards.
        """
        t = self.doc.selected
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
            kind=RENDER_JOB,
            on_done=show,
            on_error=self.show_error,
        )
        # Bound to self so a pending restore dies with the window instead of firing after it.
        QTimer.singleShot(max(1000, int(1000 * (p.end_s - p.start_s)) + 300), self, restore)

    def preview_dance(self, dance_id: str) -> None:
        """Library preview: the dance on the selected phrase, beat-warped, with the music."""
        self.action_set.run("audition_dance", dance_id)

    # ======================================================================= transport / view
    def toggle_loop(self, on: bool) -> None:
        """Loop the selected phrase (or stop looping)."""
        t = self.doc.selected
        if on and t >= 0 and self.doc.phrases:
            p = self.doc.phrases[t]
            self.transport.set_loop((p.start_s, p.end_s))
        else:
            self.transport.set_loop(None)

    def step_selection(self, step: int) -> None:
        """Select the phrase ``step`` away from the selected one."""
        self.doc.select(max(self.doc.selected, 0) + step)

    def audition_phrase(self, index: int) -> None:
        """Select phrase ``index`` and play it."""
        self.doc.select(index)
        p = self.doc.phrases[index]
        self.transport.audition(p.start_s, p.end_s)

    def zoom_fit(self) -> None:
        """Show the whole song."""
        self.waveform.getViewBox().setXRange(0, max(self.transport.duration_s, 1.0), padding=0)

    def zoom(self, factor: float) -> None:
        """Zoom the time axis by ``factor`` around the playhead (kept where it is on screen)."""
        vb = self.waveform.getViewBox()
        lo, hi = vb.viewRange()[0]
        at = min(max(self.transport.position_s(), lo), hi)
        vb.setXRange(at - (at - lo) * factor, at + (hi - at) * factor, padding=0)

    def zoom_phrase(self) -> None:
        """Show the selected phrase with a little margin."""
        p = self.doc.phrases[self.doc.selected]
        margin = 0.1 * (p.end_s - p.start_s)
        self.waveform.getViewBox().setXRange(p.start_s - margin, p.end_s + margin, padding=0)

    def show_shortcuts(self) -> None:
        """The keyboard shortcut sheet."""
        self.prompter.show_rich("Keyboard shortcuts", shortcut_sheet_html())

    # ======================================================================= window events
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.files.open_path(urls[0])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self.files.maybe_save():
            event.ignore()
            return
        self.jobs.cancel_all()
        self.jobs.wait(CLOSE_WAIT_MS)
        self.transport.close()
        self.autosaver.stop(discard=True)
        self._render_timer.stop()
        self.doc.undo_stack.blockSignals(True)
        self.doc.blockSignals(True)
        event.accept()


def short_name(name: str) -> str:
    """A dance name as the timeline shows it: the part before any ``:`` description."""
    return name.split(":", 1)[0].strip() or name
