"""Copies the README's guides into this package: ``python -m resnet_studio.guides._make``.

Run it after editing the README; ``--check`` only compares and exits 1 when a shipped guide
differs from its README section (the tests do the same).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from . import GUIDES, Guide

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"
IMAGE_LINE = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*$")


def section(readme: str, heading: str) -> list[str]:
    """The ``## heading`` section: from its heading to the next ``## `` one, outside code."""
    lines, out, inside, fenced = readme.splitlines(), [], False, False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip() == heading
        if inside:
            out.append(line)
    if not out:
        raise SystemExit(f"{README}: no '## {heading}' section (guides/__init__.py lists it)")
    return out


def guide_text(readme: str, guide: Guide) -> str:
    """The guide's Markdown: its section with the heading turned to its title, without the
    screenshots (not shipped), and no run of blank lines where one stood."""
    body = [line for line in section(readme, guide.heading)[1:] if not IMAGE_LINE.match(line)]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(body)).strip()
    return f"# {guide.title}\n\n{text}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a drift")
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    stale = []
    for guide in GUIDES:
        path, text = HERE / f"{guide.name}.md", guide_text(readme, guide)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"out of date with README.md: {', '.join(stale)}; run python -m "
              "resnet_studio.guides._make", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
