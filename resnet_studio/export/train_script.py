"""Train this bundle's network: a standalone script exported by ResNet Studio.

It needs only PyTorch and torchvision (and the files beside it: model.py, config.json,
checkpoint.pt and the rstudio_data folder). It repeats the run recorded in config.json — the
optimiser, the learning-rate schedule with its warm-up, the batched augmentation (random crop
with padding, flip, cutout, colour jitter) and the dataset — and by default goes on from
checkpoint.pt: its weights, optimiser and schedule state, epoch and batch.

    python train.py                                   # go on, with the recorded settings
    python train.py --epochs 30 --out runs/longer     # train to epoch 30
    python train.py --fresh --dataset cifar10 --data-root ~/data --download
    torchrun --nproc-per-node 4 train.py              # 4 processes: one per GPU, or CPU ones

Under torchrun each process trains on its own share of every epoch (every world_size-th image
of one shared shuffle, as DistributedSampler does) with the batch size per process,
DistributedDataParallel averages the gradients (NCCL on GPUs, gloo on CPUs), and only rank 0
prints and writes checkpoints. The checkpoints it writes (OUT/last.pt, OUT/best.pt) can be
opened and resumed by ResNet Studio as well.

Batches, their order and their augmentation depend only on (seed, epoch, batch, rank), as in
ResNet Studio, so a run continued here sees the data it would have seen there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
CHECKPOINT_MARKER = "resnet_studio_checkpoint"  # lets ResNet Studio open the checkpoints
ORDER_STREAM, AUGMENT_STREAM = 1, 2             # random streams of the epoch order / augmentation
# Published channel statistics (training splits) and whether flips suit the images.
TORCHVISION_SETS = {
    "mnist": ("MNIST", (0.1307,), (0.3081,), False),
    "fashion_mnist": ("FashionMNIST", (0.2860,), (0.3530,), True),
    "cifar10": ("CIFAR10", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), True),
    "cifar100": ("CIFAR100", (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), True),
    "svhn": ("SVHN", (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), False),
}
NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm)


# ----- settings -------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None,
               datasets: str = "synthetic, mnist, fashion_mnist, cifar10, cifar100, svhn"
               ) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train this bundle's network (see the docstring).")
    p.add_argument("--epochs", type=int, help="train until this many epochs are done")
    p.add_argument("--batch-size", type=int, help="images per step and process")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--dataset", help=datasets)
    p.add_argument("--data-root", help="folder of the torchvision datasets")
    p.add_argument("--download", action="store_true", help="download a missing dataset")
    p.add_argument("--device", type=device_name, metavar="DEVICE",
                   help="auto, cuda, cuda:N (GPU N of several), mps or cpu")
    p.add_argument("--seed", type=int, help="seed of the weights (with --fresh) and dropout")
    p.add_argument("--out", type=Path, default=Path("runs/bundle"),
                   help="folder for last.pt and best.pt (default runs/bundle)")
    p.add_argument("--fresh", action="store_true",
                   help="start from new weights instead of going on from checkpoint.pt")
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop after this many steps (saving last.pt); 0: no limit")
    p.add_argument("--log-every", type=int, default=50, help="steps between progress lines")
    return p.parse_args(argv)


def load_settings(args: argparse.Namespace) -> dict:
    """config.json with the command-line overrides applied."""
    cfg = json.loads((HERE / "config.json").read_text(encoding="utf-8"))
    for name in ("epochs", "batch_size", "lr", "device", "seed"):
        if getattr(args, name) is not None:
            cfg[name] = getattr(args, name)
    data = cfg["data"]
    if args.dataset is not None:
        data["dataset"] = args.dataset
    if args.data_root is not None:
        data["root"] = args.data_root
    data["download"] = data.get("download", False) or args.download
    return cfg


# ----- processes and devices ------------------------------------------------------------------
def start_processes(device_name: str) -> tuple[SimpleNamespace, torch.device]:
    """This process's rank and device; joins the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    env = SimpleNamespace(rank=rank, world=world, local=local, main=rank == 0)
    device = pick_device(device_name, local if world > 1 else None)
    if world > 1:
        if device.type == "cuda":
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    return env, device


