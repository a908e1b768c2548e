"""Cyclic garbage is collected on the GUI thread only.

Python's collector runs in whichever thread happens to allocate when a threshold is passed.
When that is a worker (the training engine, a study, an analysis, an import) and the garbage
holds Qt objects of a closed dialog or menu, the worker destroys them: ``QObject::~QObject``
takes Qt's connection lock and waits for the interpreter lock, which the GUI thread holds
while it waits for that same Qt lock — both stop for good (seen under the test suite while a
run was being set up). So, as pyqtgraph's ``GarbageCollector`` does, automatic collection is
turned off and a GUI-thread timer collects each generation whenever its count passes the
threshold automatic collection would have used.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QTimer

INTERVAL_MS = 500
_timer: QTimer | None = None


def collect_on_gui_thread() -> None:
    """Turn automatic collection off and collect on a timer of the running application
    (once per process; call it on the GUI thread)."""
    global _timer
    if _timer is not None:
        return
    _timer = QTimer(QCoreApplication.instance(), interval=INTERVAL_MS)
    _timer.timeout.connect(collect_due)
    gc.disable()
    _timer.start()


def collect_due() -> None:
    """Collect the generations whose counts passed their thresholds, youngest first."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in range(3):
        if counts[generation] <= thresholds[generation]:
            return
        gc.collect(generation)
