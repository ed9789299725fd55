"""The `choreo` command line: gathers sub-commands and turns user mistakes into one-line errors.

Sub-commands are modules in the ``commands`` sub-package of ``core``, ``training`` and ``editor``;
each exposes ``register(subparsers)`` which adds its parser and sets ``func(args) -> int``.
They are discovered by name so that ``core`` never imports the Qt editor unless it is asked for.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from choreo_studio.core import __version__
from choreo_studio.core.atomic_io import os_error
from choreo_studio.core.errors import Cancelled, ChoreoError

COMMAND_PACKAGES = tuple(
    f"choreo_studio.{part}.commands" for part in ("core", "training", "editor")
)
DEFAULT_COMMAND = "edit"
OPTIONAL_MODULES = {
    "PySide6": ("gui", "the editor"),
    "pyqtgraph": ("gui", "the editor"),
    "OpenGL": ("gui", "the editor"),
    "sounddevice": ("gui", "the editor"),
    "torch": ("model", "a trained model"),
    "safetensors": ("model", "a trained model"),
}
"""Modules only an extra installs: (extra, what needs them), for the one-line hint."""


def _command_modules() -> list[str]:
    """Names of every sub-command module in the packages that ship them, in a stable order."""
    names: list[str] = []
    for package_name in COMMAND_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError:
            continue
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                names.append(f"{package_name}.{info.name}")
    return names


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every discovered sub-command."""
    parser = argparse.ArgumentParser(
        prog="choreo",
        description="Choreo Studio: music in, an editable choreography of dance phrases out.",
    )
    parser.add_argument("--version", action="version", version=f"choreo-studio {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _command_modules():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `choreo` console script; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list and DEFAULT_COMMAND in parser._subparsers._group_actions[0].choices:  # noqa: SLF001
        args_list = [DEFAULT_COMMAND]
    args = parser.parse_args(args_list)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ChoreoError as exc:
        print(f"choreo: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        hint = missing_extra_hint(exc, args.command)
        if hint is None:
            raise
        print(f"choreo: error: {hint}", file=sys.stderr)
        return 2
    except OSError as exc:  # the OS-error boundary's net for a path no earlier check foresaw
        print(f"choreo: error: {os_error(exc, exc.filename or '?', 'open')}", file=sys.stderr)
        return 2
    except Cancelled:
        print("choreo: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("choreo: interrupted", file=sys.stderr)
        return 130


def missing_extra_hint(exc: ModuleNotFoundError, command: str | None) -> str | None:
    """How to install the extra that provides the missing module (None: not an extra's)."""
    top = (exc.name or "").split(".")[0]
    if top not in OPTIONAL_MODULES:
        return None
    extra, needed_by = OPTIONAL_MODULES[top]
    if command == "train":
        extra, needed_by = "train", "training"
    hint = (f"{needed_by} needs {top}, which is not installed — "
            f"pip install 'choreo-studio[{extra}]'")
    if command == "auto" and extra == "model":
        hint += ", or pass --no-model for the descriptor matcher"
    return hint


if __name__ == "__main__":
    sys.exit(main())
