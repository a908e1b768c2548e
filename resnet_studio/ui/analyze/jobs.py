"""The analyses as jobs for the worker: ``job(progress, cancel) -> (result, context)``, where
``context`` is what the view and its export need besides the result (titles, chance, ``runs``: the
run directories analysed, the analysed run first).

Each job reads its inputs on the worker thread (the project is copied on the UI thread first,
so edits made while it runs do not reach it); several runs share one progress bar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Progress = Callable[[int, int, str], None]


def part(progress: Progress, index: int, count: int, label: str) -> Progress:
    """The progress of run ``index`` of ``count``, on one bar for all of them."""
    def report(done: int, total: int, message: str) -> None:
        progress(index * total + done, count * total, f"{label}: {message}")
    return report


def signal_job(project: dict[str, Any], options: dict[str, Any]) -> Callable[..., Any]:
    """Signal propagation at init of the project (its ``project.to_dict`` form)."""
    def job(progress: Progress, cancel: Any) -> tuple[Any, dict[str, Any]]:
        from ...analysis.signal import signal_propagation
        from ...blocks import CATALOGUE
        from ...graph import project as project_file

        graph = project_file.from_dict(project, CATALOGUE, "the project")
        result = signal_propagation(graph, **options, progress=progress, cancel=cancel)
        title = (f"Signal at init: {graph.name or 'project'}, batch "
                 f"{result.settings['batch_size']}, "
                 + ("batch statistics" if result.settings["batch_stats"] else
                    "running statistics"))
        return result, {"title": title}
    return job


def lesion_job(runs: list[Path], options: dict[str, Any]) -> Callable[..., Any]:
    def job(progress: Progress, cancel: Any) -> tuple[Any, dict[str, Any]]:
        from ...analysis.common import load_run
        from ...analysis.lesion import lesion_run

        loaded = [load_run(path) for path in runs]
        results = [lesion_run(run, **options, progress=part(progress, i, len(runs), run.path.name),
                              cancel=cancel) for i, run in enumerate(loaded)]
        return results, {"chance": 1 / loaded[0].graph.input_spec.classes, "runs": runs}
    return job


def landscape_job(runs: list[Path], options: dict[str, Any]) -> Callable[..., Any]:
    def job(progress: Progress, cancel: Any) -> tuple[Any, dict[str, Any]]:
        from ...analysis.common import load_run
        from ...analysis.landscape import landscape_run

        results = []
        for i, path in enumerate(runs):
            run = load_run(path)
            results.append(landscape_run(run, **options, cancel=cancel,
                                         progress=part(progress, i, len(runs), path.name)))
        return results, {"runs": runs}
    return job


def explain_job(run_path: Path, image: Path, options: dict[str, Any]) -> Callable[..., Any]:
    def job(progress: Progress, cancel: Any) -> tuple[Any, dict[str, Any]]:
        from ...analysis.common import load_run
        from ...analysis.explain import explain_run

        run = load_run(run_path)
        result = explain_run(run, image, **options, progress=progress, cancel=cancel)
        return result, {"title": f"{run.graph.name or run.path.name} on {image.name}",
                        "source": image.name, "runs": [run_path]}
    return job


def signal_tints(result: Any) -> tuple[list[str], list[float]]:
    """Node ids and one weight-gradient norm per node of the network's curve: a node's layers
    (``layer1.0.conv1`` belongs to node ``layer1``; a detector's ``backbone.body.layer1.0.conv1``
    too, see ``signal.layer_nodes``) combine as √Σ‖g‖², as the training telemetry combines a
    node's parameters."""
    import numpy as np

    curve = result.curves[0]
    nodes = curve.nodes or [name.split(".", 1)[0] for name in curve.names]
    totals: dict[str, float] = {}
    for node, norm in zip(nodes, np.asarray(curve.weight_grad_norm, dtype=np.float64)):
        if node is not None:
            totals[node] = totals.get(node, 0.0) + float(norm) ** 2
    return list(totals), [float(np.sqrt(v)) for v in totals.values()]
