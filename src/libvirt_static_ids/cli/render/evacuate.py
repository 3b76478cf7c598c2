# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Human-readable output of ``probe-access``, ``bridge`` and ``evacuate``."""

from __future__ import annotations

import time
from typing import Any

from libvirt_static_ids.cli.render.text import shown_path


def _identity(identity: dict[str, Any]) -> str:
    groups = identity.get("groups") or []
    extra = f" groups {','.join(map(str, groups))}" if groups else ""
    return f"uid {identity['uid']} gid {identity['gid']}{extra}"


def _probe(result: dict[str, Any]) -> list[str]:
    lines = [f"as {_identity(result['identity'])}:"]
    for verdict in result["paths"]:
        if verdict["ok"]:
            lines.append(f"  ok      {shown_path(verdict['path'])}")
        else:
            why = f"{verdict['errno']} ({verdict['message']})"
            lines.append(f"  DENIED  {shown_path(verdict['path'])}: {why}")
    lines.append("all open read-write" if result["all_ok"] else "NOT all open read-write")
    return lines


def _when(epoch: int | None) -> str:
    if epoch is None:
        return "no TTL"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def _file(entry: dict[str, Any]) -> list[str]:
    via = f" (as {entry['via']})" if entry.get("via") == "owner" else ""
    line = f"  {entry['status']:<10} {shown_path(entry['path'])} [{entry['mode']}]{via}"
    lines = [line]
    if entry.get("message"):
        lines.append(f"      ! {entry['errno'] or ''} {entry['message']}".rstrip())
    if entry.get("advice"):
        lines.append(f"      -> {entry['advice']}")
    return lines


def _bridge(result: dict[str, Any]) -> list[str]:
    action = result["action"]
    if action == "status":
        if not result["bridges"]:
            return ["no open bridges"]
        lines = []
        for b in result["bridges"]:
            state = "EXPIRED" if b["expired"] else b["state"]
            lines.append(
                f"{b['run_id']}  {state}  {_identity(b['identity'])}  {b['mode']}  "
                f"until {_when(b['expires'])}  {len(b['files'])} file(s)"
            )
            lines += [f"  awaiting: {a['command']}" for a in b["awaiting"]]
        return lines
    if action == "close-expired":
        if not result["closed"]:
            return ["no expired bridges"]
        lines = []
        for report in result["closed"]:
            lines += _bridge(report)
        return lines
    lines = list(result["warnings"])
    heading = {
        "open": f"bridge {result['run_id']} open for {_identity(result['identity'])}, "
        + (f"until {_when(result['expires'])}" if result["expires"] else "until closed (no TTL)"),
        "would-open": f"dry run: would open a bridge for {_identity(result['identity'])}",
        "failed": f"FAILED: bridge {result['run_id'] or ''} {action} did not complete",
        "closed": f"bridge {result['run_id']} closed: each image's mode and ACL restored exactly",
        "closed-with-conflicts": f"bridge {result['run_id']} closed; files changed by others left",
        "already-closed": f"bridge {result['run_id']} was already closed",
    }[result["status"]]
    lines.append(heading)
    for entry in result["files"]:
        lines += _file(entry)
    if result.get("timer"):
        lines.append("  TTL timer: " + " ".join(result["timer"]))
    return lines


def _evacuate(result: dict[str, Any]) -> list[str]:
    numbers = _identity(result["identity"])
    checked = "" if result["identity_source"] == "destination" else ", unchecked"
    lines = list(result["warnings"])
    lines.append(
        f"evacuate {result['host']} -> {result['target']} ({result['status']}) via "
        f"{result['dest_uri']}, its QEMU as {numbers}{checked}"
    )
    for vm in result["domains"]:
        extra = []
        if vm["snapshots"]:
            extra.append(f"{vm['snapshots']} snapshot(s)")
        if vm["autostart"]:
            extra.append("autostart")
        if vm.get("downtime_ms") is not None:
            extra.append(f"downtime {vm['downtime_ms']} ms")
        lines.append(
            f"  {vm['status']:<14} {vm['name']}" + (f" ({', '.join(extra)})" if extra else "")
        )
        for warning in vm["warnings"]:
            lines.append(f"      {warning}")
        if vm.get("message"):
            lines.append(f"      ! {vm['message']}")
        for advice in vm.get("advice", []):
            lines.append(f"      -> {advice}")
    awaiting = [a for vm in result["domains"] for a in vm["awaiting"]]
    if awaiting:
        lines.append("the NFS server's root must still run (then `bridge close --expired`):")
        lines += [f"  {a['command']}" for a in awaiting]
    return lines


RENDERERS = {
    "probe-access": _probe,
    "bridge": _bridge,
    "evacuate": _evacuate,
}
