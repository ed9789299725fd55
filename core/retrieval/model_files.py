"""Model bundle file layout and discovery, without importing torch (the CLI stays fast when
no model is used). Loading and saving bundles is in :mod:`core.retrieval.model_bundle`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import read_json_file

if TYPE_CHECKING:
    from choreo_studio.core.library.library import Library

FORMAT_VERSION = 1
CONFIG_NAME = "model.json"
WEIGHTS_NAME = "weights.safetensors"
BUNDLE_SUFFIX = ".choreomodel"


def bundled_models_folder() -> Path:
    """Where shipped model bundles live (``resources/models``, found as package data)."""
    from importlib.resources import files

    return Path(str(files("choreo_studio.resources") / "models"))


def find_model_for_library(library: Library, folders: Sequence[Path] | None = None) -> Path | None:
    """The first bundle under ``folders`` (default: the shipped models) trained for ``library``.

    Matching is by library fingerprint; only each bundle's ``model.json`` is read.
    """
    for folder in folders if folders is not None else [bundled_models_folder()]:
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.glob(f"*{BUNDLE_SUFFIX}")):
            try:
                config = read_json_file(candidate / CONFIG_NAME, max_bytes=64 * 1024 * 1024)
            except ChoreoError:
                continue
            identity = config.get("library") if isinstance(config, dict) else None
            if (
                isinstance(identity, dict)
                and config.get("format_version") == FORMAT_VERSION
                and identity.get("fingerprint") == library.fingerprint
            ):
                return candidate
    return None
