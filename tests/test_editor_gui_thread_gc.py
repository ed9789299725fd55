"""Cyclic garbage made while the editor runs is freed on the GUI thread, not in a job's thread
(freeing a Qt object in a worker thread deadlocked the editor: see editor/gui_thread_gc)."""

import gc
import threading
import weakref

from choreo_studio.editor.gui_thread_gc import collecting_on_gui_thread
from choreo_studio.editor.workers import JobRunner
from PySide6.QtCore import QObject


def test_a_qt_object_in_a_cycle_is_freed_on_the_gui_thread(qtbot):
    runner = JobRunner()
    assert collecting_on_gui_thread() and not gc.isenabled()
    freed = []
    obj = QObject()
    obj.itself = obj  # a reference cycle: only the cyclic collector frees it
    weakref.finalize(obj, lambda: freed.append(threading.get_ident()))
    del obj
    # enough allocations in a worker thread to set off an automatic collection there (kept,
    # so the GUI thread's timer sees them too)
    kept = []
    worker = threading.Thread(target=lambda: kept.append([[] for _ in range(200_000)]))
    worker.start()
    worker.join()
    assert freed == []
    qtbot.waitUntil(lambda: bool(freed), timeout=3000)
    assert freed == [threading.get_ident()]
    runner.deleteLater()


def test_the_suite_gets_automatic_collection_back_after_an_editor_test():
    assert gc.isenabled() and not collecting_on_gui_thread()
