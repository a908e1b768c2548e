"""The main window: files, the unsaved-changes question, autosave recovery, docks, panels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow
from ui_helpers import ScriptedPrompts, small_graph

from resnet_studio.graph.project import load, to_dict
from resnet_studio.ui.design.commands import (
    RemoveNodeCommand,
    SetParamsCommand,
    remove_items_command,
)
from resnet_studio.ui.shell.app import open_named_project
from resnet_studio.ui.shell.features import (
    ActionSpec,
    Contributions,
    DockSpec,
    Feature,
    FeatureHost,
    MenuSpec,
)
from resnet_studio.ui.shell.main_window import MainWindow


def edit(window) -> None:
    """One small undoable change."""
    window.document.push(SetParamsCommand(window.document.graph, ["conv1"], {"out_channels": 6}))


def test_title_shows_the_file_and_an_unsaved_mark(window, prompts, tmp_path):
    assert window.windowTitle().startswith("Untitled (tiny)[*]")
    assert not window.isWindowModified()
    edit(window)
    assert window.isWindowModified()
    prompts.save_path = str(tmp_path / "net")
    assert window.actions["save"].isEnabled()
    window.actions["save"].trigger()
    assert window.document.path == tmp_path / "net.rstudio.json"
    assert window.windowTitle().startswith("net.rstudio.json[*]")
    assert not window.isWindowModified()
    window.document.undo_stack.undo()
    assert window.isWindowModified()  # undoing past the save is a change again


def test_save_then_reopen_gives_the_identical_graph(make_window, prompts, tmp_path):
    window = make_window()
    window.editor.select_nodes(["block"])
    window.editor.expand_selected()
    window.editor.select_nodes(["conv1", "bn1"])
    prompts.block = ("Stem", {"width": [("conv1", "out_channels")]})
    window.editor.collapse_selection()
    path = tmp_path / "saved.rstudio.json"
    prompts.save_path = str(path)
    assert window.save_as()
    saved = to_dict(window.document.graph)
    other = make_window(answers=ScriptedPrompts())
    assert other.open_project(path)
    assert to_dict(other.document.graph) == saved
    assert to_dict(load(path, window.document.graph.lookup)) == saved
    assert other.document.path == path and not other.isWindowModified()
    assert str(path.resolve()) in other.recent_files()
    other.fill_recent_menu()
    recent = other.recent_menu.actions()
    assert recent[0].text() == "saved.rstudio.json"
    recent[0].trigger()  # reopening the same file from File ▸ Open Recent
    assert to_dict(other.document.graph) == saved
    assert "custom.stem" in other.palette.type_ids()


def test_opening_a_damaged_file_reports_it_and_keeps_the_project(window, prompts, tmp_path):
    bad = tmp_path / "bad.rstudio.json"
    bad.write_text('{"format_version": 1, "name": "x", "input": {"channels": 3}}', encoding="utf-8")
    before = to_dict(window.document.graph)
    assert not window.open_project(bad)
    assert prompts.errors and "bad.rstudio.json" in prompts.errors[0][1]
    assert to_dict(window.document.graph) == before


def test_cancel_keeps_the_window_open_with_the_edits(window, prompts):
    edit(window)
    prompts.unsaved_answer = "cancel"
    assert not window.close()
    assert window.isVisible()
    assert window.document.graph.node("conv1").params["out_channels"] == 6
    assert prompts.asked[-1] == ("unsaved", "Untitled (tiny)")
    prompts.unsaved_answer = "discard"
    assert window.close()
    assert not window.isVisible()


def test_save_answer_saves_before_closing(window, prompts, tmp_path):
    edit(window)
    prompts.unsaved_answer = "save"
    prompts.save_path = str(tmp_path / "closing.rstudio.json")
    assert window.close()
    saved = json.loads((tmp_path / "closing.rstudio.json").read_text(encoding="utf-8"))
    conv = next(n for n in saved["nodes"] if n["id"] == "conv1")
    assert conv["params"]["out_channels"] == 6


def test_unchanged_project_closes_without_asking(window, prompts):
    assert window.close()
    assert not [q for q in prompts.asked if q[0] == "unsaved"]


def test_new_from_a_preset_asks_about_unsaved_changes_first(window, prompts):
    edit(window)
    prompts.unsaved_answer = "cancel"
    assert not window.new_project()
    assert window.document.graph.node("conv1").params["out_channels"] == 6
    prompts.unsaved_answer = "discard"
    prompts.preset = "resnet20"
    assert window.new_project()
    graph = window.document.graph
    assert graph.name == "resnet20" and "layer3" in graph.nodes
    assert not window.isWindowModified() and window.document.undo_stack.count() == 0
    assert set(window.editor.scene.node_items) == set(graph.nodes)


def test_recovery_after_a_crash(make_window, recovery_dir, settings):
    crashed = make_window()
    edit(crashed)
    crashed.document.push(remove_items_command(crashed.document.graph, ["relu"]))
    assert crashed.autosaver.save_now()
    expected = to_dict(crashed.document.graph)
    # A crash: the window never closes, so the recovery file stays behind.
    crashed.autosaver.stop()
    answers = ScriptedPrompts()
    answers.restore_answer = True
    restored = make_window(answers=answers)
    assert answers.asked[0][0] == "restore" and "unsaved project" in answers.asked[0][1]
    assert to_dict(restored.document.graph) == expected
    assert restored.isWindowModified()  # recovered work is not saved work
    restored.document.save(recovery_dir.parent / "kept.rstudio.json")
    restored.autosaver.discard()
    assert not restored.autosaver.pending()
    crashed.document.undo_stack.setClean()


def test_the_project_named_on_the_command_line_keeps_its_recovered_work(make_window, tmp_path):
    path = tmp_path / "net.rstudio.json"
    crashed = make_window()
    crashed.document.save(path)
    edit(crashed)
    assert crashed.autosaver.save_now()
    expected = to_dict(crashed.document.graph)
    crashed.autosaver.stop()
    answers = ScriptedPrompts()
    answers.restore_answer = True
    restored = make_window(answers=answers)
    open_named_project(restored, path)  # `resnet-studio net.rstudio.json` after the crash
    assert [kind for kind, *_ in answers.asked] == ["restore"]  # no "save them first?"
    assert to_dict(restored.document.graph) == expected and restored.isWindowModified()
    other = tmp_path / "other.rstudio.json"
    crashed.document.undo_stack.setClean()
    crashed.document.save(other)
    answers.unsaved_answer = "discard"
    open_named_project(restored, other)  # another file: the recovered work is asked about
    assert [kind for kind, *_ in answers.asked][-1] == "unsaved"
    assert restored.document.path == other


def test_declining_recovery_deletes_the_autosave(make_window):
    crashed = make_window()
    edit(crashed)
    crashed.autosaver.save_now()
    crashed.autosaver.stop()
    answers = ScriptedPrompts()
    restored = make_window(answers=answers)
    assert answers.asked and answers.asked[0][0] == "restore"
    assert restored.document.graph.node("conv1").params["out_channels"] == 8
    assert not restored.autosaver.pending()
    crashed.document.undo_stack.setClean()


def test_clean_close_and_clean_save_delete_the_autosave(window, prompts, tmp_path):
    assert not window.autosaver.save_now()  # nothing unsaved: nothing written
    edit(window)
    assert window.autosaver.save_now() and window.autosaver.pending()
    prompts.save_path = str(tmp_path / "x.rstudio.json")
    window.save()
    assert not window.autosaver.pending()
    edit(window)
    window.autosaver.save_now()
    assert window.close()
    assert not window.autosaver.pending()


def test_docks_are_restored_from_settings(make_window, settings):
    first = make_window()
    design = first.workspace("design")
    first.docks["code"].setFloating(False)
    design.removeDockWidget(first.docks["palette"])
    design.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, first.docks["palette"])
    first.docks["palette"].show()
    first.show_workspace("train")
    assert first.close()
    assert settings.value("window/state") is not None
    assert settings.value("workspace/design/state") is not None
    second = make_window()
    assert second.current_workspace == "train"  # the last workspace used comes back
    second.show_workspace("design")
    assert second.workspace("design").dockWidgetArea(second.docks["palette"]) == (
        Qt.DockWidgetArea.RightDockWidgetArea)


def test_a_workspace_hidden_at_quit_comes_back_with_its_dock_widths(make_window, settings):
    first = make_window()
    widths = (first.docks["palette"].width(), first.docks["inspector"].width())
    assert min(widths) > 150
    first.show_workspace("train")
    assert first.close()
    second = make_window()  # restored while Design is hidden, before the window has its size
    second.show_workspace("design")
    again = (second.docks["palette"].width(), second.docks["inspector"].width())
    assert all(abs(a - b) <= 4 for a, b in zip(again, widths)), (widths, again)
    second.show_workspace("train")
    assert second.close()  # saved again without Design's layout being lost or squeezed
    third = make_window()
    third.show_workspace("design")
    assert all(abs(third.docks[k].width() - w) <= 4
               for k, w in zip(("palette", "inspector"), widths))


def test_clicking_a_diagnostic_selects_and_centres_its_node(window, qtbot):
    doc = window.document
    with qtbot.waitSignal(doc.analysis_ready, timeout=5000):
        doc.push(SetParamsCommand(doc.graph, ["fc"], {"out_features": 7}))
    items = window.summary.problem_items()
    assert len(items) == 1 and "7 scores" in items[0].text()
    window.editor.view.centerOn(2000, 2000)
    window.summary.problems.itemClicked.emit(items[0])
    assert window.editor.selected_node_ids() == ["output"]
    visible = window.editor.view.visible_rect()
    assert visible.contains(window.editor.scene.node_items["output"].sceneBoundingRect().center())
    item = window.editor.scene.node_items["output"]
    assert item.severity == "error" and "7 scores" in item.toolTip()
    assert "1 problem" in window.totals_label.text()


def test_summary_shows_totals_and_a_row_per_node(window):
    analysis = window.document.current_analysis()
    summary = window.summary
    assert f"{analysis.total_params:,}" in summary.totals["params"].text()
    assert "2 × MACs" in summary.totals["flops"].text()
    assert "GFLOPS" in summary.totals["macs"].text()
    summary.batch.setValue(1)
    one = summary.totals["memory"].text()
    summary.batch.setValue(64)
    assert summary.totals["memory"].text() != one
    assert summary.table.rowCount() == len(window.document.graph)
    rows = [summary.table.item(r, 0).text() for r in range(summary.table.rowCount())]
    assert rows[0] == "input" and rows[-1] == "output"


def test_code_view_follows_edits_and_exports(window, qtbot, prompts, tmp_path):
    code = window.code_view
    window.docks["code"].raise_()
    qtbot.waitUntil(lambda: "class Net" in code.editor.toPlainText(), timeout=10000)
    with qtbot.waitSignal(window.document.analysis_ready, timeout=5000):
        edit(window)
    assert "nn.Conv2d(3, 6" in code.editor.toPlainText()
    prompts.save_path = str(tmp_path / "model.py")
    assert window.export_source()
    text = (tmp_path / "model.py").read_text(encoding="utf-8")
    assert "class Net" in text and "nn.Conv2d(3, 6" in text
    with qtbot.waitSignal(window.document.analysis_ready, timeout=5000):
        window.document.push(RemoveNodeCommand(window.document.graph, "output"))
    assert "cannot be generated" in code.editor.toPlainText()
    assert not code.export_button.isEnabled()


def test_palette_lists_blocks_by_category_and_searches(window):
    palette = window.palette
    assert {"conv2d", "basicblock", "stage", "add"} <= set(palette.type_ids())
    palette.search.setText("bottle")
    assert palette.type_ids() == ["bottleneck", "sebottleneck", "res2net"]
    palette.search.setText("squeeze")
    assert set(palette.type_ids()) == {"squeezeexcite", "sebasicblock", "sebottleneck"}
    palette.search.clear()
    index = palette.index_of("conv2d")
    mime = palette.proxy.mimeData([index])
    assert bytes(mime.data("application/x-resnet-studio-block").data()) == b"conv2d"
    assert "convolution" in index.data(Qt.ItemDataRole.ToolTipRole).lower()


def test_palette_double_click_adds_the_block(window):
    palette, graph = window.palette, window.document.graph
    before = set(graph.nodes)
    palette.tree.doubleClicked.emit(palette.index_of("gelu"))
    (new,) = set(graph.nodes) - before
    assert graph.node(new).type_id == "gelu"


def test_default_project_is_the_default_preset(qtbot, settings, recovery_dir):
    window = MainWindow(settings, ScriptedPrompts(), recovery_dir)
    qtbot.addWidget(window)
    assert window.document.graph.name == "small_resnet"
    assert window.document.analysis is not None and window.document.analysis.ok
    assert set(window.editor.scene.node_items) == set(window.document.graph.nodes)


def test_autosave_timer_writes_the_recovery_file(qtbot, settings, recovery_dir):
    window = MainWindow(settings, ScriptedPrompts(), recovery_dir, small_graph(), autosave_ms=20)
    qtbot.addWidget(window)
    edit(window)
    qtbot.waitUntil(window.autosaver.pending, timeout=5000)
    saved = json.loads(window.autosaver.path.read_text(encoding="utf-8"))
    assert saved == to_dict(window.document.graph)


def test_main_opens_the_window_on_a_project_and_returns_when_it_closes(
        qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings, QStandardPaths, QTimer
    from PySide6.QtWidgets import QApplication

    from resnet_studio.graph.project import save
    from resnet_studio.ui.shell import app as app_module

    # Keep the real user's settings and data untouched.
    monkeypatch.setattr(app_module, "QSettings", lambda org, name: QSettings(
        str(tmp_path / "main.ini"), QSettings.Format.IniFormat))
    QStandardPaths.setTestModeEnabled(True)
    path = tmp_path / "given.rstudio.json"
    save(small_graph(), path)
    seen: list[MainWindow] = []

    def close_window() -> None:  # the editor shows once its modules have loaded
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(20, close_window)
            return
        seen.extend(windows)
        for w in windows:
            w.close()

    QTimer.singleShot(0, close_window)
    try:
        assert app_module.main([str(path)]) == 0
    finally:
        QStandardPaths.setTestModeEnabled(False)
    assert len(seen) == 1 and seen[0].document.path == path
    assert seen[0].document.graph.name == "tiny"


# ----- features declare their actions, menus and docks ----------------------------------------
def _titles(menu) -> list[str]:
    return ["—" if a.isSeparator() else a.text() for a in menu.actions()]


def test_menus_and_toolbar_follow_the_declared_places(window):
    file_menu = _titles(window.menu("file"))
    assert file_menu[:4] == ["&New…", "&Open…", "Open &Recent", "Open &Example"]
    assert file_menu.index("&Export model.py…") < file_menu.index("Export &Checkpoint…") \
        < file_menu.index("Export &Trained Model") < file_menu.index("&Quit")
    assert file_menu[-2:] == ["—", "&Quit"] and "— —" not in " ".join(file_menu)
    assert _titles(window.menu("training"))[:5] == [
        "&Start Training", "&Pause", "&Resume", "S&top", "—"]
    assert [m.title() for m in (a.menu() for a in window.menuBar().actions())] == [
        "&File", "&Edit", "&View", "&Training", "E&xperiments", "&Analyze", "&Help"]
    toolbar = [a.iconText() for a in window.toolbar.actions() if not a.isSeparator()]
    assert toolbar[:3] == ["New", "Open", "Save"] and toolbar[-4:] == [
        "Train", "Pause", "Resume", "Stop"]
    view = [a.text() for a in window.menu("view").actions()]
    assert view[-11:] == ["Blocks", "Inspector", "Problems and Summary", "model.py", "Training",
                          "Training Curves and Runs", "Dataset", "Samples, Classes and Input",
                          "Set Up a Study", "Experiment", "Analyses"]
    assert view[-17:-12] == ["&1 Design", "&2 Data", "&3 Train", "&4 Experiments",
                             "&5 Analyze"]  # the workspaces, a section before the docks
    assert window.actions["workspace_train"].shortcut().toString() == "Ctrl+3"
    assert window.actions["delete"].shortcuts()[-1].toString() == "Backspace"
    assert window.actions["train_start"].shortcut().toString() == "F5"


def test_a_new_feature_joins_a_menu_by_its_id_without_knowing_the_others(qtbot):
    triggered = []

    class Base(Feature):
        def contributions(self):
            return Contributions([ActionSpec("quit", "&Quit", menu="file", section=99),
                                  ActionSpec("open", "&Open", menu="file", section=0)])

    class Study(Feature):
        def contributions(self):
            return Contributions(
                [ActionSpec("sweep", "&Sweep…", lambda: triggered.append(1),
                            menu="file/studies", context=("canvas",)),
                 ActionSpec("plan", "&Plan", menu="studies", section=0)],
                [MenuSpec("file/studies", "&Studies", section=50),
                 MenuSpec("studies", "S&tudies")])

        def docks(self, actions):
            return [DockSpec("study", "Study", QLabel("results"),
                             Qt.DockWidgetArea.RightDockWidgetArea, hidden=True)]

    window = QMainWindow()
    qtbot.addWidget(window)
    host = FeatureHost(window)
    host.install(Base())
    host.install(Study())
    host.build()
    assert _titles(host.menus["file"]) == ["&Open", "—", "&Studies", "—", "&Quit"]
    assert [m.title() for m in (a.menu() for a in window.menuBar().actions())] == [
        "&File", "&View", "S&tudies"]
    host.menus["file/studies"].actions()[0].trigger()
    assert triggered == [1] and host.context_actions("canvas") == [host.actions["sweep"]]
    assert host.docks["study"].isHidden() and host.docks["study"].objectName() == "study_dock"
    with pytest.raises(ValueError, match="two actions are called ‘quit’"):
        host.install(Base())


def test_a_project_saved_under_a_relative_name_is_recovered_with_its_absolute_path(
        make_window, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    crashed = make_window()
    crashed.document.save(Path("relative.rstudio.json"))
    edit(crashed)
    assert crashed.autosaver.save_now()
    crashed.autosaver.stop()
    monkeypatch.chdir(tmp_path.parent)  # the next process starts elsewhere
    answers = ScriptedPrompts()
    answers.restore_answer = True
    restored = make_window(answers=answers)
    assert restored.document.path == (tmp_path / "relative.rstudio.json").resolve()
    assert restored.save()
    assert not (tmp_path.parent / "relative.rstudio.json").exists()
    crashed.document.undo_stack.setClean()


def test_open_recent_lists_each_file_once_and_tells_same_names_apart(window, settings, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        window.document.save(tmp_path / folder / "net.rstudio.json")
        window.save()
    settings.setValue("recent_files", [*window.recent_files(), "a/net.rstudio.json"])
    window.fill_recent_menu()
    labels = [action.text() for action in window.recent_menu.actions()]
    assert len(labels) == 2 and len(set(labels)) == 2
    assert all(label.startswith("net.rstudio.json — ") for label in labels)


def test_paste_is_enabled_only_while_the_clipboard_holds_nodes(window, qtbot):
    from PySide6.QtWidgets import QApplication

    QApplication.clipboard().clear()
    qtbot.waitUntil(lambda: not window.actions["paste"].isEnabled())
    window.editor.select_nodes(["conv1"])
    window.actions["copy"].trigger()
    qtbot.waitUntil(lambda: window.actions["paste"].isEnabled())
    QApplication.clipboard().setText("some text from another application")
    qtbot.waitUntil(lambda: not window.actions["paste"].isEnabled())


def test_file_dialogs_start_in_the_project_folder_or_the_last_used(window, prompts, tmp_path):
    folder = tmp_path / "projects"
    folder.mkdir()
    prompts.save_path = str(folder / "net.rstudio.json")
    assert window.save_as()
    window.open_project()  # the dialog is cancelled (no open_path): only where it started
    assert prompts.asked[-1] == ("open", str(folder))
    prompts.preset = "resnet20"
    assert window.new_project()  # no file any more: the last folder used
    window.open_project()
    assert prompts.asked[-1] == ("open", str(folder.resolve()))


def test_a_refusal_on_the_status_bar_clears_at_the_next_edit(window):
    editor, bar = window.editor, window.statusBar()
    editor.expand_selected()  # nothing selected: refused with a reason
    assert bar.currentMessage().startswith("Select a residual block")
    window.show_message("Saved somewhere")  # other messages keep their own timeout
    editor.select_nodes(["relu"])
    editor.delete_selection()
    assert bar.currentMessage() == "Saved somewhere"
    editor.expand_selected()
    assert bar.currentMessage().startswith("Select a residual block")
    window.document.undo_stack.undo()
    assert bar.currentMessage() == ""


def test_the_data_folder_is_one_level_named_after_the_app():
    from resnet_studio.ui.shell.recovery import default_directory

    folder = default_directory()
    assert folder.name == "ResNet Studio" and folder.parent.name != "ResNet Studio"
