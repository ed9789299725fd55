"""`choreo edit [SONG | PROJECT]`: open the desktop editor (the demo song when no file is given)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import ChoreoError


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


def run(args: argparse.Namespace) -> int:
    """Check the path, then start the Qt application (Qt is imported only here)."""
    if args.path and not Path(args.path).is_file():
        raise ChoreoError(f"{args.path}: no such file — give a song or a .choreo project")
    from editor.app import run_editor

    return run_editor(args.path, want_sound=not args.no_audio)
