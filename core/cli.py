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
from choreo_studio.core.errors import Cancelled, ChoreoError

COMMAND_PACKAGES = tuple(
    f"choreo_studio.{part}.commands" for part in ("core", "training", "editor")
)
DEFAULT_COMMAND = "edit"


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
    except Cancelled:
        print("choreo: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("choreo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
