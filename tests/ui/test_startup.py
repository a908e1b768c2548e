"""Start-up: the editor opens before PyTorch has loaded; shapes, costs, model.py and the
devices fill in when the compiler arrives from the background."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ui_helpers import small_graph

from resnet_studio.graph import events
from resnet_studio.ui.shell import app as studio
from resnet_studio.ui.shell import window_titles
from resnet_studio.ui.shell.app import load_compiler
from resnet_studio.ui.shell.main_window import MainWindow
from resnet_studio.ui.shell.startup import BackgroundLoader
from resnet_studio.ui.train.defaults import Devices

ROOT = Path(__file__).resolve().parents[2]

# The editor's window, built and shown as the application does, must not pull in torch
# (5 s and 1 GB on a cold start), torchvision or torch._dynamo.
EDITOR_CHECK = """
import sys
from pathlib import Path
from PySide6.QtCore import QSettings
from resnet_studio.ui.shell import app
application = app.application()
from resnet_studio.ui.shell.main_window import MainWindow
scratch = Path(sys.argv[1])
window = MainWindow(QSettings(str(scratch / "s.ini"), QSettings.Format.IniFormat),
                    recovery_dir=scratch / "recovery", defer_compiler=True)
window.show()
application.processEvents()
heavy = [m for m in ("torch", "torchvision", "torch._dynamo") if m in sys.modules]
print("heavy:", heavy, "nodes:", len(window.document.graph))
"""


def test_the_editor_opens_without_importing_torch(tmp_path):
    done = subprocess.run([sys.executable, "-c", EDITOR_CHECK, str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    heavy, nodes = done.stdout.strip().split(" nodes: ")
    assert heavy == "heavy: []" and int(nodes) > 3


def deferred_window(qtbot, settings, prompts, recovery_dir) -> MainWindow:
    window = MainWindow(settings, prompts, recovery_dir, small_graph(), defer_compiler=True)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_window_opened_before_the_compiler_says_what_it_waits_for(qtbot, settings, prompts,
                                                                     recovery_dir):
    window = deferred_window(qtbot, settings, prompts, recovery_dir)
    assert window.document.analysis is None and not window.document.compiler_ready
    assert "Loading PyTorch" in window.totals_label.text()
    assert window.code_view.waiting and "Loading PyTorch" in window.code_view.status.text()
    assert {item.shape_text for item in window.editor.scene.node_items.values()} == {"…"}
    assert "Looking for GPUs" in window.training.panel.settings.device_info.text()
    assert "once PyTorch has loaded" in window.summary.problems.item(0).text()
    window.editor.select_node(next(iter(window.document.graph)).id)
    assert window.inspector.info_labels["output"].text() == "…"


def test_attaching_the_compiler_fills_in_shapes_costs_code_and_devices(qtbot, settings, prompts,
                                                                       recovery_dir):
    window = deferred_window(qtbot, settings, prompts, recovery_dir)
    window.attach_compiler(Devices(False, False, "CPU: 2 threads"))
    analysis = window.document.analysis
    assert analysis is not None and analysis.total_params > 0
    assert "parameters" in window.totals_label.text()
    assert "No problems" in window.summary.problems.item(0).text()
    assert all(item.shape_text not in ("…", "?")
               for item in window.editor.scene.node_items.values())
    assert window.training.panel.settings.device_info.text() == "CPU: 2 threads"
    window.docks["code"].show()
    window.docks["code"].raise_()
    qtbot.waitUntil(lambda: "class Net" in window.code_view.editor.toPlainText(), timeout=10_000)


def test_edits_made_while_loading_are_analysed_when_the_compiler_arrives(qtbot, settings,
                                                                         prompts, recovery_dir):
    window = deferred_window(qtbot, settings, prompts, recovery_dir)
    seen: list[object] = []
    window.document.graph.events.subscribe(seen.append)
    node = window.document.graph.add_node("relu", position=(0.0, 900.0))
    assert any(isinstance(e, events.NodeAdded) for e in seen)
    qtbot.wait(300)  # past the analysis delay: still nothing to analyse with
    assert window.document.analysis is None
    window.attach_compiler()
    assert node.id in window.document.analysis.nodes


def test_an_action_that_needs_the_analysis_loads_the_compiler_itself(qtbot, settings, prompts,
                                                                     recovery_dir):
    window = deferred_window(qtbot, settings, prompts, recovery_dir)
    analysis = window.document.current_analysis()
    assert window.document.compiler_ready and analysis.total_params > 0


def test_loader_delivers_the_compiler_and_devices_on_the_gui_thread(qtbot):
    loader = BackgroundLoader(load_compiler)
    with qtbot.waitSignal(loader.loaded, timeout=60_000) as blocker:
        loader.start()
    assert isinstance(blocker.args[0], Devices) and "CPU" in blocker.args[0].description
    assert "resnet_studio.compiler.source" in sys.modules
    loader.wait()


def test_loader_reports_a_failed_import(qtbot):
    loader = BackgroundLoader(lambda: load_compiler(("resnet_studio.no_such_module",)))
    with qtbot.waitSignal(loader.failed, timeout=30_000) as blocker:
        loader.start()
    assert "No module named" in blocker.args[0] and "no_such_module" in blocker.args[0]
    loader.wait()


def test_a_compiler_that_cannot_load_is_explained_and_the_editor_stays(qtbot, settings, prompts,
                                                                       recovery_dir,
                                                                       monkeypatch):
    window = deferred_window(qtbot, settings, prompts, recovery_dir)
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(window_titles, "ask", lambda parent, icon, title, text, buttons:
                        shown.append((title, text)))
    studio._compiler_failed(window, "ImportError: libtorch_cpu.so: cannot open shared object")
    assert shown[0][0] == "PyTorch could not be loaded"
    assert "libtorch_cpu.so" in shown[0][1] and "Reinstall" in shown[0][1]
    assert window.isVisible()
