"""benchmarks/gpu_reference.py (the hand-tuned loop) and the measuring parts of
benchmarks/bench_gpu.py: augmentation against a per-image loop, the networks against
independent parameter counts, a step without host reads, and a tiny measured round."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


ref = _load("gpu_reference")
bench = _load("bench_gpu")


# ----- augmentation ---------------------------------------------------------------------------
def augment_one(image: np.ndarray, top: int, left: int, flip: bool, cut_y: int, cut_x: int,
                padding: int, cutout: int, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The textbook version for one C×H×W uint8 image: pad with zeros, crop, mirror the crop,
    normalise, paint a cutout square (clipped at the border) with zeros."""
    c, h, w = image.shape
    padded = np.zeros((c, h + 2 * padding, w + 2 * padding), np.float64)
    padded[:, padding: padding + h, padding: padding + w] = image
    crop = padded[:, top: top + h, left: left + w]
    if flip:
        crop = crop[:, :, ::-1]
    x = (crop / 255.0 - mean) / std
    y0, x0 = max(cut_y - cutout // 2, 0), max(cut_x - cutout // 2, 0)
    y1, x1 = min(cut_y - cutout // 2 + cutout, h), min(cut_x - cutout // 2 + cutout, w)
    x[:, y0:y1, x0:x1] = 0.0
    return x


@pytest.mark.parametrize("cutout", [0, 3, 4])
def test_augmentation_matches_a_per_image_loop(cutout):
    gen = torch.Generator().manual_seed(7)
    n, c, h, w, padding = 12, 3, 7, 9, 2
    images = torch.randint(0, 256, (n, c, h, w), generator=gen, dtype=torch.uint8)
    d = ref.draw(n, h, w, padding, gen)
    # the corners of the ranges, whatever the generator drew: no offset, the largest, the edges
    d = ref.Draw(torch.cat([d.top[:-2], torch.tensor([0, 2 * padding])]),
                 torch.cat([d.left[:-2], torch.tensor([2 * padding, 0])]),
                 torch.cat([d.flip[:-2], torch.tensor([True, False])]),
                 torch.cat([d.cut_y[:-2], torch.tensor([0, h - 1])]),
                 torch.cat([d.cut_x[:-2], torch.tensor([w - 1, 0])]))
    mean, std = np.array([0.4, 0.5, 0.6]), np.array([0.2, 0.25, 0.3])
    got = ref.augment(images, d, padding, cutout,
                      torch.tensor(mean, dtype=torch.float32).view(1, c, 1, 1),
                      torch.tensor(std, dtype=torch.float32).view(1, c, 1, 1))
    assert got.shape == (n, c, h, w) and got.dtype == torch.float32
    for i in range(n):
        want = augment_one(images[i].numpy(), int(d.top[i]), int(d.left[i]), bool(d.flip[i]),
                           int(d.cut_y[i]), int(d.cut_x[i]), padding, cutout,
                           mean.reshape(c, 1, 1), std.reshape(c, 1, 1))
        np.testing.assert_allclose(got[i].numpy(), want, rtol=1e-5, atol=1e-5, err_msg=str(i))


def test_draws_cover_their_ranges():
    gen = torch.Generator().manual_seed(0)
    d = ref.draw(4000, 6, 5, 3, gen)
    assert set(d.top.tolist()) == set(d.left.tolist()) == set(range(7))
    assert set(d.cut_y.tolist()) == set(range(6)) and set(d.cut_x.tolist()) == set(range(5))
    assert 0.45 < d.flip.float().mean().item() < 0.55


# ----- the networks ---------------------------------------------------------------------------
def basic_resnet_parameters(widths, blocks, projection: bool, classes=10, channels=3) -> int:
    """Counted from the architecture's definition: 3×3 convolutions without bias, two BN
    parameters per channel, a 1×1 conv + BN shortcut (projection) or none (option A) where
    the width changes, a linear head."""
    total = 9 * channels * widths[0] + 2 * widths[0]
    inplanes = widths[0]
    for width, count in zip(widths, blocks):
        for _ in range(count):
            total += 9 * inplanes * width + 9 * width * width + 4 * width
            if inplanes != width and projection:
                total += inplanes * width + 2 * width
            inplanes = width
    return total + inplanes * classes + classes


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_resnet20_has_the_papers_027_million_parameters():
    n = count(ref.resnet20(10))
    assert n == basic_resnet_parameters((16, 32, 64), (3, 3, 3), projection=False) == 269_722
    assert round(n / 1e6, 2) == 0.27  # He et al. 2015, Table 6


def test_resnet18_cifar_has_11_17_million_parameters():
    n = count(ref.resnet18_cifar(10))
    assert n == basic_resnet_parameters((64, 128, 256, 512), (2, 2, 2, 2), projection=True)
    assert n == 11_173_962


@pytest.mark.parametrize(("make", "stages"), [
    (ref.resnet18_cifar, [(64, 32), (128, 16), (256, 8), (512, 4)]),
    (ref.resnet20, [(16, 32), (32, 16), (64, 8)])])
def test_output_and_stage_shapes(make, stages):
    model = make(7).eval()
    seen = []
    for index in range(len(stages)):
        getattr(model, f"layer{index + 1}").register_forward_hook(
            lambda _m, _i, out: seen.append(tuple(out.shape[1:])))
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 7)
    assert seen == [(c, s, s) for c, s in stages]


def test_option_a_shortcut_subsamples_and_adds_zero_channels():
    block = ref.BasicBlock(4, 8, 2, "zero_pad").eval()
    assert block.downsample is None
    with torch.no_grad():
        block.bn2.weight.zero_()  # the residual branch adds nothing: only the shortcut shows
        x = torch.randn(2, 4, 6, 6)
        out = block(x)
    assert torch.equal(out[:, :4], torch.relu(x[:, :, ::2, ::2]))
    assert not out[:, 4:].any()


# ----- the loop -------------------------------------------------------------------------------
def tiny_set(n: int = 16) -> object:
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, 3, 8, 8), generator=gen, dtype=torch.uint8)
    labels = torch.randint(0, 10, (n,), generator=gen)
    return ref.TrainSet(images, labels, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


def tiny_network(classes: int = 10) -> torch.nn.Module:
    return ref.CifarResNet((4, 8), (1, 1), "zero_pad", classes)


def test_a_step_reads_nothing_back_from_the_device(monkeypatch):
    trainer = ref.Trainer(tiny_network(), tiny_set(), 4, precision="fp32")
    before = [p.detach().clone() for p in trainer.model.parameters()]

    def refuse(*_args, **_kwargs):
        raise AssertionError("a host read inside the step")

    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    monkeypatch.setattr(torch.cuda, "synchronize", refuse)
    for _ in range(5):  # past an epoch's end (4 batches), into the next permutation
        trainer.step()
    monkeypatch.undo()
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    assert trainer.loss_sum.item() > 0 and 0 <= trainer.correct.item() <= 20


def test_batches_keep_images_with_their_labels_and_walk_a_permutation_per_epoch():
    n, batch = 12, 4
    labels = torch.tensor([3, 7, 1, 9, 0, 4, 4, 2, 8, 6, 5, 1])
    # channel 0 of image i holds its label, channel 1 its index, everywhere: readable after
    # normalising with mean 0, std 1/255 (no crop offset, flip or cutout to change them)
    images = torch.zeros(n, 3, 4, 4, dtype=torch.uint8)
    images[:, 0] = labels.view(n, 1, 1).to(torch.uint8)
    images[:, 1] = torch.arange(n, dtype=torch.uint8).view(n, 1, 1)
    data = ref.TrainSet(images, labels, (0.0,) * 3, (1 / 255,) * 3)
    trainer = ref.Trainer(tiny_network(), data, batch, precision="fp32", padding=0, cutout=0)
    orders = []
    for _epoch in range(2):
        seen = []
        for _ in range(n // batch):
            x, y = trainer._batch()
            assert torch.equal(x[:, 0].round().long(), y.view(-1, 1, 1).expand(-1, 4, 4))
            index = x[:, 1].round().long()
            assert (index == index[:, :1, :1]).all()
            seen += index[:, 0, 0].tolist()
        assert sorted(seen) == list(range(n))  # every image once per epoch
        orders.append(seen)
    assert orders[0] != orders[1] != list(range(n))  # shuffled, afresh each epoch


def test_a_measured_run_counts_only_the_timed_steps():
    m = ref.Trainer(tiny_network(), tiny_set(), 4, precision="bf16").run(warmup=2, steps=3)
    assert m.images == 12 and m.seconds > 0 and math.isfinite(m.mean_loss)
    assert 0.0 <= m.accuracy <= 1.0


# ----- the bench's measurement ----------------------------------------------------------------
def test_one_interleaved_round_measures_every_side(monkeypatch):
    monkeypatch.setitem(ref.NETWORKS, "tiny", tiny_network)
    sizes = bench.Sizes(batch=4, warmup=1, steps=2)
    bundle = bench.make_bundle(sizes, torch.device("cpu"))
    assert bundle.train.images.dtype == torch.uint8 and len(bundle.train) == 3
    results = bench.measure_group(bench.Variant("tiny", "fp32", False), bundle, sizes, 1)
    assert set(results) == set(bench.SIDES)
    assert all(len(v) == 1 and math.isfinite(v[0]) and v[0] > 0 for v in results.values())
    rows = bench.table_rows(bench.Variant("tiny", "fp32", False), results)
    assert [r[3] for r in rows] == ["on", "off"] and len(rows[0]) == len(bench.HEADER)


def test_the_engine_rate_spans_whole_windows_after_the_warm_up():
    sizes = bench.Sizes(batch=8, warmup=3, steps=5)
    # windows delivered after steps 2, 4, 6 and 8 (the last), at these times
    rate = bench.window_rate({2: 0.0, 4: 1.0, 6: 1.5, 8: 3.0}, sizes)
    assert rate == pytest.approx((8 - 4) * 8 / (3.0 - 1.0))
    with pytest.raises(SystemExit, match="give more --steps"):
        bench.window_rate({2: 0.0, 8: 1.0}, sizes)


def test_time_to_94_percent_of_the_final_accuracy():
    epochs = [SimpleNamespace(epoch=i + 1, val_acc=a, duration=d) for i, (a, d) in
              enumerate([(0.3, 2.0), (0.85, 1.5), (0.95, 1.0), (0.9, 1.0)])]
    final, seconds, epoch = bench.time_to_share(epochs)
    assert (final, epoch) == (0.9, 2)  # 0.85 ≥ 0.94 × 0.9 = 0.846
    assert seconds == pytest.approx(3.5)
    assert bench.time_to_share(epochs, share=0.99)[1:] == (pytest.approx(4.5), 3)
