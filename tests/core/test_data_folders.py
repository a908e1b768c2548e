"""Image folders (ImageFolder layout) written by the tests with PIL."""

from __future__ import annotations

import os

import pytest
import torch
from PIL import Image

from resnet_studio.data import DataConfig, DataError, load_data
from resnet_studio.data.folders import load_folder

CLASSES = {"cat": (200, 30, 30), "dog": (30, 200, 30), "owl": (30, 30, 200)}


def _write(folder, per_class: int, classes=CLASSES, size=(12, 10)) -> list[str]:
    """Solid-colour PNGs; the green channel encodes the image number so images differ."""
    written = []
    for name, (r, _, b) in classes.items():
        os.makedirs(folder / name, exist_ok=True)
        for i in range(per_class):
            path = folder / name / f"{i:03d}.png"
            Image.new("RGB", size, (r, 10 + 20 * i, b)).save(path)
            written.append(str(path))
    return written


def _cfg(path, **kw) -> DataConfig:
    base = {"dataset": f"folder:{path}", "image_size": 8, "val_fraction": 0.34,
            "crop_padding": 2, "workers": 0}
    return DataConfig(**{**base, **kw})


def _pixels(bundle, split) -> tuple[torch.Tensor, torch.Tensor]:
    """All images of an unaugmented split, back as 0..255 values, and their labels."""
    xs, ys = zip(*getattr(bundle, split).epoch(0), strict=True)
    mean = torch.tensor(bundle.info.mean).view(1, -1, 1, 1)
    std = torch.tensor(bundle.info.std).view(1, -1, 1, 1)
    return (torch.cat(xs) * std + mean).mul(255).round(), torch.cat(ys)


def test_fraction_split_is_stratified_and_disjoint(tmp_path):
    written = _write(tmp_path, 6)
    source, _ = load_folder(_cfg(tmp_path))
    assert source.class_names == ["cat", "dog", "owl"]
    assert torch.bincount(source.val.labels).tolist() == [2, 2, 2]  # round(6 × 0.34)
    assert set(source.train.files).isdisjoint(source.val.files)
    assert sorted(source.train.files + source.val.files) == sorted(written)
    other, _ = load_folder(_cfg(tmp_path, seed=1))
    assert other.val.files != source.val.files
    assert load_folder(_cfg(tmp_path))[0].val.files == source.val.files


def test_folder_images_load_resized_with_their_colours(tmp_path):
    _write(tmp_path, 4)
    bundle = load_data(_cfg(tmp_path, val_fraction=0.25), 2)
    info = bundle.info
    assert (info.channels, info.height, info.width, info.classes) == (3, 8, 8, 3)
    assert (info.train_size, info.val_size, info.in_memory) == (9, 3, True)
    pixels, labels = _pixels(bundle, "val")
    for image, label in zip(pixels, labels, strict=True):
        red, _, blue = CLASSES[info.class_names[label]]
        assert torch.all(image[0] == red) and torch.all(image[2] == blue)


def test_grey_folder_images(tmp_path):
    _write(tmp_path, 3)
    bundle = load_data(_cfg(tmp_path, channels=1), 2)
    x, _ = next(bundle.val.epoch(0))
    assert x.shape == (2, 1, 8, 8) and len(bundle.info.mean) == 1


def test_separate_validation_folder(tmp_path):
    _write(tmp_path / "train", 4)
    _write(tmp_path / "holdout", 2, {"owl": CLASSES["owl"], "dog": CLASSES["dog"]})
    bundle = load_data(_cfg(tmp_path / "train", val_folder=str(tmp_path / "holdout")), 4)
    assert (bundle.info.train_size, bundle.info.val_size) == (12, 4)
    pixels, labels = _pixels(bundle, "val")
    assert labels.tolist() == [1, 1, 2, 2]  # dog and owl keep the training folder's indices
    assert torch.all(pixels[:, 2] == torch.tensor([30, 30, 200, 200]).view(4, 1, 1))


