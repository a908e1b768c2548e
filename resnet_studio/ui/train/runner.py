"""Run orchestration: which network trains next, in which folder, and what to compare after.

``RunQueue`` owns the ``TrainingBridge`` (the engine's thread). It trains a copy of the
network taken when Start is pressed (``Graph.copy()``), so the worker thread never reads the
document while the user edits it; *Train with Plain Twin* queues the twin to train after the
network with the same settings, and a finished queue asks for the comparison of its runs.
It knows nothing of the views: it says what happens through its signals.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ...graph import Graph, project
from ...presets import plain_twin
from ...train.config import ConfigError
from ...train.records import RunEndRecord
from ...train.rundir import list_runs, read_graph, read_status, read_train_config
from ..shell.recovery import default_directory
from ..widgets.filenames import safe_stem
from .bridge import TrainingBridge

RUNS_FOLDER = "runs"

# graph → (the network the engine builds, the TrainConfig); raises ConfigError
ConfigSource = Callable[[Graph], tuple[Any, Any]]


class RunQueue(QObject):
    """Starts runs of ``document``'s network with the settings ``configure`` gives.

    Signals: ``launched(run_dir)`` when a run starts, ``refused(message)`` when one cannot,
    ``ended(end)`` when one has ended (before the next in the queue starts) and
    ``compare_ready(paths, labels)`` when a queue of several runs has finished.
    """

    launched = Signal(object)
    reused = Signal(object)  # Path: a finished run stands in for the network's half of a twin
    refused = Signal(str)
    ended = Signal(object)
    compare_ready = Signal(list, list)  # run paths, and what to call them ([] : their names)

    def __init__(self, document: Any, configure: ConfigSource, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.configure = configure
        self.bridge = TrainingBridge(self)
        self.unsaved_runs_dir = default_directory() / RUNS_FOLDER
        self.current_run: Path | None = None
        self.twin_queue: list[Graph] = []  # networks to train after this run, in order
        self.compare_after: list[Path] = []
        self.compare_labels: list[str] = []  # what the comparison calls them ("residual")
        self.bridge.finished.connect(self._on_finished)

    # ----- starting ---------------------------------------------------------------------------
    def start(self) -> bool:
        """Train the document's network (a copy) with the current settings."""
        if self.bridge.is_active() or self._document_problem():
            return False
        self.twin_queue, self.compare_after, self.compare_labels = [], [], []
        return self._start_graph(self.document.graph.copy())

    def start_with_twin(self) -> bool:
        """Train the network, then its plain twin with the same settings; compare both.
        A finished run of this very network with these settings is reused, not retrained:
        only the twin trains."""
        if self.bridge.is_active() or self._document_problem():
            return False
        graph = self.document.graph
        twin = plain_twin(graph)  # named "<name>_plain"
        if not graph.name:
            twin.name = "plain_twin"
        self.compare_labels = ["residual", "plain twin"]
        done = self.finished_run_of(graph)
        if done is None:
            self.twin_queue, self.compare_after = [twin], []
            return self._start_graph(graph.copy())
        self.twin_queue, self.compare_after = [], [done]
        started = self._start_graph(twin)
        if started:
            self.reused.emit(done)
        return started

    def finished_run_of(self, graph: Graph) -> Path | None:
        """The newest finished run under ``runs_root`` that trained ``graph``'s network with
        the settings the panel gives now (None when there is none, or the settings are bad)."""
        try:
            _, config = self.configure(graph.copy())
        except ConfigError:
            return None
        wanted = config.to_dict()
        layers = same_network_key(project.to_dict(graph))
        for run in reversed(list_runs(self.runs_root())):
            recorded = read_graph(run)
            if (read_status(run).get("status") == "finished" and recorded is not None
                    and read_train_config(run) == wanted
                    and same_network_key(recorded) == layers):
                return run
        return None

    def resume(self, graph: Graph, config: Any, run_dir: Path, checkpoint: Path) -> bool:
        """Go on training the run in ``run_dir`` from ``checkpoint``, on its own."""
        if self.bridge.is_active():
            return False
        self.twin_queue, self.compare_after = [], []
        return self.launch(graph, config, run_dir, resume_from=checkpoint)

    def _start_graph(self, graph: Graph) -> bool:
        try:
            network, config = self.configure(graph)
        except ConfigError as exc:
            return self._refuse(str(exc))
        return self.launch(network, config, self.new_run_dir(graph.name or "network"))

    def launch(self, network: Any, config: Any, run_dir: Path,
               resume_from: Path | None = None) -> bool:
        from ...train.engine import USER_ERRORS  # torch: loaded when the first run starts

        try:
            self.bridge.start(network, config, run_dir, resume_from=resume_from)
        except USER_ERRORS as exc:
            return self._refuse(str(exc))
        self.current_run = run_dir
        self.compare_after.append(run_dir)
        self.launched.emit(run_dir)
        return True

    def _document_problem(self) -> bool:
        """Refuse to train a network the analysis finds errors in (True when refused): the
        build would fail on the worker thread with a less helpful message."""
        analysis = self.document.current_analysis()
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        if not errors:
            return False
        where = f" (node {errors[0].node_id})" if errors[0].node_id else ""
        self._refuse(f"The network has {len(errors)} problem{'s' * (len(errors) != 1)}; fix "
                     f"{'them' if len(errors) > 1 else 'it'} before training: "
                     f"{errors[0].message}{where}")
        return True

    def _refuse(self, message: str) -> bool:
        self.refused.emit(message)
        return False

    # ----- folders ----------------------------------------------------------------------------
    def new_run_dir(self, name: str) -> Path:
        """A fresh ``runs/<network>-<date>-<time>`` folder path (not created)."""
        root = self.runs_root()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = safe_stem(name)
        path, n = root / f"{base}-{stamp}", 2
        while path.exists():
            path, n = root / f"{base}-{stamp}-{n}", n + 1
        return path

    def runs_root(self) -> Path:
        """``runs/`` next to the project file; the application's data folder when unsaved."""
        path = self.document.path
        return path.parent / RUNS_FOLDER if path is not None else self.unsaved_runs_dir

    # ----- ending -----------------------------------------------------------------------------
    def _on_finished(self, end: RunEndRecord) -> None:
        if end.status != "finished" and self.twin_queue:
            self.twin_queue = []
            end = dataclasses.replace(end, message=f"{end.message} The plain twin is "
                                      "cancelled: it trains only after the network finishes.")
        self.ended.emit(end)
        if end.status == "failed":
            self.twin_queue = []
        elif self.twin_queue and end.status == "finished":
            self._start_graph(self.twin_queue.pop(0))
        elif len(self.compare_after) > 1 and end.status == "finished":
            self.compare_ready.emit(list(self.compare_after), list(self.compare_labels))

    def shutdown(self) -> None:
        """Stop the run and wait for its thread (closing: a running QThread aborts Python)."""
        self.twin_queue = []
        if self.bridge.is_active():
            self.bridge.shutdown()


def same_network_key(data: dict[str, Any]) -> tuple:
    """What makes two project dicts the same network to train: node types and parameters,
    edges and custom blocks — not positions, labels, the name or the input size (which the
    run fits to the dataset)."""
    nodes = sorted((str(n.get("id")), str(n.get("type")), repr(sorted(n.get("params", {}).items())))
                   for n in data.get("nodes", []))
    edges = sorted(repr(e) for e in data.get("edges", []))
    return tuple(nodes), tuple(edges), repr(data.get("blocks"))
