"""What may name a node, and what may place one: the checks every way of adding a node
shares (the editor, the file reader, expand and collapse)."""

from __future__ import annotations

import keyword
import math
import re
from typing import Any

from .errors import InvalidPositionError

INPUT_TYPE = "input"
IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# A node id becomes a submodule name of the built network, so it may not shadow an attribute of
# ``torch.nn.Module`` (``add_module`` refuses those); this list is the public attributes of
# torch 2.x's nn.Module, kept here because the document may not import torch.
_RESERVED = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children",
    "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward",
    "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "half", "ipu",
    "load_state_dict", "modules", "mtia", "named_buffers", "named_children", "named_modules",
    "named_parameters", "parameters", "register_backward_hook", "register_buffer",
    "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_",
    "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
    "training", "type", "xpu", "zero_grad",
})


def id_problem(node_id: Any, type_id: str) -> str | None:
    """Why ``node_id`` cannot name a node of ``type_id``, or None when it can."""
    if not isinstance(node_id, str) or not IDENT.fullmatch(node_id):
        return "use letters, digits and underscores, starting with a letter"
    if node_id in _RESERVED:
        return "the name is reserved by PyTorch modules"
    # An Input node holds no module; inside a block its id is the port name, and ``in`` is
    # the conventional name of a block's first input.
    if keyword.iskeyword(node_id) and type_id != INPUT_TYPE:
        return "the name is a Python keyword"
    return None


# ``nn.ModuleDict`` methods: a container segment of a module path may not shadow them either.
_CONTAINER_RESERVED = frozenset({"clear", "items", "keys", "pop", "update", "values"})
_SEGMENT = re.compile(r"^(?:[0-9]+|[A-Za-z][A-Za-z0-9_]*)$")


def module_problem(path: Any) -> str | None:
    """Why ``path`` cannot be a node's module path, or None when it can.

    A module path (``features.0.1``) places the node's module inside nested containers of the
    built network instead of at the top under the node id, so that a graph can reproduce a
    reference network's ``state_dict`` keys (torchvision's ConvNeXt keeps everything under
    ``features``). The first segment becomes an attribute, so it follows the node id rules;
    the others are container keys: identifiers or whole numbers.
    """
    if not isinstance(path, str) or not path:
        return "write names separated by dots, such as ‘features.0’"
    head, *rest = path.split(".")
    if "" in (head, *rest):
        return "it has an empty name between dots"
    if not IDENT.fullmatch(head) or keyword.iskeyword(head):
        return (f"‘{head}’ must be a name of letters, digits and underscores, starting with a "
                "letter")
    for segment in [head, *rest]:
        if not _SEGMENT.fullmatch(segment):
            return (f"‘{segment}’ must be a whole number or a name (letters, digits, "
                    "underscores)")
        if segment in _RESERVED or segment in _CONTAINER_RESERVED:
            return f"‘{segment}’ is reserved by PyTorch modules"
    return None


def checked_position(node_id: str, position: Any) -> tuple[float, float]:
    """``position`` as two finite floats, or InvalidPositionError."""
    try:
        x, y = position
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (x, y)):
            raise TypeError
        result = (float(x), float(y))
    except (TypeError, ValueError, OverflowError):
        raise InvalidPositionError(node_id, position) from None
    if not all(math.isfinite(v) for v in result):
        raise InvalidPositionError(node_id, position)
    return result
