"""Comparing a network's state dict with a set of weights, key by key and shape by shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

_SHOWN = 6  # keys listed per kind before "… and N more"


@dataclass(frozen=True)
class Mismatch:
    """Keys the network has that the weights lack, keys the weights have that the network
    lacks, and keys present in both with different shapes (key, network shape, file shape)."""

    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    shapes: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)

    def without(self, prefix: str) -> Mismatch:
        """The same, ignoring every key under ``prefix`` (a module name)."""
        def keep(key: str) -> bool:
            return key != prefix and not key.startswith(prefix + ".")
        return Mismatch(tuple(k for k in self.missing if keep(k)),
                        tuple(k for k in self.unexpected if keep(k)),
                        tuple(s for s in self.shapes if keep(s[0])))


def mismatch(own: Mapping[str, torch.Tensor], state: Mapping[str, object]) -> Mismatch:
    missing = tuple(k for k in own if k not in state)
    unexpected = tuple(k for k in state if k not in own)
    shapes = tuple((k, tuple(own[k].shape), tuple(getattr(state[k], "shape", ())))
                   for k in own if k in state and
                   tuple(own[k].shape) != tuple(getattr(state[k], "shape", ())))
    return Mismatch(missing, unexpected, shapes)


def describe_mismatch(m: Mismatch) -> str:
    """One readable sentence per kind of problem, each naming the keys."""
    parts = []
    if m.missing:
        parts.append(f"missing from the file: {_keys(m.missing)}")
    if m.unexpected:
        parts.append(f"not in the network: {_keys(m.unexpected)}")
    if m.shapes:
        shown = [f"{k} (network {_shape(a)}, file {_shape(b)})" for k, a, b in m.shapes]
        parts.append(f"different shapes: {_keys(shown)}")
    return "; ".join(parts)


def _keys(keys: tuple[str, ...] | list[str]) -> str:
    text = ", ".join(keys[:_SHOWN])
    more = len(keys) - _SHOWN
    return text + (f" … and {more} more" if more > 0 else "")


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) or "scalar"