def device_name(text: str) -> str:
    """``--device``: auto, cuda, cuda:N, mps or cpu."""
    index = text[5:] if text.startswith("cuda:") else None
    if text in ("auto", "cuda", "mps", "cpu") or (index is not None and index.isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"‘{text}’ is not a device: auto, cuda, cuda:N (N = 0, "
                                     "1, …), mps or cpu")


def pick_device(name: str, local_rank: int | None) -> torch.device:
    """The device ``name`` (under torchrun each CUDA process takes its LOCAL_RANK's GPU)."""
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        index = cuda_index(name, local_rank)
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device(name)


def cuda_index(name: str, local_rank: int | None) -> int:
    """The GPU that ``cuda`` or ``cuda:N`` names; exits with a line when there is none."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        sys.exit(f"train.py: error: --device {name}, but PyTorch sees no CUDA GPU")
    if local_rank is not None:
        return local_rank
    if name == "cuda":
        return torch.cuda.current_device()
    index = int(name[5:])
    if index >= count:
        sys.exit(f"train.py: error: --device {name}, but this machine has {count} GPU"
                 f"{'s' if count != 1 else ''} (cuda:0 … cuda:{count - 1})")
    return index


def say(env: SimpleNamespace, text: str) -> None:
    if env.main:
        print(text, flush=True)


# ----- data -----------------------------------------------------------------------------------
def load_dataset(data: dict, shape: tuple[int, int, int] | None = None) -> SimpleNamespace:
    """Both splits as uint8 N×C×H×W tensors with int64 labels, and their statistics. With
    the network's input ``shape`` and ``fit: network`` (the default), the images are served
    at that shape as ResNet Studio serves them: the synthetic set drawn at it, torchvision's
    sets resized (bilinear, antialiased) and turned grey↔RGB."""
    name = data["dataset"]
    target = shape if data.get("fit", "network") == "network" else None
    if data.get("subset") is not None:
        sys.exit(f"train.py: error: the project trains on a subset of {data['subset']} images, "
                 "which the standalone script does not draw; remove data.subset from the "
                 "bundle's config.json to train on the whole training split")
    if name == "synthetic":
        return synthetic_dataset(data, target)
    if name in TORCHVISION_SETS:
        return fit_dataset(torchvision_dataset(name, data), target)
    sys.exit(f"train.py: error: dataset {name!r} is not available in the standalone script "
             "(image folders train in ResNet Studio itself); choose synthetic, "
             + ", ".join(TORCHVISION_SETS))


def synthetic_dataset(data: dict, target: tuple[int, int, int] | None = None) -> SimpleNamespace:
    # ResNet Studio's own generator, copied into rstudio_data: same seed, same images.
    from rstudio_data.source import channel_stats
    from rstudio_data.synthetic import make_synthetic

    channels, size = (data["channels"], data["image_size"]) if target is None else target[:2]
    if target is not None and target[1] != target[2]:
        sys.exit(f"train.py: error: the synthetic set draws square images, but the network "
                 f"takes {target[1]}×{target[2]}; export a project with a square input")
    args = (size, channels, data["classes"], data["seed"])
    train = make_synthetic(data["train_size"], *args, split="train")
    val = make_synthetic(data["val_size"], *args, split="val")
    mean, std = channel_stats(train[0])
    return SimpleNamespace(train=train, val=val, mean=mean, std=std, flip=True)


def fit_dataset(dataset: SimpleNamespace, target: tuple[int, int, int] | None
                ) -> SimpleNamespace:
    """``dataset`` at the network's input shape (statistics recomputed when pixels change)."""
    from rstudio_data.fit import fit_images
    from rstudio_data.source import channel_stats

    if target is None or tuple(dataset.train[0].shape[1:]) == tuple(target):
        return dataset
    train = (fit_images(dataset.train[0], target), dataset.train[1])
    val = (fit_images(dataset.val[0], target), dataset.val[1])
    mean, std = channel_stats(train[0])
    return SimpleNamespace(train=train, val=val, mean=mean, std=std, flip=dataset.flip)


