"""Dance phrases and the library the retrieval engine chooses from, with its on-disk format.

A library is a folder: ``library.json`` (format_version, name, skeleton, phrase metadata,
fingerprint) and ``motion.npz`` (all phrase motions concatenated, count frames, pose features,
the transition prior M0), loaded with ``allow_pickle=False`` so opening a shared library never
runs code. The fingerprint (hash of phrase ids + motion) is what trained models record.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from choreo_studio.core.atomic_io import make_folder, write_bytes_atomic, write_json_atomic
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import read_json_file
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton
from choreo_studio.core.progress import ProgressFn, no_progress

FORMAT_VERSION = 2  # 2: fingerprint without motion floats, arrays_sha256 checksum
METADATA_FILE = "library.json"
ARRAYS_FILE = "motion.npz"  # the arrays' name before they were named by their checksum
_ARRAYS_NAME = re.compile(r"motion(-[0-9a-f]{16})?\.npz")
ENERGY_LEVELS = {1: "low", 2: "medium", 3: "high"}
STORED_PRIOR_LIMIT = 5000  # M0 is stored up to this many phrases (100 MB); rebuilt above


@dataclass
class DancePhrase:
    """One retrievable dance phrase.

    ``count_frames[i]`` is the frame on which count ``i + 1`` lands; the phrase spans frames
    ``[0, motion.n_frames)`` and its end boundary (the next phrase's first count) is frame
    ``motion.n_frames``. ``energy`` is 1 (low), 2 (medium) or 3 (high). ``start_pose`` /
    ``end_pose`` are root-aligned pose features (see ``motion.motion_descriptors.pose_features``).
    ``source`` says where the phrase came from (``take``, ``start_frame``, music phrase, the
    take's own sidecar keys…): JSON values, shown by the library browser, never interpreted.
    """

    id: str
    name: str
    style: str
    energy: int
    tags: list[str]
    n_counts: int
    bpm: float
    count_frames: np.ndarray
    motion: Motion
    descriptors: dict[str, float] = field(default_factory=dict)
    start_pose: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    end_pose: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.count_frames = np.asarray(self.count_frames, dtype=np.int64).reshape(-1)
        self.start_pose = np.asarray(self.start_pose, dtype=np.float32).reshape(-1)
        self.end_pose = np.asarray(self.end_pose, dtype=np.float32).reshape(-1)
        if len(self.count_frames) != self.n_counts:
            raise ChoreoError(
                f"phrase {self.id}: {len(self.count_frames)} count frames "
                f"for {self.n_counts} counts"
            )
        if self.n_counts and (
            np.any(np.diff(self.count_frames) <= 0)
            or self.count_frames[0] < 0
            or self.count_frames[-1] >= self.motion.n_frames
        ):
            raise ChoreoError(
                f"phrase {self.id}: count frames must increase and lie inside the motion"
            )

    @property
    def duration_s(self) -> float:
        """Length of the phrase at its nominal tempo, in seconds."""
        return self.motion.duration_s

    @property
    def count_times_s(self) -> np.ndarray:
        """Time of each count in seconds from the phrase start."""
        return self.count_frames / self.motion.fps

    @property
    def energy_label(self) -> str:
        """``low`` / ``medium`` / ``high``."""
        return ENERGY_LEVELS.get(self.energy, str(self.energy))


@dataclass
class Library:
    """K dance phrases on one skeleton with the transition prior M0 ``[K, K]``.

    ``transition_prior[a, b]`` scores phrase ``b`` following phrase ``a`` (in [0.01, 1]).
    ``fingerprint`` identifies the ids + motion content (see :func:`library_fingerprint`).
    """

    name: str
    skeleton: Skeleton
    phrases: list[DancePhrase]
    transition_prior: np.ndarray
    fingerprint: str = ""

    def __post_init__(self) -> None:
        k = len(self.phrases)
        self.transition_prior = np.asarray(self.transition_prior, dtype=np.float32)
        if self.transition_prior.shape != (k, k):
            raise ChoreoError(
                f"library {self.name}: transition prior is {self.transition_prior.shape}, "
                f"expected ({k}, {k})"
            )
        ids = [p.id for p in self.phrases]
        if len(set(ids)) != k:
            raise ChoreoError(f"library {self.name}: phrase ids must be unique")
        for p in self.phrases:
            if not p.motion.skeleton.same_hierarchy(self.skeleton):
                raise ChoreoError(
                    f"library {self.name}: phrase {p.id} uses a different skeleton — "
                    "retarget it to the library skeleton first"
                )
        self._index = {pid: i for i, pid in enumerate(ids)}
        if not self.fingerprint:
            self.fingerprint = library_fingerprint(self.phrases)

    def __len__(self) -> int:
        return len(self.phrases)

    @property
    def ids(self) -> list[str]:
        """Phrase ids in library order (the class index order of the predictor)."""
        return [p.id for p in self.phrases]

    @property
    def styles(self) -> list[str]:
        """Distinct styles, sorted."""
        return sorted({p.style for p in self.phrases})

    def index_of(self, phrase_id: str) -> int:
        """Position of ``phrase_id`` (ChoreoError naming the library when unknown)."""
        try:
            return self._index[phrase_id]
        except KeyError:
            raise ChoreoError(
                f"library {self.name}: no phrase with id {phrase_id!r} — see `choreo library info`"
            ) from None

    def phrase(self, phrase_id: str) -> DancePhrase:
        """The phrase with id ``phrase_id``."""
        return self.phrases[self.index_of(phrase_id)]

    def save(self, folder: str | Path, progress: ProgressFn = no_progress) -> Path:
        """Write the arrays, then ``library.json`` naming them, into ``folder``.

        The arrays go to a file named after their checksum, so the library being replaced stays
        whole until the new ``library.json`` (written atomically, last) points at the new
        arrays: a kill or a failure at any moment leaves the old library or the new one.
        """
        folder = Path(folder)
        make_folder(folder)
        progress(0.0, "packing arrays")
        buf = io.BytesIO()
        np.savez_compressed(buf, **_pack_arrays(self))
        progress(0.6, "writing arrays")
        data = buf.getvalue()
        digest = _arrays_digest(data)
        arrays_name = f"motion-{digest[:16]}.npz"
        write_bytes_atomic(folder / arrays_name, data)
        write_json_atomic(folder / METADATA_FILE, _metadata(self, arrays_name, digest))
        for old in folder.glob("motion*.npz"):  # the replaced library's arrays, now unused
            if old.name != arrays_name and _ARRAYS_NAME.fullmatch(old.name):
                old.unlink(missing_ok=True)
        progress(1.0, "saved")
        return folder

    @classmethod
    def load(cls, folder: str | Path, progress: ProgressFn = no_progress) -> Library:
        """Read a library folder; any problem is one ChoreoError naming the file."""
        folder = Path(folder)
        meta_path = folder / METADATA_FILE
        if not meta_path.is_file():
            raise ChoreoError(
                f"{folder}: not a dance library (no {METADATA_FILE}) — "
                "build one with `choreo library import`"
            )
        meta = read_json_file(meta_path, fix="re-import the library")  # bounded: no deep nesting
        version = meta.get("format_version") if isinstance(meta, dict) else None
        if version not in (1, FORMAT_VERSION):
            raise ChoreoError(
                f"{meta_path}: library format_version {version!r} is not supported "
                f"(this build reads {FORMAT_VERSION}) — re-import the library"
            )
        progress(0.1, "reading arrays")
        # Version 1 had no checksum and a fingerprint over the motion floats: both recomputed.
        checksum = str(meta.get("arrays_sha256", "")) if version == FORMAT_VERSION else None
        arrays_path = folder / _arrays_name(meta, meta_path)
        arrays = _read_arrays(arrays_path, checksum)
        try:
            lib = _unpack(meta, arrays)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ChoreoError(
                f"{folder}: library metadata and arrays do not match ({exc}) — re-import it"
            ) from None
        except ChoreoError as exc:
            raise ChoreoError(f"{folder}: {exc}") from None
        stored = meta.get("fingerprint", "") if version == FORMAT_VERSION else ""
        if stored and stored != lib.fingerprint:
            raise ChoreoError(
                f"{arrays_path}: motion data does not match the library fingerprint "
                "(file corrupted or edited) — re-import the library"
            )
        progress(1.0, "library loaded")
        return lib


def library_fingerprint(phrases: list[DancePhrase]) -> str:
    """SHA-256 (first 16 hex digits) over phrase ids, frame rates, frame counts and count frames.

    This is what a model's outputs, a project's placements and a timeline's rows refer to, so it
    leaves out the motion's float values: the demo library regenerated by another machine's
    numpy differs from ours in the last bits, and must still match the bundled model. The motion
    arrays are guarded by their own checksum in ``library.json`` (see :func:`_arrays_digest`).
    """
    h = hashlib.sha256()
    for p in phrases:
        h.update(p.id.encode("utf-8") + b"\0")
        h.update(np.float64(p.motion.fps).tobytes())
        h.update(np.int64(p.motion.n_frames).tobytes())
        h.update(np.ascontiguousarray(p.count_frames, dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


def _arrays_digest(data: bytes) -> str:
    """Checksum of ``motion.npz`` as written: a mixed or damaged library folder is detected."""
    return hashlib.sha256(data).hexdigest()


def _pack_arrays(lib: Library) -> dict[str, np.ndarray]:
    """The library's arrays, phrases concatenated along frames."""
    lengths = [p.motion.n_frames for p in lib.phrases]
    arrays = {
        "frame_starts": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "rotations": np.concatenate([p.motion.rotations for p in lib.phrases]).astype(np.float32),
        "root_pos_cm": np.concatenate([p.motion.root_pos_cm for p in lib.phrases]).astype(
            np.float32
        ),
        "count_frames": np.concatenate([p.count_frames for p in lib.phrases]).astype(np.int64),
        "start_pose": np.stack([p.start_pose for p in lib.phrases]).astype(np.float32),
        "end_pose": np.stack([p.end_pose for p in lib.phrases]).astype(np.float32),
    }
    if len(lib.phrases) <= STORED_PRIOR_LIMIT:  # above it M0 is rebuilt from styles/energies
        arrays["transition_prior"] = lib.transition_prior.astype(np.float32)
    if any(p.motion.local_pos_cm is not None for p in lib.phrases):
        arrays["local_pos_cm"] = np.concatenate(
            [p.motion._translations() for p in lib.phrases]  # noqa: SLF001
        ).astype(np.float32)
    return arrays


def arrays_path(folder: str | Path) -> Path:
    """The arrays file that ``folder``'s ``library.json`` names (``motion.npz`` when unreadable)."""
    meta_path = Path(folder) / METADATA_FILE
    try:
        return Path(folder) / _arrays_name(read_json_file(meta_path), meta_path)
    except ChoreoError:
        return Path(folder) / ARRAYS_FILE


def _arrays_name(meta: Any, meta_path: Path) -> str:
    """The arrays file named by ``meta`` (format 1 and early format 2: ``motion.npz``)."""
    name = meta.get("arrays_file", ARRAYS_FILE) if isinstance(meta, dict) else ARRAYS_FILE
    if not isinstance(name, str) or not _ARRAYS_NAME.fullmatch(name):
        raise ChoreoError(f"{meta_path}: arrays_file {str(name)[:40]!r} is not a motion-*.npz "
                          "file name — re-import the library")
    return name


def _metadata(lib: Library, arrays_file: str, arrays_sha256: str) -> dict[str, Any]:
    """The JSON side of a library: it names its arrays file and their checksum."""
    return {
        "format_version": FORMAT_VERSION,
        "name": lib.name,
        "fingerprint": lib.fingerprint,
        "arrays_file": arrays_file,
        "arrays_sha256": arrays_sha256,
        "n_phrases": len(lib.phrases),
        "skeleton": lib.skeleton.to_dict(),
        "phrases": [
            {
                "id": p.id,
                "name": p.name,
                "style": p.style,
                "energy": int(p.energy),
                "tags": list(p.tags),
                "n_counts": int(p.n_counts),
                "bpm": float(p.bpm),
                "fps": float(p.motion.fps),
                "n_frames": int(p.motion.n_frames),
                "descriptors": {k: float(v) for k, v in p.descriptors.items()},
                **({"source": p.source} if p.source else {}),
            }
            for p in lib.phrases
        ],
    }


_REQUIRED_ARRAYS = (
    "frame_starts",
    "rotations",
    "root_pos_cm",
    "count_frames",
    "start_pose",
    "end_pose",
)


def _read_arrays(path: Path, sha256: str | None) -> dict[str, np.ndarray]:
    """Load every array of ``motion.npz`` eagerly (no pickle), checked against ``sha256``."""
    if not path.is_file():
        raise ChoreoError(f"{path}: missing — the library folder is incomplete, re-import it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ChoreoError(f"{path}: unreadable library arrays ({exc.strerror})") from None
    if sha256 is not None and _arrays_digest(data) != sha256:
        raise ChoreoError(
            f"{path}: motion data does not match its library.json (file corrupted, edited or "
            "left by an interrupted save) — re-import the library"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ChoreoError(
            f"{path}: corrupted library arrays ({exc}) — re-import the library"
        ) from None
    missing = [k for k in _REQUIRED_ARRAYS if k not in arrays]
    if missing:
        raise ChoreoError(f"{path}: arrays {', '.join(missing)} missing — re-import the library")
    return arrays


def _unpack(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Library:
    """Rebuild the Library object from metadata and arrays."""
    skeleton = Skeleton.from_dict(meta["skeleton"])
    starts = arrays["frame_starts"]
    entries = meta["phrases"]
    if len(starts) != len(entries) + 1 or starts[-1] != len(arrays["rotations"]):
        raise ValueError("frame index does not cover the motion arrays")
    local_all = arrays.get("local_pos_cm")
    phrases = []
    count_pos = 0
    for i, e in enumerate(entries):
        a, b = int(starts[i]), int(starts[i + 1])
        if b - a != int(e["n_frames"]):
            raise ValueError(f"phrase {e['id']} frame count")
        local = None if local_all is None else local_all[a:b]
        motion = Motion(skeleton, e["fps"], arrays["rotations"][a:b], arrays["root_pos_cm"][a:b],
                        local)
        n_counts = int(e["n_counts"])
        counts = arrays["count_frames"][count_pos : count_pos + n_counts]
        count_pos += n_counts
        phrases.append(
            DancePhrase(
                id=str(e["id"]),
                name=str(e["name"]),
                style=str(e["style"]),
                energy=int(e["energy"]),
                tags=[str(t) for t in e.get("tags", [])],
                n_counts=n_counts,
                bpm=float(e["bpm"]),
                count_frames=counts,
                motion=motion,
                descriptors={k: float(v) for k, v in e.get("descriptors", {}).items()},
                start_pose=arrays["start_pose"][i],
                end_pose=arrays["end_pose"][i],
                source=dict(e["source"]) if isinstance(e.get("source"), dict) else {},
            )
        )
    if "transition_prior" in arrays:
        return Library(str(meta["name"]), skeleton, phrases, arrays["transition_prior"])
    from choreo_studio.core.library.transition_prior import build_transition_prior

    return Library(str(meta["name"]), skeleton, phrases, build_transition_prior(phrases))
