"""``lr-find``, ``overfit`` and ``preview`` on a tiny project and synthetic data."""

from __future__ import annotations

import pytest
from PIL import Image
from test_train_support import CLI_DATA as DATA
from test_train_support import (
    tiny_project,
)

from resnet_studio.cli import main
from resnet_studio.train.sanity import suggest


def test_suggest_picks_the_steepest_fall_and_none_when_flat():
    lrs = [10 ** (-6 + i * 0.1) for i in range(50)]
    losses = [2.0 if i < 20 else max(0.2, 2.0 - 0.3 * (i - 20)) for i in range(50)]
    assert 10 ** -4 <= suggest(lrs, losses) <= 10 ** -3.2
    assert suggest(lrs, [2.0] * 50) is None


def test_lr_find_writes_the_curve_and_a_suggestion(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    code = main(["lr-find", str(project_file), *DATA, "--steps", "30", "--out",
                 str(tmp_path / "lr")])
    out = capsys.readouterr().out
    assert code == 0 and "steps, curve in" in out
    rows = (tmp_path / "lr" / "lr_find.csv").read_text().splitlines()
    assert rows[0] == "lr,loss" and 10 <= len(rows) <= 31
    with Image.open(tmp_path / "lr" / "lr_find.png") as png:
        assert png.size[0] > 100


def test_overfit_says_whether_one_batch_is_learned(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    code = main(["overfit", str(project_file), *DATA, "--steps", "200", "--optimizer", "adamw",
                 "--lr", "0.02"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("the network can learn"), out
    code = main(["overfit", str(project_file), *DATA, "--steps", "5", "--lr", "1e-9"])
    assert code == 1 and "could not fit one batch" in capsys.readouterr().out


def test_preview_saves_the_batch_the_engine_feeds(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    grid = tmp_path / "grid.png"
    assert main(["preview", str(project_file), *DATA, "-o", str(grid)]) == 0
    assert "8 training images" in capsys.readouterr().out
    with Image.open(grid) as png:  # 8 images of 8×8 in a row, 2 pixels around each
        assert png.size == (8 * 10 + 2, 8 + 4)


class _CancelAt:
    """A cancel flag that a progress callback sets once ``step`` steps are done."""

    def __init__(self, step: int):
        self.step, self.calls, self.set_ = step, [], False

    def progress(self, done: int, total: int) -> None:
        self.calls.append((done, total))
        self.set_ = done >= self.step

    def is_set(self) -> bool:
        return self.set_


def _tiny():
    from test_train_support import tiny_config, tiny_graph
    return tiny_graph(), tiny_config()


@pytest.mark.parametrize("tool", ["lr", "overfit"])
def test_a_sanity_tool_reports_each_step_and_stops_when_cancelled(tool):
    from resnet_studio.train.sanity import Cancelled, lr_range_test, overfit_batch

    graph, config = _tiny()
    flag = _CancelAt(3)
    with pytest.raises(Cancelled):
        if tool == "lr":
            lr_range_test(graph, config, steps=50, progress=flag.progress, cancel=flag)
        else:
            overfit_batch(graph, config, 50, progress=flag.progress, cancel=flag)
    assert flag.calls == [(1, 50), (2, 50), (3, 50)]  # stopped before a fourth step


def test_without_a_cancel_every_step_is_reported():
    from resnet_studio.train.sanity import overfit_batch

    graph, config = _tiny()
    calls = []
    result = overfit_batch(graph, config, 6, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(d, 6) for d in range(1, 7)] and len(result.losses) == 6


def test_the_preview_says_which_augmentation_it_shows(tmp_path):
    from resnet_studio.train.sanity import preview_batch

    graph, config = _tiny()
    on = config.replace(data=config.data.replace(augment=True, crop_padding=2, flip=True))
    off = config.replace(data=config.data.replace(augment=False))
    assert preview_batch(graph, on, tmp_path / "a.png", 4) == (
        4, "random crop (padding 2), horizontal flip")
    assert preview_batch(graph, off, tmp_path / "b.png", 4) == (4, "")
