"""What the two uses of a Ray cluster share — a study's trials (``study.cluster``) and one run
over several workers (``raytrain``): the bounded channel back to the driver, ``fit()`` on a
thread of its own, the address check and the connection.

Imports no Ray at module level: ``connected`` loads it when it is called.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CONNECT_SECONDS = 10.0


class BoundedChannel:
    """A bounded queue of items from the workers to the driver: ``put`` waits while it is
    full (a driver that falls behind slows the workers instead of filling memory) and
    answers with ``answer(item)``, the driver's word back (stop, or not)."""

    def __init__(self, size: int):
        self._items: asyncio.Queue = asyncio.Queue(size)
        self._arrived = asyncio.Event()

    def answer(self, item: Any) -> bool:
        return False

    async def put(self, item: Any) -> bool:
        await self._items.put(item)
        self._arrived.set()
        return self.answer(item)

    async def take(self, timeout: float) -> list[Any]:
        """Everything waiting, in order of arrival, after waiting up to ``timeout`` seconds
        for the first item."""
        if self._items.empty():
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except asyncio.TimeoutError:
                return []
        items = []
        while not self._items.empty():
            items.append(self._items.get_nowait())
        return items


class Fitting(threading.Thread):
    """``fitter.fit()`` (a Tuner or a TorchTrainer) on a thread of its own, so that the
    caller's thread is free to hand records on; its result, or what it raised, is
    ``outcome()``."""

    def __init__(self, fitter: Any, name: str):
        super().__init__(name=name, daemon=True)
        self._fitter, self._outcome = fitter, None
        self.start()

    def run(self) -> None:
        try:
            self._outcome = self._fitter.fit()
        except Exception as exc:  # reported as the runs' failure by the caller
            self._outcome = exc

    def outcome(self) -> Any:
        self.join()
        return self._outcome


def first_line(error: BaseException) -> str:
    """``Type: last line of the message``: Ray's errors carry whole tracebacks."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[-1] if text else ''}".rstrip(": ")


def address_problem(address: str, forms: str) -> str:
    """Why ``address`` cannot be a Ray head (malformed, or nothing listens there), "" when
    it answers; checked at once, where ``ray.init`` would retry for minutes. ``forms`` lists
    the forms the caller takes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return f"--cluster {address}: write {forms}."
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        return (f"--cluster {address}: no Ray head answers there ({exc.strerror or exc}); "
                f"start one with `ray start --head --port {port}`.")
    return ""


@contextmanager
def connected(address: str | None, error: type[Exception]) -> Iterator[None]:
    """Connected to the cluster at ``address`` meanwhile (None: start one here); an existing
    connection is used and kept, one made here is closed at the end. A failure raises
    ``error`` with one line."""
    import ray

    if ray.is_initialized():
        yield
        return
    os.environ.setdefault("RAY_TRAIN_ENABLE_PRINT_PATCH", "0")
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except Exception as exc:  # ConnectionError, ValueError, RuntimeError: a bad address
        raise error(f"--cluster {address or 'local'}: cannot connect to a Ray cluster there "
                    f"({first_line(exc)}).") from None
    try:
        yield
    finally:
        ray.shutdown()
