"""COCO-style detection folders and image + mask segmentation folders, written by the tests."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_studio.data import DataError
from resnet_studio.data.dense import (
    CocoDataset,
    MaskDataset,
    collate_segmentation,
    read_coco,
    read_masks,
)

CATEGORIES = [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}]


def _coco_folder(tmp_path, edit=None, where="annotations.json"):
    """Two images (a.png 32×24, b.png 20×20) and three boxes; ``edit`` changes the JSON."""
    (tmp_path / "images").mkdir()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(tmp_path / "images" / "a.png")
    Image.new("RGB", (20, 20), (10, 200, 10)).save(tmp_path / "images" / "b.png")
    data = {"images": [{"id": 1, "file_name": "a.png", "width": 32, "height": 24},
                       {"id": 2, "file_name": "b.png", "width": 20, "height": 20}],
            "annotations": [{"image_id": 1, "bbox": [2, 3, 8, 9], "category_id": 7},
                            {"image_id": 1, "bbox": [20, 4, 10, 8], "category_id": 3},
                            {"image_id": 1, "bbox": [0, 0, 32, 24], "category_id": 3,
                             "iscrowd": 1}],
            "categories": CATEGORIES}
    if edit:
        edit(data)
    path = tmp_path / where
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_coco_folder_reads_boxes_as_xyxy_with_contiguous_labels(tmp_path):
    _coco_folder(tmp_path)
    coco = read_coco(tmp_path)
    assert coco.class_names == ("background", "dog", "cat")  # category ids 3, 7 → labels 1, 2
    assert coco.category_ids == (3, 7)
    a, b = coco.images
    assert a.file_name == "a.png" and (a.width, a.height) == (32, 24)
    assert a.boxes.tolist() == [[2, 3, 10, 12], [20, 4, 30, 12]]  # the crowd region left out
    assert a.labels.tolist() == [2, 1]
    assert b.boxes.shape == (0, 4) and b.labels.tolist() == []
    sample = coco.load(0)
    assert sample.image.shape == (24, 32, 3) and tuple(sample.image[0, 0]) == (200, 10, 10)


def test_coco_annotations_are_found_in_an_annotations_folder(tmp_path):
    _coco_folder(tmp_path, where="annotations/instances_train.json")
    assert read_coco(tmp_path).annotations.name == "instances_train.json"
    (tmp_path / "annotations" / "instances_val.json").write_text("{}")
    with pytest.raises(DataError, match="holds several JSON files"):
        read_coco(tmp_path)


def test_coco_subset_and_pickled_dataset_keep_the_chosen_images(tmp_path):
    _coco_folder(tmp_path)
    part = read_coco(tmp_path).subset([1])
    assert len(part) == 1 and part.images[0].file_name == "b.png"
    data = pickle.loads(pickle.dumps(CocoDataset(part, (3, 20, 20))))
    assert data[0][0].shape == (3, 20, 20) and data[0][1]["boxes"].shape == (0, 4)


def test_coco_box_overshooting_by_rounding_is_clipped(tmp_path):
    _coco_folder(tmp_path, lambda d: d["annotations"][1].update(bbox=[20, 4, 12.5, 8]))
    assert read_coco(tmp_path).images[0].boxes[1].tolist() == [20, 4, 32, 12]


def _set(index, **changes):
    return lambda d: d["annotations"][index].update(**changes)


BAD_COCO = {
    "box outside": (_set(1, bbox=[30, 4, 10, 8]),
                    "image 'a.png', box 1 (annotations[1], bbox [30, 4, 10, 8]) goes outside "
                    "the 32×24 image"),
    "box at negative x": (_set(0, bbox=[-5, 3, 8, 9]),
                          "image 'a.png', box 0 (annotations[0], bbox [-5, 3, 8, 9]) goes outside"),
    "zero width": (_set(1, bbox=[20, 4, 0, 8]),
                   "image 'a.png', box 1 (annotations[1], bbox [20, 4, 0, 8]) has a width or "
                   "height that is not positive"),
    "unknown category": (_set(1, category_id=5),
                         "image 'a.png', box 1 (annotations[1]): category_id 5 is not in "
                         "'categories' (known: 3, 7)"),
    "bbox not 4 numbers": (_set(0, bbox=[1, 2, 3]),
                           "image 'a.png', box 0 (annotations[0]): bbox must be 4 finite"),
    "unknown image": (_set(0, image_id=9), "annotations[0]: image_id 9 is not in 'images'"),
    "size mismatch": (lambda d: d["images"][0].update(width=40),
                      "image 'a.png' is 32×24 on disk but the annotations say 40×24"),
    "missing file": (lambda d: d["images"][1].update(file_name="c.png"),
                     "image 'c.png': the file"),
    "escaping path": (lambda d: d["images"][1].update(file_name="../b.png"),
                      "images[1].file_name must be a path inside"),
    "no categories": (lambda d: d.update(categories=[]), "'categories' is empty"),
    "images not a list": (lambda d: d.update(images={}), "'images' must be a list, not dict"),
    "duplicate image id": (lambda d: d["images"][1].update(id=1), "image id 1 is listed twice"),
    "bad height": (lambda d: d["images"][0].update(height=0),
                   "images[0] ('a.png').height must be a whole number ≥ 1, not 0"),
}


@pytest.mark.parametrize("case", sorted(BAD_COCO))
def test_bad_coco_data_is_one_line_naming_file_image_and_box(tmp_path, case):
    edit, expected = BAD_COCO[case]
    path = _coco_folder(tmp_path, edit)
    with pytest.raises(DataError) as caught:
        read_coco(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_coco_damaged_json_or_missing_annotations_are_named(tmp_path):
    path = _coco_folder(tmp_path)
    path.write_text('{"images": [')
    with pytest.raises(DataError, match=r"annotations\.json: cannot be read as JSON"):
        read_coco(tmp_path)
    path.unlink()
    with pytest.raises(DataError, match="has no annotations"):
        read_coco(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        read_coco(tmp_path / "nowhere")


def test_coco_dataset_fits_images_and_scales_boxes(tmp_path):
    _coco_folder(tmp_path)
    data = CocoDataset(read_coco(tmp_path), (3, 12, 16))  # a.png: x × 0.5, y × 0.5
    image, target = data[0]
    assert image.shape == (3, 12, 16)
    assert target["boxes"].tolist() == [[1, 1.5, 5, 6], [10, 2, 15, 6]]
    assert target["labels"].tolist() == [2, 1] and "mask" not in target
    assert data[1][1]["boxes"].shape == (0, 4)


# ----- image + mask folders -------------------------------------------------------------------
VOC_PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0, 0, 0] * 251 + [224, 224, 192]


def _ids() -> np.ndarray:
    ids = np.zeros((8, 12), np.uint8)
    ids[1:4, 2:6], ids[5:7, 7:11], ids[0, :] = 1, 2, 255
    return ids


def _mask_folder(tmp_path, palette=True, classes=("background", "cat", "dog"), ids=None,
                 mask_size=None):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.new("RGB", (12, 8), (90, 90, 90)).save(tmp_path / "images" / "one.jpg")
    ids = _ids() if ids is None else ids
    mask = Image.fromarray(ids, mode="L")
    if palette:
        mask = mask.convert("P")
        mask.putpalette(VOC_PALETTE)
    if mask_size:
        mask = mask.resize(mask_size, Image.Resampling.NEAREST)
    mask.save(tmp_path / "masks" / "one.png")
    if classes:
        (tmp_path / "classes.txt").write_text("\n".join(classes) + "\n")
    return tmp_path


@pytest.mark.parametrize("palette", [True, False], ids=["palette", "grey"])
def test_mask_folder_reads_class_ids_from_palette_and_grey_masks(tmp_path, palette):
    masks = read_masks(_mask_folder(tmp_path, palette=palette))
    assert masks.class_names == ("background", "cat", "dog")
    sample = masks.load(0)
    assert sample.mask.tolist() == _ids().tolist()  # indices, not the palette's colours
    assert sample.image.shape == (8, 12, 3)


def test_mask_folder_reads_one_bit_masks_as_background_and_foreground(tmp_path):
    root = _mask_folder(tmp_path, classes=None)
    ids = np.zeros((8, 12), bool)
    ids[2:5, 3:9] = True
    Image.fromarray(ids).save(root / "masks" / "one.png")
    masks = read_masks(root)
    assert masks.class_names == ("background", "class 1")
    assert masks.load(0).mask.tolist() == ids.astype(np.uint8).tolist()


def test_mask_folder_without_class_names_counts_up_to_the_largest_id(tmp_path):
    masks = read_masks(_mask_folder(tmp_path, classes=None))
    assert masks.class_names == ("background", "class 1", "class 2")


def test_mask_dataset_resizes_masks_by_nearest_and_keeps_ignore(tmp_path):
    data = MaskDataset(read_masks(_mask_folder(tmp_path)), (3, 16, 24))  # twice the size
    image, target = data[0]
    expected = np.repeat(np.repeat(_ids(), 2, axis=0), 2, axis=1)
    assert image.shape == (3, 16, 24) and target["mask"].dtype == torch.int64
    assert target["mask"].tolist() == expected.tolist()
    x, y = collate_segmentation([data[0], data[0]])
    assert x.shape == (2, 3, 16, 24) and torch.equal(y[0], target["mask"])


def _rgb_mask(tmp_path):
    Image.new("RGB", (12, 8), (128, 0, 0)).save(tmp_path / "masks" / "one.png")


def _orphan_image(tmp_path):
    Image.new("RGB", (12, 8)).save(tmp_path / "images" / "two.png")


BAD_MASKS = {
    "mask missing": (_orphan_image, {}, "image {root}/images/two.png: its mask "
                                        "{root}/masks/two.png is missing"),
    "wrong size": (None, {"mask_size": (10, 8)}, "mask {root}/masks/one.png is 10×8 but its "
                                                 "image one.jpg is 12×8"),
    "unknown class": (None, {"classes": ("background", "cat")},
                      "mask {root}/masks/one.png (image one.jpg) holds class id 2, but there "
                      "are only 2 classes"),
    "rgb mask": (_rgb_mask, {},
                 "mask {root}/masks/one.png (image one.jpg) is an image of mode RGB"),
    "one class": (None, {"classes": ("background",)}, "classes.txt names 1 class(es)"),
}


@pytest.mark.parametrize("case", sorted(BAD_MASKS))
def test_bad_mask_data_is_one_line_naming_the_file_and_image(tmp_path, case):
    spoil, options, expected = BAD_MASKS[case]
    root = _mask_folder(tmp_path, **options)
    if spoil:
        spoil(root)
    with pytest.raises(DataError) as caught:
        read_masks(root)
    assert "\n" not in str(caught.value)
    assert expected.format(root=root) in str(caught.value)


def test_readers_and_transforms_load_without_torch():
    code = ("import sys\n"
            "from resnet_studio.data.dense import coco, synthetic, transforms, voc\n"
            "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"
