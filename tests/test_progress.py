"""`qa ingest` away from a terminal: a progress line now and then, so a long ingest never looks hung."""

from __future__ import annotations

import io

from rich.console import Console

from cli.output import ProgressLines


def test_a_line_every_interval_with_rate_and_time_left() -> None:
    buffer = io.StringIO()
    lines = ProgressLines(Console(file=buffer, width=200), every_s=30.0)
    lines(10, 1000, 5.0)  # too early: nothing yet
    assert buffer.getvalue() == ""
    lines(100, 1000, 31.0)
    lines(110, 1000, 40.0)  # within the next interval: nothing
    lines(250, 1000, 62.0)
    out = buffer.getvalue().splitlines()
    assert len(out) == 2
    assert out[0].startswith("progress: 100/1000 files (10%), 3.2 files/s, about 5 min left")
    assert out[1].startswith("progress: 250/1000 files (25%), 4.0 files/s")
