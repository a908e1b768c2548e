"""ResNet Studio: design, train and understand residual convolutional networks.

The public API (``load_project``, ``save_project``, ``new_project``, ``analyze``,
``build_model``, ``summarize``, ``generate_source``) lives in ``resnet_studio.api`` and is
re-exported here lazily: ``import resnet_studio`` stays light (no torch) until one of them is
used. Example::

    import resnet_studio as rs

    graph = rs.new_project("resnet18", classes=10, height=32, width=32)
    print(rs.summarize(graph))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = ("load_project", "save_project", "new_project", "analyze", "build_model", "summarize",
        "generate_source", "DEFAULT_PRESET")
__all__ = ["__version__", *_API]

if TYPE_CHECKING:
    from .api import (
        DEFAULT_PRESET,
        analyze,
        build_model,
        generate_source,
        load_project,
        new_project,
        save_project,
        summarize,
    )


def __getattr__(name: str) -> Any:
    # PEP 562: the API module (and torch with it) is imported on first use.
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
