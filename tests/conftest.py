"""Session-wide test settings.

* Qt runs offscreen: there is no display on the test machines. Set here, before any test module
  imports Qt (pytest-qt loads QtCore at start-up, but the platform plugin is only chosen when
  the first QApplication is created). An explicit QT_QPA_PLATFORM (``xcb`` under xvfb, to watch
  a test) is kept.
* A test may not leave threads behind: any non-daemon Python thread or QThread started during
  the test and still running after it fails that test. A leaked worker keeps training in the
  background, races later tests, and a QThread still running when Python exits aborts the
  process ("QThread: Destroyed while thread is still running").
* Torch uses one intra-op thread in every test that has loaded it: the machines are small and
  shared, tiny tensors gain nothing from more threads, and thread hand-offs on two busy cores
  make them a hundred times slower (and starve the GUI thread of the UI tests).
* Each test starts with an empty clipboard when Qt runs without a display: a copy made in one
  test must not feed a paste in the next. (It also matters at exit: mime data left on the
  offscreen clipboard crashes the interpreter while Qt shuts down.)
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# A thread that has just been told to stop gets this long to finish before it counts as leaked.
GRACE_SECONDS = 2.0


@pytest.fixture(autouse=True)
def no_leaked_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if it leaves a Python thread or a QThread running."""
    before = set(threading.enumerate())
    qthreads = _track_qthreads(monkeypatch)
    yield
    leaked = [f"Python thread {t.name!r}" for t in _still_running_threads(before)]
    leaked += [f"QThread {_qthread_name(t)}" for t in _still_running_qthreads(qthreads)]
    if leaked:
        pytest.fail("the test left threads running: " + ", ".join(leaked) +
                    "; stop them and join() / wait() before the test ends.", pytrace=False)


@pytest.fixture(autouse=True)
def isolated_clipboard() -> Iterator[None]:
    """Clear the clipboard after the test, on display-less platforms only (on a desktop it is
    the developer's clipboard)."""
    yield
    gui = sys.modules.get("PySide6.QtGui")
    app = gui.QGuiApplication.instance() if gui is not None else None
    if app is not None and gui.QGuiApplication.platformName() in ("offscreen", "minimal"):
        gui.QGuiApplication.clipboard().clear()


def _still_running_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    started = [t for t in threading.enumerate() if t not in before and not t.daemon]
    for thread in started:
        thread.join(GRACE_SECONDS / max(len(started), 1))
    return [t for t in started if t.is_alive()]


def _track_qthreads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every QThread started during the test (only if Qt is loaded at all: core tests
    must not import it). QThreads are native threads, invisible to ``threading``."""
    started: list[Any] = []
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is None:
        return started
    original_start = qtcore.QThread.start

    def start(self: Any, *args: Any) -> None:
        started.append(self)
        original_start(self, *args)

    monkeypatch.setattr(qtcore.QThread, "start", start)
    return started


def _still_running_qthreads(started: list[Any]) -> list[Any]:
    running = [t for t in started if _is_running(t)]
    for thread in running:
        thread.wait(int(GRACE_SECONDS * 1000 / len(running)))
    leaked = [t for t in running if _is_running(t)]
    for thread in leaked:  # stop it so that it cannot crash the rest of the session
        thread.quit()
        thread.wait(5000)
    return leaked


def _is_running(thread: Any) -> bool:
    try:
        return bool(thread.isRunning())
    except RuntimeError:  # the C++ object is already deleted, so the thread has finished
        return False


def _qthread_name(thread: Any) -> str:
    try:
        return repr(thread.objectName() or type(thread).__name__)
    except RuntimeError:
        return "(deleted)"


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op torch thread for the test (see the module docstring); where torch is not
    installed, the tests that do not need it still run."""
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
