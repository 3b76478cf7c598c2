# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Text helpers every renderer shares."""

from __future__ import annotations

import os


def shown_path(path: str) -> str:
    """A path safe to print: control characters and undecodable bytes escaped."""
    raw = os.fsencode(path)
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
