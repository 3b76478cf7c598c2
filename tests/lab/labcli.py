# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The tool's commands as the lab tests run them: inside a lab host, against its own root."""

from __future__ import annotations

import json
import subprocess

from libvirt_static_ids_testbed.lab import LabHost


def evacuate(a: LabHost, b: LabHost) -> subprocess.CompletedProcess[str]:
    """``evacuate hosta --to hostb --desturi B --json`` on A, as an admin types it: B's
    numbers come from B's libvirt."""
    argv = ["libvirt-static-ids", "evacuate", a.name, "--to", b.name, "--desturi", b.uri]
    return a.run([*argv, "--json"], check=False)


def convert(host: LabHost) -> dict[str, object]:
    """``convert --json`` on the host; it restarts the host's libvirtd (systemctl shim)."""
    done = host.run(["libvirt-static-ids", "convert", "--json"], check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def open_bridges(host: LabHost) -> list[object]:
    done = host.run(["libvirt-static-ids", "bridge", "status", "--json"])
    bridges: list[object] = json.loads(done.stdout)["bridges"]
    return bridges
