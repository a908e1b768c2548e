"""The block help's papers agree with the papers the blocks' own modules cite."""

from __future__ import annotations

import inspect
import re

import pytest

from resnet_studio.blocks import CATALOGUE, Call
from resnet_studio.blocks.papers import PAPERS, papers

ARXIV = re.compile(r"arxiv\.org/abs/(\d{4}\.\d{4,5})")


def _own_module(block) -> type | None:
    """The class of ours the block builds with default parameters, if any."""
    if block.type_id in ("input", "output") or block.spec.category == "Heads":
        return None  # the heads build torchvision's modules around the whole network
    made = block.make(block.spec.defaults(), [(16, 8, 8)] * len(block.spec.inputs))
    target = made.target if isinstance(made, Call) else None
    if target is None or not target.__module__.startswith("resnet_studio."):
        return None
    return target


@pytest.mark.parametrize("block", list(CATALOGUE), ids=lambda b: b.type_id)
def test_every_paper_a_module_cites_is_listed(block):
    module = _own_module(block)
    cited = set(ARXIV.findall(inspect.getdoc(module) or "")) if module else set()
    listed = {m for p in papers(block.type_id) for m in ARXIV.findall(p.url)}
    assert cited <= listed, f"{block.type_id}: {module.__name__} cites {cited - listed}"


def test_the_table_names_real_blocks_with_whole_entries():
    ids = {block.type_id for block in CATALOGUE}
    assert set(PAPERS) <= ids
    for entries in PAPERS.values():
        assert entries
        for paper in entries:
            assert paper.url.startswith("https://") and paper.title and paper.authors
            assert 1990 < paper.year < 2030


def test_the_residual_blocks_cite_he_et_al():
    assert papers("basicblock")[0].url == "https://arxiv.org/abs/1512.03385"
    assert papers("preactblock")[0].title == "Identity Mappings in Deep Residual Networks"
    assert papers("conv2d") == ()
