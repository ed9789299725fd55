"""`choreo edit [SONG | PROJECT]`: open the desktop editor (the demo song when no file is given)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from choreo_studio.core.errors import ChoreoError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edit",
        help="open the choreography editor",
        description="Open the Choreo Studio editor on a song, a .choreo project, or the demo song.",
    )
    parser.add_argument("path", nargs="?", help="song file or .choreo project (default: demo song)")
    parser.add_argument(
        "--no-audio", action="store_true", help="play with the silent clock (no sound device)"
    )
    parser.set_defaults(func=run)


def check_display(environ: Mapping[str, str] = os.environ) -> None:
    """Refuse clearly where Qt would abort: Linux with no X11/Wayland display, no platform."""
    if not sys.platform.startswith("linux"):
        return
    if any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return
    raise ChoreoError(
        "no display to open the editor on (DISPLAY and WAYLAND_DISPLAY are unset) — run it in a "
        "desktop session, or use `choreo auto` for a song without the editor"
    )


def run(args: argparse.Namespace) -> int:
    """Check the path and the display, then start the Qt application (Qt is imported only here)."""
    if args.path and not Path(args.path).is_file():
        raise ChoreoError(f"{args.path}: no such file — give a song or a .choreo project")
    check_display()
    from choreo_studio.editor.app import run_editor

    return run_editor(args.path, want_sound=not args.no_audio)


def main() -> int:
    """Entry point of the ``choreo-studio`` GUI script: ``choreo edit [SONG | PROJECT]``."""
    from choreo_studio.core.cli import main as cli_main

    return cli_main(["edit", *sys.argv[1:]])
