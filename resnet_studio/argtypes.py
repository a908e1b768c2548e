"""Argument types shared by the command-line parsers (standard library only)."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    """An ``argparse`` type: a whole number of at least 1, with a message saying what is wrong."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"‘{text}’ is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def finite_float(text: str) -> float:
    """An ``argparse`` type: a number that is neither NaN nor infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"‘{text}’ is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"‘{text}’ is not a finite number")
    return value


def positive_float(text: str) -> float:
    """An ``argparse`` type: a finite number above 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def device_name(text: str) -> str:
    """An ``argparse`` type: a training device (auto, cuda, cuda:N, mps, cpu)."""
    from .train.config import is_device

    if not is_device(text):
        raise argparse.ArgumentTypeError(f"‘{text}’ is not a device: auto, cuda, cuda:N (cuda:0, "
                                         "cuda:1, …), mps or cpu")
    return text
