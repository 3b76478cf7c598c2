# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The suite runs alone (tests/pidns.py): unrelated processes on this machine, say a VM as
UID 109 or another run's ``setpriv`` as 64055, are invisible to the busy-process checks.

Proves: this very run is alone; a command run alone exits with its own status, is passed
SIGTERM, and leaves nothing behind (an orphan it left running ends with it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pidns
from libvirt_static_ids.host import processes

RUN_ALONE = [sys.executable, pidns.__file__]


def test_the_tests_see_only_their_own_processes(process_as):
    assert pidns.alone()
    assert os.getppid() == 1  # pytest is the only child of the namespace's PID 1
    pid = process_as(4321, 4321)
    assert [p.pid for p in processes.running_as(4321)] == [pid]


def test_a_command_run_alone_sees_a_proc_of_its_own_and_keeps_its_exit_status():
    script = "import os, sys; sys.exit(len([p for p in os.listdir('/proc') if p.isdigit()]))"
    done = subprocess.run([*RUN_ALONE, sys.executable, "-c", script], check=False, timeout=60)
    assert done.returncode == 2  # PID 1 and itself


def _with_marker(marker: bytes) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                if marker in handle.read().split(b"\0"):
                    found.append(int(name))
        except (OSError, ValueError):
            continue
    return found


def test_sigterm_is_passed_on_and_orphans_end_with_the_command():
    marker = f"lsi-pidns-orphan-{os.getpid()}"
    script = (
        "import signal, subprocess, sys\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(5))\n"
        # A shell that outlives this command (its own session, so no group signal reaches it).
        f"subprocess.Popen(['sh', '-c', 'sleep 300; :', {marker!r}], start_new_session=True)\n"
        "print('ready', flush=True)\n"
        "signal.pause()\n"
    )
    process = subprocess.Popen(
        [*RUN_ALONE, sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        assert len(_with_marker(marker.encode())) == 1  # the orphan-to-be runs
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 5
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _with_marker(marker.encode()) == []
