"""Find Largest… beside the batch size: the search on a worker thread fills the batch size,
and Cancel stops it between tries."""

from __future__ import annotations

import threading

from training_helpers import configure

from resnet_studio.train import largest_batch as lb
from resnet_studio.train.recipe import project_training


def failing_above(monkeypatch, most: int, hold: threading.Event | None = None):
    """The search's training step runs out of memory above ``most`` images; with ``hold``,
    the second try waits for it."""
    real, tried = lb.training_step, []

    def make(*args, **kwargs):
        inner = real(*args, **kwargs)

        def step(batch):
            tried.append(batch)
            if hold is not None and len(tried) == 2:
                hold.wait(timeout=60)
            if batch > most:
                raise RuntimeError("DefaultCPUAllocator: can't allocate memory")
            inner(batch)

        return step

    monkeypatch.setattr(lb, "training_step", make)
    return tried


def test_the_largest_batch_found_fills_the_batch_size(trainer, qtbot, monkeypatch):
    window, c, prompts = trainer
    configure(window, batch_size=64)
    tried = failing_above(monkeypatch, 5)
    finder = c.batch_finder
    finder.start, finder.limit = 2, 64
    c.panel.settings.find_batch.click()
    qtbot.waitUntil(lambda: not finder.busy(), timeout=60_000)
    assert tried == [2, 4, 8, 6, 5] and not prompts.errors
    assert c.panel.settings.batch_size.value() == 5
    assert project_training(window.document.graph).config.batch_size == 5  # in the project
    assert c.panel.state.text() == ("Largest batch size that fits on cpu: 5; 5 tries. The batch "
                                    "size is now 5.")


def test_a_search_up_to_its_limit_says_so(trainer, qtbot):
    window, c, _ = trainer
    configure(window, batch_size=64)
    c.batch_finder.start, c.batch_finder.limit = 2, 8
    assert c.batch_finder.find()
    qtbot.waitUntil(lambda: not c.batch_finder.busy(), timeout=60_000)
    assert c.panel.settings.batch_size.value() == 8
    assert "at least 8 (the limit tried); 3 tries" in c.panel.state.text()


def test_cancel_stops_the_search_and_keeps_the_batch_size(trainer, qtbot, monkeypatch):
    window, c, _ = trainer
    configure(window, batch_size=64)
    hold = threading.Event()
    tried = failing_above(monkeypatch, 100, hold)
    finder = c.batch_finder
    finder.start, finder.limit = 2, 64
    assert finder.find()
    assert not finder.find()  # one search at a time
    qtbot.waitUntil(lambda: len(tried) == 2, timeout=60_000)
    finder.task.cancel()
    hold.set()
    qtbot.waitUntil(lambda: not finder.busy(), timeout=60_000)
    assert tried == [2, 4]  # the try under way finished; no other began
    assert c.panel.settings.batch_size.value() == 64
