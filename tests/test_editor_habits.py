"""The editor's working habits as a user meets them (pytest-qt, offscreen): a play range
dragged on the waveform, the range and speed kept with the project, the library's names."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from choreo_studio.editor.view_state import ViewState  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests import test_editor as editor_tests  # noqa: E402

assets, _quiet, opened = editor_tests.assets, editor_tests._quiet, editor_tests.opened
_window, _open, _idle = editor_tests._window, editor_tests._open, editor_tests._idle


def _widget_x(window, time_s: float) -> int:
    """The waveform widget's x pixel of song time ``time_s``."""
    view = window.waveform.getViewBox()
    scene = view.mapViewToScene(QPointF(time_s, 0.0))
    return int(round(window.waveform.mapFromScene(scene).x()))


def _drag(qtbot, widget, x0: int, x1: int, y: int, modifier=Qt.KeyboardModifier.NoModifier,
          button=Qt.MouseButton.LeftButton) -> None:
    """Press at ``x0``, move in steps to ``x1``, release (a real drag, not a click)."""
    viewport = widget.viewport()
    qtbot.mousePress(viewport, button, modifier, QPoint(x0, y))
    for k in range(1, 9):
        qtbot.mouseMove(viewport, QPoint(x0 + (x1 - x0) * k // 8, y))
    qtbot.mouseRelease(viewport, button, modifier, QPoint(x1, y))


def test_dragging_on_the_waveform_sets_the_play_range_on_beats(opened, qtbot):
    beats = opened.doc.analysis.beats_s
    y = opened.waveform.height() // 2
    opened.waveform.getViewBox().setXRange(0.0, 10.0, padding=0)
    _drag(qtbot, opened.waveform, _widget_x(opened, 6.1), _widget_x(opened, 2.05), y)
    nearest = [float(beats[np.argmin(np.abs(beats - t))]) for t in (2.05, 6.1)]
    assert opened.transport.play_range_s == pytest.approx(nearest, abs=1e-6)
    assert opened.waveform.play_range == pytest.approx(nearest, abs=1e-6)
    out = opened.transport._output
    assert out.cursor.loop == (int(nearest[0] * out.sr), int(nearest[1] * out.sr))
    assert opened.waveform.getViewBox().viewRange()[0] == pytest.approx([0.0, 10.0]), (
        "a left drag marks the range instead of scrolling the view")


def test_shift_drag_is_free_and_a_drag_on_the_time_ruler_counts_too(opened, qtbot):
    wave = opened.waveform
    wave.getViewBox().setXRange(0.0, 10.0, padding=0)
    x0, x1 = _widget_x(opened, 3.0), _widget_x(opened, 7.0)
    _drag(qtbot, wave, x0, x1, wave.height() // 2, Qt.KeyboardModifier.ShiftModifier)
    px = 10.0 / wave.getViewBox().width()
    assert opened.transport.play_range_s == pytest.approx((3.0, 7.0), abs=2 * px)
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # two presses: not a double click
    axis = wave.getPlotItem().getAxis("bottom")
    ruler_y = int(round(wave.mapFromScene(axis.sceneBoundingRect().center()).y()))
    _drag(qtbot, wave, _widget_x(opened, 1.0), _widget_x(opened, 4.0), ruler_y,
          Qt.KeyboardModifier.ShiftModifier)
    assert opened.transport.play_range_s == pytest.approx((1.0, 4.0), abs=2 * px)


def test_a_drag_that_snaps_to_nothing_keeps_the_range_that_was_there(opened, qtbot):
    wave = opened.waveform
    opened.set_play_range(1.0, 3.0)
    beats = opened.doc.analysis.beats_s
    wave.getViewBox().setXRange(0.0, 60.0, padding=0)
    at = float(beats[10])
    _drag(qtbot, wave, _widget_x(opened, at) - 2, _widget_x(opened, at) + 2, wave.height() // 2)
    assert opened.transport.play_range_s == pytest.approx((1.0, 3.0))
    assert wave.play_range == pytest.approx((1.0, 3.0))


def test_play_range_and_speed_are_saved_with_the_project(qtbot, tmp_path, assets):
    first = _window(qtbot, tmp_path, assets)
    _open(qtbot, first, assets["song"])
    first.set_play_range(2.0, 6.5)
    first.action("speed_75").trigger()
    project = tmp_path / "work" / "range.choreo"
    assert first.files.save_to(str(project))
    view = json.loads(project.read_text())["settings"]["view"]
    assert view["play_range"] == pytest.approx([2.0, 6.5]) and view["speed"] == 0.75
    first.close()

    second = _window(qtbot, tmp_path, assets)
    _open(qtbot, second, project)
    assert second.transport.play_range_s == pytest.approx((2.0, 6.5))
    assert second.waveform.play_range == pytest.approx((2.0, 6.5))
    assert second.transport.speed == 0.75
    assert second.action("speed_75").isChecked()
    assert second.speed_label.text().strip() == "0.75×"


def test_a_project_saved_before_range_and_speed_opens_at_normal_speed(qtbot, tmp_path, assets):
    first = _window(qtbot, tmp_path, assets)
    _open(qtbot, first, assets["song"])
    project = tmp_path / "old.choreo"
    assert first.files.save_to(str(project))
    first.close()
    data = json.loads(project.read_text())
    for key in ("play_range", "speed"):
        del data["settings"]["view"][key]
    project.write_text(json.dumps(data))
    (tmp_path / "settings.ini").unlink()  # nor a view remembered for the song

    second = _window(qtbot, tmp_path, assets)
    _open(qtbot, second, project)
    assert second.transport.play_range_s is None and second.waveform.play_range is None
    assert second.transport.speed == 1.0


def test_stored_views_with_bad_range_or_speed_fall_back():
    base = {"x_range": [0.0, 5.0], "selected": 0}
    for bad_range, bad_speed in (([3.0, 1.0], 2.0), ("x", "fast"), ([float("nan"), 1.0], 0.6)):
        state = ViewState.from_dict({**base, "play_range": bad_range, "speed": bad_speed})
        assert state is not None and state.play_range is None and state.speed == 1.0
    state = ViewState.from_dict({**base, "play_range": [1, 2], "speed": 0.5})
    assert state.play_range == (1.0, 2.0) and state.speed == 0.5


def test_late_decoded_sound_keeps_the_play_range_speed_and_beats(opened):
    transport = opened.transport
    opened.set_play_range(1.0, 4.0)
    transport.set_speed(0.5)
    transport.seek(2.5)
    samples, sr = transport.samples()
    transport.replace_samples(samples.copy(), sr)
    assert transport.play_range_s == pytest.approx((1.0, 4.0))
    assert transport._output.cursor.loop == (int(1.0 * sr), int(4.0 * sr))
    assert transport.speed == 0.5
    assert transport.position_s() == pytest.approx(2.5, abs=1e-3)
    assert transport._output.beat_frames.size == opened.doc.analysis.beats_s.size


def _phrase(i: int, name: str, style: str = "hip-hop", energy: str = "medium"):
    """A library row as the browser reads it."""
    return SimpleNamespace(id=f"d{i}", name=name, style=style, energy_label=energy,
                           energy=1, n_counts=8, bpm=120.0, tags=["groove"])


LONG = "hip-hop medium #12: bounce / step_touch / body_roll / kick_ball_change"


def test_library_names_elide_at_the_end_and_read_whole_in_the_tooltip(qtbot):
    from choreo_studio.editor.library_browser import LibraryBrowser

    browser = LibraryBrowser()
    qtbot.addWidget(browser)
    browser.resize(460, 400)
    browser.show()
    browser.set_library([_phrase(0, LONG), _phrase(1, "k-pop low #2: wave", "k-pop", "low")])
    browser.set_usage(["d0", "d1", "d0"])
    table = browser.table
    assert table.textElideMode() == Qt.TextElideMode.ElideRight
    row = browser.visible_ids().index("d0")
    tip = table.model().index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines()[0] == LONG
    assert "placed on phrases 1, 3" in tip and "groove" in tip
    cells = table.fontMetrics()
    for column, widest in ((1, "hip-hop"), (2, "medium"), (5, "1, 3")):
        assert table.columnWidth(column) >= cells.horizontalAdvance(widest), column
    others = sum(table.columnWidth(c) for c in range(1, 6))
    assert table.columnWidth(0) >= table.viewport().width() - others - 2, (
        "the name takes all the room the short columns leave")
    assert table.columnWidth(0) > 150


def test_library_names_sort_as_a_reader_counts(qtbot):
    from choreo_studio.editor.library_browser import LibraryBrowser, natural_key

    assert natural_key("ACGN high #2") < natural_key("ACGN high #10")
    browser = LibraryBrowser()
    qtbot.addWidget(browser)
    browser.set_library([_phrase(i, f"ACGN high #{n}") for i, n in enumerate((10, 2, 1, 11))])
    names = [browser.proxy.index(r, 0).data() for r in range(4)]
    assert names == ["ACGN high #1", "ACGN high #2", "ACGN high #10", "ACGN high #11"]


def test_bar_beat_names_bars_from_one_and_nothing_before_the_first_beat():
    from choreo_studio.core.analysis.music_analysis import MusicAnalysis, Section
    from choreo_studio.editor.time_format import bar_beat, where

    beats = 0.5 + 0.5 * np.arange(10)  # 2 pickup beats, then bars of 4 from 1.5 s
    n = 300
    analysis = MusicAnalysis("h", 6.0, 120.0, beats, np.array([2, 6]), 4, np.ones(n), 50.0,
                             beats, np.zeros(n), np.zeros(n, bool), 50.0,
                             [Section(0.0, 6.0, "A")], "test")
    assert bar_beat(analysis, 0.2) == "" and where(analysis, 0.2) == "0:00.2"
    assert bar_beat(analysis, 1.0) == "0:2"  # the pickup's second beat
    assert bar_beat(analysis, 1.5) == "1:1" and bar_beat(analysis, 2.9) == "1:3"
    assert bar_beat(analysis, 3.5) == "2:1" and where(analysis, 3.5) == "bar 2:1 (0:03.5)"


def test_a_block_a_few_pixels_wide_still_shows_its_styles_initial():
    from choreo_studio.editor.timeline_view import Block, fit_label

    block = Block(0.0, 2.0, "Hip-hop bounce: knees", "hip-hop", False, 0.5, "A",
                  short="Hip-hop bounce", variant=11)
    def advance(text):
        return 6 * len(text)

    assert fit_label(block, 18, advance) == "H12"
    assert fit_label(block, 12, advance) == "H", "too narrow for the index: the initial"
    assert fit_label(block, 5, advance) == ""


def test_dense_bar_lines_fade_and_come_back_when_zoomed_in(qtbot):
    from choreo_studio.editor.waveform_view import BAR_ALPHA, WaveformView, WavePyramid

    wave = WaveformView()
    qtbot.addWidget(wave)
    wave.resize(900, 200)
    wave.show()
    sr = 8000
    wave.set_audio(WavePyramid(np.zeros(200 * sr, dtype=np.float32), sr))
    beats = 0.5 * np.arange(400)  # 200 s at 120 BPM, bars of 4: 100 bars of 2 s
    wave.set_grid(beats, np.arange(0, 400, 4), [])
    qtbot.wait(10)
    pen_alpha = lambda: wave._downbeats.opts["pen"].color().alpha()  # noqa: E731
    assert wave.drawn_grid()[0] == 0, "beats under 6 px apart are not drawn"
    assert BAR_ALPHA[0] <= pen_alpha() < 70, "bars ~9 px apart are faint"
    wave.getViewBox().setXRange(0.0, 20.0, padding=0)
    assert pen_alpha() == BAR_ALPHA[1] and wave.drawn_grid()[0] > 0


def test_suggestion_numbers_leave_the_dance_name_room():
    from choreo_studio.editor.suggestions_panel import SuggestionRow, _texts

    row = SuggestionRow("d1", "breaking low #8: toprock", "breaking", "low", 0.7004, None,
                        0.2461, 0.3114, current=True)
    assert _texts(0, row) == ("1", "● breaking low #8: toprock", "breaking", "low", "0.70",
                              "— · 0.25", "3.1e-01")


def test_a_blocks_second_line_drops_the_section_before_cutting_the_fit():
    from choreo_studio.editor.timeline_view import Block, fit_detail

    block = Block(0.0, 2.0, "Hip-hop bounce", "hip-hop", False, 0.204, "A")
    def advance(text):
        return 6 * len(text)

    assert fit_detail(block, 60, advance) == "20% · A"
    assert fit_detail(block, 30, advance) == "20%"
    assert fit_detail(block, 12, advance) == ""
    no_fit = Block(0.0, 2.0, "x", "hip-hop", False, None, "B")
    assert fit_detail(no_fit, 60, advance) == "B"


def test_ctrl_a_and_shift_arrows_grow_the_selection_for_a_multi_edit(opened, qtbot):
    doc = opened.doc
    assert len(doc.phrases) >= 4
    opened.activateWindow()
    doc.select(1)
    opened.timeline.setFocus()
    qtbot.keyClick(opened.timeline, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(opened.timeline, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert doc.selection == [1, 2, 3] and doc.selected == 3
    qtbot.keyClick(opened.timeline, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert doc.selection == [0, 1, 2, 3] and doc.selected == 0
    qtbot.keyClick(opened.timeline, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert doc.selection == [0, 1, 2, 3], "nothing before the first phrase"
    doc.select(1)
    qtbot.keyClick(opened.timeline, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(opened.timeline, Qt.Key.Key_L)
    assert [t for t, p in enumerate(doc.choreography.placements) if p.locked] == [1, 2]
    assert doc.undo_stack.undoText() == "Lock phrases 2–3"
    qtbot.keyClick(opened.timeline, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert doc.selection == list(range(len(doc.phrases))) and doc.selected == 2
    qtbot.keyClick(opened.timeline, Qt.Key.Key_L)
    assert all(p.locked for p in doc.choreography.placements)


def test_a_label_fits_the_part_of_its_block_the_lane_shows(opened, qtbot):
    """Painted onto a device wider than the lane (as a window's backing store is), a block
    running off the lane's right edge still gets a label for the part the lane shows."""
    from PySide6.QtGui import QFontMetrics, QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    doc, timeline = opened.doc, opened.timeline
    p1, p2 = doc.phrases[1], doc.phrases[2]
    view = opened.waveform.getViewBox()
    view.setXRange(p1.start_s, p2.start_s + 0.04 * (p2.end_s - p2.start_s), padding=0)
    qtbot.wait(20)
    item, lane = timeline._item, timeline.getViewBox()
    image = QImage(3 * timeline.width(), timeline.height(), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    painter.setTransform(item.deviceTransform(timeline.viewportTransform()))
    option = QStyleOptionGraphicsItem()
    option.exposedRect = item.boundingRect()
    item.paint(painter, option)
    painter.end()
    lo, hi = lane.viewRange()[0]
    shown_px = (hi - p2.start_s) / (hi - lo) * lane.width()
    label = item.drawn_labels[2]
    advance = QFontMetrics(item._font).horizontalAdvance(label)
    assert label and advance <= shown_px, (label, advance, shown_px)


def test_the_waveform_shades_every_selected_run_and_the_loop_follows_the_selection(opened):
    from choreo_studio.editor.block_layout import selection_runs

    assert selection_runs([7, 1, 2, 3]) == [(1, 3), (7, 7)]
    doc, wave = opened.doc, opened.waveform
    ph = doc.phrases
    assert len(ph) >= 4
    doc.set_selection(0, [0, 2, 3])
    assert wave.selection_spans == [pytest.approx((ph[0].start_s, ph[0].end_s)),
                                    pytest.approx((ph[2].start_s, ph[3].end_s))]
    doc.select(1)
    assert wave.selection_spans == [pytest.approx((ph[1].start_s, ph[1].end_s))]
    opened.action("loop").trigger()
    assert opened.transport.loop_s == pytest.approx((ph[1].start_s, ph[1].end_s))
    doc.select(3)
    span = pytest.approx((ph[3].start_s, ph[3].end_s))
    assert opened.transport.loop_s == span and wave.loop_region == span, (
        "the loop and its drawn region move to the newly selected phrase together")
    assert ph[3].start_s - 1e-3 <= opened.transport.position_s() < ph[3].end_s


def test_a_dance_dragged_over_the_lane_outlines_the_phrase_it_would_land_on(opened):
    from PySide6.QtGui import QDragMoveEvent, QDropEvent

    doc, timeline, source = opened.doc, opened.timeline, opened.library_browser.model
    vb = timeline.getViewBox()

    def at(t: int) -> QPointF:
        p = doc.phrases[t]
        return QPointF(timeline.mapFromScene(vb.mapViewToScene(
            QPointF(0.5 * (p.start_s + p.end_s), 0.5))))

    mime = source.mimeData([source.index(0, 0)])
    for t in (1, 2):
        event = QDragMoveEvent(at(t).toPoint(), Qt.DropAction.CopyAction, mime,
                               Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        timeline.dragMoveEvent(event)
        assert event.isAccepted() and timeline.drop_target == t
    drop = QDropEvent(at(2), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    timeline.dropEvent(drop)
    assert timeline.drop_target == -1, "the outline goes with the drop"
    assert doc.choreography[2].dance_id == source.rows[0].id


def test_the_inspector_shows_the_selected_phrases_full_description(opened, qtbot):
    doc = opened.doc
    doc.select(2)
    name = opened.engine.dance(doc.choreography[2].dance_id).name
    text = opened.phrase_about.text()
    assert text.startswith(f"<b>3: {name}</b>") and "section" in text
    opened.timeline.setFocus()
    qtbot.keyClick(opened.timeline, Qt.Key.Key_L)
    assert "locked" in opened.phrase_about.text()
    assert opened.phrase_about.isEnabled() and not opened.inspector.isEnabled(), (
        "the description stays readable while a locked placement's controls are greyed")


def test_block_descriptions_escape_names_that_look_like_markup():
    from choreo_studio.editor.block_layout import block_description

    phrase = SimpleNamespace(index=0, section_label="A", n_bars=4, start_s=0.0, end_s=8.0)
    placement = SimpleNamespace(dance_id="d1", locked=False, mirror=False)
    dance = SimpleNamespace(name="<i>Rock & roll</i>", style="jazz", energy_label="low",
                            n_counts=8, tags=["a<b"])
    part = SimpleNamespace(music_fit=0.5)
    text = block_description(phrase, placement, dance, part, None, False)
    assert text.startswith("<b>1: &lt;i&gt;Rock &amp; roll&lt;/i&gt;</b>") and "a&lt;b" in text


def test_a_narrow_suggestions_panel_gives_the_style_columns_room_to_the_name(qtbot):
    from choreo_studio.editor.suggestions_panel import MIN_NAME_PX, SuggestionRow, SuggestionsPanel

    panel = SuggestionsPanel()
    qtbot.addWidget(panel)
    panel.set_rows("Phrase 1", [SuggestionRow("d1", "breaking low #8: toprock; punch_up",
                                              "breaking", "low", 0.7, None, 0.25, 0.31)])
    panel.resize(1000, 300)
    panel.show()
    qtbot.wait(10)
    table = panel.table
    assert not table.isColumnHidden(2) and not table.isColumnHidden(3)
    panel.resize(460, 300)
    qtbot.waitUntil(lambda: table.isColumnHidden(2))
    assert table.isColumnHidden(3) and table.columnWidth(1) >= MIN_NAME_PX
    tip = panel.model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert "breaking · low energy" in tip
    panel.resize(1000, 300)
    qtbot.waitUntil(lambda: not table.isColumnHidden(2))


def test_a_right_click_on_the_waveform_offers_split_in_out_there(opened, qtbot):
    doc, wave = opened.doc, opened.waveform
    p = doc.phrases[1]
    wave.getViewBox().setXRange(p.start_s - 1.0, p.end_s + 1.0, padding=0)
    at = 0.5 * (p.start_s + p.end_s)
    qtbot.mouseClick(wave.viewport(), Qt.MouseButton.RightButton,
                     pos=QPoint(_widget_x(opened, at), wave.height() // 2))
    px = (p.end_s - p.start_s + 2.0) / wave.getViewBox().width()
    assert opened.transport.position_s() == pytest.approx(at, abs=2 * px)
    menu = opened.context_menu
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == ["Split phrase at playhead", "Set play range in", "Set play range out",
                     "Play range to selected phrases", "Clear play range",
                     "Set first downbeat at playhead"]
    menu.close()
    n = len(doc.phrases)
    next(a for a in menu.actions() if a.text() == "Split phrase at playhead").trigger()
    _idle(qtbot, opened)
    assert len(doc.phrases) == n + 1


def test_shift_i_sets_the_play_range_over_the_selected_phrases(opened, qtbot):
    doc = opened.doc
    doc.set_selection(1, [1, 2])
    opened.activateWindow()
    opened.timeline.setFocus()
    qtbot.keyClick(opened.timeline, Qt.Key.Key_I, Qt.KeyboardModifier.ShiftModifier)
    span = (doc.phrases[1].start_s, doc.phrases[2].end_s)
    assert opened.transport.play_range_s == pytest.approx(span)
    assert opened.waveform.play_range == pytest.approx(span)


def test_the_shortcut_sheet_tells_the_mouse_habits():
    from choreo_studio.editor.shortcuts import shortcut_sheet_html

    sheet = shortcut_sheet_html()
    for words in ("Set the play range", "Right-click the waveform", "middle-drag",
                  "Shift+I", "Ctrl+A", "Shift+Right", "library row onto a block"):
        assert words in sheet, words
