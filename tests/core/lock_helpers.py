"""Helper processes for the lock tests: one that holds a lock, one stopped in the middle of an
atomic write. Each prints a line once it is there and then waits for its standard input to
close (or for a SIGKILL); the tests wait for that line, with a deadline, never for a time."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHAT = "lock-holder test"

HOLDER = f"""
import sys
from resnet_studio import locks
lock = locks.hold(sys.argv[1], {WHAT!r}, directory=sys.argv[2] == "dir")
print("held", flush=True)
sys.stdin.read()
"""

WRITER = """
import sys
from resnet_studio.files import write_atomic
def write(handle):
    handle.write(b"x" * 1000)
    handle.flush()
    print("writing", flush=True)
    sys.stdin.read()
write_atomic(sys.argv[1], write)
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def start(code: str, *args: str, ready: str, timeout: float = 60) -> subprocess.Popen:
    """Run ``code`` in a new Python process and return once it printed ``ready``."""
    process = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], env=child_env(),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = read_line(process, timeout)
    if line.strip() != ready:
        process.kill()
        raise AssertionError(f"the helper said {line!r}: {process.stderr.read()[-800:]}")
    return process


def read_line(process: subprocess.Popen, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            raise AssertionError(f"no line from the helper within {timeout} s")
    return process.stdout.readline()


def finish(process: subprocess.Popen) -> int:
    """Let a helper go on (close its input) and wait for it."""
    process.stdin.close()
    code = process.wait(timeout=60)
    process.stdout.close()
    process.stderr.close()
    return code


def kill(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(timeout=60)
    for stream in (process.stdin, process.stdout, process.stderr):
        stream.close()


def wait_until(condition, timeout: float = 300, process: subprocess.Popen | None = None):
    """Poll ``condition`` until it gives something true (returned) or the deadline, or the
    process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process ended ({process.returncode}) first")
        time.sleep(0.02)
    raise AssertionError("timed out waiting")
