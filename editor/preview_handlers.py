"""What the user hears and sees while choosing: A/B during an audition, playback speed, the
play range, and the 3D view's character.

A/B: an audition renders both the current placement (A) and the candidate (B) over the same
span, so the toggle swaps the dancer at once while the music loops on at the same song time.
Speed: the transport plays 0.5–1× at once without a device; with sound the song is first
stretched (pitch kept, core.audio.stretch) as a background job, once per speed.
"""

from __future__ import annotations

from typing import Any

from choreo_studio.core.audio.stretch import time_stretch
from choreo_studio.editor.render_scenes import RenderedScene
from choreo_studio.editor.time_format import mmss

SPEEDS = (0.5, 0.75, 1.0)
"""The playback speeds offered (the Playback ▸ Speed menu; [ and ] step through them)."""
STRETCH_JOB = "stretch"


class PreviewHandlers:
    """Slots of the A/B, speed, play-range and character actions, on one main window."""

    def __init__(self, window: Any) -> None:
        self.w = window
        self.ab_side = "B"
        self.ab_scenes: tuple[RenderedScene, RenderedScene] | None = None
        self.candidate = ""
        self.name = ""
        self.audition_start_s = 0.0

    def sync_actions(self) -> None:
        """Menus, labels and the waveform show the transport's speed and range and the view's
        character (at start-up and after a new song, which plays at 1× with no range)."""
        self._speed_shown()
        self.w.waveform.set_play_range(self.w.transport.play_range_s)
        self.w.action("capsule").setChecked(self.w.skeleton.character == "capsule")

    # -- A/B ------------------------------------------------------------------------------
    def audition_started(self, dance_id: str, name: str, start_s: float) -> None:
        """A new audition of ``dance_id`` (shown as ``name``) from ``start_s``: B (the
        candidate) plays first."""
        self.ab_side, self.ab_scenes, self.name = "B", None, name
        self.audition_start_s = start_s
        ids = [row.dance_id for row in self.w.suggestion_rows()]
        self.candidate = f"candidate {ids.index(dance_id) + 1}" if dance_id in ids else (
            "candidate")
        self.show_audition_state()

    def audition_rendered(self, current: RenderedScene, candidate: RenderedScene) -> None:
        """Both dances of the audition are ready: show the side the user has chosen."""
        self.ab_scenes = (current, candidate)
        self._show_side()

    def audition_ended(self) -> None:
        self.ab_scenes = None
        self.ab_side = "B"
        self.w.skeleton_dock.setWindowTitle("3D view")

    def toggle_ab(self) -> None:
        """B: swap between the current dance (A) and the candidate (B), the music going on."""
        if self.w.auditioning is None:
            self.w.say("A/B: audition a suggestion first (click it), then B switches")
            return
        self.ab_side = "A" if self.ab_side == "B" else "B"
        self.show_audition_state()
        self._show_side()

    def ab_text(self) -> str:
        """The visible A/B state: ``A: current`` or ``B: candidate N``."""
        return "A: current" if self.ab_side == "A" else f"B: {self.candidate}"

    def show_audition_state(self) -> None:
        """What phrase, what dance, which side plays: on the toolbar, and on the 3D view's title
        (the toolbar's end can be cut off on a narrow window)."""
        auditioning = self.w.auditioning
        text = "" if auditioning is None else (
            f"▶ auditioning {auditioning[0] + 1}: {self.name} · {self.ab_text()}")
        self.w.audition_label.setText(f"  {text} (looping · B: A/B · Space returns)" if text
                                      else "")
        self.w.skeleton_dock.setWindowTitle(f"3D view — {text}" if text else "3D view")

    def _show_side(self) -> None:
        if self.ab_scenes is None:
            return
        scene = self.ab_scenes[0 if self.ab_side == "A" else 1]
        view = self.w.skeleton
        view.set_motion(scene.positions, scene.parents, scene.fps,
                        start_s=self.audition_start_s, feet=scene.feet)
        view.set_time(self.w.transport.position_s())

    # -- speed ----------------------------------------------------------------------------
    def set_speed(self, speed: float) -> None:
        """Play at ``speed`` (one of :data:`SPEEDS`); with sound, once the song is stretched."""
        transport = self.w.transport
        if not transport.needs_stretch(speed):
            transport.set_speed(speed)
            self._speed_shown()
            return
        samples, _sr = transport.samples()

        def done(stretched) -> None:
            current = transport.samples()
            if current is not None and current[0] is samples:  # still the same song
                transport.set_speed(speed, stretched)
            self._speed_shown()

        self.w.run_job(f"Preparing {speed:g}× playback (pitch kept)", STRETCH_JOB,
                       lambda p: time_stretch(samples, speed, p), done,
                       on_cancel=self._speed_shown, on_error=self._stretch_failed)

    def step_speed(self, step: int) -> None:
        """[ / ]: the next slower or faster speed of :data:`SPEEDS`."""
        speeds = list(SPEEDS)
        at = min(range(len(speeds)), key=lambda i: abs(speeds[i] - self.w.transport.speed))
        self.set_speed(speeds[min(max(at + step, 0), len(speeds) - 1)])

    def _stretch_failed(self, message: str) -> None:
        self._speed_shown()
        self.w.show_error(message)

    def _speed_shown(self) -> None:
        """The speed menu's check and the toolbar's speed label follow the playing speed."""
        speed = self.w.transport.speed
        for s in SPEEDS:
            self.w.action(speed_action_id(s)).setChecked(s == speed)
        self.w.speed_label.setText("" if speed == 1.0 else f"  {speed:g}×")

    # -- play range -----------------------------------------------------------------------
    def mark_in(self) -> None:
        """I: the play range starts at the playhead."""
        self.w.transport.mark_in(self.w.transport.position_s())
        self._range_shown()

    def mark_out(self) -> None:
        """O: the play range ends at the playhead."""
        self.w.transport.mark_out(self.w.transport.position_s())
        self._range_shown()

    def clear_range(self) -> None:
        """Alt+I: no play range (the whole song plays)."""
        self.w.transport.set_play_range(None)
        self._range_shown()

    def _range_shown(self) -> None:
        span = self.w.transport.play_range_s
        self.w.waveform.set_play_range(span)
        if span is not None:
            self.w.say(f"play range {mmss(span[0])} – {mmss(span[1])} (Alt+I clears)")

    # -- 3D view --------------------------------------------------------------------------
    def set_capsules(self, on: bool) -> None:
        """Draw the dancer as capsules (on) or as a stick figure; remembered."""
        self.w.skeleton.set_character("capsule" if on else "stick")
        self.w.settings.setValue("character", "capsule" if on else "stick")


def speed_action_id(speed: float) -> str:
    """The id of the Playback ▸ Speed action for ``speed`` (``speed_50`` for 0.5×)."""
    return f"speed_{round(speed * 100)}"
