"""torchvision datasets: clear errors when files are missing, and MNIST from tiny idx files.

Nothing here downloads: roots are temporary folders, and the one download test replaces
torchvision's download method with one that fails as an offline machine does.
"""

from __future__ import annotations

import gzip
import os
import random
import struct

import pytest
import torch
from torchvision import datasets

from resnet_studio.data import DataConfig, DataError, load_data
from resnet_studio.data.torchvision_sets import SETS


def _idx(path, tensor: torch.Tensor, compress: bool) -> None:
    """Write ``tensor`` (uint8) in the IDX format torchvision's MNIST reader expects."""
    header = struct.pack(">BBBB", 0, 0, 0x08, tensor.dim())
    header += b"".join(struct.pack(">I", d) for d in tensor.shape)
    data = header + tensor.numpy().tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def _write_mnist(root, folder="MNIST", train=20, test=10, compress=True):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    gen = torch.Generator().manual_seed(0)
    splits = {}
    for prefix, count in (("train", train), ("t10k", test)):
        images = torch.randint(0, 256, (count, 28, 28), generator=gen, dtype=torch.uint8)
        labels = (torch.arange(count) % 10).to(torch.uint8)
        _idx(raw / f"{prefix}-images-idx3-ubyte", images, compress)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", labels, compress)
        splits[prefix] = (images, labels)
    return splits


def _denormalise(x: torch.Tensor, info) -> torch.Tensor:
    return (x * info.std[0] + info.mean[0]).mul(255).round().squeeze(1)


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_loads_from_local_idx_files(tmp_path, compress):
    splits = _write_mnist(tmp_path, compress=compress)
    cfg = DataConfig(dataset="mnist", root=str(tmp_path), augment=False)
    bundle = load_data(cfg, 5)
    info = bundle.info
    assert (info.channels, info.height, info.width, info.classes) == (1, 28, 28, 10)
    assert (info.train_size, info.val_size) == (20, 10)
    assert info.mean == (0.1307,) and info.std == (0.3081,) and info.name == "MNIST"
    xs, ys = zip(*bundle.val.epoch(0), strict=True)
    images, labels = splits["t10k"]
    assert torch.equal(torch.cat(ys), labels.long())
    assert torch.equal(_denormalise(torch.cat(xs), info), images.float())
    x, _ = next(bundle.train.epoch(0))
    order = bundle.train.order(0)[:5]
    assert torch.equal(_denormalise(x, info), splits["train"][0][order].float())


def test_digit_sets_do_not_flip_by_default(tmp_path):
    _write_mnist(tmp_path)
    _write_mnist(tmp_path, folder="FashionMNIST")
    mnist = DataConfig(dataset="mnist", root=str(tmp_path))
    assert not load_data(mnist, 4).train.augment.flip
    assert load_data(mnist.replace(flip=True), 4).train.augment.flip
    assert load_data(mnist.replace(dataset="fashion_mnist"), 4).train.augment.flip


@pytest.mark.parametrize("name, folder, wanted", [
    ("mnist", "MNIST/raw", "train-images-idx3-ubyte.gz"),
    ("fashion_mnist", "FashionMNIST/raw", "t10k-labels-idx1-ubyte.gz"),
    ("cifar10", "cifar-10-batches-py", "cifar-10-python.tar.gz"),
    ("cifar100", "cifar-100-python", "cifar-100-python.tar.gz"),
])
def test_missing_files_offline_name_the_files_and_the_folder(tmp_path, name, folder, wanted):
    with pytest.raises(DataError) as err:
        load_data(DataConfig(dataset=name, root=str(tmp_path)), 8)
    message = str(err.value)
    assert f"not found under {tmp_path / folder}" in message
    assert wanted in message and "--download" in message
    assert not (tmp_path / folder).exists()  # nothing was fetched or created


def test_svhn_missing_offline(tmp_path):
    with pytest.raises(DataError) as err:
        load_data(DataConfig(dataset="svhn", root=str(tmp_path)), 8)
    try:
        import scipy  # noqa: F401
    except ImportError:
        assert "scipy" in str(err.value)
    else:
        assert f"SVHN not found under {tmp_path}" in str(err.value)
        assert "train_32x32.mat" in str(err.value)


def test_partly_present_mnist_lists_only_the_missing_files(tmp_path):
    _write_mnist(tmp_path)
    os.remove(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataError) as err:
        load_data(DataConfig(dataset="mnist", root=str(tmp_path)), 4)
    message = str(err.value)
    assert "put t10k-labels-idx1-ubyte.gz there" in message
    assert "train-images" not in message.split("there")[0]


def test_corrupt_files_say_so(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in SETS["cifar10"].files:
        (folder / name).write_bytes(b"not a pickle")
    with pytest.raises(DataError, match=r"cannot read CIFAR-10 from .*corrupted"):
        load_data(DataConfig(dataset="cifar10", root=str(tmp_path)), 4)


def test_truncated_mnist_archive_says_so(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in SETS["mnist"].files:
        (raw / (name + ".gz")).write_bytes(gzip.compress(b"\x00\x00\x08\x03")[:12])
    with pytest.raises(DataError, match=f"MNIST .*{raw}"):
        load_data(DataConfig(dataset="mnist", root=str(tmp_path)), 4)


def test_failed_download_is_a_data_error(tmp_path, monkeypatch):
    def offline(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no network")

    monkeypatch.setattr(datasets.MNIST, "download", offline)
    with pytest.raises(DataError, match=r"downloading MNIST into .*MNIST/raw failed \(Error down"):
        load_data(DataConfig(dataset="mnist", root=str(tmp_path), download=True), 4)


def test_broken_archive_leaves_no_partial_file(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    noise = random.Random(0).randbytes(5000)  # incompressible, so the cut is mid-stream
    (raw / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(noise)[:1000])
    with pytest.raises(DataError, match=f"cannot unpack the MNIST archive in {raw}"):
        load_data(DataConfig(dataset="mnist", root=str(tmp_path)), 4)
    assert sorted(os.listdir(raw)) == ["train-images-idx3-ubyte.gz"]
