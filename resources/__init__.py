"""What ships with Choreo Studio: demo song generator, demo library, bundled model, schemas."""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent
