"""A hand-tuned CIFAR training loop in plain PyTorch: the yardstick the engine is measured by.

Written for speed the way the fastest public CIFAR-10 trainers are (airbench,
https://github.com/KellerJordan/cifar10-airbench, is the best known), but on the usual
networks and without their tricks:

- ``resnet18_cifar``: ResNet-18 in the CIFAR layout (He et al. 2015,
  https://arxiv.org/abs/1512.03385, with a 3×3 stride-1 stem and no max-pool), basic blocks
  [2, 2, 2, 2] at widths 64/128/256/512, 1×1 convolution + BN shortcuts where the shape
  changes (torchvision's ``downsample``); 11,173,962 parameters for 10 classes.
- ``resnet20``: He 2015 §4.2, 3×3 stem of 16 and three stages of 3 basic blocks at 16/32/64,
  option-A shortcuts (identity; where the shape changes, stride-2 subsampling with the new
  channels zero-filled, so no parameters), as the paper uses for CIFAR: 272,474 parameters.
- the training images live on the device as uint8 N×C×H×W; each batch is cropped (zero
  padding 4), flipped and cut out on the device with vectorised indexing (``augment``);
  the random numbers come from a generator on the device, drawn per batch (``draw``);
- bf16 autocast on CUDA GPUs that support it (fp32 otherwise), channels-last, an optional
  ``torch.compile`` of the model, and SGD with ``fused=True`` where torch has fused kernels
  for the device (``foreach=True`` otherwise; torch.optim docs: "fused … Currently,
  torch.float64, torch.float32, torch.float16, and torch.bfloat16 are supported");
- no host synchronisation inside a step: the loss and correct counts are summed into device
  tensors and read once per timing window (``.item()``), and ``torch.cuda.synchronize`` is
  called only around timing windows.

Alone it prints images/s on the built-in synthetic set (32×32, 10 classes):

    .venv/bin/python benchmarks/gpu_reference.py --network resnet18 --device cuda --compile
    .venv/bin/python benchmarks/gpu_reference.py --network resnet20 --device cpu --batch-size 64 \\
        --warmup 2 --steps 5
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

PADDING, CUTOUT = 4, 8
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-4


# ----- the networks ---------------------------------------------------------------------------
class BasicBlock(nn.Module):
    """Two 3×3 conv-BN pairs and a shortcut: ``conv`` (1×1 conv + BN where the shape changes)
    or ``zero_pad`` (option A: subsample, then zero channels for the new width)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int, shortcut: str):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        self.pad = 0
        self.stride = stride
        if (stride != 1 or inplanes != planes) and shortcut == "conv":
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))
        elif stride != 1 or inplanes != planes:
            self.pad = planes - inplanes

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        elif self.pad or self.stride != 1:
            identity = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.pad))
        else:
            identity = x
        return self.relu(out + identity)


