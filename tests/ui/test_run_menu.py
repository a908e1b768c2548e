"""Right-click on a run in the runs list: open, compare with the selected, resume, export,
reveal the folder and delete (after a question) — the runs feature's context-menu entries."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint
from training_helpers import configure, wait_finished

from resnet_studio.ui.train.views import TAB_RUNS

ENTRIES = ["Open", "Compare with Selected", "Resume", "Export Checkpoint…", "Reveal Folder",
           "Delete Run…"]


def train_two_runs(window, c, qtbot) -> list[Path]:
    configure(window, epochs=1)
    runs = []
    for _ in range(2):
        assert c.start()
        assert wait_finished(qtbot, c).status == "finished"
        runs.append(c.current_run)
    c.views.show_tab(TAB_RUNS)
    return runs


def right_click(window, run: Path):
    """Right-click the run's row as a user would; the menu that pops up."""
    panel = window.training.views.runs
    row = list(panel.summaries).index(run)
    centre = panel.table.visualItemRect(panel.table.item(row, 0)).center()
    panel.table.customContextMenuRequested.emit(centre)
    menu = window.runs.menu.menu
    assert menu is not None and menu.isVisible()
    return menu, {a.text().replace("&", ""): a for a in menu.actions()}


def test_the_run_menu_opens_compares_exports_and_reveals_the_run(trainer, qtbot, tmp_path):
    window, c, prompts = trainer
    first, second = train_two_runs(window, c, qtbot)
    menu, entries = right_click(window, first)
    assert list(entries) == ENTRIES
    assert not entries["Compare with Selected"].isEnabled()  # nothing else is selected
    entries["Open"].trigger()
    assert window.run_focus.run == first and window.runs.shown_run == first
    menu.close()

    c.views.runs.select_paths([second])
    menu, entries = right_click(window, first)
    assert entries["Compare with Selected"].isEnabled()
    entries["Compare with Selected"].trigger()
    assert c.views.compare.shown == [second, first]
    menu.close()

    revealed = []
    window.runs.menu.open_url = revealed.append
    menu, entries = right_click(window, second)
    entries["Reveal Folder"].trigger()
    assert [Path(url.toLocalFile()) for url in revealed] == [second]
    prompts.save_path, prompts.item_answer = str(tmp_path / "second.pt"), "best.pt"
    entries["Export Checkpoint…"].trigger()
    assert (tmp_path / "second.pt").is_file()
    assert "best.pt: best weights (epoch 1" in window.statusBar().currentMessage()
    assert second.name in window.statusBar().currentMessage()
    menu.close()


def test_the_run_menu_resumes_a_run(trainer, qtbot):
    window, c, _ = trainer
    first, _ = train_two_runs(window, c, qtbot)
    c.panel.settings.epochs.setValue(2)  # train the finished run one epoch longer
    menu, entries = right_click(window, first)
    assert entries["Resume"].isEnabled()
    entries["Resume"].trigger()
    menu.close()
    assert c.current_run == first
    end = wait_finished(qtbot, c)
    assert end.status == "finished" and end.epoch == 2


def test_deleting_a_run_asks_first_and_forgets_it(trainer, qtbot):
    window, c, prompts = trainer
    first, second = train_two_runs(window, c, qtbot)
    assert window.run_focus.run == second
    menu, entries = right_click(window, second)
    entries["Delete Run…"].trigger()  # the answer is no: nothing happens
    assert ("delete_run", second.name) in prompts.asked and second.is_dir()
    prompts.delete_run_answer = True
    entries["Delete Run…"].trigger()
    menu.close()
    assert not second.exists() and first.is_dir()
    assert list(c.views.runs.summaries) == [first]
    assert window.run_focus.run is None  # nothing acts on a deleted run
    assert "Deleted the run" in window.statusBar().currentMessage()


def test_a_folder_that_is_no_longer_a_run_is_not_deleted(trainer, qtbot):
    window, c, prompts = trainer
    first, _ = train_two_runs(window, c, qtbot)
    menu, entries = right_click(window, first)
    for name in ("config.json", "metrics.csv", "steps.jsonl"):
        (first / name).unlink()
    prompts.delete_run_answer = True
    entries["Delete Run…"].trigger()
    menu.close()
    assert first.is_dir() and prompts.errors[-1][0] == "Cannot delete the run"


def test_a_right_click_beside_the_rows_opens_no_menu(trainer, qtbot):
    window, c, _ = trainer
    train_two_runs(window, c, qtbot)
    table = c.views.runs.table
    table.customContextMenuRequested.emit(QPoint(5, table.viewport().height() - 2))
    assert window.runs.menu.menu is None
