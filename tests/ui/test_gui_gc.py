"""Cyclic garbage is collected on the GUI thread, never in a worker: a worker destroying a
closed dialog's Qt objects deadlocked against the GUI thread."""

from __future__ import annotations

import gc
import threading
import weakref

from resnet_studio.ui.shell import gui_gc


class Cycle:
    """An object in a reference cycle: only the cyclic collector can free it."""

    def __init__(self):
        self.me = self


def test_a_window_turns_automatic_collection_off(window):
    assert not gc.isenabled()
    assert gui_gc._timer is not None and gui_gc._timer.isActive()


def test_garbage_dropped_in_a_worker_is_collected_on_the_gui_thread(window, qtbot):
    freed_in: list[str] = []

    def work() -> None:
        cycle = Cycle()
        weakref.finalize(cycle, lambda: freed_in.append(threading.current_thread().name))
        del cycle
        junk = [[i] for i in range(50_000)]  # far past every threshold: would collect here
        assert len(junk) == 50_000

    worker = threading.Thread(target=work, name="worker")
    worker.start()
    worker.join()
    assert freed_in == []  # the worker collected nothing
    live = [[i] for i in range(50_000)]  # the GUI thread's own allocations make it due
    qtbot.waitUntil(lambda: bool(freed_in), timeout=5_000)  # on the timer
    assert len(live) == 50_000
    assert freed_in == [threading.main_thread().name]


def test_a_generation_is_collected_only_once_its_count_passes_the_threshold(window):
    gc.collect()
    cycle = Cycle()
    freed = weakref.finalize(cycle, lambda: None)
    del cycle
    gui_gc.collect_due()  # a handful of allocations: nothing is due yet
    assert freed.alive
    threshold = gc.get_threshold()[0]
    junk = [[i] for i in range(threshold * 2)]  # allocations count while they live
    gui_gc.collect_due()
    assert not freed.alive and len(junk) == threshold * 2
