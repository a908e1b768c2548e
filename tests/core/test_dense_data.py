"""Dense-task data: the synthetic shapes, transforms that move boxes and masks, the datasets.

Expected boxes are computed by hand in pixel-edge coordinates (a box [2, 3, 10, 12] covers
columns 2…9 and rows 3…11).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from resnet_studio.data import DataError
from resnet_studio.data.dense import (
    IGNORE,
    DenseAugment,
    DenseSample,
    ShapesDataset,
    augment_sample,
    collate_detection,
    collate_segmentation,
    crop,
    draw_shapes,
    fit_sample,
    hflip,
    resize,
    split_indices,
)


def _bbox(plane: np.ndarray) -> list[float]:
    """Tight pixel-edge box of a mask plane, computed independently of the code under test."""
    rows, cols = np.argwhere(plane).T
    return [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def _sample(height=32, width=32, boxes=((2, 3, 10, 12),), labels=(1,), with_masks=True):
    """A sample whose image and masks hold each box's pixels (value k+1 for box k)."""
    image = np.zeros((height, width, 3), np.uint8)
    mask = np.zeros((height, width), np.uint8)
    planes = np.zeros((len(boxes), height, width), np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        image[y1:y2, x1:x2] = (10 * (k + 1), 20, 30)
        mask[y1:y2, x1:x2] = labels[k]
        planes[k, y1:y2, x1:x2] = 1
    return DenseSample(image, np.array(boxes, np.float32), np.array(labels, np.int64),
                       mask if with_masks else None, planes if with_masks else None, "test")


def _check_consistent(sample: DenseSample) -> None:
    """Every box is the tight box of its instance mask, whose pixels carry its label."""
    assert len(sample.boxes) == len(sample.labels) == len(sample.masks)
    for box, label, plane in zip(sample.boxes, sample.labels, sample.masks):
        assert box.tolist() == _bbox(plane)
        assert (sample.mask[plane.astype(bool)] == label).all()
    covered = sample.masks.sum(0)
    assert covered.max() <= 1
    assert np.isin(sample.mask[covered == 0], (0, IGNORE)).all()


# ----- synthetic shapes -----------------------------------------------------------------------
def test_shapes_are_deterministic_for_a_seed_and_differ_across_seeds():
    a, b, c = draw_shapes(5, seed=3), draw_shapes(5, seed=3), draw_shapes(5, seed=4)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.boxes, b.boxes)
    assert np.array_equal(a.mask, b.mask) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.image, c.image)
    assert not np.array_equal(draw_shapes(6, seed=3).image, a.image)


def test_shape_boxes_are_the_tight_boxes_of_their_masks():
    counts, labels = set(), set()
    for i in range(60):
        s = draw_shapes(i, seed=1)
        assert s.image.shape == (64, 64, 3) and s.image.dtype == np.uint8
        assert s.boxes.dtype == np.float32 and s.labels.dtype == np.int64
        _check_consistent(s)
        assert ((s.mask == 0) == (s.masks.sum(0) == 0)).all()  # background is 0 elsewhere
        counts.add(len(s.labels))
        labels |= set(s.labels.tolist())
    assert counts == {1, 2, 3} and labels == {1, 2, 3}


def test_shapes_keep_apart_and_stand_off_the_background():
    for i in range(40):
        s = draw_shapes(i, seed=2, height=48, width=80)
        assert s.image.shape == (48, 80, 3)
        boxes = s.boxes
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                apart_x = boxes[a, 2] < boxes[b, 0] or boxes[b, 2] < boxes[a, 0]
                apart_y = boxes[a, 3] < boxes[b, 1] or boxes[b, 3] < boxes[a, 1]
                assert apart_x or apart_y
        inside = s.image[s.mask > 0].astype(float).mean(0)
        outside = s.image[s.mask == 0].astype(float).mean(0)
        assert np.abs(inside - outside).sum() > 40


def test_each_label_names_its_shape_by_how_much_of_its_box_it_fills():
    fills: dict[int, list[float]] = {1: [], 2: [], 3: []}
    for i in range(60):
        s = draw_shapes(i, seed=0)
        for box, label, plane in zip(s.boxes, s.labels, s.masks):
            area = (box[2] - box[0]) * (box[3] - box[1])
            fills[int(label)].append(plane.sum() / area)
    assert min(fills[1]) == 1.0  # square
    assert all(0.7 < f < 0.86 for f in fills[2])  # disc: π/4
    assert all(0.4 < f < 0.65 for f in fills[3])  # triangle: about a half


def test_shapes_validation_split_is_another_stream_of_the_same_seed():
    train, val = draw_shapes(2, seed=9), draw_shapes(2, seed=9, split="val")
    assert not np.array_equal(train.image, val.image)
    assert np.array_equal(val.image, draw_shapes(2, seed=9, split="val").image)


