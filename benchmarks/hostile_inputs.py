"""Hostile inputs through the CLI: every one must end in one line ``resnet-studio: error: …``
and exit status 2, quickly and with bounded memory — no traceback, no hang, no runaway memory.

Each case runs ``python -m resnet_studio …`` in a subprocess whose address space is limited
with ``RLIMIT_AS`` (default 4 GiB) and which is killed after a timeout (default 60 s). The
inputs are made in a temporary folder: a tiny trained run, a copy of it whose config.json
nests 100,000 levels deep, PNG files whose headers claim more pixels than Pillow allows, a
project whose input is 100,000 pixels square, a checkpoint whose zip member unpacks to
5 GiB and one whose pickle would run a shell command. Prints one line per case (outcome, seconds
until the child ended, its peak resident memory, its last line) and the totals as
"N inputs, T tracebacks, H hangs, M runaway memory, slowest refusal X s (median Y s)", and
exits 0.

    .venv/bin/python benchmarks/hostile_inputs.py [--memory-gib 4] [--timeout 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

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


def zip_bomb_checkpoint(path: Path, unpacked: int = 5 * 2 ** 30) -> Path:
    """A zip archive (torch.save's container) of a few MiB whose one deflated member unpacks
    to ``unpacked`` bytes, more than the address space the cases run in."""
    block = bytes(2 ** 24)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("archive/data/0", "w", force_zip64=True) as member:
        for _ in range(unpacked // len(block)):
            member.write(block)
    return path


PAYLOAD = """
import os, sys, torch
class Payload:
    def __reduce__(self):
        return os.system, ("echo the payload ran",)
torch.save({"resnet_studio_checkpoint": 1, "model": Payload()}, sys.argv[1])
"""


def payload_checkpoint(path: Path) -> Path:
    """A checkpoint whose pickle would run a shell command. Made in a child: torch loaded
    here would count in every case's peak memory (a forked child's ru_maxrss starts at its
    parent's)."""
    subprocess.run([PY, "-c", PAYLOAD, str(path)], check=True)
    return path


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
    (tmp / "zipbomb").mkdir()
    return {"run": run, "nested": nested_copy(run, tmp / "nested"),
            "bomb": bomb_png(tmp / "bomb.png", 65535, 65535),
            "warn": bomb_png(tmp / "warn.png", 10_000, 10_000),
            "huge": huge_input_project(tmp),
            "zipbomb": zip_bomb_checkpoint(tmp / "zipbomb" / "last.pt"),
            "payload": payload_checkpoint(tmp / "payload.pt")}


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
        ("train --batch-size 1e9", ["train", "preset:small_resnet", "--batch-size",
                                    "1000000000", "--epochs", "1", "--out", str(out / "b")]),
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
        ("lesion, zip-bomb last.pt", ["lesion", str(p["zipbomb"]), *o]),
        ("export, zip-bomb last.pt", ["export", str(p["zipbomb"]), "-f", "safetensors",
                                      "-o", str(out / "x.safetensors")]),
        ("import --weights zip bomb", ["import", "torchvision:resnet18", "-o",
                                       str(out / "r.rstudio.json"),
                                       "--weights", str(p["zipbomb"])]),
        ("train --resume pickle payload", ["train", "--resume", str(p["payload"]),
                                           "--epochs", "2"]),
        ("import --weights pickle payload", ["import", "torchvision:resnet18", "-o",
                                             str(out / "p.rstudio.json"),
                                             "--weights", str(p["payload"])]),
        ("signal -o /dev/null", ["signal", "preset:small_resnet", "-o", "/dev/null"]),
        ("signal -o /dev/null/x", ["signal", "preset:small_resnet", "-o", "/dev/null/x"]),
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}


def run_case(argv: list[str], memory: int, timeout: float) -> tuple[str, str, float, int]:
    """(outcome, last line of stderr, seconds to the end, peak resident KiB of the child)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    began = time.monotonic()
    child = subprocess.Popen([PY, "-m", "resnet_studio", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, preexec_fn=limit, env=_env())
    timer = threading.Timer(timeout, child.kill)
    timer.start()
    streams = {"out": "", "err": ""}
    readers = [threading.Thread(target=_drain, args=(child.stdout, streams, "out")),
               threading.Thread(target=_drain, args=(child.stderr, streams, "err"))]
    for reader in readers:
        reader.start()
    # wait4 rather than wait: the child's own peak memory (ru_maxrss), not all children's
    _, status, usage = os.wait4(child.pid, 0)
    took = time.monotonic() - began
    hung = not timer.is_alive()
    timer.cancel()
    for reader in readers:
        reader.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if "the payload ran" in streams["out"]:
        return "payload ran", _last(streams["err"]), took, usage.ru_maxrss
    return _outcome(child.returncode, streams["err"].strip(), hung), \
        _last(streams["err"]), took, usage.ru_maxrss


def _drain(stream: Any, into: dict[str, str], key: str) -> None:
    into[key] = stream.read()
    stream.close()


def _last(err: str) -> str:
    lines = err.strip().splitlines()
    return lines[-1] if lines else ""


def _outcome(code: int, err: str, hung: bool) -> str:
    last = _last(err)
    if hung:
        return "hang"
    if "Traceback" in err:
        return "runaway memory" if "MemoryError" in err or "allocate" in err else "traceback"
    if code == 2 and last.startswith("resnet-studio") and ": error: " in last:
        return "refused"
    return f"exit {code}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory-gib", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    memory = int(args.memory_gib * 2 ** 30)
    counts = {"traceback": 0, "hang": 0, "runaway memory": 0, "other": 0}
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_inputs(Path(tmp))
        table = cases(inputs, Path(tmp) / "out")
        for name, argv in table:
            outcome, last, took, peak = run_case(argv, memory, args.timeout)
            if outcome == "refused":
                times.append(took)
            else:
                counts[outcome if outcome in counts else "other"] += 1
            print(f"{name:34s} {outcome:14s} {took:5.2f} s {peak / 1024:7.0f} MiB  {last[:130]}",
                  flush=True)
    other = f", {counts['other']} other outcomes" if counts["other"] else ""
    slowest = f"{max(times):.2f} s (median {statistics.median(times):.2f} s)" if times else "-"
    print(f"{len(table)} inputs, {counts['traceback']} tracebacks, {counts['hang']} hangs, "
          f"{counts['runaway memory']} runaway memory, slowest refusal {slowest}{other}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
