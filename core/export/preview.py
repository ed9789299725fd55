"""Pictures of motion: animated GIF previews and contact sheets of dance phrases.

Pillow draws a shaded stick figure (the dancer's left side blue, right side orange) seen from
the front-right and a little above, on a floor grid with foot shadows. A contact sheet shows one
row per phrase and one pose per count with faint "ghosts" of the half-count before, so the
direction of each movement reads on paper. Pillow is used because it is small, has no GUI
dependencies and writes GIF/PNG directly (matplotlib would be ~10× slower per frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from choreo_studio.core.atomic_io import write_atomic
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.library import DancePhrase
from choreo_studio.core.motion.motion import Motion

LEFT = (52, 120, 220)
RIGHT = (235, 120, 40)
CENTER = (60, 60, 70)
BG = (250, 250, 247)
GRID = (215, 215, 210)
MAX_GIF_FRAMES = 600  # 40 s at 15 fps; longer takes are decimated


@dataclass
class Camera:
    """Orthographic view: turned ``yaw_deg`` about Y, tilted ``pitch_deg`` down, px per cm."""

    yaw_deg: float = 25.0
    pitch_deg: float = 12.0
    px_per_cm: float = 1.6

    def project(self, pts: np.ndarray, origin: np.ndarray, center_px: tuple[float, float]):
        """Screen coordinates ``[..., 2]`` and depth ``[...]`` (larger = nearer the viewer)."""
        p = np.asarray(pts, dtype=np.float64) - origin
        yaw, pitch = np.radians(self.yaw_deg), np.radians(self.pitch_deg)
        x = p[..., 0] * np.cos(yaw) + p[..., 2] * np.sin(yaw)
        z = -p[..., 0] * np.sin(yaw) + p[..., 2] * np.cos(yaw)
        y = p[..., 1] * np.cos(pitch) - z * np.sin(pitch)
        depth = z * np.cos(pitch) + p[..., 1] * np.sin(pitch)
        scr = np.stack([center_px[0] + x * self.px_per_cm, center_px[1] - y * self.px_per_cm], -1)
        return scr, depth


def _pil():
    try:
        from PIL import Image, ImageDraw
    except ImportError:  # pragma: no cover - Pillow is a declared dependency
        raise ChoreoError("previews need Pillow — install it with `pip install pillow`") from None
    return Image, ImageDraw


def _side_colors(motion: Motion, n_points: int, parents: np.ndarray) -> list[tuple[int, int, int]]:
    """Colour of each point's bone: left (blue), right (orange) or centre (grey)."""
    sk = motion.skeleton
    rest = sk.rest_positions_cm()
    mirror = sk.mirror_indices()
    colors = []
    for i in range(n_points):
        j = i if i < sk.n_joints else int(parents[i])
        if mirror[j] == j:
            colors.append(CENTER)
        else:
            colors.append(LEFT if rest[j, 0] > rest[mirror[j], 0] else RIGHT)
    return colors


def _draw_floor(draw, cam: Camera, origin: np.ndarray, center_px, extent_cm: float = 120.0):
    for v in np.arange(-extent_cm, extent_cm + 1, 40.0):
        for a, b in (((v, 0, -extent_cm), (v, 0, extent_cm)), ((-extent_cm, 0, v),
                                                                (extent_cm, 0, v))):
            (p, q), _ = cam.project(np.array([a, b]) + origin * [1, 0, 1], origin, center_px)
            draw.line([tuple(p), tuple(q)], fill=GRID, width=1)


def draw_figure(
    draw, pts: np.ndarray, parents: np.ndarray, colors, cam: Camera, origin: np.ndarray,
    center_px, width: float = 4.0, alpha: float = 1.0, head_joint: int | None = None,
) -> None:
    """Draw one pose (world points ``[P, 3]``) as depth-sorted bones with foot shadows."""
    scr, depth = cam.project(pts, origin, center_px)

    def fade(c):
        return tuple(int(BG[k] + (c[k] - BG[k]) * alpha) for k in range(3))

    floor = pts.copy()
    floor[:, 1] = 0.0
    fscr, _ = cam.project(floor, origin, center_px)
    low = np.argsort(pts[:, 1])[:2]
    for i in low:
        if pts[i, 1] < 15.0:
            r = max(2.0, width * 1.2)
            x, y = fscr[i]
            draw.ellipse([x - 2 * r, y - r * 0.6, x + 2 * r, y + r * 0.6],
                         fill=fade((200, 200, 195)))
    order = sorted(range(1, len(pts)), key=lambda i: depth[i] + depth[parents[i]])
    for i in order:
        p = parents[i]
        if p < 0:
            continue
        w = max(1, int(round(width * (1.0 + 0.0015 * (depth[i] + depth[p])))))
        draw.line([tuple(scr[p]), tuple(scr[i])], fill=fade(colors[i]), width=w)
        r = w * 0.45
        draw.ellipse([scr[i][0] - r, scr[i][1] - r, scr[i][0] + r, scr[i][1] + r],
                     fill=fade(colors[i]))
    if head_joint is not None:
        hx, hy = scr[head_joint]
        r = width * 2.2
        draw.ellipse([hx - r, hy - r, hx + r, hy + r], fill=fade((250, 250, 250)),
                     outline=fade(CENTER), width=max(1, int(width * 0.6)))


