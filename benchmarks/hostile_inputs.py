"""Hostile inputs through the CLI: every one must end in one line ``resnet-studio: error: …``
and exit status 2, quickly and with bounded memory — no traceback, no hang, no runaway memory.

Each case runs ``python -m resnet_studio …`` in a subprocess whose address space is limited
with ``RLIMIT_AS`` (default 4 GiB) and which is killed after a timeout (default 60 s). The
inputs are made in a temporary folder: a tiny trained run, a copy of it whose config.json
nests 100,000 levels deep, PNG files whose headers claim more pixels than Pillow allows, a
project whose input is 100,000 pixels square. Prints one line per case and the totals as
"N inputs, T tracebacks, H hangs, M runaway memory", and exits 0.

    .venv/bin/python benchmarks/hostile_inputs.py [--memory-gib 4] [--timeout 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A 68-byte PNG: a valid header claiming ``width``×``height`` and one empty data chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))
    return path


def nested_copy(run: Path, target: Path, depth: int = 100_000) -> Path:
    shutil.copytree(run, target)
    (target / "config.json").write_text("[" * depth + "]" * depth)
    return target


def huge_input_project(folder: Path, size: int = 100_000) -> Path:
    from resnet_studio.graph import project
    from resnet_studio.presets import create

    graph = create("small_resnet")
    data = project.to_dict(graph)
    data["input"].update(height=size, width=size)
    path = folder / "huge_input.rstudio.json"
    path.write_text(json.dumps(data))
    return path


def make_inputs(tmp: Path) -> dict[str, Path]:
    run = tmp / "run"
    done = subprocess.run([PY, "-m", "resnet_studio", "train", "preset:small_resnet",
                           "--epochs", "1", "--train-size", "64", "--val-size", "32",
                           "--batch-size", "32", "--out", str(run)],
                          capture_output=True, text=True, env=_env())
    if done.returncode != 0:
        raise SystemExit(f"could not train the run the cases need:\n{done.stderr}")
    return {"run": run, "nested": nested_copy(run, tmp / "nested"),
            "bomb": bomb_png(tmp / "bomb.png", 65535, 65535),
            "warn": bomb_png(tmp / "warn.png", 10_000, 10_000),
            "huge": huge_input_project(tmp)}


def cases(p: dict[str, Path], out: Path) -> list[tuple[str, list[str]]]:
    run, o = str(p["run"]), ["-o", str(out)]
    sweep = ["--vary", "lr=" + ",".join(f"{0.001 * (i + 1):g}" for i in range(3000)),
             "--vary", "weight_decay=" + ",".join(f"{1e-6 * (i + 1):g}" for i in range(3000))]
    return [
        ("landscape --grid 100000", ["landscape", run, "--grid", "100000", *o]),
        ("landscape --steps 1e9 --grid 3", ["landscape", run, "--steps", "1000000000",
                                            "--grid", "3", *o]),
        ("landscape --span nan", ["landscape", run, "--span", "nan", *o]),
        ("landscape --span inf", ["landscape", run, "--span", "inf", *o]),
        ("signal --batch-size 20000", ["signal", "preset:small_resnet", "--batch-size",
                                       "20000", *o]),
        ("signal --batch-size 1e9", ["signal", "preset:small_resnet", "--batch-size",
                                     "1000000000", *o]),
        ("signal on a 100000-pixel input", ["signal", str(p["huge"]), *o]),
        ("train on a 100000-pixel input", ["train", str(p["huge"]), "--epochs", "1",
                                           "--out", str(out / "train")]),
        ("signal --init os.system", ["signal", "preset:small_resnet", "--init", "os.system",
                                     *o]),
        ("sweep 3000 x 3000 --plan-only", ["experiment", "sweep", "preset:small_resnet",
                                           *sweep, "--plan-only", "--out", str(out / "s")]),
        ("lesion, nested config.json", ["lesion", str(p["nested"]), *o]),
        ("landscape, nested config.json", ["landscape", str(p["nested"]), *o]),
        ("explain, nested config.json", ["explain", str(p["nested"]), str(p["warn"]), *o]),
        ("twin --run, nested config.json", ["experiment", "twin", "preset:small_resnet",
                                            "--run", str(p["nested"]), "--plan-only",
                                            "--out", str(out / "t")]),
        ("explain, 65535² PNG header", ["explain", run, str(p["bomb"]), *o]),
        ("explain, 10000² PNG header", ["explain", run, str(p["warn"]), *o]),
        ("signal -o /dev/null", ["signal", "preset:small_resnet", "-o", "/dev/null"]),
        ("signal -o /dev/null/x", ["signal", "preset:small_resnet", "-o", "/dev/null/x"]),
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}


def run_case(argv: list[str], memory: int, timeout: float) -> tuple[str, str, float]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    began = time.monotonic()
    try:
        done = subprocess.run([PY, "-m", "resnet_studio", *argv], capture_output=True,
                              text=True, timeout=timeout, preexec_fn=limit, env=_env())
    except subprocess.TimeoutExpired:
        return "hang", "", time.monotonic() - began
    took, err = time.monotonic() - began, done.stderr.strip()
    last = err.splitlines()[-1] if err else ""
    if "Traceback" in err:
        outcome = "runaway memory" if "MemoryError" in err or "allocate" in err else "traceback"
    elif done.returncode == 2 and last.startswith("resnet-studio") and ": error: " in last:
        outcome = "refused"
    else:
        outcome = f"exit {done.returncode}"
    return outcome, last, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory-gib", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    memory = int(args.memory_gib * 2 ** 30)
    counts = {"traceback": 0, "hang": 0, "runaway memory": 0, "other": 0}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_inputs(Path(tmp))
        table = cases(inputs, Path(tmp) / "out")
        for name, argv in table:
            outcome, last, took = run_case(argv, memory, args.timeout)
            key = outcome if outcome in counts else ("other" if outcome != "refused" else None)
            if key:
                counts[key] += 1
            print(f"{name:34s} {outcome:14s} {took:5.1f} s  {last[:150]}")
    print(f"{len(table)} inputs, {counts['traceback']} tracebacks, {counts['hang']} hangs, "
          f"{counts['runaway memory']} runaway memory, {counts['other']} other outcomes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
