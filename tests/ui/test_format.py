"""Numbers as people read them: no exponents, one unit up where a value reaches 1000."""

from __future__ import annotations

import pytest

from resnet_studio.ui.widgets import format as fmt

MIB, GIB = 2 ** 20, 2 ** 30


@pytest.mark.parametrize(("value", "text"), [
    (GIB, "1.0 GiB"), (1010 * MIB, "0.986 GiB"), (5 * MIB, "5.0 MiB"), (1023, "1023 B"),
    (1.5 * GIB, "1.5 GiB"), (117 * MIB, "117 MiB"), (5000 * 2 ** 40, "5000 TiB")])
def test_bytes(value, text):
    assert fmt.bytes_text(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (11_689_512, "11.7 M"), (999.7e6, "1 G"), (999, "999"), (1000, "1 k"), (1.8e9, "1.8 G")])
def test_counts(value, text):
    assert fmt.count(value) == text
    assert "e+" not in text