class CifarResNet(nn.Module):
    """3×3 stem, stages of basic blocks (the first at stride 1, the others at stride 2),
    global average pool, linear head; torchvision's names and Kaiming fan-out init."""

    def __init__(self, widths: tuple[int, ...], blocks: tuple[int, ...], shortcut: str,
                 classes: int = 10, channels: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        inplanes = widths[0]
        for index, (width, count) in enumerate(zip(widths, blocks)):
            stride = 1 if index == 0 else 2
            stage = [BasicBlock(inplanes if i == 0 else width, width, stride if i == 0 else 1,
                                shortcut) for i in range(count)]
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
            inplanes = width
        self.stages = len(widths)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for index in range(self.stages):
            x = getattr(self, f"layer{index + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18_cifar(classes: int = 10) -> CifarResNet:
    return CifarResNet((64, 128, 256, 512), (2, 2, 2, 2), "conv", classes)


def resnet20(classes: int = 10) -> CifarResNet:
    return CifarResNet((16, 32, 64), (3, 3, 3), "zero_pad", classes)


NETWORKS: dict[str, Callable[[int], CifarResNet]] = {"resnet18": resnet18_cifar,
                                                     "resnet20": resnet20}


# ----- augmentation on the device -------------------------------------------------------------
@dataclass(frozen=True)
class Draw:
    """One batch's random augmentation: crop offsets in [0, 2·padding], flips, and the
    cutout square's centre (uniform over the image; the square is clipped at the border)."""

    top: Tensor
    left: Tensor
    flip: Tensor
    cut_y: Tensor
    cut_x: Tensor


def draw(n: int, height: int, width: int, padding: int, gen: torch.Generator) -> Draw:
    dev = gen.device
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=gen, device=dev)
    flip = torch.rand(n, generator=gen, device=dev) < 0.5
    cut_y = torch.randint(0, height, (n,), generator=gen, device=dev)
    cut_x = torch.randint(0, width, (n,), generator=gen, device=dev)
    return Draw(offsets[0], offsets[1], flip, cut_y, cut_x)


def augment(images: Tensor, d: Draw, padding: int, cutout: int, mean: Tensor,
            std: Tensor) -> Tensor:
    """Crop the zero-padded uint8 batch at ``d``'s offsets (mirrored where ``d.flip``),
    normalise to float32 with ``mean``/``std`` (C×1×1, in [0, 1] units), then zero a
    ``cutout``-sized square (DeVries & Taylor 2017, https://arxiv.org/abs/1708.04552: after
    normalisation, i.e. the patch is the mean colour)."""
    n, c, h, w = images.shape
    dev = images.device
    padded = F.pad(images, (padding,) * 4)
    rows = d.top.view(n, 1) + torch.arange(h, device=dev)
    cols = torch.arange(w, device=dev).expand(n, w)
    cols = d.left.view(n, 1) + torch.where(d.flip.view(n, 1), w - 1 - cols, cols)
    crop = padded[torch.arange(n, device=dev).view(n, 1, 1, 1),
                  torch.arange(c, device=dev).view(1, c, 1, 1),
                  rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]
    x = (crop.float() / 255.0 - mean) / std
    if not cutout:
        return x
    top = d.cut_y.view(n, 1) - cutout // 2
    left = d.cut_x.view(n, 1) - cutout // 2
    ys = torch.arange(h, device=dev).view(1, h)
    xs = torch.arange(w, device=dev).view(1, w)
    in_rows = (ys >= top) & (ys < top + cutout)
    in_cols = (xs >= left) & (xs < left + cutout)
    return x.masked_fill(in_rows.view(n, 1, h, 1) & in_cols.view(n, 1, 1, w), 0.0)


# ----- training -------------------------------------------------------------------------------
@dataclass
class TrainSet:
    """uint8 images and int64 labels on the training device, and the normalisation."""

    images: Tensor
    labels: Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]


def bf16_supported(device: torch.device) -> bool:
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def make_optimizer(model: nn.Module, device: torch.device) -> torch.optim.SGD:
    """SGD with Nesterov momentum, fused where torch has a fused kernel for the device."""
    from torch.utils import _foreach_utils as support

    fused = device.type in support._get_fused_kernels_supported_devices()
    foreach = not fused and device.type in support._get_foreach_kernels_supported_devices()
    kind = {"fused": True} if fused else {"foreach": True} if foreach else {}
    return torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True,
                           weight_decay=WEIGHT_DECAY, **kind)


@dataclass(frozen=True)
class Measurement:
    images: int
    seconds: float
    mean_loss: float
    accuracy: float

    @property
    def images_per_s(self) -> float:
        return self.images / max(self.seconds, 1e-9)


