# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The lab's only link: one veth pair created straight into two hosts' network namespaces.

Link-local /30, no route out; the pair ends when the namespaces do, so nothing stays behind
on this machine (and no /run/netns mount is ever made).
"""

from __future__ import annotations

import subprocess

LINK = "lab0"
PREFIX = "169.254.77."


def address(index: int) -> str:
    """Host ``index`` (0 or 1) of the /30."""
    return f"{PREFIX}{index + 1}"


def _in(pid: int, *argv: str) -> None:
    subprocess.run(["nsenter", f"--target={pid}", "--net", "--", *argv], check=True)


def connect(first: int, second: int) -> None:
    """Link the network namespaces of PIDs ``first`` and ``second``; bring both ends up."""
    subprocess.run(
        [
            "ip",
            "link",
            "add",
            LINK,
            "netns",
            str(first),
            "type",
            "veth",
            "peer",
            "name",
            LINK,
            "netns",
            str(second),
        ],
        check=True,
    )
    for index, pid in enumerate((first, second)):
        _in(pid, "ip", "link", "set", "lo", "up")
        _in(pid, "ip", "addr", "add", f"{address(index)}/30", "dev", LINK)
        _in(pid, "ip", "link", "set", LINK, "up")
