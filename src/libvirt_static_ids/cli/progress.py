# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Progress of a file scan on stderr: one line redrawn every half second, then a summary.

The scan runs in C and returns to Python only for entries that need a change, so a tree with
nothing to change would show nothing for as long as it takes. The meter therefore draws from a
thread of its own, reading the live counts (``RepairStats.scanned_so_far``) while the C walk
has released the interpreter. At a terminal the line is redrawn in place and erased before
the summary; elsewhere (``--progress`` into a pipe or file) each update is a line of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the repair machinery loads only for commands that scan
    from libvirt_static_ids.files.repair import RepairStats

INTERVAL = 0.5  # seconds between two updates
CLEAR_LINE = "\r\x1b[K"


def _duration(seconds: float) -> str:
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def describe(scanned: int, changed: int | None, seconds: float) -> str:
    """``scanned 120,000 entries (48,000/s), changed 2,048`` (no changed count for a dry run)."""
    rate = scanned / seconds if seconds > 0 else 0.0
    text = f"scanned {scanned:,} entries ({rate:,.0f}/s)"
    return text if changed is None else f"{text}, changed {changed:,}"


class Meter:
    """A ProgressCallback that draws the scan's progress on ``stream`` until ``close()``.

    Called by the scan with its live RepairStats (at the start of each walk and after each
    batch); a thread draws every ``interval`` seconds from then on. A dry run changes nothing,
    so it shows no changed count. Writing never fails the run: a closed stream (EPIPE) only
    ends the drawing.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        redraw: bool,
        dry_run: bool = False,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._redraw = redraw
        self._dry_run = dry_run
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._stats: RepairStats | None = None
        self._drawn = False  # a redrawn line is on screen, not yet ended
        self._broken = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, stats: RepairStats) -> None:
        if self._thread is None:
            self._stats = stats
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._draw()

    def _line(self) -> str | None:
        stats = self._stats
        if stats is None:
            return None
        changed = None if self._dry_run else stats.changed
        return describe(stats.scanned_so_far(), changed, self._clock() - self._started)

    def _write(self, text: str) -> None:
        if self._broken:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            self._broken = True

    def _draw(self) -> None:
        with self._lock:
            line = self._line()
            if line is None:
                return
            if self._redraw:
                self._write(f"{CLEAR_LINE}  {line}")
                self._drawn = True
            else:
                self._write(f"  {line}\n")

    def close(self) -> None:
        """Stop drawing; end the line on screen with the closing summary (if a scan ran)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            line = self._line()
            if line is None:
                return
            prefix = CLEAR_LINE if self._drawn else ""
            elapsed = _duration(self._clock() - self._started)
            self._write(f"{prefix}  {line}, in {elapsed}\n")
            self._drawn = False