def test_shapes_refuse_a_bad_size_split_or_count():
    with pytest.raises(DataError, match="height must be a whole number between 16 and 512"):
        draw_shapes(0, height=8)
    with pytest.raises(DataError, match="split must be one of train, val, not 'test'"):
        draw_shapes(0, split="test")
    with pytest.raises(DataError, match="seed must be a whole number ≥ 0, not -1"):
        draw_shapes(0, seed=-1)
    with pytest.raises(DataError, match="count must be a whole number ≥ 1, not 0"):
        ShapesDataset(count=0)
    with pytest.raises(DataError, match=r"channels 1 or 3.*not \(2, 32, 32\)"):
        ShapesDataset(count=2, shape=(2, 32, 32))


def test_split_indices_are_seeded_disjoint_and_cover_every_item():
    train, val = split_indices(50, 0.2, seed=3)
    assert len(val) == 10 and sorted(train + val) == list(range(50))
    assert (train, val) == split_indices(50, 0.2, seed=3)
    assert val != split_indices(50, 0.2, seed=4)[1]
    assert split_indices(3, 0.01, seed=0)[1] != [] and split_indices(3, 0.99, 0)[0] != []
    with pytest.raises(DataError, match="at least two images"):
        split_indices(1, 0.5, 0)


# ----- fitting --------------------------------------------------------------------------------
def test_resize_scales_boxes_by_each_axis_and_masks_by_nearest():
    s = _sample(height=20, width=40, boxes=((4, 2, 12, 8),))
    out = resize(s, 10, 10)  # x × 0.25, y × 0.5
    assert out.boxes.tolist() == [[1, 1, 3, 4]]
    assert out.image.shape == (10, 10, 3) and out.mask.shape == (10, 10)
    assert out.masks.shape == (1, 10, 10)
    ids = np.arange(16, dtype=np.uint8).reshape(4, 4)
    small = resize(DenseSample(np.zeros((4, 4, 3), np.uint8), *_no_boxes(), mask=ids), 2, 2)
    assert small.mask.tolist() == [[5, 7], [13, 15]]  # the source pixel under each centre
    big = resize(DenseSample(np.zeros((2, 2, 3), np.uint8), *_no_boxes(), mask=ids[:2, :2]), 4, 4)
    assert big.mask.tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [4, 4, 5, 5], [4, 4, 5, 5]]


def _no_boxes():
    return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)


def test_fit_converts_channels_and_size():
    s = _sample(height=16, width=16, boxes=((2, 2, 6, 6),))
    s = s.with_(image=np.full((16, 16, 3), (255, 0, 0), np.uint8))
    grey = fit_sample(s, (1, 32, 32))
    assert grey.image.shape == (32, 32, 1) and (grey.image == 76).all()  # 0.299 · 255
    assert grey.boxes.tolist() == [[4, 4, 12, 12]]
    back = fit_sample(grey, (3, 32, 32))
    assert back.image.shape == (32, 32, 3) and (back.image == 76).all()


# ----- flip and crop --------------------------------------------------------------------------
def test_flip_mirrors_boxes_masks_and_pixels():
    s = _sample()
    out = hflip(s)
    assert out.boxes.tolist() == [[22, 3, 30, 12]]
    assert out.mask[3:12, 22:30].all() and out.mask.sum() == s.mask.sum()
    assert _bbox(out.masks[0]) == [22, 3, 30, 12]
    assert (out.image[5, 29] == s.image[5, 2]).all() and (out.image[5, 1] == 0).all()
    assert np.array_equal(hflip(out).image, s.image)


def test_crop_shifts_boxes_by_the_padding_and_pads_masks_with_ignore():
    s = _sample()
    out = crop(s, 4, 0, 0)  # the window starts 4 pixels before the image
    assert out.boxes.tolist() == [[6, 7, 14, 16]]
    assert (out.mask[:4] == IGNORE).all() and (out.mask[:, :4] == IGNORE).all()
    assert np.array_equal(out.mask[4:, 4:], s.mask[:28, :28])
    assert (out.image[:4] == 0).all() and np.array_equal(out.image[4:, 4:], s.image[:28, :28])
    assert _bbox(out.masks[0]) == [6, 7, 14, 16]


def test_crop_clips_a_box_at_the_window_edge():
    out = crop(_sample(with_masks=False), 4, 8, 8)  # shift −4 in both axes
    assert out.boxes.tolist() == [[0, 0, 6, 8]]
    assert out.labels.tolist() == [1]


def test_a_box_cropped_away_is_dropped_with_its_label_and_mask():
    s = _sample(boxes=((0, 0, 3, 3), (2, 3, 10, 12), (20, 20, 30, 30)), labels=(3, 1, 2))
    out = crop(s, 4, 8, 8)
    assert out.boxes.tolist() == [[0, 0, 6, 8], [16, 16, 26, 26]]
    assert out.labels.tolist() == [1, 2]
    assert len(out.masks) == 2 and _bbox(out.masks[1]) == [16, 16, 26, 26]


