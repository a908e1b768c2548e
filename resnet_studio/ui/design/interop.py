"""File → Export Trained Model and File → Import: the export package from the window.

Exports read a checkpoint (the best or the last of the run in focus, as the user answers;
another run's only when the user asks for it) and are verified against the trained network
before they appear, exactly as ``resnet-studio export`` does.
Imports replace the project, after the usual unsaved-changes question. Both run on a worker
thread behind a progress dialog (``background``; an export's shows its stages and the time
left, ``busy``); both can be cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..run_focus import ANOTHER, ask_checkpoint
from ..shell.background import BackgroundTask
from ..shell.busy import ProgressTask
from ..shell.features import ActionSpec, Contributions, Feature, MenuSpec

if TYPE_CHECKING:
    from ...export import ExportResult
    from ..shell.context import StudioWindow

FORMAT_TITLES = {"bundle": "Training &Bundle (folder)…", "onnx": "&ONNX…",
                 "pt2": "torch.&export Program (.pt2)…", "safetensors": "&safetensors…",
                 "backbone": "&Detection Backbone (folder)…"}
EXPORT_MENU, IMPORT_MENU = "file/export_trained", "file/import"
MENU_SECTION = 30  # in the File menu: after the run exports, before Quit
CHECKPOINT_FILTER = "Checkpoints (*.pt);;All files (*)"
# What each export writes, as the save dialog's name filter (a bundle is a folder it creates)
EXPORT_FILTERS = {"bundle": "Training bundle: a new folder (*)",
                  "backbone": "Backbone for detection or segmentation: a new folder (*)",
                  "onnx": "ONNX models (*.onnx)", "pt2": "torch.export programs (*.pt2)",
                  "safetensors": "safetensors files (*.safetensors)"}


class Interop(Feature):
    """The Export Trained Model and Import sub-menus of the File menu."""

    def __init__(self, window: StudioWindow):
        self.window = window
        self.task: BackgroundTask | None = None  # the latest import or export
        self.last_result: ExportResult | None = None

    def contributions(self) -> Contributions:
        exports = [ActionSpec(f"export_{fmt}", title, partial(self.export, fmt),
                              tip=f"Export the trained network as {fmt}", menu=EXPORT_MENU,
                              order=i)
                   for i, (fmt, title) in enumerate(FORMAT_TITLES.items())]
        imports = [ActionSpec("import_torchvision", "&torchvision ResNet…",
                              self.import_torchvision, tip="Import a torchvision ResNet",
                              menu=IMPORT_MENU, order=0),
                   ActionSpec("import_timm", "t&imm ResNet…", self.import_timm,
                              tip="Import a ResNet-family model of timm", menu=IMPORT_MENU,
                              order=1),
                   ActionSpec("import_model_source", "Generated &model.py…",
                              self.import_model_source,
                              tip="Import a model.py ResNet Studio generated", menu=IMPORT_MENU,
                              order=2)]
        return Contributions(exports + imports,
                             [MenuSpec(EXPORT_MENU, "Export &Trained Model", MENU_SECTION, 0),
                              MenuSpec(IMPORT_MENU, "&Import", MENU_SECTION, 1)])

    # ----- export -------------------------------------------------------------------------------
    def export(self, fmt: str) -> BackgroundTask | None:
        """Export the current run's checkpoint (or a chosen one) as ``fmt`` on a worker
        thread; None if cancelled. When it ends, ``last_result`` holds the ExportResult (None
        when refused; the reason is shown)."""
        from ...export import FORMATS, export_checkpoint

        source = self._checkpoint_source()
        if source is None:
            return None
        suggested = str(source.parent / f"{self._stem()}{FORMATS[fmt][2]}")
        target = self.window.prompts.ask_save_path(f"Export as {fmt}", suggested,
                                                   EXPORT_FILTERS[fmt])
        if not target:
            return None
        self.last_result = None
        # the save dialog has already asked before replacing a file; Cancel stops the export
        # before it is put in place (``export.staging.watched``)
        return self._run(lambda progress, cancel: export_checkpoint(
            source, fmt, target, overwrite=True, progress=progress, cancel=cancel),
            f"Exporting {fmt}: writing and checking it against the trained network…",
            self._exported, "Export failed", cancellable=True, watched=True)

    def _exported(self, result: ExportResult) -> None:
        self.last_result = result
        self.window.show_message(result.summary())

    def _checkpoint_source(self) -> Path | None:
        """The checkpoint to export: the best or the last of the run in focus, as the user
        answers; another run's only when asked for (or when no run is in focus)."""
        run = self.window.run_focus.run
        choice = ask_checkpoint(self.window.prompts, run, "Export Trained Model")
        if choice != ANOTHER:
            return choice
        folder = run.parent if run is not None else self.window.training.runner.runs_root()
        path = self.window.prompts.ask_open_file("Export the checkpoint of another run",
                                                 str(folder), CHECKPOINT_FILTER)
        return Path(path) if path else None

    def _stem(self) -> str:
        doc = self.window.document
        return doc.path.name.split(".")[0] if doc.path else (doc.graph.name or "network")

    # ----- import -------------------------------------------------------------------------------
    def import_torchvision(self) -> BackgroundTask | None:
        """Import a torchvision ResNet (chosen by the user) on a worker thread; None when
        nothing was chosen."""
        from ...export import import_torchvision, resnet_family

        if not self.window.maybe_save():
            return None
        name = self.window.prompts.ask_item("Import a torchvision ResNet", "Model:",
                                            resnet_family())
        if not name:
            return None
        return self._load(lambda: import_torchvision(name), f"torchvision {name}")

    def import_timm(self) -> BackgroundTask | None:
        """Import a ResNet-family model of timm on a worker thread (an optional extra; its
        absence is reported); None when nothing was chosen."""
        from ...export import import_timm, timm_family

        if not self.window.maybe_save():
            return None
        try:
            names = timm_family()
        except Exception as exc:  # a missing timm is shown, not raised
            self._fail("Import failed", exc)
            return None
        name = self.window.prompts.ask_item("Import a timm ResNet", "Model:", names)
        if not name:
            return None
        return self._load(lambda: import_timm(name), f"timm {name}")

    def import_model_source(self) -> BackgroundTask | None:
        """Import a model.py ResNet Studio generated, on a worker thread (None: cancelled)."""
        from ...export import import_model_source

        if not self.window.maybe_save():
            return None
        path = self.window.prompts.ask_open_file("Open a model.py made by ResNet Studio",
                                                 str(Path.home()), "Python files (*.py)")
        if not path:
            return None
        return self._load(lambda: import_model_source(path), Path(path).name)

    def _load(self, make: Callable[[], Any], what: str) -> BackgroundTask:
        """Build the graph on a worker thread; it replaces the project unless cancelled."""
        def loaded(graph: Any) -> None:
            self.window.document.load_graph(graph)
            self.window.show_message(f"Imported {what} as a new, unsaved project.")

        return self._run(make, f"Importing {what}…", loaded, "Import failed", cancellable=True)

    # ----- helpers ------------------------------------------------------------------------------
    def _run(self, work: Callable[..., Any], label: str, on_done: Callable[[Any], None],
             failure: str, cancellable: bool, watched: bool = False) -> BackgroundTask:
        """``work()`` behind a busy dialog; ``watched`` work is ``work(progress, cancel)``
        and its dialog shows the time left (``busy.ProgressTask``)."""
        if self.task is not None and not self.task.done:
            self.task.wait()  # one at a time (the menus stay usable while it runs)
        self.window.show_message(label)
        fail = partial(self._fail, failure)
        self.task = (ProgressTask(work, label, self.window, on_done, fail) if watched else
                     BackgroundTask(work, label, self.window, on_done, fail, cancellable))
        return self.task.start()

    def shutdown(self) -> None:
        """The window closes: let the work in progress end (no thread may outlive it)."""
        if self.task is not None and not self.task.done:
            self.task.cancel()
            self.task.wait()

    def _fail(self, title: str, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        self.window.prompts.show_error(title, message)
        self.window.show_message(f"{title}: {message.splitlines()[0]}")
