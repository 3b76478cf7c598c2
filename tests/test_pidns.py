# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The suite runs alone (tests/pidns.py): unrelated processes on this machine, say a VM as
UID 109 or another run's ``setpriv`` as 64055, are invisible to the busy-process checks."""

from __future__ import annotations

import os

import pidns
from libvirt_static_ids.host import processes


def test_the_tests_see_only_their_own_processes(process_as):
    assert pidns.alone()
    assert os.getppid() == 1  # pytest is the only child of the namespace's PID 1
    pid = process_as(4321, 4321)
    assert [p.pid for p in processes.running_as(4321)] == [pid]
