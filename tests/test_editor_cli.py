"""`choreo edit` from a terminal: clear one-line refusals instead of a Qt abort."""

import pytest
from choreo_studio.core.cli import main
from choreo_studio.editor.commands.edit import check_display


def test_no_display_is_a_one_line_error_not_a_qt_abort(monkeypatch, capsys):
    monkeypatch.setattr("sys.platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["edit"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("choreo: error: no display") and "\n" not in err


@pytest.mark.parametrize("name", ["DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"])
def test_any_display_setting_lets_the_editor_start(name):
    check_display({name: ":0" if name == "DISPLAY" else "offscreen"})


def test_missing_song_is_refused_before_qt_starts(capsys, tmp_path):
    assert main(["edit", str(tmp_path / "nope.ogg")]) == 2
    assert "no such file" in capsys.readouterr().err
