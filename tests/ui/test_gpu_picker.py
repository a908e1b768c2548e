"""The GPUs in the app (faked): one "Train on" entry per GPU, a saved choice the machine lacks
kept and greyed, and the live memory line beside images/s."""

from __future__ import annotations

import dataclasses

from gpu_fakes import GIB, fake_gpus
from training_helpers import TrainingPrompts, configure, wait_finished

from resnet_studio.train import TrainConfig
from resnet_studio.ui.train.defaults import UNKNOWN_DEVICES, find_devices
from resnet_studio.ui.train.panel import GPU_MS
from resnet_studio.ui.train.settings import TrainingSettings

TWO = [("NVIDIA H100 80GB HBM3", 79.2), ("NVIDIA A100-SXM4-40GB", 39.4)]


def entries(box) -> list[tuple[str, str, bool]]:
    model = box.model()
    return [(box.itemData(i), box.itemText(i), model.item(i).isEnabled())
            for i in range(box.count())]


def test_each_gpu_is_an_entry_and_choosing_one_trains_on_it(trainer):
    window, c, _ = trainer
    with fake_gpus(TWO):
        c.set_devices(find_devices())
    box = c.panel.settings.device
    assert entries(box) == [
        ("auto", "Automatic", True), ("cuda", "CUDA GPU", True),
        ("cuda:0", "GPU 0 · NVIDIA H100 80GB HBM3 · 79 GiB", True),
        ("cuda:1", "GPU 1 · NVIDIA A100-SXM4-40GB · 39 GiB", True),
        ("mps", "Apple MPS", False), ("cpu", "CPU", True)]
    box.setCurrentIndex(box.findData("cuda:1"))
    assert c.panel.settings.config(window.document.graph).device == "cuda:1"
    assert "CUDA 1: NVIDIA A100-SXM4-40GB, 39.4 GiB" in c.panel.settings.device_info.text()


def test_without_gpus_only_the_plain_entries_are_offered(trainer):
    _, c, _ = trainer
    with fake_gpus([]):
        c.set_devices(find_devices())
    box = c.panel.settings.device
    assert [d for d, _, _ in entries(box)] == ["auto", "cuda", "mps", "cpu"]
    cuda = box.model().item(box.findData("cuda"))
    assert not cuda.isEnabled() and "no CUDA GPU" in cuda.toolTip()


def test_a_saved_gpu_the_machine_lacks_stays_chosen_greyed_and_explained(qtbot):
    settings = TrainingSettings(TrainingPrompts(), UNKNOWN_DEVICES)
    qtbot.addWidget(settings)
    changes = []
    settings.changed.connect(lambda: changes.append(1))
    settings.set_config(TrainConfig(device="cuda:1"))  # opened before torch has loaded
    box = settings.device
    assert box.currentData() == "cuda:1" and box.currentText() == "GPU 1"
    changes.clear()
    with fake_gpus(TWO[:1]):
        settings.set_devices(find_devices())  # torch loaded: one GPU here
    assert box.currentData() == "cuda:1" and changes == []  # kept, not silently changed
    assert box.currentText() == "GPU 1 (not on this machine)"
    assert not box.model().item(box.currentIndex()).isEnabled()
    assert "does not have" in box.toolTip() and "GPU 0 · NVIDIA H100 80GB HBM3" in box.toolTip()
    assert box.findData("cuda:0") >= 0
    with fake_gpus(TWO):
        settings.set_devices(find_devices())  # the same project where the GPU is
    assert box.currentText() == "GPU 1 · NVIDIA A100-SXM4-40GB · 39 GiB" and box.toolTip() \
        == "Train on cuda:1"
    assert box.model().item(box.currentIndex()).isEnabled()
    assert [d for d, _, _ in entries(box)].count("cuda:1") == 1


def test_the_gpu_line_shows_memory_and_utilisation_and_nothing_on_the_cpu(trainer, qtbot):
    window, c, _ = trainer
    configure(window, epochs=1, train_size=16)
    assert c.start()
    end = wait_finished(qtbot, c)
    assert end.status == "finished", end.message
    panel = c.panel
    assert c.start_record.device == "cpu"
    assert panel.gpu.isHidden() and not panel._gpu_timer.isActive()  # a CPU run: no line
    with fake_gpus(TWO) as fake:
        fake.memory_of[1] = (int(3.14 * GIB), 4 * GIB, int(5.2 * GIB))
        fake.utilisation_of[1] = 97
        panel.run_started(dataclasses.replace(c.start_record, device="cuda:1"))
        assert fake.resets == [1]  # the peak shown is this run's
        assert panel.gpu.text() == "GPU 1: 3.1 / 39 GiB (peak 3.1) · 97 %"
        fake.memory_of[1] = (int(3.14 * GIB), 4 * GIB, int(5.2 * GIB))
        panel._gpu_timer.timeout.emit()
        assert panel.gpu.text() == "GPU 1: 3.1 / 39 GiB (peak 5.2) · 97 %"
        assert not panel.gpu.isHidden() and panel._gpu_timer.isActive()
        assert panel._gpu_timer.interval() == GPU_MS >= 500  # at most twice a second
        fake.memory_of[1] = (int(7.0 * GIB), 8 * GIB, int(7.5 * GIB))
        fake.utilisation_of[1] = None  # NVML gone: no utilisation shown
        panel._gpu_timer.timeout.emit()
        assert panel.gpu.text() == "GPU 1: 7.0 / 39 GiB (peak 7.5)"
        panel.run_ended()
        assert not panel._gpu_timer.isActive() and panel.gpu.text().startswith("GPU 1: 7.0")
        assert fake.resets == [1]  # the end keeps the run's peak
        panel.run_started(c.start_record)  # the next run on the CPU
        assert panel.gpu.isHidden() and not panel._gpu_timer.isActive()
