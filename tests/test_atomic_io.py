"""Atomic writes: the target is replaced whole, a failed write leaves the old file, and saved
files get the same permissions a plain ``open`` would give (teams share exports and bundles)."""

import os
import stat

import pytest
from choreo_studio.core.atomic_io import write_atomic, write_json_atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_file_has_the_umask_default_mode(tmp_path):
    old = os.umask(0o022)
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        saved = write_json_atomic(tmp_path / "saved.json", {"a": 1})
    finally:
        os.umask(old)
    assert _mode(saved) == _mode(plain) == 0o644


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "project.choreo"
    write_json_atomic(target, {"v": 1})

    def explode(fh):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, explode)
    assert target.read_text().strip() == '{\n "v": 1\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["project.choreo"]
