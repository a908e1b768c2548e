"""The application's edges: quitting without closing the window while a network trains,
Ctrl-C in the terminal, hostile project files and names that no file system takes."""

from __future__ import annotations

import textwrap

from script_helpers import run_script, training_script
from training_helpers import configure, wait_finished

from resnet_studio.graph.project import to_dict
from resnet_studio.ui.widgets.filenames import safe_stem

INTERRUPT_SCRIPT = textwrap.dedent("""
    import os, signal
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from resnet_studio.ui.shell import app as studio

    def interrupt():
        windows = [w for w in QApplication.topLevelWidgets()
                   if type(w).__name__ == "MainWindow" and w.isVisible()]
        if not windows:  # main() has not shown the editor yet
            QTimer.singleShot(50, interrupt)
            return
        window = windows[0]
        print("window", type(window).__name__, window.isVisible(), flush=True)
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C in the terminal

    studio.application()  # main() takes this one; the timer needs it to exist
    QTimer.singleShot(500, interrupt)
    QTimer.singleShot(90_000, lambda: (print("still running"), QApplication.exit(3)))
    print("status", studio.main([]))
""")


def test_application_exit_while_training_stops_the_worker_first(tmp_path):
    # the event loop ends while the window stays open
    source = training_script(["QApplication.exit(0)"],
                             '"exited", window.training.bridge.last_end.status, window.isVisible()')
    done = run_script(tmp_path, source)
    assert done.returncode == 0, done.stderr
    assert "exited stopped False" in done.stdout  # stopped, and the window closed
    assert "Destroyed while thread" not in done.stderr


def test_ctrl_c_in_the_terminal_closes_the_window_and_exits_cleanly(tmp_path):
    done = run_script(tmp_path, INTERRUPT_SCRIPT)
    assert "window MainWindow True" in done.stdout, done.stderr
    assert done.returncode == 0, done.stderr
    assert "status 0" in done.stdout
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr


def test_a_file_with_a_huge_number_or_deep_nesting_opens_with_a_dialog(window, prompts,
                                                                     tmp_path):
    huge = tmp_path / "huge.rstudio.json"
    huge.write_text('{"format_version": 1, "name": "x", "input": {"channels": %s}}'
                    % ("9" * 5000), encoding="utf-8")
    deep = tmp_path / "deep.rstudio.json"
    deep.write_text('{"format_version": 1, "training": ' + "[" * 100_000 + "]" * 100_000 + "}",
                    encoding="utf-8")
    before = to_dict(window.document.graph)
    for path in (huge, deep):
        assert not window.open_project(path)
        title, message = prompts.errors[-1]
        assert title == "Cannot open project" and path.name in message
    assert len(prompts.errors) == 2
    assert to_dict(window.document.graph) == before


def test_saving_a_name_utf8_cannot_encode_shows_a_dialog(window, prompts, tmp_path):
    window.document.save(tmp_path / "odd.rstudio.json")
    window.document.graph.name = "net\ud800"  # Save As would rename it after the file
    assert not window.save()
    title, message = prompts.errors[-1]
    assert title == "Cannot save" and "UTF-8 cannot store" in message
    assert not window.autosaver.save_now() or not window.document.is_modified()


def test_safe_stem_keeps_names_within_the_file_system_limit():
    assert safe_stem("ResNet-20 (CIFAR)") == "ResNet-20__CIFAR_"
    long = safe_stem("é" * 300)
    assert len(long.encode("utf-8")) <= 200 and set(long) == {"é"}
    assert safe_stem("../..") == "_" and safe_stem("...") == "network"
    assert safe_stem("a\x1b[31mb") == "a__31mb"


def test_a_project_name_over_250_bytes_trains(trainer, qtbot):
    window, controller, _ = trainer
    window.document.graph.name = "résidu" * 60  # 420 bytes of UTF-8
    configure(window, epochs=1, train_size=16, val_size=8)
    assert controller.start()
    end = wait_finished(qtbot, controller)
    assert end.status == "finished", end
    assert controller.current_run.is_dir()
    assert len(controller.current_run.name.encode("utf-8")) < 255