def torchvision_dataset(name: str, data: dict) -> SimpleNamespace:
    import numpy as np
    import torchvision

    title, mean, std, flip = TORCHVISION_SETS[name]
    cls = getattr(torchvision.datasets, title)
    root = os.path.expanduser(data["root"])
    splits = []
    for train in (True, False):
        kind = {"split": "train" if train else "test"} if name == "svhn" else {"train": train}
        try:
            ds = cls(root, download=data.get("download", False), **kind)
        except (OSError, RuntimeError) as exc:
            sys.exit(f"train.py: error: cannot open {title} under {root} ({exc}); "
                     "pass --download or --data-root")
        if name in ("mnist", "fashion_mnist"):
            images, labels = ds.data.unsqueeze(1), ds.targets
        elif name == "svhn":
            images, labels = torch.from_numpy(ds.data), torch.from_numpy(ds.labels)
        else:
            images = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2)
            labels = torch.as_tensor(ds.targets)
        splits.append((images.contiguous(), labels.long()))
    return SimpleNamespace(train=splits[0], val=splits[1], mean=mean, std=std, flip=flip)


def augmentation(data: dict, flip_suits: bool):
    from rstudio_data.augment import Augment

    augment = data["augment"]
    flip = flip_suits if data.get("flip") is None else data["flip"]
    return Augment(crop_padding=data["crop_padding"] if augment else 0,
                   flip=bool(flip and augment), cutout=data["cutout"],
                   color_jitter=data.get("color_jitter", 0.0))


def precision(cfg: dict, device: torch.device) -> tuple[str, bool]:
    """(amp, channels_last) on ``device``: mixed precision on CUDA only; amp "auto" is bf16
    with channels-last on a GPU that computes bf16 natively, full precision elsewhere."""
    amp = cfg["amp"] if device.type == "cuda" else "off"
    if amp == "auto":
        amp = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "off"
    return amp, bool(cfg["channels_last"] or (cfg["amp"] == "auto" and amp == "bf16"))


def epoch_order(size: int, epoch: int, seed: int, rank: int, world: int) -> torch.Tensor:
    """This process's share of the epoch's shuffle: every world-th index, the uneven tail
    left out so that every process runs the same number of steps."""
    from rstudio_data.augment import derive_seed, make_generator

    gen = make_generator(torch.device("cpu"), derive_seed(seed, ORDER_STREAM, epoch))
    order = torch.randperm(size, generator=gen)
    per_rank = size // world
    return order[rank: per_rank * world: world]


