"""The long fuzz run: the loaders of tests/test_fuzz_loaders.py with random (not derandomized)
hypothesis examples for a time budget each.

Run: ``python benchmarks/fuzz_loaders.py [--seconds-per-target 60] [--only bvh,project]``.
Prints, per target, how many inputs ran, how many were refused with a ChoreoError, and the first
failing input if any (a traceback that is not a ChoreoError, or a ChoreoError over several
lines). Exit 1 when a target failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from choreo_studio.core.errors import ChoreoError  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests import fuzz_targets as ft  # noqa: E402


def _targets(scratch: Path) -> dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], Any]]]:
    """Name -> (input strategy, function under test)."""
    bundle = ft.make_bundle_folder(scratch)
    bundle_config = json.loads((bundle / "model.json").read_text())
    return {
        "bvh": (ft.mutated_text(ft.BASE_BVH, max_edits=8), ft.fuzz_bvh),
        "bvh-any-text": (st.text(max_size=2000).map(lambda t: "HIERARCHY\n" + t), ft.fuzz_bvh),
        "project": (ft.mutated_json(ft.BASE_PROJECT, max_edits=5),
                    lambda d: ft.fuzz_project(d, scratch)),
        "timeline": (ft.mutated_json(ft.base_timeline(), max_edits=5),
                     lambda d: ft.fuzz_timeline(d, scratch)),
        "bundle": (ft.mutated_json(bundle_config, max_edits=5),
                   lambda d: ft.fuzz_bundle(d, bundle, scratch)),
        "sidecar": (ft.mutated_json(ft.BASE_SIDECAR, max_edits=5),
                    lambda d: ft.fuzz_sidecar(d, scratch)),
        "json-bytes": (st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode),
                       ft.fuzz_json_bytes),
    }


def run_target(strategy: st.SearchStrategy[Any], fn: Callable[[Any], Any],
               seconds: float) -> tuple[int, int, str]:
    """Run ``fn`` on random examples, in rounds of 100, for ``seconds``; returns (inputs,
    ChoreoErrors, the failing input's traceback or "")."""
    counts = {"inputs": 0, "refused": 0}

    @settings(max_examples=100, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def body(value: Any) -> None:
        counts["inputs"] += 1
        if isinstance(fn(value), ChoreoError):
            counts["refused"] += 1

    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        try:
            body()
        except Exception:  # the property failed: hypothesis re-raises with the shrunk input
            return counts["inputs"], counts["refused"], traceback.format_exc(limit=-4)
    return counts["inputs"], counts["refused"], ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-per-target", type=float, default=60.0)
    parser.add_argument("--only", default="", help="comma-separated target names")
    args = parser.parse_args(argv)
    scratch = ft.scratch_folder()
    targets = _targets(scratch)
    chosen = [t for t in args.only.split(",") if t] or list(targets)
    failed = 0
    print(f"{'target':<14} {'inputs':>8} {'refused':>8}  result")
    for name in chosen:
        strategy, fn = targets[name]
        inputs, refused, failure = run_target(strategy, fn, args.seconds_per_target)
        print(f"{name:<14} {inputs:>8} {refused:>8}  {'FAILED' if failure else 'ok'}",
              flush=True)
        if failure:
            failed += 1
            print("    " + failure.strip().replace("\n", "\n    "))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
