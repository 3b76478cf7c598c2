# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""kill -9 of ``evacuate`` in the middle of a real live migration, then the same command
again: the peer-to-peer migration finished without its client, the journal says interrupted,
and the rerun hands the image over and closes the bridge."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Callable

import pytest

from libvirt_static_ids_testbed.lab import STATIC, Lab

pytestmark = pytest.mark.lab

HOLD = """#!/bin/sh
# libvirt's qemu hook: hold an incoming guest's start for a while (the migration is under way).
[ "$2" = started ] && [ "$3" = begin ] && sleep 4
exit 0
"""


def test_kill_9_mid_migration_then_the_same_command_resumes(
    lab: Lab, grows: Callable[..., bool]
) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    b.run(
        [
            "sh",
            "-c",
            "mkdir -p /etc/libvirt/hooks && cat > /etc/libvirt/hooks/qemu && "
            "chmod 755 /etc/libvirt/hooks/qemu",
        ],
        input=HOLD,
    )
    b.restart_libvirtd()
    image = lab.guest(a, "no_root_squash", "g1")
    argv = [
        "libvirt-static-ids",
        "--json",
        "evacuate",
        "hosta",
        "--to",
        "hostb",
        "--desturi",
        b.uri,
    ]
    enter = ["nsenter", f"--target={a.pid}", "--mount", "--uts", "--net", "--pid", "--wd=/", "--"]
    started = subprocess.Popen([*enter, *argv], env=a.env(), stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not b.is_running("g1") and time.monotonic() < deadline:
            time.sleep(0.1)  # B's QEMU is up (paused, its start held): the migration is on
        # nsenter forked the command into A's PID namespace: kill that child, by its PID.
        with open(f"/proc/{started.pid}/task/{started.pid}/children", encoding="ascii") as f:
            (child,) = f.read().split()
        os.kill(int(child), signal.SIGKILL)
    finally:
        started.wait(timeout=30)
    deadline = time.monotonic() + 30
    while a.is_running("g1") and time.monotonic() < deadline:
        time.sleep(0.2)
    # Peer-to-peer: the daemons finished it without the client.
    assert b.is_running("g1") and grows(b, "g1")
    journal = json.loads(a.run(["libvirt-static-ids", "--json", "journal"], check=False).stdout)
    states = {r["kind"]: r["state"] for r in journal.get("runs", [])}
    assert states.get("evacuate") == "interrupted", journal
    again = a.run(argv, check=False)
    report = json.loads(again.stdout)
    assert again.returncode == 0, json.dumps(report, indent=1)
    assert report["resumed"] and report["status"] == "evacuated"
    st = os.stat(lab.backing(image))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (*STATIC, 0o600)
    assert (
        json.loads(a.run(["libvirt-static-ids", "--json", "bridge", "status"]).stdout)["bridges"]
        == []
    )
    assert grows(b, "g1")
