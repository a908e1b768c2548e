"""Training onto a real full disk: a tiny tmpfs fills up during a run with a checkpoint every
step. For each size the script reports how the run ended (exit status, the error line),
whether last.pt still loads, whether any temporary file was left, and whether the run,
resumed after the file system was enlarged, finishes.

Mounting needs root (CAP_SYS_ADMIN); elsewhere the script says so and exits 0. The unit tests
(tests/core/test_checkpoint_disk_full.py) simulate the same failures without privileges.

    .venv/bin/python benchmarks/full_disk.py [--sizes 600k,1m,1500k,2m] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ["--dataset", "synthetic", "--train-size", "64", "--val-size", "16", "--image-size", "8",
        "--classes", "4", "--batch-size", "16", "--device", "cpu", "--checkpoint-every", "1"]


def train(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "resnet_studio", "train", *args],
                          check=False, capture_output=True, text=True, env=env,
                          timeout=600)


def mount(folder: Path, size: str, remount: bool = False) -> bool:
    options = f"remount,size={size}" if remount else f"size={size}"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          check=False, capture_output=True, text=True)
    return done.returncode == 0


def checkpoint_loads(path: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from resnet_studio.train import CheckpointError, load_checkpoint

    try:
        return f"step {load_checkpoint(path)['step']}"
    except CheckpointError as exc:
        return f"REFUSED ({exc})"


def one_size(folder: Path, size: str, epochs: int) -> None:
    if not mount(folder, size):
        print(f"{size}: cannot mount a tmpfs here (needs root); skipped")
        return
    try:
        run = folder / "run"
        first = train("preset:small_resnet", "--out", str(run), "--epochs", str(epochs), *DATA)
        lines = [line for line in first.stderr.splitlines() if "error" in line.lower()]
        last = run / "last.pt"
        loads = checkpoint_loads(last) if last.exists() else "absent"
        temps = sorted(p.name for p in run.glob(".*.tmp")) if run.exists() else []
        print(f"{size}: exit {first.returncode}; {len(lines)} error line(s): "
              f"{lines[-1] if lines else '-'}")
        print(f"{size}: last.pt {loads}; temporary files left: {temps or 0}; "
              f"traceback: {'Traceback' in first.stderr}")
        if first.returncode != 0 and last.exists():
            mount(folder, "64m", remount=True)
            again = train("--resume", str(last), "--epochs", str(epochs))
            print(f"{size}: resumed on a larger disk: exit {again.returncode}, last.pt "
                  f"{checkpoint_loads(last)}")
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="600k,1m,1500k,2m")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="full-disk-") as base:
        for size in args.sizes.split(","):
            folder = Path(base) / size
            folder.mkdir()
            one_size(folder, size, args.epochs)


if __name__ == "__main__":
    main()