class Trainer:
    """The hand-tuned loop: ``run(warmup, steps)`` trains ``warmup`` untimed steps, then
    times ``steps`` more between two synchronisations."""

    def __init__(self, model: nn.Module, data: TrainSet, batch_size: int, *,
                 precision: str = "bf16", compile: bool = False, padding: int = PADDING,
                 cutout: int = CUTOUT, seed: int = 0):
        self.device = data.images.device
        if precision == "bf16" and not bf16_supported(self.device):
            precision = "fp32"
        self.precision, self.data, self.batch_size = precision, data, batch_size
        self.padding, self.cutout = padding, cutout
        shape = (1, -1, 1, 1)
        self.mean = torch.tensor(data.mean, device=self.device).view(shape)
        self.std = torch.tensor(data.std, device=self.device).view(shape)
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.step_model = torch.compile(self.model) if compile else self.model
        self.optimizer = make_optimizer(self.model, self.device)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(seed)
        self.loss_sum = torch.zeros((), device=self.device)
        self.correct = torch.zeros((), dtype=torch.long, device=self.device)
        self._order, self._at = torch.empty(0, dtype=torch.long, device=self.device), 0

    def _batch(self) -> tuple[Tensor, Tensor]:
        if self._at + self.batch_size > len(self._order):  # a new epoch: a new permutation
            self._order = torch.randperm(len(self.data.labels), generator=self.gen,
                                         device=self.device)
            self._at = 0
        index = self._order[self._at: self._at + self.batch_size]
        self._at += self.batch_size
        images = self.data.images.index_select(0, index)
        _, _, h, w = images.shape
        x = augment(images, draw(len(index), h, w, self.padding, self.gen), self.padding,
                    self.cutout, self.mean, self.std)
        return (x.contiguous(memory_format=torch.channels_last),
                self.data.labels.index_select(0, index))

    def step(self) -> None:
        x, y = self._batch()
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.precision == "bf16"):
            logits = self.step_model(x)
            loss = F.cross_entropy(logits, y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.loss_sum += loss.detach().float()
        self.correct += (logits.argmax(1) == y).sum()

    def run(self, warmup: int, steps: int) -> Measurement:
        self.model.train()
        for _ in range(warmup):
            self.step()
        self._synchronize()
        self.loss_sum.zero_()
        self.correct.zero_()
        began = time.perf_counter()
        for _ in range(steps):
            self.step()
        # the one host read of the window, which waits for the device
        loss_sum, correct = torch.stack([self.loss_sum, self.correct.float()]).tolist()
        self._synchronize()
        images = steps * self.batch_size
        return Measurement(images, time.perf_counter() - began, loss_sum / max(steps, 1),
                           correct / max(images, 1))

    def _synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


# ----- alone ----------------------------------------------------------------------------------
def synthetic_set(train_size: int, device: torch.device, seed: int = 0) -> TrainSet:
    """The built-in synthetic set at 32×32, 3 channels, 10 classes, held on ``device``."""
    from resnet_studio.data import DataConfig
    from resnet_studio.data.loading import load_data

    cfg = DataConfig(dataset="synthetic", image_size=32, channels=3, classes=10,
                     train_size=train_size, val_size=10, fit="none", seed=seed)
    bundle = load_data(cfg, 1, device)
    return TrainSet(bundle.train.images, bundle.train.labels, bundle.info.mean, bundle.info.std)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=sorted(NETWORKS), default="resnet18")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=100, help="timed steps")
    args = parser.parse_args()
    device = torch.device(args.device)
    data = synthetic_set(args.batch_size * 8, device)
    torch.manual_seed(0)
    trainer = Trainer(NETWORKS[args.network](10), data, args.batch_size,
                      precision=args.precision, compile=args.compile)
    if trainer.precision != args.precision:
        print(f"bf16 autocast is not supported on {device}: training in fp32")
    m = trainer.run(args.warmup, args.steps)
    print(f"{args.network}, batch {args.batch_size}, {trainer.precision}, compile "
          f"{'on' if args.compile else 'off'}, {device}: {m.images_per_s:,.0f} images/s "
          f"({args.steps} steps after {args.warmup} warm-up; mean loss {m.mean_loss:.3f})")


if __name__ == "__main__":
    main()
