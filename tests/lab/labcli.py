# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The tool's commands as the lab tests run them: inside a lab host, against its own root."""

from __future__ import annotations

import json
import subprocess

from libvirt_static_ids_testbed.lab import STATIC, LabHost


def evacuate(a: LabHost, b: LabHost) -> subprocess.CompletedProcess[str]:
    """``evacuate hosta --to hostb --dest-uri B --uid/--gid 64055 --json`` on A."""
    uid, gid = STATIC
    argv = ["libvirt-static-ids", "evacuate", a.name, "--to", b.name, "--dest-uri", b.uri]
    return a.run([*argv, "--uid", str(uid), "--gid", str(gid), "--json"], check=False)


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
