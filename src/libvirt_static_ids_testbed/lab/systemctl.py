# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``systemctl restart libvirtd.service`` inside a lab host, which has no systemd.

The tool restarts libvirtd so it resolves qemu.conf's user anew; in the lab, the host's PID 1
(init.py) restarts it on SIGHUP. This waits until the new daemon answers. Only that one verb
and unit: anything else exits 1 saying so, so a test never mistakes it for systemd.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence

from .init import READY

_UNITS = ("libvirtd", "libvirtd.service")


def _ready_pid() -> str | None:
    try:
        with open(READY, encoding="ascii") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2 or argv[0] != "restart" or argv[1] not in _UNITS:
        print(f"lab systemctl: only 'restart libvirtd.service', not {' '.join(argv)!r}",
              file=sys.stderr)  # fmt: skip
        return 1
    before = _ready_pid()
    os.kill(1, signal.SIGHUP)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = _ready_pid()
        if now and now != before:
            return 0
        time.sleep(0.05)
    print("lab systemctl: libvirtd did not come back", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