def _head_point(motion: Motion) -> int | None:
    """Index (in ``fk_with_end_sites`` points) of the head's end site, if the skeleton has one."""
    sk = motion.skeleton
    for k, (j, _) in enumerate(sorted(sk.end_sites_cm.items())):
        if "head" in sk.joint_names[j].lower():
            return sk.n_joints + k
    return None


def render_frames(
    motion: Motion, size: tuple[int, int] = (320, 360), cam: Camera | None = None,
    count_frames: Sequence[int] | None = None, title: str = "", step: int = 1,
) -> list:
    """PIL images of every ``step``-th frame, framed on the clip's average floor position."""
    Image, ImageDraw = _pil()
    pts, parents = motion.fk_with_end_sites()
    height = max(float(np.ptp(pts[0, :, 1])), 100.0)
    cam = cam or Camera(px_per_cm=size[1] * 0.78 / (height + 40.0))
    origin = np.array([pts[:, 0, 0].mean(), 0.0, pts[:, 0, 2].mean()])
    center_px = (size[0] / 2, size[1] * 0.88)
    colors = _side_colors(motion, pts.shape[1], parents)
    head = _head_point(motion)
    counts = [] if count_frames is None else [int(c) for c in count_frames]
    frames = []
    for f in range(0, motion.n_frames, step):
        img = Image.new("RGB", size, BG)
        draw = ImageDraw.Draw(img)
        _draw_floor(draw, cam, origin, center_px)
        draw_figure(draw, pts[f], parents, colors, cam, origin, center_px,
                    width=max(2.0, size[1] / 90), head_joint=head)
        if title:
            draw.text((6, 4), title, fill=(40, 40, 40))
        if counts:
            current = int(np.searchsorted(counts, f, side="right"))
            on_count = any(abs(f - c) < step for c in counts)
            draw.text((size[0] - 46, 4), f"count {max(current, 1)}", fill=(40, 40, 40))
            if on_count:
                draw.ellipse([size[0] - 18, 18, size[0] - 6, 30], fill=(220, 40, 60))
        frames.append(img)
    return frames


def save_gif(motion: Motion, path: str | Path, count_frames: Sequence[int] | None = None,
             title: str = "", size: tuple[int, int] = (320, 360), max_fps: float = 15.0) -> Path:
    """Animated GIF of ``motion`` (at most ``max_fps`` and ``MAX_GIF_FRAMES`` frames: a very
    long take is decimated, still playing in real time, instead of rendering for minutes)."""
    step = max(1, int(round(motion.fps / max_fps)), -(-motion.n_frames // MAX_GIF_FRAMES))
    frames = render_frames(motion, size, count_frames=count_frames, title=title, step=step)
    duration_ms = int(round(1000.0 * step / motion.fps))
    return write_atomic(path, lambda fh: frames[0].save(
        fh, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0))


def contact_sheet(
    phrases: Sequence[DancePhrase], path: str | Path, cell: tuple[int, int] = (110, 150),
    ghosts: int = 2, label_px: int = 230,
) -> Path:
    """PNG with one row per phrase and one pose per count, ghosts showing where it came from."""
    if not phrases:
        raise ChoreoError("contact sheet: no phrases to draw")
    Image, ImageDraw = _pil()
    n_cols = max(p.n_counts for p in phrases)
    width = label_px + n_cols * cell[0] + cell[0] // 3
    img = Image.new("RGB", (width, len(phrases) * cell[1] + 22), BG)
    draw = ImageDraw.Draw(img)
    for c in range(n_cols):
        draw.text((label_px + c * cell[0] + cell[0] // 2 - 3, 4), str(c + 1), fill=(90, 90, 90))
    for r, phrase in enumerate(phrases):
        m = phrase.motion
        pts, parents = m.fk_with_end_sites()
        colors = _side_colors(m, pts.shape[1], parents)
        head = _head_point(m)
        top = 22 + r * cell[1]
        cam = Camera(px_per_cm=cell[1] * 0.84 / 185.0)
        origin = np.array([pts[:, 0, 0].mean(), 0.0, pts[:, 0, 2].mean()])
        draw.line([(0, top), (width, top)], fill=GRID)
        words = phrase.name.split(": ")
        draw.text((6, top + 8), phrase.id, fill=(20, 20, 20))
        for k, line in enumerate(_wrap(words[-1], 34)[:4]):
            draw.text((6, top + 26 + 14 * k), line, fill=(90, 90, 90))
        frames_per_count = m.n_frames / max(phrase.n_counts, 1)
        for c, f in enumerate(phrase.count_frames):
            center = (label_px + c * cell[0] + cell[0] / 2, top + cell[1] * 0.92)
            for g in range(ghosts, 0, -1):
                gf = int(max(0, f - g * frames_per_count / (2 * ghosts)))
                draw_figure(draw, pts[gf], parents, colors, cam, origin, center, width=2.0,
                            alpha=0.22 / g, head_joint=head)
            draw_figure(draw, pts[min(int(f), m.n_frames - 1)], parents, colors, cam, origin,
                        center, width=2.6, head_joint=head)
    return write_atomic(path, lambda fh: img.save(fh, format="PNG"))


def _wrap(text: str, n: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > n and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return lines + ([line] if line else [])
