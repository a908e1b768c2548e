"""Analyses that explain why skip connections work: functions of a project or a run that
return numbers (and figures for the command line). Qt-free; the app renders the results.

    from resnet_studio.analysis import load_run, lesion_run, signal_propagation
    signal = signal_propagation(graph)                 # per-layer signal at init, + plain twin
    lesion = lesion_run(load_run("runs/resnet20"))     # accuracy without each block

Every long analysis takes ``progress(done, total, message)`` and a ``cancel`` flag (e.g. a
``threading.Event``), so the app can run it on a worker thread. Names load on first use, so
importing the package does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    "common": ("AnalysisError", "Cancelled", "Run", "load_run", "validation_batches"),
    # ``explain`` and ``landscape`` themselves stay in their modules: a package attribute
    # named like a submodule would be the module or the function depending on import order.
    "explain": ("Explanation", "explain_run", "load_image"),
    "landscape": ("LandscapeResult", "filter_normalised_direction", "landscape_run"),
    "lesion": ("LesionResult", "lesion_model", "lesion_run"),
    "signal": ("SignalCurve", "SignalResult", "signal_propagation"),
}

__all__ = [
    "AnalysisError", "Cancelled", "Explanation", "LandscapeResult", "LesionResult", "Run",
    "SignalCurve", "SignalResult", "explain_run", "filter_normalised_direction",
    "landscape_run", "lesion_model", "lesion_run", "load_image", "load_run",
    "signal_propagation", "validation_batches",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from .common import AnalysisError, Cancelled, Run, load_run, validation_batches
    from .explain import Explanation, explain_run, load_image
    from .landscape import LandscapeResult, filter_normalised_direction, landscape_run
    from .lesion import LesionResult, lesion_model, lesion_run
    from .signal import SignalCurve, SignalResult, signal_propagation
