"""Atomic writes and the OS-error boundary: the target is replaced whole, a failed write leaves
the old file, saved files get a plain ``open``'s permissions, and writes that cannot happen give
one line naming the path and a fix."""

import errno
import os
import stat

import pytest
from choreo_studio.core.atomic_io import (
    make_folder,
    os_error,
    write_atomic,
    write_bytes_atomic,
    write_json_atomic,
)
from choreo_studio.core.errors import ChoreoError, PathError


def test_writes_and_replaces(tmp_path):
    target = tmp_path / "sub" / "a.bin"
    write_bytes_atomic(target, b"one")
    write_bytes_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.bin"]


def test_rename_is_synced_in_its_folder(tmp_path, monkeypatch):
    """After the rename the folder itself is fsynced, so a power cut cannot undo the save."""
    synced: list[tuple[bool, bool]] = []  # (is a folder, target already in place)
    target = tmp_path / "a.bin"
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append((stat.S_ISDIR(os.fstat(fd).st_mode), target.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_bytes_atomic(target, b"one")
    assert synced == [(False, False), (True, True)]


def test_target_is_a_folder(tmp_path):
    with pytest.raises(PathError, match="folder, not a file") as info:
        write_bytes_atomic(tmp_path, b"x")
    assert info.value.errno == errno.EISDIR


def test_parent_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    with pytest.raises(PathError, match="file") as info:
        write_bytes_atomic(blocker / "out.json", b"x")
    assert str(blocker) in str(info.value)
    assert blocker.read_text() == "keep me"
    with pytest.raises(PathError, match="a file of that name is in the way"):
        make_folder(blocker)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX, not root")
def test_read_only_folder_keeps_the_old_file(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    old = folder / "a.json"
    old.write_text("old")
    folder.chmod(0o555)
    try:
        with pytest.raises(PathError, match="permission denied") as info:
            write_json_atomic(old, {"new": 1})
    finally:
        folder.chmod(0o755)
    assert "\n" not in str(info.value)
    assert old.read_text() == "old"
    assert [p.name for p in folder.iterdir()] == ["a.json"]


def test_name_too_long(tmp_path):
    with pytest.raises(PathError, match="name is too long"):
        write_bytes_atomic(tmp_path / ("n" * 300), b"x")


@pytest.mark.parametrize(
    ("code", "needle"),
    [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"), (errno.EACCES, "permission")],
)
def test_errno_messages(code, needle):
    error = os_error(OSError(code, os.strerror(code), "/x/y"), "/x/y")
    assert needle in str(error) and str(error).startswith("/x/y: cannot write")
    assert error.errno == code


def test_full_disk_during_write_leaves_no_temp(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def fail(fh):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(PathError, match="disk is full"):
        write_atomic(target, fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_nan_is_a_one_line_error_and_the_file_is_kept(tmp_path):
    target = tmp_path / "p.json"
    target.write_text("{}")
    with pytest.raises(ChoreoError, match="not a finite number"):
        write_json_atomic(target, {"score": float("nan")})
    assert target.read_text() == "{}"


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


def test_output_checks_before_work(tmp_path):
    from choreo_studio.core.atomic_io import check_output_file, check_output_folder

    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert check_output_file(tmp_path / "new" / "deeper" / "a.json") == (
        tmp_path / "new" / "deeper" / "a.json")
    assert not (tmp_path / "new").exists()
    assert check_output_folder(tmp_path / "out") == tmp_path / "out"
    with pytest.raises(PathError, match="it is a folder"):
        check_output_file(tmp_path)
    with pytest.raises(PathError, match="not a folder"):
        check_output_file(blocker / "a.json")
    with pytest.raises(PathError, match="not a folder"):
        check_output_file(blocker / "sub" / "a.json")
    with pytest.raises(PathError, match="it is a file"):
        check_output_folder(blocker)
    with pytest.raises(PathError, match="not a folder"):
        check_output_folder(blocker / "lib")
    with pytest.raises(PathError, match="too long"):
        check_output_folder(tmp_path / ("n" * 300))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize(("code", "needle"), [(errno.EROFS, "read-only"),
                                              (errno.EACCES, "permission denied")])
def test_output_check_reports_what_the_os_says(tmp_path, monkeypatch, code, needle):
    from choreo_studio.core import atomic_io

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / ".choreo-probe.x"))

    monkeypatch.setattr(atomic_io.tempfile, "mkstemp", refuse)
    with pytest.raises(PathError, match=needle) as info:
        atomic_io.check_output_folder(tmp_path / "out")
    assert str(info.value).startswith(f"{tmp_path / 'out'}: ")
    with pytest.raises(PathError, match=needle):
        write_bytes_atomic(tmp_path / "a.bin", b"x")


def test_cli_turns_an_unforeseen_os_error_into_one_line(tmp_path, capsys):
    from choreo_studio.core.cli import main

    assert main(["analyze", str(tmp_path / ("n" * 300 + ".wav"))]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("choreo: error: ") and "name is too long" in err and "\n" not in err
