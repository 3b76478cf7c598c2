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


def words(value: object) -> str:
    """A JSON value as a person reads it: yes/no, "-" for none, lists and objects spelled out."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(words(item) for item in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{key}={words(item)}" for key, item in value.items()) or "-"
    return shown_path(value) if isinstance(value, str) else str(value)