class TrainBatches:
    """Shuffled, augmented, normalised training batches on the device."""

    def __init__(self, images, labels, batch_size, seed, env, augment, norm):
        self.images, self.labels = images, labels
        self.batch_size, self.seed, self.env = batch_size, seed, env
        self.augment, self.norm = augment, norm

    def __len__(self) -> int:
        return (len(self.labels) // self.env.world) // self.batch_size

    def epoch(self, epoch: int, start: int = 0):
        from rstudio_data.augment import augment_batch, derive_seed, make_generator

        order = epoch_order(len(self.labels), epoch, self.seed, self.env.rank, self.env.world)
        chunks = order[: len(self) * self.batch_size].split(self.batch_size)
        for batch in range(start, len(chunks)):
            idx = chunks[batch].to(self.images.device)
            x = self.images.index_select(0, idx)
            if self.augment.active:
                seed = derive_seed(self.seed, AUGMENT_STREAM, epoch, batch, self.env.rank)
                gen = make_generator(torch.device("cpu"), seed)  # same crops on any device
                x = augment_batch(x, self.augment, self.norm, gen)
            else:
                x = self.norm.from_uint8(x)
            yield batch, x, self.labels.index_select(0, idx)


def check_input(dataset: SimpleNamespace, project: dict) -> None:
    spec = project["input"]
    images = dataset.train[0]
    have = (spec["channels"], spec["height"], spec["width"], spec["classes"])
    classes = int(max(dataset.train[1].max(), dataset.val[1].max())) + 1
    need = (*images.shape[1:], classes)
    if have[:3] != tuple(need[:3]) or need[3] > have[3]:
        sys.exit(f"train.py: error: the network takes {have[0]}×{have[1]}×{have[2]} images in "
                 f"{have[3]} classes, but the dataset has {need[0]}×{need[1]}×{need[2]} images "
                 f"in {need[3]}; export a project with a matching input from ResNet Studio")


# ----- optimisation ---------------------------------------------------------------------------
def parameter_groups(model: nn.Module, cfg: dict) -> list[dict]:
    """Weight decay for filters only: norm weights, biases and other 1-D parameters are left
    out unless decay_norm_and_bias (the usual recipe for residual networks)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if cfg["decay_norm_and_bias"] or cfg["weight_decay"] == 0:
        return [{"params": [p for _, p in named], "weight_decay": cfg["weight_decay"]}]
    skip = set()
    for module_name, module in model.named_modules():
        for name, param in module.named_parameters(recurse=False):
            if isinstance(module, NORM_TYPES) or name == "bias" or param.ndim <= 1:
                skip.add(f"{module_name}.{name}" if module_name else name)
    groups = [{"params": [p for n, p in named if n not in skip],
               "weight_decay": cfg["weight_decay"]},
              {"params": [p for n, p in named if n in skip], "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def make_optimizer(model: nn.Module, cfg: dict) -> torch.optim.Optimizer:
    groups = parameter_groups(model, cfg)
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"],
                               nesterov=cfg["nesterov"])
    return torch.optim.AdamW(groups, lr=cfg["lr"], betas=tuple(cfg["betas"]))


def lr_factor(step: int, cfg: dict, steps_per_epoch: int, total_steps: int) -> float:
    """The learning rate of optimiser step ``step`` (0-based) as a multiple of lr.

    A linear warm-up from lr / (W + 1) to lr over W steps comes first. Then: constant; step
    (× gamma every step_size epochs); multistep (× gamma at each milestone epoch, or at each
    milestone fraction of all steps); cosine
    from lr to min_lr over the steps after warm-up; or one-cycle (cosine rise from
    lr / div_factor to lr over pct_start of them, then down to lr / (div_factor ×
    final_div_factor)).
    """
    warmup = cfg["warmup_steps"] or round(cfg["warmup_epochs"] * steps_per_epoch)
    main = schedule_factor(step, warmup, cfg, steps_per_epoch, total_steps)
    return main * (step + 1) / (warmup + 1) if step < warmup else main


def schedule_factor(step: int, warmup: int, cfg: dict, steps_per_epoch: int,
                    total_steps: int) -> float:
    kind = cfg["schedule"]
    if kind == "constant":
        return 1.0
    if kind == "step":
        return cfg["gamma"] ** ((step // steps_per_epoch) // cfg["step_size"])
    if kind == "multistep" and cfg.get("milestone_fractions"):
        return cfg["gamma"] ** sum(step >= round(f * total_steps)
                                   for f in cfg["milestone_fractions"])
    if kind == "multistep":
        epoch = step // steps_per_epoch
        return cfg["gamma"] ** sum(epoch >= m for m in cfg["milestones"])
    span = max(1, total_steps - warmup)
    t = min(max(step - warmup, 0), span)
    if kind == "cosine":
        floor = cfg["min_lr"] / cfg["lr"]
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t / span))
    start = 1 / cfg["div_factor"]
    end = 1 / (cfg["div_factor"] * cfg["final_div_factor"])
    rise = max(1.0, cfg["pct_start"] * span)
    if t < rise:
        return cosine_between(start, 1.0, t / rise)
    return cosine_between(1.0, end, (t - rise) / max(1.0, span - rise))


def cosine_between(a: float, b: float, fraction: float) -> float:
    return b + (a - b) * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0)))


# ----- checkpoints ----------------------------------------------------------------------------
def read_checkpoint() -> dict:
    """The bundled checkpoint; it holds only tensors and plain values (safe to load)."""
    return torch.load(HERE / "checkpoint.pt", map_location="cpu", weights_only=True)


def save_checkpoint(state: dict, path: Path) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def parameter_digest(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, param in model.named_parameters():
        digest.update(name.encode())
        digest.update(param.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# ----- the run --------------------------------------------------------------------------------
class Run:
    """One training run: everything the loop needs, made once."""

    SCORE = "accuracy"  # what evaluate()'s second number is (best.pt has the highest)

    def __init__(self, args: argparse.Namespace):
        self.args, self.cfg = args, load_settings(args)
        self.env, self.device = start_processes(self.cfg["device"])
        self.amp, self.channels_last = precision(self.cfg, self.device)
        self.project = json.loads((HERE / "project.rstudio.json").read_text(encoding="utf-8"))
        self.bundled = read_checkpoint()
        self._data()
        self._model()
        self._optimisation()
        self.epoch = self.batch = self.step = 0
        self.history, self.best = [], None
        if not args.fresh:
            self._resume()
        else:
            torch.manual_seed(self.cfg["seed"] + self.env.rank)

    def _data(self) -> None:
        from rstudio_data.augment import Normaliser

        data, spec = self.cfg["data"], self.project["input"]
        dataset = load_dataset(data, (spec["channels"], spec["height"], spec["width"]))
        check_input(dataset, self.project)
        self.norm = Normaliser(dataset.mean, dataset.std, self.device)
        images, labels = (t.to(self.device) for t in dataset.train)
        self.train = TrainBatches(images, labels, self.cfg["batch_size"], data["seed"],
                                  self.env, augmentation(data, dataset.flip), self.norm)
        if len(self.train) == 0:
            sys.exit(f"train.py: error: {len(labels)} training images do not fill one batch of "
                     f"{self.cfg['batch_size']} per process; lower --batch-size")
        self.val = tuple(t.to(self.device) for t in dataset.val)

    def _model(self) -> None:
        from model import Net  # the bundle's generated network (identical state_dict keys)

        torch.manual_seed(self.cfg["seed"])  # one seed, one starting network
        self.model = Net(zero_init_residual=self.cfg["zero_init_residual"]).to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.net = self.model
        if self.env.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        if self.cfg["compile"]:
            self.net = torch.compile(self.net)

    def _optimisation(self) -> None:
        cfg = self.cfg
        self.optimizer = make_optimizer(self.model, cfg)
        steps, total = len(self.train), len(self.train) * cfg["epochs"]
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, cfg, steps, total))
        self.scaler = torch.amp.GradScaler("cuda") if self.amp == "fp16" else None

    def _resume(self) -> None:
        ck = self.bundled
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        if self.args.lr is not None:  # a new peak rate replaces the recorded one
            self.scheduler.base_lrs = [self.args.lr] * len(self.optimizer.param_groups)
        # the rate of this step under this run's schedule (more epochs stretch a decay), set
        # at once as ResNet Studio does: the loaded state holds the old schedule's rate
        factor = self.scheduler.lr_lambdas[0](self.scheduler.last_epoch)
        for group, base_lr in zip(self.optimizer.param_groups, self.scheduler.base_lrs):
            group["lr"] = base_lr * factor
        if self.scaler is not None and ck.get("scaler"):
            self.scaler.load_state_dict(ck["scaler"])
        self.epoch, self.step = int(ck["epoch"]), int(ck["step"])
        self.batch = min(int(ck["batch"]), len(self.train))
        metrics = ck.get("metrics") or {}
        self.history = list(metrics.get("epochs") or [])
        self.best = metrics.get("best_val_acc")
        self._restore_random_streams(ck.get("rng") or [])

    def _restore_random_streams(self, states: list) -> None:
        """The random streams (dropout, a detector's sampling) as the checkpoint left them,
        as ResNet Studio resumes; with another number of processes fresh but reproducible
        ones."""
        if len(states) == self.env.world and "torch" in states[self.env.rank]:
            state = states[self.env.rank]
            torch.set_rng_state(state["torch"].cpu())
            if self.device.type == "cuda" and state.get("cuda"):
                torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
        else:
            torch.manual_seed(self.cfg["seed"] + 1_000_003 * self.step + self.env.rank)

    # ----- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        cfg, env = self.cfg, self.env
        say(env, f"training on {self.device} × {env.world} process(es): {len(self.train)} steps "
                 f"per epoch, epochs {self.epoch + 1}…{cfg['epochs']}, from "
                 f"{'new weights' if self.args.fresh else 'checkpoint.pt'}")
        done = 0
        while self.epoch < cfg["epochs"]:
            sums = torch.zeros(3, device=self.device)  # loss × n, correct, n
            for batch, x, y in self.train.epoch(self.epoch, self.batch):
                self._train_step(x, y, sums)
                self.batch, done = batch + 1, done + 1
                if self.step % self.args.log_every == 0:
                    say(env, f"epoch {self.epoch + 1} step {self.step} loss "
                             f"{float(sums[0] / sums[2]):.4f} lr "
                             f"{self.optimizer.param_groups[0]['lr']:.4g}")
                if self.args.max_steps and done >= self.args.max_steps:
                    self._save(best=False)
                    return self._finish(f"stopped after {done} steps (--max-steps)")
            self._end_epoch(sums)
        self._finish(f"finished {cfg['epochs']} epochs ({self.step} steps)")

    def _train_step(self, x: torch.Tensor, y: torch.Tensor, sums: torch.Tensor) -> None:
        cfg = self.cfg
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss, correct, n = self._loss(x, y)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if cfg["grad_clip"]:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg["grad_clip"])
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        with torch.no_grad():
            sums += torch.stack([loss.detach().float() * n, correct.float(),
                                 torch.tensor(float(n), device=sums.device)])

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(loss, correct predictions, images) of one batch, under autocast."""
        logits = self.net(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.cfg["label_smoothing"])
        with torch.no_grad():
            correct = (logits.argmax(1) == y).sum()
        return loss, correct, y.shape[0]

    def _autocast(self):
        if self.amp == "off":
            return torch.autocast(self.device.type, enabled=False)
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        return torch.autocast("cuda", dtype=dtype)

    def _end_epoch(self, sums: torch.Tensor) -> None:
        if self.env.world > 1:
            dist.all_reduce(sums)
        val_loss, val_acc = self.evaluate()
        self.epoch, self.batch = self.epoch + 1, 0
        best = self.best is None or val_acc > self.best
        if best:
            self.best = val_acc
        count = max(float(sums[2]), 1.0)
        self.history.append({"epoch": self.epoch, "step": self.step,
                             "train_loss": float(sums[0]) / count,
                             "train_acc": float(sums[1]) / count, "val_loss": val_loss,
                             "val_acc": val_acc, "lr": self.optimizer.param_groups[0]["lr"]})
        say(self.env, f"epoch {self.epoch}: train loss {float(sums[0]) / count:.4f}, validation "
                      f"loss {val_loss:.4f}, {self.SCORE} {val_acc:.1%}{' (best)' if best else ''}")
        self._save(best=best)

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Validation loss and accuracy; each process takes every world-th image."""
        images, labels = self.val
        sums = torch.zeros(3, device=self.device)
        self.model.eval()
        for idx in torch.arange(self.env.rank, len(labels), self.env.world).split(
                self.cfg["batch_size"]):
            idx = idx.to(self.device)
            x, y = self.norm.from_uint8(images.index_select(0, idx)), labels.index_select(0, idx)
            with self._autocast():
                logits = self.model(x)
            sums[0] += F.cross_entropy(logits.float(), y, reduction="sum")
            sums[1] += (logits.argmax(1) == y).sum()
            sums[2] += y.shape[0]
        self.model.train()
        if self.env.world > 1:
            dist.all_reduce(sums)
        count = max(float(sums[2]), 1.0)
        return float(sums[0]) / count, float(sums[1]) / count

    def _save(self, best: bool) -> None:
        if not self.env.main:
            return
        state = {
            CHECKPOINT_MARKER: 1, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "epoch": self.epoch, "step": self.step, "batch": self.batch, "config": self.cfg,
            "graph": self.bundled.get("graph"), "metrics": self._metrics(),
            "versions": {"torch": str(torch.__version__), "trainer": "bundle train.py"},
        }
        save_checkpoint(state, self.args.out / "last.pt")
        if best:
            save_checkpoint(state, self.args.out / "best.pt")

    def _metrics(self) -> dict:
        return {"epochs": self.history, "best_val_acc": self.best,
                "best_epoch": max(self.history, key=lambda h: h["val_acc"])["epoch"]
                if self.history else None}

    def _finish(self, what: str) -> None:
        digests = [parameter_digest(self.model)]
        if self.env.world > 1:
            digests = [None] * self.env.world
            dist.all_gather_object(digests, parameter_digest(self.model))
        same = len(set(digests)) == 1
        say(self.env, f"{what}; last checkpoint {self.args.out / 'last.pt'}; parameters sha256 "
                      f"{digests[0][:16]}" + (f", identical on all {self.env.world} processes"
                                              if self.env.world > 1 and same else ""))
        if not same:
            say(self.env, "warning: the processes ended with different parameters")


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(HERE))  # model.py and rstudio_data lie beside this script
    run = Run(parse_args(argv))
    try:
        run.run()
        if dist.is_initialized():
            # Every rank reaches teardown together: a rank that destroys the group while
            # another still finishes its last collective can abort inside gloo at exit.
            dist.barrier()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
