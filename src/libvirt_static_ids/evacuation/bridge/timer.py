# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The TTL of a bridge on a live host: a transient systemd timer that runs
``bridge close --expired`` when the TTL is over.

A bridge left open is a hole (an ACL for a foreign UID, or a world-writable image): it closes
by itself even if the admin, or our own process, is gone. The transient timer is exact to the
second but does not survive a reboot; the packaged ``libvirt-static-ids-bridge-expire.timer``
runs the same command every few minutes and after boot. ``--expired`` (not ``close RUN``)
waits for a run that holds the lock, and lets each bridge's VM decide whose numbers its
images get, so the timer never narrows an image below what a running VM needs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from libvirt_static_ids.hostroot import HostRoot

UNIT_PREFIX = "libvirt-static-ids-bridge-"


def unit_name(run_id: str) -> str:
    return f"{UNIT_PREFIX}{run_id}"


def close_command(root: HostRoot) -> list[str]:
    """The command every bridge timer runs: this very program, closing what is due."""
    program = shutil.which("libvirt-static-ids")
    base = [program] if program else [sys.executable, "-m", "libvirt_static_ids"]
    return [*base, "--root", root.path, "bridge", "close", "--expired"]


def start_argv(root: HostRoot, run_id: str, ttl: int) -> list[str]:
    """``systemd-run`` creating a transient timer (and service) that closes the bridge."""
    return [
        "systemd-run",
        f"--unit={unit_name(run_id)}",
        f"--on-active={ttl}s",
        "--timer-property=AccuracySec=1s",
        f"--description=close libvirt-static-ids bridge {run_id} (TTL {ttl}s)",
        *close_command(root),
    ]


def stop_argv(run_id: str) -> list[str]:
    return ["systemctl", "stop", f"{unit_name(run_id)}.timer"]


def systemd_available(root: HostRoot) -> bool:
    """Only a live root booted with systemd gets a timer."""
    return root.is_live and os.path.isdir("/run/systemd/system")


def run(argv: list[str]) -> str | None:
    """Run a systemd command; why it failed, or None."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{argv[0]}: {error}"
    if result.returncode != 0:
        return f"{' '.join(argv)} failed: {result.stderr.strip()}"
    return None
