"""The wheel installs one import package, and the app runs where a user's files could shadow it.

One wheel is built (from a copy of the sources, so the checkout gets no build folders) and
installed with ``--no-deps`` into a fresh venv that sees this environment's dependencies through
a ``.pth`` line. Setting ``CHOREO_TEST_BASE_INSTALL`` in a child's environment hides the modules
only the extras install (torch, PySide6, …), so the same venv also stands in for a base install.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from choreo_studio.core import __version__
from choreo_studio.core.cli import OPTIONAL_MODULES

ROOT = Path(__file__).resolve().parents[1]
TOP_FOLDERS = ("core", "editor", "training", "resources")
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "__main__.py", *TOP_FOLDERS)
SHADOWS = (*(f"{name}.py" for name in TOP_FOLDERS), "choreo_studio.py")
"""What a user's current folder may hold: modules named like ours, each raising on import."""

BLOCKER = '''"""Hide the extras' modules when CHOREO_TEST_BASE_INSTALL is set (a base install)."""
import importlib.abc, os, sys
HIDDEN = {hidden!r}
class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{top!r}}", name=top)
if os.environ.get("CHOREO_TEST_BASE_INSTALL"):
    sys.meta_path.insert(0, _Hide())
'''


def _run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def _new_setuptools() -> bool:
    """Whether this environment's setuptools can build the wheel without build isolation."""
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return False
    return major >= 77


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (once for this module)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=ignore)
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(source, src / name)
    isolation = ["--no-build-isolation"] if _new_setuptools() else []
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"),
           *isolation, str(src)]
    done = _run(cmd, work)
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = (work / "dist").glob("*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (--no-deps); dependencies come from this one's."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                      "['purelib'])"], root).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_choreo_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    (site / "_choreo_test_base.py").write_text(BLOCKER.format(hidden=sorted(OPTIONAL_MODULES)))
    (site / "_choreo_test_base.pth").write_text("import _choreo_test_base\n")
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                 "--no-deps", "--no-index", str(wheel)], root)
    assert done.returncode == 0, done.stderr[-2000:]
    return root


@pytest.fixture
def shadowed(tmp_path) -> Path:
    """A current folder holding core.py, editor.py, … that each raise when imported."""
    for name in SHADOWS:
        (tmp_path / name).write_text(f"raise RuntimeError('the user\\'s {name} was imported')\n")
    return tmp_path


def _package_folders() -> set[str]:
    """Dotted names (under choreo_studio) of every folder of the four that holds Python files."""
    names = set()
    for top in TOP_FOLDERS:
        for path in (ROOT / top).rglob("*.py"):
            if "__pycache__" not in path.parts:
                names.add(".".join(path.parent.relative_to(ROOT).parts))
    return names


def test_packages_list_names_every_package_folder():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    folders = _package_folders()
    assert listed == {"choreo_studio"} | {f"choreo_studio.{name}" for name in folders}
    missing_init = [f for f in folders if not (ROOT / f.replace(".", "/") / "__init__.py").exists()]
    assert missing_init == []


def test_the_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("choreo-studio") == __version__


def test_the_wheel_installs_only_choreo_studio(wheel, venv):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"choreo_studio", f"choreo_studio-{__version__}.dist-info"}
    for shipped in ("choreo_studio/__main__.py", "choreo_studio/resources/schemas/"
                    "timeline.schema.json", "choreo_studio/resources/models/README.md"):
        assert shipped in names
    assert any(n.endswith(".safetensors") for n in names), "the bundled model must ship"
    (record,) = venv.glob("lib/python*/site-packages/choreo_studio-*.dist-info/RECORD")
    installed = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    assert not installed & set(TOP_FOLDERS)
    assert not any((record.parent.parent / name).exists() for name in TOP_FOLDERS)


def test_the_wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        info = f"choreo_studio-{__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        assert f"{info}/licenses/LICENSE" in archive.namelist()
    assert f"\nVersion: {__version__}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    assert "\nKeywords: " in metadata and "\nClassifier: " in metadata
    base = [line for line in metadata.splitlines()
            if line.startswith("Requires-Dist: ") and "extra ==" not in line]
    heavy = [line for line in base if re.search(r"torch|PySide6|pyqtgraph|sounddevice", line)]
    assert base and heavy == [], "the base install is the headless CLI"
    assert re.search(r"\[console_scripts\]\nchoreo = ", entry_points)
    assert re.search(r"\[gui_scripts\]\nchoreo-studio = ", entry_points)


def test_commands_run_from_a_folder_that_shadows_our_names(venv, shadowed):
    bin_dir = venv / "bin"
    done = _run([str(bin_dir / "choreo"), "analyze", "-o", "analysis.json"], shadowed)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (shadowed / "analysis.json").is_file()
    # a base install (no torch, no Qt) choreographs headless with the descriptor matcher
    done = _run([str(bin_dir / "choreo"), "auto", "--no-model", "-o", "out"], shadowed,
                CHOREO_TEST_BASE_INSTALL="1")
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("timeline.json", "timeline.csv", "dance.bvh", "dance.glb", "song.wav"):
        assert (shadowed / "out" / name).is_file(), name
    # the editor's analysis child, spawned by editor code (-P keeps this folder off its path)
    child = ("from choreo_studio.editor.analysis_process import analyze_in_child; "
             "analyze_in_child('out/song.wav', lambda f, m: print('progress', f))")
    done = _run([str(bin_dir / "python"), "-P", "-c", child], shadowed)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "progress 1.0" in done.stdout
    done = _run([str(bin_dir / "python"), "-P", "-m", "choreo_studio", "--version"], shadowed)
    assert done.stdout.strip() == f"choreo-studio {__version__}", done.stderr[-2000:]


def test_python_m_choreo_studio_runs_the_cli(venv, tmp_path):
    (tmp_path / "core.py").write_text("raise RuntimeError('the user\\'s core.py was imported')\n")
    done = _run([str(venv / "bin" / "python"), "-m", "choreo_studio", "--version"], tmp_path)
    assert done.stdout.strip() == f"choreo-studio {__version__}", done.stderr[-2000:]


@pytest.mark.parametrize(("command", "extra"), [(["auto", "-o", "out"], "model"),
                                                (["edit"], "gui")])
def test_a_missing_extra_is_one_line_saying_how_to_install_it(venv, tmp_path, command, extra):
    done = _run([str(venv / "bin" / "choreo"), *command], tmp_path,
                CHOREO_TEST_BASE_INSTALL="1", QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 2
    err = done.stderr.strip()
    assert "\n" not in err and f"pip install 'choreo-studio[{extra}]'" in err, err