def test_train_and_val_sub_folders_are_used_as_the_split(tmp_path):
    _write(tmp_path / "train", 3)
    _write(tmp_path / "val", 1)
    bundle = load_data(_cfg(tmp_path), 3)
    assert bundle.info.class_names == ["cat", "dog", "owl"]
    assert (bundle.info.train_size, bundle.info.val_size) == (9, 3)


def test_validation_folder_with_an_unknown_class(tmp_path):
    _write(tmp_path / "train", 2)
    _write(tmp_path / "val", 1, {"eel": (1, 2, 3)})
    with pytest.raises(DataError, match=r"validation folder .*val has classes .*: eel"):
        load_data(_cfg(tmp_path / "train", val_folder=str(tmp_path / "val")), 2)


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(DataError, match=f"image folder {tmp_path / 'nowhere'} does not exist"):
        load_data(_cfg(tmp_path / "nowhere"), 2)


def test_folder_without_class_folders_is_named(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "loose.png")
    with pytest.raises(DataError, match=f"image folder {tmp_path} has no class sub-folders"):
        load_data(_cfg(tmp_path), 2)


def test_class_folder_without_images_is_named(tmp_path):
    _write(tmp_path, 2)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=f"class folder {tmp_path / 'empty'} holds no images"):
        load_data(_cfg(tmp_path), 2)


def test_class_with_one_image_cannot_be_split(tmp_path):
    _write(tmp_path, 1)
    with pytest.raises(DataError, match="class folder 'cat' has a single image"):
        load_data(_cfg(tmp_path), 1)


@pytest.mark.parametrize("in_memory", [True, False])
def test_unreadable_image_is_named(tmp_path, in_memory):
    _write(tmp_path, 3)
    broken = tmp_path / "dog" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    cfg = _cfg(tmp_path, in_memory=in_memory, val_folder=str(tmp_path))
    with pytest.raises(DataError, match=f"cannot read image {broken}"):
        bundle = load_data(cfg, 4)
        list(bundle.train.epoch(0))
        list(bundle.val.epoch(0))


def test_streamed_batches_equal_in_memory_batches(tmp_path):
    _write(tmp_path, 5)
    cfg = _cfg(tmp_path, cutout=3, color_jitter=0.2)
    memory, streamed = load_data(cfg, 3), load_data(cfg.replace(in_memory=False), 3)
    assert memory.info.in_memory and not streamed.info.in_memory
    assert memory.info.mean == pytest.approx(streamed.info.mean, abs=1e-4)
    for split in ("train", "val"):
        a, b = getattr(memory, split), getattr(streamed, split)
        assert len(a) == len(b)
        for (x1, y1), (x2, y2) in zip(a.epoch(1), b.epoch(1), strict=True):
            assert torch.equal(y1, y2) and torch.allclose(x1, x2, atol=1e-5)


def test_streamed_batches_resume_and_use_worker_processes(tmp_path):
    _write(tmp_path, 5)
    cfg = _cfg(tmp_path, in_memory=False, workers=1)
    bundle = load_data(cfg, 2)
    full = list(bundle.train.epoch(0))
    tail = list(bundle.train.epoch(0, start_batch=3))
    assert len(tail) == len(full) - 3
    assert all(torch.equal(x1, x2) and torch.equal(y1, y2)
               for (x1, y1), (x2, y2) in zip(full[3:], tail, strict=True))


def test_streamed_unreadable_image_is_named_from_a_worker(tmp_path):
    _write(tmp_path / "train", 3)
    _write(tmp_path / "val", 1)
    broken = tmp_path / "val" / "owl" / "zz.png"
    broken.write_bytes(b"garbage")
    bundle = load_data(_cfg(tmp_path, in_memory=False, workers=1), 2)
    with pytest.raises(DataError) as err:
        list(bundle.val.epoch(0))
    assert str(err.value).startswith(f"cannot read image {broken}")


def test_memory_limit_decides_the_path(tmp_path):
    _write(tmp_path, 2)
    assert load_data(_cfg(tmp_path), 1).info.in_memory
    assert not load_data(_cfg(tmp_path, memory_limit_gib=1e-9), 1).info.in_memory
