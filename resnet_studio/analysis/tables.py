"""The numbers of each analysis as CSV tables: one header and rows, shared by the
``resnet-studio`` commands and the app's exports so both write the same files."""

from __future__ import annotations

from typing import Any

Table = tuple[list[str], list[list[Any]]]


def images(count: int, noun: str = "image") -> str:
    """"1 image", "24 images": a count with its noun in the right number."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def signal_table(result: Any) -> Table:
    """One row per measured layer of every network (depth counts from 1)."""
    rows = [[c.label, i + 1, n, c.activation_rms[i], c.output_grad_norm[i],
             c.weight_grad_norm[i]] for c in result.curves for i, n in enumerate(c.names)]
    return ["network", "depth", "layer", "activation_rms", "output_grad_norm",
            "weight_grad_norm"], rows


def lesion_table(results: list[Any]) -> Table:
    """One row per removed block, then the intact network of every run."""
    rows = [[r.label, b, k, r.loss[i], r.accuracy[i], r.skipped.get(b, "")]
            for r in results for i, (b, k) in enumerate(zip(r.blocks, r.kinds))]
    rows += [[r.label, "(none)", "intact", r.baseline_loss, r.baseline_accuracy, ""]
             for r in results]
    return ["network", "block", "removed", "loss", "accuracy", "note"], rows


def landscape_1d_table(results: list[Any]) -> Table:
    return ["network", "alpha", "loss", "accuracy"], [
        [r.label, a, loss, c] for r in results
        for a, loss, c in zip(r.alphas, r.loss_1d, r.accuracy_1d)]


def landscape_2d_table(results: list[Any]) -> Table:
    return ["network", "alpha", "beta", "loss", "accuracy"], [
        [r.label, a, b, r.loss_2d[i, j], r.accuracy_2d[i, j]] for r in results
        for i, a in enumerate(r.alphas_2d) for j, b in enumerate(r.betas_2d)]
