# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Colour for the words that matter (errors, failures, warnings, done), only where it helps:
at a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TextIO

RED, YELLOW, GREEN, BOLD, RESET = "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[1m", "\x1b[0m"

# A line's leading marker and the colour it takes; the rest of the line is left as it is.
_MARKERS = (
    (re.compile(r"^(error:|FAILED\b)", re.MULTILINE), BOLD + RED),
    (re.compile(r"^(\s*!|\s*- \[[\w-]+\]|\s*refused now\b)", re.MULTILINE), YELLOW),
    (re.compile(r"^(done:)", re.MULTILINE), GREEN),
)


def wanted(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Colour on ``stream``: it is a terminal, and ``NO_COLOR`` is unset or empty."""
    return not environ.get("NO_COLOR") and stream.isatty()


def paint(text: str) -> str:
    """``text`` with its markers coloured."""
    for pattern, colour in _MARKERS:
        text = pattern.sub(colour + r"\1" + RESET, text)
    return text
