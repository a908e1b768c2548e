"""Block help as HTML: what a block does, its parameters and ports, and its papers."""

from __future__ import annotations

from html import escape

from ...blocks.papers import Paper, papers
from ...graph import BlockSpec


def _bounds(low: object, high: object) -> str:
    if low is None and high is None:
        return ""
    return f"{'' if low is None else low} … {'' if high is None else high}"


def _params(spec: BlockSpec) -> str:
    if not spec.params:
        return "<p>No parameters.</p>"
    rows = "".join(
        f"<tr><td><b>{escape(p.name)}</b></td><td>{escape(str(p.default))}</td>"
        f"<td>{escape(_choices_or_bounds(p))}</td><td>{escape(p.help)}</td></tr>"
        for p in spec.params)
    return ("<table cellpadding='3'><tr><th align='left'>parameter</th><th align='left'>"
            "default</th><th align='left'>values</th><th align='left'></th></tr>"
            f"{rows}</table>")


def _choices_or_bounds(param) -> str:
    listed = ", ".join(str(c) for c in param.choices)
    if param.kind == "choice":
        return listed
    bounds = _bounds(param.minimum, param.maximum)
    return f"{bounds} or {listed}" if bounds and listed else bounds or listed


def _ports(spec: BlockSpec) -> str:
    def names(ports) -> str:
        return ", ".join(f"{p.name}{' (several)' if p.multi else ''}" for p in ports) or "none"
    return f"<p>Inputs: {escape(names(spec.inputs))} · outputs: {escape(names(spec.outputs))}</p>"


def paper_html(paper: Paper) -> str:
    return (f"<li>{escape(paper.authors)} ({paper.year}), "
            f"<a href='{escape(paper.url)}'>{escape(paper.title)}</a><br>"
            f"<span style='color:#5f6b76'>{escape(paper.url)}</span></li>")


def block_help_html(spec: BlockSpec, custom: bool = False) -> str:
    """The help page of one block type; ``custom`` for a block the project defines."""
    found = papers(spec.type_id) if not custom else ()
    if found:
        cited = f"<h3>Paper</h3><ul>{''.join(paper_html(p) for p in found)}</ul>"
    elif custom:
        cited = "<p><i>A block of this project, made with Make Block from Selection.</i></p>"
    else:
        cited = "<p><i>No single paper introduced this block.</i></p>"
    return (f"<h2>{escape(spec.title)}</h2>"
            f"<p style='color:#5f6b76'>{escape(spec.category)} · <code>{escape(spec.type_id)}"
            f"</code></p><p>{escape(spec.description)}</p>{cited}"
            f"<h3>Parameters</h3>{_params(spec)}{_ports(spec)}")
