"""Opening, saving, exporting, recovery and the Recent list of the editor.

Opening runs in background jobs of kind ``"open"`` (decode, then analyse or restore); until the
new choreography is installed the previous one stays whole, and a failed or cancelled open
puts it back. Saves are atomic and never lose the open work. Save and export offer the user's
documents folder, or the folder last used for this song; Recent holds only what the user
actually opened (not a cancelled open, not an autosave).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.project.project_file import (
    PROJECT_SUFFIX,
    LibraryRef,
    ModelRef,
    SongMissingError,
    read_project,
)
from choreo_studio.editor import session_ops as ops
from choreo_studio.editor import view_state
from choreo_studio.editor.document import Document
from choreo_studio.editor.exporting import export_all
from choreo_studio.editor.prompter import CANCEL, DISCARD, SAVE, YES, Prompter
from choreo_studio.editor.video_export import VIDEO_SIZE
from choreo_studio.editor.waveform_view import WavePyramid
from PySide6.QtCore import QSettings, QStandardPaths

SONG_PATTERNS = "*.wav *.flac *.ogg *.mp3 *.m4a *.aac *.aiff *.aif"
AUDIO_FILTER = f"Songs ({SONG_PATTERNS})"
PROJECT_FILTER = f"Choreo Studio projects (*{PROJECT_SUFFIX})"
OPEN_FILTER = (
    f"Songs and projects ({SONG_PATTERNS} *{PROJECT_SUFFIX});;{AUDIO_FILTER};;{PROJECT_FILTER}"
    ";;All files (*)"
)
MAX_RECENT = 10
OPEN_JOB = "open"
EXPORT_JOB = "export"
APP_FOLDER = "Choreo Studio"


def documents_dir() -> Path:
    """Where new projects and exports go by default: the user's documents / Choreo Studio."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(base or Path.home()) / APP_FOLDER


class FileHost(Protocol):
    """What file handling needs from the window around it."""

    doc: Document
    engine: ops.EngineState | None
    settings: QSettings
    prompter: Prompter
    pyramid: WavePyramid | None
    waveform: Any
    transport: Any

    def run_job(self, label: str, kind: str, fn: Callable, on_done: Callable, **kw: Any) -> Any:
        """Run ``fn(progress)`` in the background with a progress bar."""

    def say(self, message: str, ms: int = 4000) -> None:
        """A transient status-bar message."""

    def show_error(self, message: str) -> None:
        """Tell the user what went wrong and what to do."""

    def show_new_audio(self, audio: Any, pyramid: WavePyramid, path: str) -> None:
        """Clear the views and show a freshly decoded song."""

    def install(self, opened: ops.Opened, project_path: str = "", *,
                keep_history: bool = False) -> None:
        """Put an opened choreography on screen (``keep_history``: a session put back)."""

    def top_k(self) -> int:
        """How many suggestions the panel shows (saved with the project)."""

    def saved(self) -> None:
        """The document was saved cleanly (drop the autosave, retitle)."""

    def recovered(self, autosave_path: str) -> None:
        """A recovered autosave is on screen: mark it unsaved, keep the autosave for now."""


def _load_with_waveform(path: str, progress) -> tuple:
    """Worker: the song and its waveform envelopes (nothing slow on the GUI); a song core has
    analysed comes with its envelope and is not decoded here."""
    audio = ops.opened_audio(path, progress)
    if audio.decoded:
        return audio, WavePyramid(audio.samples, audio.sr)
    return audio, WavePyramid.from_envelope(audio.envelope, audio.duration_s)


