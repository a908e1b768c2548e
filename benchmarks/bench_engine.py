"""Engine overhead: the training engine against a minimal hand-written PyTorch loop.

Both train the same network from the same initial weights on the same in-memory batches with
the same optimiser (SGD, momentum 0.9, weight decay 5e-4). The engine runs with all its
telemetry on: per-layer gradient norms every step, loss and accuracy kept on the device,
update-to-weight ratios at every flush, a learning-rate scheduler stepped per step. The two
are interleaved (the order alternating per round) and repeated; the script prints the median
and spread of images/s for each and the throughput ratio engine / hand loop.

Two clocks: wall time, and on the CPU also the process's CPU time. On a shared machine other
jobs steal wall time at random, which blurs a few-percent difference; with one torch thread
the CPU time counts only the work this process did, so its ratio is the steadier figure.
Last, the engine's telemetry work is timed alone on real gradients, as a cost per step.

The engine is timed from its run-start record (sent after setup) to its last step record (sent
after the final flush, which waits for the device), so setup and validation are left out, as
they are from the hand loop.

    .venv/bin/python benchmarks/bench_engine.py                      # small_resnet, 32×32
    .venv/bin/python benchmarks/bench_engine.py --threads 1 --rounds 7 --steps 30
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from resnet_studio.compiler import build
from resnet_studio.graph import InputSpec
from resnet_studio.presets import create
from resnet_studio.train import CallbackSink, Engine, RunStartRecord, StepRecord, TrainConfig
from resnet_studio.train.bench import fixed_bundle, random_batches
from resnet_studio.train.telemetry import Layers, StepStats

LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-4
CLOCKS = ("wall", "cpu")


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def rates(images: int, began: tuple[float, float], ended: tuple[float, float]) -> tuple:
    return tuple(images / max(e - b, 1e-9) for b, e in zip(began, ended))


def hand_loop(model: nn.Module, batches: list, device: torch.device) -> tuple[float, float]:
    """The minimal loop: zero, forward, loss, backward, step. Returns images/s per clock."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM,
                                weight_decay=WEIGHT_DECAY)
    model.train()
    _sync(device)
    began = clocks()
    for x, y in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    loss.item()  # wait for the device, as the engine's last flush does
    return rates(sum(len(y) for _, y in batches), began, clocks())


def engine_loop(model: nn.Module, batches: list, spec: InputSpec,
                config: TrainConfig) -> tuple[float, float]:
    marks: dict[str, tuple[float, float]] = {}

    def mark(record: object) -> None:
        if isinstance(record, RunStartRecord):
            marks["start"] = clocks()
        elif isinstance(record, StepRecord):
            marks["end"] = clocks()

    engine = Engine(model, config, [CallbackSink(mark)],
                    data=fixed_bundle(spec, batches, batches[:1]))
    end = engine.run()
    engine.close()
    if end.status != "finished":
        raise SystemExit(f"the engine run failed: {end.message}")
    return rates(sum(len(y) for _, y in batches), marks["start"], marks["end"])


def telemetry_cost(model: nn.Module, batch: tuple, device: torch.device, every: int,
                   repeats: int = 200) -> float:
    """Seconds per step of the engine's own telemetry work (per-layer gradient norms, loss and
    accuracy into device buffers, the flush copy, the update-ratio snapshot once per flush),
    timed alone on real gradients."""
    x, y = batch
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    stats = StepStats(Layers.of(model), every, device)
    _sync(device)
    began = time.perf_counter()
    for i in range(repeats):
        slot = i % every
        stats.record_grads(slot)
        with torch.no_grad():
            correct = (logits.argmax(1) == y).sum()
        stats.record_batch(slot, loss, correct, len(y))
        if slot == every - 1:
            stats.snapshot()
            stats.measure_update()
            stats.drain(every, stats.packed_sums(every, False))
    _sync(device)
    return (time.perf_counter() - began) / repeats


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def spread(values: list[float]) -> str:
    middle = statistics.median(values)
    return (f"median {middle:8,.1f} images/s  (min {min(values):,.1f}, max {max(values):,.1f}, "
            f"spread ±{(max(values) - min(values)) / 2 / middle:.1%})")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small_resnet")
    parser.add_argument("--size", type=int, default=32, help="image height and width")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="steps per measured run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--telemetry-every", type=int, default=10)
    return parser.parse_args()


def main() -> None:
    args = parse()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    spec = InputSpec(channels=3, height=args.size, width=args.size, classes=10)
    torch.manual_seed(0)
    initial = build(create(args.preset, spec)).to(device)
    batches = random_batches(spec, args.batch_size, args.steps, device)
    config = TrainConfig(lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY,
                         decay_norm_and_bias=True, schedule="constant", epochs=1,
                         batch_size=args.batch_size, device=args.device,
                         telemetry_every=args.telemetry_every).validate()
    print(f"{args.preset} {spec.channels}×{args.size}×{args.size}, batch {args.batch_size}, "
          f"{args.steps} steps per run, {args.rounds} rounds, device {device}, "
          f"{torch.get_num_threads()} thread(s), torch {torch.__version__}")
    hand_loop(copy.deepcopy(initial), batches[:5], device)  # warm-up, not measured
    engine_loop(copy.deepcopy(initial), batches[:5], spec, config.replace(telemetry_every=5))
    results: dict[str, list[tuple[float, float]]] = {"engine": [], "hand": []}
    for round_ in range(args.rounds):
        for name in ("engine", "hand") if round_ % 2 == 0 else ("hand", "engine"):
            model = copy.deepcopy(initial)
            results[name].append(engine_loop(model, batches, spec, config) if name == "engine"
                                 else hand_loop(model, batches, device))
        (ew, ec), (hw, hc) = results["engine"][-1], results["hand"][-1]
        print(f"round {round_ + 1}: wall engine {ew:8,.1f} hand {hw:8,.1f} ratio {ew / hw:.3f}"
              f" | cpu engine {ec:8,.1f} hand {hc:8,.1f} ratio {ec / hc:.3f}")
    report(results, device, args, initial, batches)


def report(results, device, args, initial, batches) -> None:
    clocks_used = CLOCKS if device.type == "cpu" else CLOCKS[:1]
    for index, clock in enumerate(clocks_used):
        engine = [r[index] for r in results["engine"]]
        hand = [r[index] for r in results["hand"]]
        paired = [e / h for e, h in zip(engine, hand)]
        print(f"[{clock} time] engine (all telemetry): {spread(engine)}")
        print(f"[{clock} time] hand-written loop:      {spread(hand)}")
        print(f"[{clock} time] throughput ratio engine / hand: "
              f"{statistics.median(engine) / statistics.median(hand):.3f} (median of per-round "
              f"ratios {statistics.median(paired):.3f}, range {min(paired):.3f} – "
              f"{max(paired):.3f}; target ≥ 0.95)")
    cost = telemetry_cost(copy.deepcopy(initial), batches[0], device, args.telemetry_every)
    step = args.batch_size / statistics.median(r[0] for r in results["hand"])
    print(f"telemetry work alone: {cost * 1e3:.2f} ms per step = {cost / step:.1%} of a "
          f"hand-loop step ({step * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
