"""Choreo Studio editor: the PySide6 + pyqtgraph view over `core` objects."""
