"""Shared pytest set-up: Qt renders offscreen so GUI tests run on machines without a screen."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
