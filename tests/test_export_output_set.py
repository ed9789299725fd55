"""Export sets: files given as bytes land with the manifest's sizes and checksums, each made
durable (fsynced) before anything moves into the output folder; a failing one changes nothing;
the timeline an export writes (timing checked by hand there) passes the full schema."""

import dataclasses
import hashlib
import json
import os
from types import SimpleNamespace

import pytest
from choreo_studio.core.choreography.placements import Choreography, Placement, ScoreParts
from choreo_studio.core.choreography.render import render
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.export import output_set
from choreo_studio.core.export.clips import ClipFiles
from choreo_studio.core.export.files import write_exports
from choreo_studio.core.export.output_set import MANIFEST, Contents, write_output_set
from choreo_studio.core.export.timeline import read_timeline
from engine_synthetic import click_song, library


def test_contents_land_with_their_checksums_and_default_mode(tmp_path):
    out = tmp_path / "out"
    data = {"a.bin": b"\x00\x01" * 1000, "b.txt": b"text\n"}
    paths = write_output_set(out, {"a.bin": Contents(lambda: data["a.bin"]),
                                   "b.txt": Contents(lambda: data["b.txt"]),
                                   "c.txt": lambda p: p.write_text("writer")})
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    for name, raw in data.items():
        assert paths[name].read_bytes() == raw
        assert manifest[name] == {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    umask = os.umask(0)
    os.umask(umask)
    assert (paths["a.bin"].stat().st_mode & 0o777) == 0o666 & ~umask
    assert manifest["c.txt"]["bytes"] == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_every_content_file_is_fsynced_before_the_first_move(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(output_set.os, "fsync", lambda fd: events.append("fsync") or
                        real_fsync(fd))
    monkeypatch.setattr(output_set.os, "replace", lambda a, b: events.append("move") or
                        real_replace(a, b))
    write_output_set(tmp_path / "out", {f"{i}.bin": Contents(lambda i=i: bytes([i]) * 100)
                                        for i in range(4)})
    assert events.count("fsync") >= 4 and "move" in events
    assert events.index("move") > max(i for i, e in enumerate(events[:8]) if e == "fsync")
    assert events[:4] == ["fsync"] * 4


def test_a_failing_content_leaves_the_previous_set(tmp_path):
    out = tmp_path / "out"
    write_output_set(out, {"a.txt": Contents(lambda: b"old a")})

    def broken() -> bytes:
        raise ChoreoError("no bytes")

    with pytest.raises(ChoreoError, match="no bytes"):
        write_output_set(out, {"a.txt": Contents(lambda: b"new a"), "b.txt": Contents(broken)})
    assert (out / "a.txt").read_bytes() == b"old a" and not (out / "b.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("clips", [None, ClipFiles()])
def test_an_exported_timeline_passes_the_schema(tmp_path, clips):
    analysis, phrases = click_song([2, 3])
    lib = library(2)
    choreo = Choreography([Placement(0, "d0", locked=True),
                           Placement(1, "d1", beats_per_count=0.5, mirror=True)])
    motion = render(choreo, analysis, phrases, lib, fps=30)
    parts = [ScoreParts(), ScoreParts(0.25, float("nan"), None)]
    paths = write_exports(SimpleNamespace(analysis=analysis, phrases=phrases), choreo, motion,
                          lib, tmp_path, song_name="click", parts=parts, clips=clips)
    timeline = read_timeline(paths["timeline"])  # reading validates against the schema
    assert [p.dance_id for p in timeline.phrases] == ["d0", "d1"]
    raw = json.loads(paths["timeline"].read_text())
    assert raw["phrases"][1]["scores"]["transition_in"] is None


def test_an_export_with_inconsistent_timing_is_refused(tmp_path):
    analysis, phrases = click_song([2, 3])
    lib = library(2)
    choreo = Choreography([Placement(0, "d0"), Placement(1, "d1")])
    phrases[1] = dataclasses.replace(phrases[1], start_s=phrases[0].start_s)  # too early
    with pytest.raises(ChoreoError, match="starts before the previous phrase ends"):
        write_exports(SimpleNamespace(analysis=analysis, phrases=phrases), choreo, None, lib,
                      tmp_path / "out", fps=30.0, kinds=("timeline",))
    assert not (tmp_path / "out" / "timeline.json").exists()
