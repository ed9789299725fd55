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

from choreo_studio.core.project import session
from choreo_studio.editor import session_ops as ops
from choreo_studio.editor import view_state
from choreo_studio.editor.actions import ActionSet, EditorState
from choreo_studio.editor.autosave import Autosaver
from choreo_studio.editor.block_layout import BlockMaker, selection_runs, short_name
from choreo_studio.editor.choreo_settings import ChoreoSettingsPanel
from choreo_studio.editor.document import Document
from choreo_studio.editor.edit_handlers import EDIT_JOB, EditHandlers
from choreo_studio.editor.file_handling import FileHandler
from choreo_studio.editor.job_panel import JobPanel
from choreo_studio.editor.library_browser import LibraryBrowser
from choreo_studio.editor.placement_inspector import PhraseAbout, PlacementInspector
from choreo_studio.editor.preview_handlers import PreviewHandlers
from choreo_studio.editor.prompter import Prompter, QtPrompter
from choreo_studio.editor.shortcuts import shortcut_sheet_html
from choreo_studio.editor.skeleton_view import make_skeleton_view
from choreo_studio.editor.suggestions_panel import SuggestionsPanel
from choreo_studio.editor.tempo_tools import fill_readings_menu
from choreo_studio.editor.time_format import bar_beat, mmss, where
from choreo_studio.editor.timeline_view import TimelineView
from choreo_studio.editor.transport import Transport
from choreo_studio.editor.waveform_view import WaveformView, WavePyramid
from choreo_studio.editor.workers import Job, JobRunner
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QToolBar,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

