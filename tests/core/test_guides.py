"""The guides Help shows offline are the README's sections, copied exactly."""

from __future__ import annotations

import pytest

from resnet_studio import guides
from resnet_studio.guides import _make


def test_every_shipped_guide_equals_its_readme_section():
    assert _make.main(["--check"]) == 0


def test_a_readme_edit_makes_the_check_fail(monkeypatch, tmp_path):
    readme = _make.README.read_text(encoding="utf-8")
    edited = tmp_path / "README.md"
    edited.write_text(readme.replace("## Examples\n", "## Examples\n\nA new sentence.\n", 1),
                      encoding="utf-8")
    monkeypatch.setattr(_make, "README", edited)
    assert _make.main(["--check"]) == 1


def test_a_guide_holds_its_section_and_not_the_next():
    text = guides.read("examples")
    assert text.startswith("# Example projects\n")
    assert "resnet-studio new --example custom_residual_block" in text
    assert "## The command line" not in text and "resnet-studio presets" not in text
    assert "![" not in guides.read("desktop_app")  # the screenshots are not shipped


def test_a_heading_inside_a_code_block_does_not_end_a_section():
    readme = "## A\n\n```bash\n## not a heading\n```\nafter\n## B\nb\n"
    assert _make.section(readme, "A")[-1] == "after"


def test_an_unknown_guide_is_named():
    with pytest.raises(KeyError, match="no guide called 'nope'"):
        guides.read("nope")
