"""The Choreography panel (pytest-qt, offscreen): a decoder weight set there re-solves the
unlocked phrases as one undoable edit, locks hold, and the weights are saved with the project."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

pytest.importorskip("pytestqt")

from choreo_studio.core.errors import ChoreoError  # noqa: E402
from choreo_studio.core.project import session  # noqa: E402
from choreo_studio.core.retrieval.decoding import DecodeOptions  # noqa: E402

from tests.test_editor import _idle, _open, _quiet, _window, assets, opened  # noqa: E402, F401


def _expected(window, options: DecodeOptions):
    """What core's re-solve gives the window's document under ``options``."""
    doc = window.doc
    return session.solve(window.engine, doc.segmentation.with_choreography(doc.choreography),
                         options=options)


def test_weight_resolves_and_undo_restores(opened, qtbot):  # noqa: F811
    doc, panel = opened.doc, opened.choreo_settings
    before_options, before_chor = opened.engine.options, doc.choreography
    assert panel.transition_weight == pytest.approx(before_options.transition_weight)
    target = next(w for w in (0.0, 1.0, 0.2) if _expected(
        opened, replace(before_options, transition_weight=w)).dance_ids != before_chor.dance_ids)
    expected = _expected(opened, replace(before_options, transition_weight=target))
    panel.weight.setValue(round(target * 100))
    _idle(qtbot, opened)
    assert opened.engine.options.transition_weight == pytest.approx(target)
    assert doc.choreography.dance_ids == expected.dance_ids
    assert doc.undo_stack.undoText() == (
        f"Transition weight {before_options.transition_weight:.2f} → {target:.2f}")
    doc.undo_stack.undo()
    assert opened.engine.options == before_options
    assert doc.choreography.placements == before_chor.placements
    assert panel.transition_weight == pytest.approx(before_options.transition_weight)
    doc.undo_stack.redo()
    assert doc.choreography.dance_ids == expected.dance_ids
    assert panel.transition_weight == pytest.approx(target)


def test_locked_phrase_keeps_its_dance(opened, qtbot):  # noqa: F811
    doc = opened.doc
    doc.select(1)
    opened.edits.swap_suggestion(len(opened.suggestions.rows) - 1)  # one the solver would not pick
    opened.action("lock").trigger()
    locked = doc.choreography[1].dance_id
    for name, value in (("recency_window", 0), ("reuse_penalty", 4.0), ("fit_floor", 0.0),
                        ("transition_weight", 0.0)):
        opened.action_set.run("decode_setting", name, value)
        _idle(qtbot, opened)
        assert getattr(opened.engine.options, name) == value
        assert doc.choreography[1].dance_id == locked and doc.choreography[1].locked
    default = DecodeOptions().transition_weight
    assert doc.undo_stack.undoText() == f"Transition weight {default:.2f} → 0.00"
    assert opened.choreo_settings.recency.value() == 0
    assert opened.choreo_settings.reuse.value() == pytest.approx(4.0)


def test_weights_survive_save_and_reopen(opened, qtbot, tmp_path, assets):  # noqa: F811
    opened.choreo_settings.recency.setValue(2)
    _idle(qtbot, opened)
    opened.choreo_settings.floor.setValue(0.25)
    _idle(qtbot, opened)
    path = tmp_path / "dance.choreo"
    assert opened.files.save_to(str(path))
    saved = json.loads(path.read_text())
    assert saved["settings"]["decoding"]["recency_window"] == 2
    assert saved["settings"]["decoding"]["fit_floor"] == pytest.approx(0.25)
    again = _window(qtbot, tmp_path / "second", assets)
    _open(qtbot, again, path)
    assert again.engine.options.recency_window == 2
    assert again.engine.options.fit_floor == pytest.approx(0.25)
    assert again.choreo_settings.recency.value() == 2
    assert again.doc.choreography.dance_ids == opened.doc.choreography.dance_ids
    assert not again.doc.dirty

    del saved["settings"]["decoding"]  # a project saved before the weights were
    older = tmp_path / "older.choreo"
    older.write_text(json.dumps(saved))
    third = _window(qtbot, tmp_path / "third", assets)
    _open(qtbot, third, older)
    assert third.engine.options == DecodeOptions()


def test_out_of_range_weights_are_refused():
    options = DecodeOptions()
    assert session.with_decode_settings(options, None) == options
    assert session.with_decode_settings(options, {"recency_window": 3}).recency_window == 3
    for bad in ({"fit_floor": 1.0}, {"reuse_penalty": -1}, {"transition_weight": float("nan")},
                {"recency_window": 1.5}, {"temperature": 1.0}, {"fit_floor": "0.2"}):
        with pytest.raises(ChoreoError):
            session.with_decode_settings(options, bad)
