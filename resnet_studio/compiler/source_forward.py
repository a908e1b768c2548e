"""Variable names for a generated ``forward``: ``x`` along the main chain, node ids for branches.

Along a straight chain every operation reads and overwrites ``x``, as torchvision writes
``x = self.conv1(x)``. A value that must stay alive while another path is computed (a
shortcut, one branch of a concatenation) gets a name of its own, derived from the node that
produced it, so the merge reads ``x = bn2 + x`` or ``x = torch.cat([branch1, x], dim=1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .source_render import is_identifier

MAIN = "x"
RESERVED = {MAIN, "self", "torch", "nn"}


@dataclass(frozen=True)
class Step:
    """One operation of the forward pass: the node and the nodes feeding it, in operand order.

    ``passthrough`` marks an identity: it always gets a name of its own, so it reads
    ``shortcut = x`` rather than the empty ``x = x``.
    """

    node_id: str
    sources: tuple[str, ...]
    passthrough: bool = False


def value_names(inputs: dict[str, str], steps: list[Step],
                results: tuple[str, ...]) -> dict[str, str]:
    """The variable holding each node's value. ``inputs`` maps input node ids to the forward
    arguments; the one named ``x`` starts the main chain; ``results`` are returned."""
    last_use = {source: i for i, step in enumerate(steps) for source in step.sources}
    last_use.update((result, len(steps)) for result in results)
    names = dict(inputs)
    used = RESERVED | set(inputs.values())
    holder = next((node for node, name in inputs.items() if name == MAIN), None)
    for i, step in enumerate(steps):
        # ``x`` is free once its value has been read for the last time: by this very step, or
        # earlier (its value was never used, or an identity took it over).
        if not step.passthrough and (holder is None or last_use.get(holder, -1) <= i):
            names[step.node_id], holder = MAIN, step.node_id
        else:
            names[step.node_id] = fresh_name(step.node_id, used)
    return names


def fresh_name(base: str, used: set[str]) -> str:
    """``base`` made a valid, unused variable name (``in`` → ``in_``), and marked as used."""
    name = base if is_identifier(base) and base not in RESERVED else f"{base}_"
    candidate, number = name, 2
    while candidate in used:
        candidate, number = f"{name}_{number}", number + 1
    used.add(candidate)
    return candidate