RENDER_DEBOUNCE_MS = 120
RENDER_JOB = "render"
DECODE_JOB = "decode"
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
        self._browsed_library = ""
        """The fingerprint of the library the browser shows (refilled only when it changes)."""
        self.auditioning: tuple[int, str, float] | None = None
        """(phrase, dance name, where the user was) while a suggestion loops."""
        self.context_menu: QMenu | None = None
        self.edits = EditHandlers(self)
        self.preview = PreviewHandlers(self)
        self.files = FileHandler(self)
        self.autosaver = Autosaver(
            self.doc, self.files.project_maker, autosave_dir, notify=self.say
        )

        self.block_maker = BlockMaker()
        self._build_views()
        self.action_set = ActionSet(self, self.editor_state)
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect()
        self.preview.sync_actions()
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_DEBOUNCE_MS)
        self._render_timer.timeout.connect(self._start_render)
        self._update_actions()
        view_state.restore_window(self, self.settings)

    # ======================================================================= construction
    def _build_views(self) -> None:
        self.waveform = WaveformView()
        self.timeline = TimelineView()
        self.timeline.setXLink(self.waveform)
        self.skeleton = make_skeleton_view()
        self.preview.set_capsules(self.settings.value("character") == "capsule")
        self.suggestions = SuggestionsPanel(k=int(self.settings.value("top_k", 10)))
        self.library_browser = LibraryBrowser()

        song_area = QWidget()
        song_layout = QVBoxLayout(song_area)
        song_layout.setContentsMargins(0, 0, 0, 0)
        song_layout.setSpacing(0)
        song_layout.addWidget(self.waveform, 1)
        song_layout.addWidget(self.timeline)

        self.inspector = PlacementInspector()
        self.phrase_about = PhraseAbout()
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 0)
        right_layout.addWidget(self.phrase_about)
        right_layout.addWidget(self.inspector)
        right_layout.addWidget(self.suggestions, 1)
        self.setCentralWidget(song_area)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.skeleton_dock = self._dock("3D view", "skeleton_dock", self.skeleton,
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
        self.suggestions_dock = self._dock("Suggestions", "suggestions_dock", right,
                                           Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.skeleton_dock, self.suggestions_dock,
                             Qt.Orientation.Horizontal)
        self.resizeDocks([self.skeleton_dock, self.suggestions_dock], [560, 700],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.skeleton_dock], [470], Qt.Orientation.Vertical)
        self.suggestions.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.audition_label = QLabel("")
        self.audition_label.setStyleSheet("color: #ffd23f; font-weight: bold")

        dock = QDockWidget("Library", self)
        dock.setObjectName("library_dock")
        dock.setWidget(self.library_browser)
        self.library_browser.setMinimumWidth(420)
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
        self.choreo_settings = ChoreoSettingsPanel()
        self.choreo_dock = self._dock("Choreography", "choreo_dock", self.choreo_settings,
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(history, self.choreo_dock)
        dock.raise_()

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea
              ) -> QDockWidget:
        """``widget`` in a movable, floatable (detachable) dock named ``name``."""
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

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
        self.readings_menu = menus["&Tempo"].addMenu("Other &readings")
        self.readings_menu.aboutToShow.connect(lambda: fill_readings_menu(
            self.readings_menu, self.doc.analysis if self.doc.ready else None,
            self.edits.take_reading))
        menus["&View"].addActions([dock.toggleViewAction() for dock in (
            self.library_dock, self.history_dock, self.choreo_dock, self.skeleton_dock,
            self.suggestions_dock)])
        tools = QToolBar("Transport")
        tools.setObjectName("transport_toolbar")
        self.action_set.fill_toolbar(tools)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setMinimumWidth(190)
        self.time_label.setToolTip("bar:beat · m:ss of the playhead / the song's length")
        tools.addWidget(self.time_label)
        self.speed_label = QLabel("")
        self.speed_label.setToolTip("playback speed (Playback ▸ Speed, [ and ])")
        tools.addWidget(self.speed_label)
        tools.addWidget(self.audition_label)
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
        self.waveform.range_dragged.connect(lambda lo, hi: run("set_range", lo, hi))
        self.waveform.context_requested.connect(self._wave_menu)
        self.timeline.phrase_clicked.connect(self.doc.select)
        self.timeline.phrase_activated.connect(lambda i: run("audition_phrase", i))
        self.timeline.context_requested.connect(self._block_menu)
        self.timeline.dance_dropped.connect(self.drop_dance)
        self.suggestions.table.customContextMenuRequested.connect(self._suggestion_menu)
        self.suggestions.audition_requested.connect(self.audition_suggestion)
        self.suggestions.swap_requested.connect(lambda row: run("swap", row))
        self.suggestions.k_changed.connect(self._on_k_changed)
        self.library_browser.preview_requested.connect(lambda d: run("audition_dance", d))
        self.library_browser.place_requested.connect(lambda d: run("place", d))
        self.inspector.changed.connect(lambda name, value: run("edit_placement", name, value))
        self.choreo_settings.changed.connect(lambda name, value: run("decode_setting", name,
                                                                     value))

    # ======================================================================= host services
    def editor_state(self) -> EditorState:
        """The snapshot the action rules look at."""
        doc, stack = self.doc, self.doc.undo_stack
        return EditorState(
            ready=doc.ready,
            selected=doc.selected,
            n_selected=len(doc.selection),
            n_phrases=len(doc.phrases),
            playing=self.transport.playing,
            undo_text=stack.undoText() if doc.ready and stack.canUndo() else None,
            redo_text=stack.redoText() if doc.ready and stack.canRedo() else None,
        )

    def run_job(
        self, label: str, kind: str, fn, on_done, *, on_error=None, on_cancel=None,
        keep_result: bool = False,
    ) -> Job:
        """Run ``fn(progress)`` in the background with a progress bar and Cancel; it replaces
        a running job of the same ``kind`` only (an export survives a vary); ``keep_result``
        as in :meth:`JobRunner.start`."""

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
            keep_result=keep_result,
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

    def set_decode_options(self, options) -> None:
        self.engine.options = options
        self.choreo_settings.show_options(options)

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
        an export of it keeps running). The undo history stays until the new song is
        installed, so a cancelled open puts the old session back whole."""
        for job in self.jobs.running(EDIT_JOB):
            job.cancel()
        self.pyramid = pyramid
        self.transport.stop()
        self.doc.clear(keep_history=True)
        self.engine = None
        self.stop_audition(resume=False)
        self.suggestions.clear()
        self.timeline.set_blocks([])
        self.doc.set_audio(audio, path)
        self._update_actions()  # nothing to edit (nor undo) until the new song is installed

    def install(self, opened: ops.Opened, project_path: str = "", *,
                keep_history: bool = False) -> None:
        """Put an opened choreography on screen as a clean document (its own undo history);
        ``keep_history``: the session a cancelled open puts back, its undo stack as it was."""
        self.engine = opened.engine
        if not keep_history:
            self.doc.undo_stack.clear()
        self.doc.project_path = project_path
        self.doc.set_segmentation(opened.segmentation)
        if not keep_history:
            self.doc.undo_stack.setClean()
        if self.engine.library.fingerprint != self._browsed_library:  # 0.2-0.3 s on K = 240
            self._browsed_library = self.engine.library.fingerprint
            self.library_browser.set_library(self.engine.library.phrases)
        self.scorer_label.setText(f"scorer: {self.engine.scorer_name}")
        self.choreo_settings.show_options(self.engine.options)
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
        self._decode_for_playback()

    # ======================================================================= document → views
    def _on_audio(self) -> None:
        audio = self.doc.audio
        self.preview.sync_actions()
        self.waveform.set_audio(self.pyramid)
        self.transport.set_audio(ops.playback_samples(audio), audio.sr)
        self.audio_label.setText(self.transport.description)
        self.song_label.setText(f"  {Path(self.doc.song_path).name}")
        self._on_position(0.0)

    def _decode_for_playback(self) -> None:
        """A cached song opened undecoded: decode its sound now that its choreography is up
        (playback plays silence of the song's length until then)."""
        audio = self.doc.audio
        if audio is not None and not audio.decoded:  # (replaces another song's decode)
            self.jobs.start("Decoding for playback", lambda _p: audio.samples, kind=DECODE_JOB,
                            on_done=lambda samples: self._playback_ready(audio, samples),
                            on_error=self.show_error)

    def _playback_ready(self, audio, samples) -> None:
        """The song's samples, decoded after a cached open: playback gets its sound, the
        playhead, play range and speed stay (a slowed song is stretched again for the sound)."""
        if self.doc.audio is not audio:
            return
        speed = self.transport.speed
        self.transport.replace_samples(samples, audio.sr)
        self.audio_label.setText(self.transport.description)
        if self.transport.speed != speed:
            self.preview.set_speed(speed)

    def _on_segmentation(self) -> None:
        seg = self.doc.segmentation
        a = seg.analysis
        self.waveform.set_grid(a.beats_s, a.downbeats, a.sections)
        self.waveform.set_phrase_starts([p.start_s for p in seg.phrases])
        self.transport.set_beats(a.beats_s, a.downbeats)
        self.timeline.set_bars(a.beats_s[a.downbeats[a.downbeats < a.beats_s.size]])
        for beats in (2, 3, 4, 6):
            self.action(f"meter_{beats}").setChecked(beats == a.beats_per_bar)
        unsure = " (best guess)" if a.grid_unsure else ""
        self.song_label.setText(
            f"  {Path(self.doc.song_path).name} · {a.tempo_bpm:.1f} BPM · {a.meter}{unsure} · "
            f"{len(seg.phrases)} phrases"
        )
        self.song_label.setToolTip(
            f"beat confidence {100 * a.beat_confidence:.0f}%"
            + (": check the grid, or take another in Tempo ▸ Other readings" if unsure else ""))

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
        self.timeline.set_blocks(self.block_maker.blocks(self.engine, seg, chor, parts))
        self.timeline.set_selected(self.doc.selected, self.doc.selection)

    def _refresh_suggestions(self) -> None:
        t = self.doc.selected
        blocks = self.timeline.blocks
        self.phrase_about.show_phrase(blocks[t].description if 0 <= t < len(blocks) else "")
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
            f"{where(self.doc.analysis, phrase.start_s)} – {mmss(phrase.end_s)}",
            rows,
        )

    def _on_selection(self, index: int) -> None:
        self.timeline.set_selected(index, self.doc.selection)
        phrases = self.doc.phrases
        self.waveform.set_selection_spans([(phrases[a].start_s, phrases[b].end_s)
                                           for a, b in selection_runs(self.doc.selection)])
        if index >= 0 and self.action("loop").isChecked() and self.auditioning is None:
            self.toggle_loop(True)  # the loop (and its drawn region) follows the selection
        if self.doc.ready:
            self._refresh_suggestions()
        self._update_actions()

    def _on_position(self, position_s: float) -> None:
        self.waveform.set_playhead(position_s)
        if self.transport.playing:
            self.waveform.ensure_visible(position_s)
        self.skeleton.set_time(position_s)
        self.timeline.set_playing(self.doc.phrase_at(position_s))
        bb = bar_beat(self.doc.analysis, position_s)
        self.time_label.setText((f"bar {bb} · " if bb else "") + f"{mmss(position_s)} / "
                                f"{mmss(self.transport.duration_s)}")

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
        self.choreo_settings.setEnabled(self.doc.ready)

    # ======================================================================= rendering
    def _start_render(self) -> None:
        """Render the whole dance off-thread; during an audition the rendered candidate keeps
        the view (ending the audition renders the whole dance again)."""
        if not self.doc.ready or self.auditioning is not None:
            return
        self._render_generation += 1
        generation = self._render_generation
        seg, chor, engine = self.doc.segmentation, self.doc.choreography, self.engine

        def done(scene: ops.RenderedScene) -> None:
            if generation == self._render_generation:
                self.skeleton.set_motion(scene.positions, scene.parents, scene.fps,
                                         feet=scene.feet)
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
        """Audition ``dance_id`` on the selected phrase in context, looping until stopped.

        Playback starts at once from one bar before the phrase (the previous placement and
        the transition into the candidate are danced); the beat-warped preview replaces the
        skeleton's motion when ready. Space (or any audition's end) goes back to where the
        user was and resumes; the full dance comes back then.
        """
        t = self.doc.selected
        seg, chor, engine = self.doc.segmentation, self.doc.choreography, self.engine
        start_s, end_s = session.audition_span(seg, t)
        dance = engine.dance(dance_id)
        resume = self.auditioning[2] if self.auditioning else self.transport.position_s()
        self.auditioning = (t, dance.name if dance else dance_id, resume)
        self._render_generation += 1
        generation = self._render_generation
        self.waveform.set_loop_region((start_s, end_s))
        self.transport.set_loop((start_s, end_s))
        self.transport.seek(start_s)
        self.transport.play()
        self.preview.audition_started(dance_id, short_name(self.auditioning[1]), start_s)
        current = chor[t].dance_id

        def show(scenes) -> None:
            if generation == self._render_generation:
                self.preview.audition_rendered(*scenes)

        self.jobs.start(
            "Audition",
            lambda p: ops.audition_scenes(engine, seg, chor, t, [current, dance_id], progress=p),
            kind=RENDER_JOB,
            on_done=show,
            on_error=self.show_error,
        )

    def stop_audition(self, resume: bool = True) -> None:
        """End the audition: the loop goes, the playhead returns to where the user was (and
        plays on from there when ``resume``), the full dance comes back."""
        if self.auditioning is None:
            return
        back_to = self.auditioning[2]
        self.auditioning = None
        self.preview.audition_ended()
        self.audition_label.setText("")
        self.waveform.set_loop_region(None)
        self.transport.pause()
        self.toggle_loop(self.action("loop").isChecked())
        self.transport.seek(back_to)
        self._start_render()
        if resume:
            self.transport.play()

    def toggle_play(self) -> None:
        """Space: end an audition and resume where the user was, else play / pause."""
        if self.auditioning is not None:
            self.stop_audition(resume=True)
        else:
            self.transport.toggle()

    def preview_dance(self, dance_id: str) -> None:
        """Library preview: the dance on the selected phrase, beat-warped, with the music."""
        self.action_set.run("audition_dance", dance_id)

    # ======================================================================= transport / view
    def toggle_loop(self, on: bool) -> None:
        """Loop the selected phrases (drawn on the waveform), starting there when the playhead
        is outside them; or stop looping."""
        chosen = self.doc.selection
        if on and chosen and self.doc.phrases:
            span = (self.doc.phrases[chosen[0]].start_s, self.doc.phrases[chosen[-1]].end_s)
            self.transport.set_loop(span)
            self.waveform.set_loop_region(span)
            if not span[0] <= self.transport.position_s() < span[1]:
                self.transport.seek(span[0])
        else:
            self.transport.set_loop(None)
            self.waveform.set_loop_region(None)

    def set_play_range(self, in_s: float, out_s: float) -> None:
        """A play range dragged on the waveform: playback wraps in [in_s, out_s)."""
        self.transport.set_play_range((in_s, out_s))
        span = self.transport.play_range_s
        self.waveform.set_play_range(span)
        if span is not None:
            self.say(f"play range {mmss(span[0])} – {mmss(span[1])} (Alt+I clears)")

    def go_to_end(self, which: int) -> None:
        """Home (0) / End (-1): the first or last phrase selected, the playhead at its start."""
        index = 0 if which == 0 else len(self.doc.phrases) - 1
        self.doc.select(index)
        self.transport.seek(0.0 if index == 0 else self.doc.phrases[index].start_s)
        self.waveform.ensure_visible(self.transport.position_s())

    def drop_dance(self, index: int, dance_id: str) -> None:
        """A library dance dropped onto phrase ``index``: select it and place the dance."""
        self.doc.select(index)
        self.action_set.run("place", dance_id)

    def _block_menu(self, index: int, at) -> None:
        """The context menu of a timeline block (the selection keeps it when it is in it)."""
        if index not in self.doc.selection:
            self.doc.select(index)
        self._popup(["lock_selected", "unlock_selected", "resolve_selected", "clear", None,
                     "split", "merge", None, "same", "mirror", "zoom_phrase", "range_selection"],
                    at)

    def _wave_menu(self, time_s: float, at) -> None:
        """The waveform's context menu: the playhead goes to the clicked time first, so its
        split, in / out and downbeat act there."""
        self.transport.seek(time_s)
        self._popup(["split", None, "mark_in", "mark_out", "range_selection", "clear_range",
                     None, "downbeat"], at)

    def range_to_selection(self) -> None:
        """The play range over the selected phrases (Blender's range to selected)."""
        chosen = self.doc.selection
        if chosen:
            self.set_play_range(self.doc.phrases[chosen[0]].start_s,
                                self.doc.phrases[chosen[-1]].end_s)

    def _suggestion_menu(self, pos) -> None:
        """The context menu of a suggestion row: audition it or swap it in."""
        row = self.suggestions.table.indexAt(pos).row()
        if row < 0:
            return
        menu = QMenu(self)
        menu.addAction("Audition in context", lambda: self.audition_suggestion(row))
        menu.addAction("Swap in", lambda: self.action_set.run("swap", row))
        self.context_menu = menu
        menu.popup(self.suggestions.table.viewport().mapToGlobal(pos))

    def _popup(self, action_ids: list, at) -> None:
        menu = QMenu(self)
        for action_id in action_ids:
            if action_id is None:
                menu.addSeparator()
            else:
                menu.addAction(self.action(action_id))
        self.context_menu = menu
        menu.popup(at)

    def step_selection(self, step: int) -> None:
        """Select the phrase ``step`` away from the selected one."""
        self.doc.select(max(self.doc.selected, 0) + step)

    def audition_phrase(self, index: int) -> None:
        """Select phrase ``index`` and play it."""
        self.stop_audition(resume=False)
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
        view_state.save_window(self, self.settings)
        self.files.remember_view()
        self.jobs.cancel_all()
        self.jobs.wait(CLOSE_WAIT_MS)
        self.transport.close()
        self.autosaver.stop(discard=True)
        self._render_timer.stop()
        self.doc.undo_stack.blockSignals(True)
        self.doc.blockSignals(True)
        event.accept()

