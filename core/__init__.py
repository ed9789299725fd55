"""Choreo Studio core: everything that is neither GUI nor training (never imports Qt)."""

__version__ = "0.1.0"