def test_a_box_left_with_less_than_a_pixel_is_dropped():
    s = DenseSample(np.zeros((32, 32, 3), np.uint8), np.array([[0, 0, 4.5, 10]], np.float32),
                    np.array([2], np.int64))
    assert len(crop(s, 4, 8, 8).boxes) == 0  # 0.5 px wide after the crop
    assert crop(s, 4, 8, 7).boxes.tolist() == [[0, 0, 1.5, 6]]  # x − 3, y − 4


def test_crop_tightens_boxes_to_the_visible_part_of_each_shape():
    rng = np.random.default_rng(0)
    for i in range(30):
        s = draw_shapes(i, seed=7, height=32, width=32)
        top, left = (int(v) for v in rng.integers(0, 17, 2))
        out = crop(s, 8, top, left)
        planes = np.pad(s.masks, ((0, 0), (8, 8), (8, 8)))[:, top:top + 32, left:left + 32]
        visible = planes.reshape(len(planes), -1).any(1)
        assert out.labels.tolist() == s.labels[visible].tolist()
        _check_consistent(out)


def test_augmentation_is_seeded_and_keeps_boxes_on_their_shapes():
    aug = DenseAugment(crop_padding=6, flip=True)
    for i in range(30):
        s = draw_shapes(i, seed=5, height=40, width=40)
        a = augment_sample(s, aug, np.random.default_rng(i))
        b = augment_sample(s, aug, np.random.default_rng(i))
        assert np.array_equal(a.image, b.image) and np.array_equal(a.boxes, b.boxes)
        _check_consistent(a)
    assert aug.describe() == "random crop (padding 6), horizontal flip"
    only_flip = [augment_sample(_sample(), DenseAugment(flip=True), np.random.default_rng(k))
                 for k in range(12)]
    outcomes = {tuple(o.boxes[0].tolist()) for o in only_flip}
    assert outcomes == {(2, 3, 10, 12), (22, 3, 30, 12)}


# ----- datasets -------------------------------------------------------------------------------
def test_shapes_dataset_serves_normalised_tensors_and_torchvision_targets():
    data = ShapesDataset(count=12, shape=(3, 32, 32), seed=4)
    image, target = data[3]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
    raw = draw_shapes(3, 4, 32, 32)
    mean, std = torch.tensor(data.mean).view(3, 1, 1), torch.tensor(data.std).view(3, 1, 1)
    pixels = ((image * std + mean) * 255).round().to(torch.uint8)
    assert torch.equal(pixels, torch.from_numpy(raw.image).permute(2, 0, 1))
    assert target["boxes"].dtype == torch.float32 and target["labels"].dtype == torch.int64
    assert target["boxes"].tolist() == raw.boxes.tolist()
    assert target["masks"].shape == (len(raw.labels), 32, 32)
    assert target["mask"].dtype == torch.int64 and int(target["image_id"]) == 3
    assert data.class_names == ("background", "square", "disc", "triangle")
    assert abs(image.mean().item()) < 0.5  # normalised by the set's own statistics


def test_shapes_dataset_items_do_not_depend_on_order_or_length_and_change_by_epoch():
    aug = DenseAugment(crop_padding=4, flip=True)
    a = ShapesDataset(count=8, shape=(3, 32, 32), augment=aug, mean=(0.5,) * 3, std=(0.25,) * 3)
    b = ShapesDataset(count=40, shape=(3, 32, 32), augment=aug, mean=(0.5,) * 3, std=(0.25,) * 3)
    first = a[5][0]
    a[1]
    assert torch.equal(first, a[5][0]) and torch.equal(first, b[5][0])
    a.set_epoch(1)
    assert any(not torch.equal(ShapesDataset(8, (3, 32, 32), augment=aug)[i][1]["boxes"],
                               a[i][1]["boxes"]) for i in range(8))
    assert a.mean == (0.5,) * 3
    with pytest.raises(IndexError):
        a[8]


def test_grey_shapes_and_collate():
    data = ShapesDataset(count=4, shape=(1, 24, 24))
    batch = [data[i] for i in range(3)]
    images, targets = collate_detection(batch)
    assert [tuple(i.shape) for i in images] == [(1, 24, 24)] * 3
    assert [int(t["image_id"]) for t in targets] == [0, 1, 2]
    x, y = collate_segmentation(batch)
    assert x.shape == (3, 1, 24, 24) and y.shape == (3, 24, 24) and y.dtype == torch.int64
    assert torch.equal(y[1], batch[1][1]["mask"])


def test_a_dataset_survives_pickling_for_dataloader_workers():
    data = ShapesDataset(count=6, shape=(3, 32, 32), augment=DenseAugment(crop_padding=2))
    data.set_epoch(2)
    copy = pickle.loads(pickle.dumps(data))
    image, target = copy[4]
    assert torch.equal(image, data[4][0]) and torch.equal(target["boxes"], data[4][1]["boxes"])
