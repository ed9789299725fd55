"""MP4 export: the skeleton dancing, with the song, encoded by ffmpeg.

Frames are drawn with QPainter on a QImage (works in a worker thread and without OpenGL or a
screen) using the same drawing as the skeleton view, with the phrase and dance written on each
frame, and piped to ffmpeg: the machine's ``ffmpeg`` or the binary bundled in the
``imageio-ffmpeg`` package. The file is written beside the target and renamed when complete.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from choreo_studio.core.atomic_io import sync_folder
from choreo_studio.core.clock import format_clock
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion.contacts import contact_mask
from choreo_studio.core.progress import ProgressFn, no_progress
from choreo_studio.editor.skeleton_view import OrbitCamera, paint_pose
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

VIDEO_SIZE = (960, 540)


def find_ffmpeg() -> str:
    """Path of an ffmpeg executable, or a ChoreoError saying how to get one."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        raise ChoreoError(
            "MP4 export: no ffmpeg found — install ffmpeg or `pip install imageio-ffmpeg`"
        ) from None


def write_mp4(
    path: str | os.PathLike[str],
    positions: np.ndarray,
    parents: np.ndarray,
    fps: float,
    samples: np.ndarray,
    sr: int,
    captions: Sequence[tuple[float, float, str]] = (),
    *,
    size: tuple[int, int] = VIDEO_SIZE,
    feet: np.ndarray | None = None,
    progress: ProgressFn = no_progress,
) -> Path:
    """Encode ``positions`` [F, N, 3] at ``fps`` with the song.

    ``captions`` are (start_s, end_s, text) shown in the corner while they apply; ``feet``
    (columns of ``positions`` that are foot points) get their floor contacts drawn.
    """
    import soundfile as sf

    exe = find_ffmpeg()
    target = Path(path)
    width, height = size
    camera = OrbitCamera(yaw_deg=20.0, pitch_deg=12.0, zoom=1.0)
    font = QFont()
    font.setPixelSize(max(12, height // 28))
    with tempfile.TemporaryDirectory(prefix="choreo-mp4-") as tmp:
        wav = Path(tmp) / "song.wav"
        sf.write(str(wav), samples, sr, subtype="PCM_16")
        partial = target.with_name(f".{target.name}.partial.mp4")
        cmd = [
            exe,
            "-y",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-r",
            f"{fps:g}",
            "-i",
            "-",
            "-i",
            str(wav),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
            "-shortest",
            "-movflags",
            "+faststart",
            str(partial),
        ]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        image = QImage(width, height, QImage.Format.Format_RGB888)
        n = positions.shape[0]
        feet = np.zeros(0, dtype=np.int64) if feet is None else np.asarray(feet, np.int64)
        touching = contact_mask(positions[:, feet])
        try:
            for f in range(n):
                if f % 30 == 0:
                    progress(f / n, "encoding video")
                _draw_frame(image, positions[f], parents, camera, font, f / fps, captions,
                            positions[f, feet[touching[f]]])
                proc.stdin.write(_rgb_bytes(image))
            proc.stdin.close()
            err = proc.stderr.read().decode("utf-8", "replace")
            if proc.wait() != 0:
                raise ChoreoError(
                    f"{target.name}: ffmpeg failed ({err.strip()[:200]}) — "
                    "check the folder and disk space"
                )
        except BaseException:
            proc.kill()
            proc.wait()
            partial.unlink(missing_ok=True)
            raise
        with open(partial, "rb") as fh:  # ffmpeg closes without syncing
            os.fsync(fh.fileno())
        os.replace(partial, target)
        sync_folder(target.parent)
    progress(1.0, "video written")
    return target


def _rgb_bytes(image: QImage) -> bytes:
    width, height, line = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=line * height)
    return data.reshape(height, line)[:, : width * 3].tobytes()


def _draw_frame(
    image: QImage,
    pose: np.ndarray,
    parents: np.ndarray,
    camera: OrbitCamera,
    font: QFont,
    time_s: float,
    captions: Sequence[tuple[float, float, str]],
    contacts: np.ndarray,
) -> None:
    painter = QPainter(image)
    paint_pose(painter, image.width(), image.height(), pose, parents, camera,
               contacts=contacts)
    painter.setFont(font)
    painter.setPen(QColor("#e8e8e8"))
    text = next((c for a, b, c in captions if a <= time_s < b), "")
    painter.drawText(
        image.rect().adjusted(16, 12, -16, -12),
        int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
        f"{format_clock(time_s)}   {text}",
    )
    painter.end()
