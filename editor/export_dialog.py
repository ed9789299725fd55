"""The export dialog: where to write and which formats (JSON timeline, BVH, glTF, CSV, MP4, the
per-dance clips, FBX)."""

from __future__ import annotations

from choreo_studio.editor.prompter import Prompter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

FORMATS = {
    "json": "JSON phrase timeline (game engines, training labels)",
    "bvh": "BVH motion of the whole performance",
    "glb": "glTF binary (.glb) skeleton + animation",
    "csv": "CSV phrase table",
    "mp4": "MP4 video of the skeleton dancing with the song",
    "clips": "Per-dance clips (clips.glb, a BVH per clip) for sequencing at runtime",
    "fbx": "FBX of the performance (and of the clips), through Blender",
}
OFF_BY_DEFAULT = ("mp4", "clips", "fbx")


class ExportDialog(QDialog):
    """Pick an output folder, formats and frame rate; results in ``out_dir``/``formats``/``fps``."""

    def __init__(self, parent: QWidget | None, default_dir: str, prompter: Prompter) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self._prompter = prompter
        self.folder = QLineEdit(default_dir)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.checks = {key: QCheckBox(text) for key, text in FORMATS.items()}
        for key, box in self.checks.items():
            box.setChecked(key not in OFF_BY_DEFAULT)
        from choreo_studio.core.export.fbx import FBX_HINT, blender_python

        if blender_python() is None:  # the one-line hint instead of a failing export
            self.checks["fbx"].setEnabled(False)
            self.checks["fbx"].setToolTip(FBX_HINT)
            self.checks["fbx"].setText(f"{FORMATS['fbx']} — {FBX_HINT}")
        self.fps_combo = QComboBox()
        self.fps_combo.addItems(["30", "60"])
        self.size_combo = QComboBox()
        self.size_combo.addItems(["960x540", "1280x720", "1920x1080", "640x360"])
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Folder", row)
        for box in self.checks.values():
            form.addRow("", box)
        form.addRow("Frame rate", self.fps_combo)
        form.addRow("Video size", self.size_combo)
        form.addRow(buttons)

    def _browse(self) -> None:
        path = self._prompter.choose_folder("Export to", self.folder.text())
        if path:
            self.folder.setText(path)

    @property
    def out_dir(self) -> str:
        return self.folder.text()

    @property
    def formats(self) -> list[str]:
        return [key for key, box in self.checks.items() if box.isChecked()]

    @property
    def fps(self) -> float:
        return float(self.fps_combo.currentText())

    @property
    def video_size(self) -> tuple[int, int]:
        width, height = self.size_combo.currentText().split("x")
        return int(width), int(height)
