# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Human-readable lines for the VMs a downtime convert (or its rollback) stopped and started."""

from __future__ import annotations

from typing import Any

_MARK = {
    "would-stop": "would stop",
    "stopped": "STOPPED",
    "started": "started",
    "already-running": "running",
    "failed": "FAILED",
    "still-running": "RUNNING",
}


def vm_lines(domains: list[dict[str, Any]]) -> list[str]:
    lines = []
    for domain in domains:
        lines.append(f"    {_MARK.get(domain['status'], domain['status']):<11} {domain['name']}")
        if domain.get("message"):
            lines.append(f"      ! {domain['message']}")
    return lines


def lines(result: dict[str, Any]) -> list[str]:
    """The ``downtime`` part of a convert result; nothing when there is none."""
    downtime = result.get("downtime")
    if not downtime:
        return []
    verb = "managed save" if downtime["how"] == "suspend" else "ACPI shutdown"
    found = [f"  VMs ({verb}, {downtime['uri']}):"]
    found += vm_lines(downtime["domains"]) or ["    (none were running)"]
    if downtime["untouched_saved"]:
        found.append(
            "  saved earlier, not started by this run: " + ", ".join(downtime["untouched_saved"])
        )
    if any(d["status"] == "failed" for d in downtime["domains"]):
        found.append("FAILED: the VMs above did not come back; their state is left as it was")
    return found