class FileHandler:
    """Open / save / export / recover for one window."""

    def __init__(self, host: FileHost) -> None:
        self._host = host
        self._opened_settings: dict = {}

    @property
    def _doc(self) -> Document:
        return self._host.doc

    @property
    def opened_settings(self) -> dict:
        """Settings saved with the open project (top-K, where it was saved)."""
        return dict(self._opened_settings)

    # ======================================================================= folders / recent
    def _song_key(self) -> str:
        audio = self._doc.audio
        return f"folders/{audio.content_hash[:16]}" if audio is not None else ""

    def project_folder(self) -> Path:
        """The folder this song's project was last saved in, else the documents folder."""
        key = self._song_key()
        remembered = str(self._host.settings.value(f"{key}/save", "") or "") if key else ""
        if remembered:
            return Path(remembered)
        if self._doc.project_path:
            return Path(self._doc.project_path).parent
        return documents_dir()

    def export_folder(self) -> Path:
        """The folder last exported to for this song, else one named after the song beside
        its project (or in the documents folder)."""
        key = self._song_key()
        remembered = str(self._host.settings.value(f"{key}/export", "") or "") if key else ""
        if remembered:
            return Path(remembered)
        return self.project_folder() / f"{Path(self._doc.song_path).stem} export"

    def _remember_folder(self, kind: str, folder: str | Path) -> None:
        key = self._song_key()
        if key:
            self._host.settings.setValue(f"{key}/{kind}", str(folder))

    def _last_dir(self) -> str:
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def recent_files(self) -> list[str]:
        """What the user opened, newest first."""
        value = self._host.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> None:
        """Put ``path`` first in Recent (once)."""
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self._host.settings.setValue("recent_files", files[:MAX_RECENT])

    def fill_recent_menu(self, menu) -> None:
        """Rebuild the Open Recent menu (missing files shown disabled)."""
        menu.clear()
        for path in self.recent_files():
            action = menu.addAction(path)
            action.setEnabled(Path(path).exists())
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))

    # ======================================================================= opening
    def open_dialog(self) -> None:
        """Ask for a song or project and open it."""
        if not self.maybe_save():
            return
        path = self._host.prompter.choose_file(
            "Open a song or project", self._last_dir(), OPEN_FILTER
        )
        if path:
            self.open_path(path, ask_to_save=False)

    def open_demo(self) -> None:
        """Open the bundled demo song."""
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
        host = self._host

        def loaded(result) -> None:
            audio, pyramid = result
            previous = self._snapshot()
            host.show_new_audio(audio, pyramid, path)
            host.run_job(
                "Analysing",
                OPEN_JOB,
                lambda p: ops.open_new_song(audio, path, self.engine_spec(), p),
                lambda opened: self._opened(opened, "", recent=path),
                on_error=lambda message: self._back_to(previous, message),
                on_cancel=lambda: self._back_to(previous),
            )

        host.run_job("Opening", OPEN_JOB, lambda p: _load_with_waveform(path, p), loaded)

    def open_project(self, path: str, *, recovering: bool = False) -> bool:
        """Open a ``.choreo`` project (a moved song is located, mismatches explained); False
        when it could not even be read."""
        try:
            project = read_project(path)
        except SongMissingError as exc:
            located = self._locate_song(str(exc), exc.project.song_path)
            if not located:
                return False
            try:
                project = ops.relocate(exc.project, located)
            except ChoreoError as err:
                self._host.show_error(str(err))
                return False
        except ChoreoError as exc:
            self._host.show_error(str(exc))
            return False
        host = self._host

        def loaded(result) -> None:
            audio, pyramid = result
            previous = self._snapshot()
            host.show_new_audio(audio, pyramid, project.song_path)
            if recovering:
                done = lambda opened: self._recovered(opened, path)  # noqa: E731
            else:
                done = lambda opened: self._opened(opened, path, recent=path)  # noqa: E731
            host.run_job(
                "Restoring project",
                OPEN_JOB,
                lambda p: ops.restore_project(project, audio, p),
                done,
                on_error=lambda message: self._back_to(previous, message),
                on_cancel=lambda: self._back_to(previous),
            )

        host.run_job(
            "Opening project", OPEN_JOB, lambda p: _load_with_waveform(project.song_path, p), loaded
        )
        return True

    def recover(self, autosave_path: str) -> bool:
        """Reopen an autosaved project: unsaved (dirty), saving to where it was saved before."""
        return self.open_project(autosave_path, recovering=True)

    def _opened(self, opened: ops.Opened, project_path: str, *, recent: str = "") -> None:
        self._opened_settings = dict(opened.settings)
        self._host.install(opened, project_path)
        self._restore_view(opened)
        if recent:
            self.add_recent(recent)

    def _recovered(self, opened: ops.Opened, autosave_path: str) -> None:
        self._opened_settings = dict(opened.settings)
        self._host.install(opened, str(self._opened_settings.get("project_path") or ""))
        self._restore_view(opened)
        self._host.recovered(autosave_path)

    # ======================================================================= view state
    def remember_view(self) -> None:
        """Keep the open song's zoom and selection for its next open (on close, on switch)."""
        key = self._song_key()
        if key and self._doc.ready:
            self._host.settings.setValue(f"{key}/view", view_state.capture(self._host).to_text())

    def _restore_view(self, opened: ops.Opened) -> None:
        """The zoom and selection saved with the project, else the ones last used on this
        song (nothing saved: the whole song, the first phrase)."""
        state = view_state.ViewState.from_dict(opened.settings.get("view"))
        if state is None:
            key = self._song_key()
            state = view_state.ViewState.from_text(
                self._host.settings.value(f"{key}/view", "")) if key else None
        if state is not None:
            view_state.apply(self._host, state)

    def _snapshot(self) -> dict | None:
        """The open session, kept while another song opens (None when nothing is open); its
        undo history stays on the document's stack until the new song is installed."""
        doc = self._doc
        if not doc.ready:
            return None
        self.remember_view()
        return {
            "audio": doc.audio,
            "pyramid": self._host.pyramid,
            "path": doc.song_path,
            "project_path": doc.project_path,
            "engine": self._host.engine,
            "segmentation": doc.segmentation,
            "view": view_state.capture(self._host),
            "settings": dict(self._opened_settings),
        }

    def _back_to(self, previous: dict | None, message: str = "") -> None:
        """Opening failed or was cancelled: put the previous session back on screen whole
        (choreography, undo history and its saved state, view and selection)."""
        if previous is not None:
            self._host.show_new_audio(previous["audio"], previous["pyramid"], previous["path"])
            opened = ops.Opened(
                previous["engine"], previous["segmentation"], settings=previous["settings"]
            )
            self._opened_settings = dict(opened.settings)
            self._host.install(opened, previous["project_path"], keep_history=True)
            view_state.apply(self._host, previous["view"])
        if message:
            self._host.show_error(message)

    def _locate_song(self, message: str, old_path: str) -> str:
        prompter = self._host.prompter
        if prompter.ask("Song not found", f"{message}\n\nLocate it now?") != YES:
            self._host.show_error(message)
            return ""
        return prompter.choose_file(
            f"Locate {Path(old_path).name}", str(Path(old_path).parent), AUDIO_FILTER
        )

    # ======================================================================= library / model
    def engine_spec(self) -> ops.EngineSpec:
        """The library and model the settings name ('' = bundled defaults)."""
        settings = self._host.settings
        return ops.EngineSpec(
            library_path=str(settings.value("library_path", "") or ""),
            model_path=str(settings.value("model_path", "") or ""),
        )

    def choose_library(self) -> None:
        """Ask for a dance library folder and switch to it."""
        folder = self._host.prompter.choose_folder(
            "Dance library folder (library.json)", self._last_dir()
        )
        if folder:
            self.use_engine(library_path=folder)

    def choose_model(self) -> None:
        """Ask for a model bundle folder and switch to it."""
        folder = self._host.prompter.choose_folder("Model bundle folder", self._last_dir())
        if folder:
            self.use_engine(model_path=folder)

    def use_engine(self, library_path: str | None = None, model_path: str | None = None) -> None:
        """Switch the dance library and/or model; the open choreography is carried over.

        Placements whose dance exists in the new library are kept (locks too), the rest are
        re-solved, and the window says what happened. The result is unsaved work.
        """
        settings = self._host.settings
        if library_path is not None:
            settings.setValue("library_path", library_path)
        if model_path is not None:
            settings.setValue("model_path", model_path)
        if not self._doc.ready:
            return
        project = self.current_project()
        spec = self.engine_spec()
        project.library = LibraryRef(
            project.library.name, project.library.fingerprint, spec.library_path
        )
        project.model = ModelRef(project.model.scorer, spec.model_path)
        audio, project_path = self._doc.audio, self._doc.project_path

        def done(opened: ops.Opened) -> None:
            self._opened(opened, project_path)
            self._doc.undo_stack.resetClean()

        self._host.run_job(
            "Switching library / model",
            OPEN_JOB,
            lambda p: ops.restore_project(project, audio, p),
            done,
        )

    # ======================================================================= saving
    def current_project(self):
        """The open choreography as a project (what Save writes)."""
        return self.project_maker()()

    def project_maker(self) -> Callable[[], Any]:
        """What autosave writes: the open choreography as it is now, made into a project
        when called (on the autosave thread)."""
        return ops.project_maker(self._host.engine, self._doc, self._host.top_k(),
                                 view_state.capture(self._host).to_dict())

    def save(self) -> bool:
        """Save to the project's file, or ask where (first save)."""
        if not self._doc.project_path:
            return self.save_as()
        return self.save_to(self._doc.project_path)

    def save_as(self) -> bool:
        """Ask where to save (offering this song's folder, else the documents folder)."""
        name = Path(self._doc.project_path or self._doc.song_path).with_suffix(PROJECT_SUFFIX).name
        default = str(self.project_folder() / name)
        path = self._host.prompter.choose_file("Save project", default, PROJECT_FILTER, save=True)
        if not path:
            return False
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        """Atomically write the project; on failure the document stays open and dirty."""
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            ops.save_project_file(self.current_project(), path)
        except (OSError, ValueError, ChoreoError) as exc:
            self._host.show_error(f"{path}: could not save ({exc}) — choose another folder")
            return False
        self._doc.project_path = path
        self._remember_folder("save", Path(path).resolve().parent)
        self._doc.undo_stack.setClean()
        self.add_recent(path)
        self._host.saved()
        self._host.say(f"saved {path}")
        return True

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False when the user cancels."""
        if not self._doc.ready or not self._doc.dirty:
            return True
        answer = self._host.prompter.ask(
            "Unsaved changes",
            "Save the changes to this choreography?",
            (SAVE, DISCARD, CANCEL),
        )
        if answer == CANCEL:
            return False
        if answer == SAVE:
            return self.save()
        return True

    # ======================================================================= export
    def export_dialog(self) -> None:
        """Ask for a folder and formats, then export in the background."""
        from choreo_studio.editor.export_dialog import ExportDialog

        dialog = ExportDialog(
            self._host, default_dir=str(self.export_folder()), prompter=self._host.prompter
        )
        if self._host.prompter.run_dialog(dialog):
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
        on_done: Callable[[list[Path]], None] | None = None,
    ) -> None:
        """Export in the background (beside edits: a vary does not stop it); ``on_done(paths)``
        receives the written files."""
        doc, engine = self._doc, self._host.engine
        seg, chor, audio, song_path = doc.segmentation, doc.choreography, doc.audio, doc.song_path
        self._remember_folder("export", Path(out_dir).resolve())

        def done(paths: list[Path]) -> None:
            self._host.say(f"exported {len(paths)} files to {out_dir}", 6000)
            if on_done is not None:
                on_done(paths)

        self._host.run_job(
            "Exporting",
            EXPORT_JOB,
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
            keep_result=True,  # a Cancel that comes once the set is written is too late
        )
