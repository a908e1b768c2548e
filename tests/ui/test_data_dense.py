"""The Data workspace and the training settings on dense sets: the built-in shapes for
detection and segmentation, a COCO folder and an image + mask folder are offered; their
samples show with boxes or masks drawn; a set whose task is not the network's is refused in
one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_data_workspace import FolderPrompts, _loaded, _settings

from resnet_studio.data import load_data
from resnet_studio.train.config import ConfigError
from resnet_studio.ui.data.dense_samples import _rgb, draw_boxes, draw_mask
from resnet_studio.ui.shell.examples_menu import action_key

SHAPES = ["background", "square", "disc", "triangle"]


def _example(make_window, name: str, prompts=None):
    window = make_window(None, prompts) if prompts else make_window()
    window.actions[action_key(name)].trigger()
    s = _settings(window)
    s.train_size.setValue(24)
    s.val_size.setValue(16)
    return window, s


def _has_colour(image: np.ndarray, class_id: int) -> bool:
    return bool(np.isclose(image, _rgb(class_id), atol=1e-6).all(axis=2).any())


def test_the_dense_sets_are_offered_by_name(window):
    s = _settings(window)
    titles = {s.dataset.itemData(i): s.dataset.itemText(i) for i in range(s.dataset.count())}
    assert titles["shapes-detection"] == "Shapes — detection (built-in)"
    assert titles["shapes-segmentation"] == "Shapes — segmentation (built-in)"
    assert titles["coco"].startswith("COCO") and titles["masks"].startswith("Image + mask")


def test_boxes_outline_their_pixels_and_masks_tint_theirs():
    image = np.zeros((8, 8, 1))
    drawn = draw_boxes(image, np.array([[1.0, 2.0, 5.0, 6.0]]), np.array([2]))
    outline = np.zeros((8, 8), bool)
    outline[2, 1:5] = outline[5, 1:5] = outline[2:6, 1] = outline[2:6, 4] = True
    assert drawn.shape == (8, 8, 3)
    assert (np.isclose(drawn, _rgb(2)).all(axis=2) == outline).all()
    mask = np.zeros((8, 8), np.int64)
    mask[0, 0], mask[1, 1] = 3, 255
    tinted = draw_mask(np.ones((8, 8, 3)), mask)
    assert not np.allclose(tinted[0, 0], 1) and np.allclose(tinted[1:, 1:], 1)


def _check_common(window, samples) -> None:
    assert samples.class_names == SHAPES and samples.shape == (3, 64, 64)
    assert len(samples.grid) == 16 and len(samples.augmented) == 8
    assert all(image.shape == (64, 64, 3) for image, _ in samples.grid)
    table = window.data.view.counts
    assert [table.item(r, 1).text() for r in range(4)] == ["—"] * 4
    assert "drawn in each class's colour" in window.data.view.status.text()


def test_the_detection_shapes_show_their_boxes(make_window, qtbot):
    window, s = _example(make_window, "shapes_detector")
    assert s.dataset.currentData() == "shapes-detection"
    window.show_workspace("data")
    samples = _loaded(window, qtbot)
    _check_common(window, samples)
    for image, caption in samples.grid:
        for class_id, class_name in enumerate(SHAPES[1:], 1):  # outlined where named
            assert _has_colour(image, class_id) == (class_name in caption.split(", "))


def test_the_segmentation_shapes_show_their_masks(make_window, qtbot):
    window, s = _example(make_window, "shapes_segmenter")
    assert s.dataset.currentData() == "shapes-segmentation"
    window.show_workspace("data")
    samples = _loaded(window, qtbot)
    _check_common(window, samples)
    bundle = load_data(s.data_config(window.document.graph), batch_size=16, target=(3, 64, 64))
    x, masks = next(iter(bundle.val.epoch(0)))
    mean = torch.tensor(bundle.info.mean).view(1, -1, 1, 1)
    std = torch.tensor(bundle.info.std).view(1, -1, 1, 1)
    raw = (x * std + mean).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    for (image, caption), plain, mask in zip(samples.grid, raw, masks.numpy()):
        assert np.allclose(image, draw_mask(plain, mask), atol=1e-5)
        assert not np.allclose(image[mask > 0], plain[mask > 0])  # the shapes are tinted
        assert np.allclose(image[mask == 0], plain[mask == 0])
        named = {SHAPES[c] for c in np.unique(mask) if 0 < c < 255}
        assert set(caption.split(", ")) == named


def test_a_dataset_of_another_task_is_refused_in_one_line(make_window):
    window, s = _example(make_window, "shapes_detector")
    s.dataset.setCurrentIndex(s.dataset.findData("shapes-segmentation"))
    with pytest.raises(ConfigError) as caught:
        s.config(window.document.graph)
    line = str(caught.value)
    assert "detection network but dataset ‘shapes-segmentation’ is a segmentation set" in line
    assert "\n" not in line
    assert "is a segmentation set" in window.training.panel.state.text()
    assert not window.data.refresh()
    assert "segmentation set" in window.data.view.status.text()
    s.dataset.setCurrentIndex(s.dataset.findData("synthetic"))
    with pytest.raises(ConfigError, match="classification set"):
        s.config(window.document.graph)
    s.dataset.setCurrentIndex(s.dataset.findData("shapes-detection"))
    assert s.config(window.document.graph).data.dataset == "shapes-detection"


def _coco(root, images=10):
    (root / "images").mkdir(parents=True)
    entries, boxes = [], []
    for i in range(images):
        Image.new("RGB", (40, 40), (30, 30, 30)).save(root / "images" / f"{i}.png")
        entries.append({"id": i + 1, "file_name": f"{i}.png", "width": 40, "height": 40})
        boxes.append({"image_id": i + 1, "bbox": [4, 6, 20, 16], "category_id": 5})
    (root / "annotations.json").write_text(json.dumps(
        {"images": entries, "annotations": boxes, "categories": [{"id": 5, "name": "bolt"}]}))
    return root


def test_a_coco_folder_is_picked_and_its_boxes_shown(make_window, qtbot, tmp_path):
    folder = _coco(tmp_path / "parts")
    prompts = FolderPrompts(str(folder))
    window, s = _example(make_window, "shapes_detector", prompts)
    window.show_workspace("data")
    index = s.dataset.findData("coco")
    s.dataset.setCurrentIndex(index)
    s.dataset.activated.emit(index)
    assert ("directory", "Choose the dataset folder") in prompts.asked
    assert s.data_config(window.document.graph).dataset == "coco:" + str(folder)
    assert "parts" in s.data_summary.text()
    samples = _loaded(window, qtbot)
    assert samples.class_names == ["background", "bolt"]
    assert samples.grid and all(caption == "bolt" for _, caption in samples.grid)
    assert all(_has_colour(image, 1) for image, _ in samples.grid)
    s.set_config(s.config(window.document.graph))  # a saved COCO choice shows again
    assert s.dataset.currentData() == "coco" and s.folder.text() == str(folder)


def test_a_mask_folder_without_a_folder_says_what_to_choose(make_window):
    window, s = _example(make_window, "shapes_segmenter", FolderPrompts(None))
    s.dataset.setCurrentIndex(s.dataset.findData("masks"))
    with pytest.raises(ConfigError, match="images/ and masks/"):
        s.config(window.document.graph)


def _mask_folder(root, images=10):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(images):
        Image.new("RGB", (24, 24), (200, 200, 200)).save(root / "images" / f"{i}.png")
        ids = np.zeros((24, 24), np.uint8)
        ids[4:12, 6:18] = 1
        Image.fromarray(ids, mode="L").save(root / "masks" / f"{i}.png")
    (root / "classes.txt").write_text("background\ncrack\n")
    return root


def test_a_mask_folder_is_picked_and_its_masks_shown(make_window, qtbot, tmp_path):
    folder = _mask_folder(tmp_path / "walls")
    window, s = _example(make_window, "shapes_segmenter", FolderPrompts(str(folder)))
    window.show_workspace("data")
    index = s.dataset.findData("masks")
    s.dataset.setCurrentIndex(index)
    s.dataset.activated.emit(index)
    assert s.data_config(window.document.graph).dataset == "masks:" + str(folder)
    samples = _loaded(window, qtbot)
    assert samples.class_names == ["background", "crack"]
    for image, caption in samples.grid:  # fitted to 64×64: the crack's rows 4…11 → 10…31
        assert caption == "crack"
        assert not np.allclose(image[16, 32], image[48, 32])  # tinted inside, plain outside
        assert np.allclose(image[48, 32], image[60, 4])
