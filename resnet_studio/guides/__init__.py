"""The README's guides, shipped with the package so that Help shows them offline.

Each guide is one ``## `` section of the README (with its ``### `` subsections), copied into a
Markdown file beside this module by ``python -m resnet_studio.guides._make`` — never edited by
hand; ``--check`` (and ``tests/core/test_guides.py``) fails when a copy and the README differ.
The README's screenshots are left out: the wheel does not carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Guide:
    name: str      # the file's stem: ``<name>.md``
    title: str     # what Help lists
    heading: str   # the README section it is copied from (its ``## `` heading)


GUIDES = (
    Guide("quick_start", "Quick start", "Quick start"),
    Guide("desktop_app", "The desktop app", "The desktop app"),
    Guide("examples", "Example projects", "Examples"),
    Guide("command_line", "The command line", "The command line"),
    Guide("python", "Python", "Python"),
)
BY_NAME = {guide.name: guide for guide in GUIDES}


def read(name: str) -> str:
    """The guide's Markdown text, from the installed package."""
    if name not in BY_NAME:
        raise KeyError(f"no guide called {name!r}; known: {', '.join(BY_NAME)}")
    return resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
