"""Shared pytest set-up: Qt renders offscreen so GUI tests run on machines without a screen."""

import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _automatic_gc_after_editor_tests():
    """An editor test turns automatic collection over to the GUI thread's timer; the tests after
    it get Python's usual collector back (collected once on this, the GUI, thread)."""
    yield
    module = sys.modules.get("choreo_studio.editor.gui_thread_gc")  # never imported: nothing to do
    if module is not None:
        module.collect_anywhere_again()
