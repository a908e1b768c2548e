"""Terse constructors for parameter and port schemas, shared by every block module."""

from __future__ import annotations

from typing import Any

from ..graph import BlockSpec, ParamSpec, PortSpec

FMAP = "feature_map"
VEC = "features"


def int_param(name: str, default: Any, lo: int | None, hi: int | None, help: str = "",
              extra: tuple[str, ...] = ()) -> ParamSpec:
    return ParamSpec(name, "int", default, help, lo, hi, extra)


def float_param(name: str, default: float, lo: float | None, hi: float | None,
                help: str = "") -> ParamSpec:
    return ParamSpec(name, "float", default, help, lo, hi)


def bool_param(name: str, default: bool, help: str = "") -> ParamSpec:
    return ParamSpec(name, "bool", default, help)


def choice_param(name: str, default: Any, choices: tuple[Any, ...], help: str = "") -> ParamSpec:
    return ParamSpec(name, "choice", default, help, choices=choices)


def ports(*names: str, kind: str = "any", multi: bool = False) -> tuple[PortSpec, ...]:
    return tuple(PortSpec(n, kind, multi) for n in names)


def spec(type_id: str, title: str, category: str, description: str, *params: ParamSpec,
         inputs: tuple[PortSpec, ...] | None = None, outputs: tuple[PortSpec, ...] | None = None,
         composite: bool = False, key: tuple[str, ...] = ()) -> BlockSpec:
    return BlockSpec(type_id, title, category, description,
                     inputs=ports("in") if inputs is None else inputs,
                     outputs=ports("out") if outputs is None else outputs,
                     params=tuple(params), composite=composite,
                     key_params=key or tuple(p.name for p in params[:2]))
