"""The one cache root of Choreo Studio, and the code-version hashes that key its entries.

Everything cached (analyses, features, the demo library, the demo song WAV) lives under
:func:`cache_root`: ``$CHOREO_CACHE_DIR`` when set, else the operating system's user cache
folder (``platformdirs``: ``~/.cache/choreo-studio`` on Linux, ``~/Library/Caches`` on macOS,
``%LOCALAPPDATA%`` on Windows).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from pathlib import Path

APP_NAME = "choreo-studio"


def cache_root() -> Path:
    """``$CHOREO_CACHE_DIR``, else the OS's user cache folder for Choreo Studio."""
    env = os.environ.get("CHOREO_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


@functools.cache
def code_hash(*modules: str, length: int = 10, data: tuple[Path, ...] = ()) -> str:
    """Hash of the source of the named modules, so a cache entry made by other code is never used.

    ``modules`` are dotted import names; ``data`` are files the code reads (model weights), so
    new weights make new entries too (a missing one counts as absent, not as an error). All are
    read once per process.
    """
    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(name)
        digest.update(Path(spec.origin).read_bytes())
    for path in data:
        digest.update(Path(path).read_bytes() if Path(path).is_file() else b"absent")
    return digest.hexdigest()[:length]
