# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Human-readable output of the directory commands, from the dicts ``--json`` prints.

Names and messages come from LDAP, written by anyone: control characters are escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_MAX_LISTED = 200


def safe(value: Any) -> str:
    text = "-" if value is None else str(value)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _when(host: dict[str, Any]) -> str:
    if host["checked"] is None:
        return "never"
    stamp = host["checked"].replace("T", " ")[:16]
    age = host["age_days"]
    return f"{stamp} ({age:.0f}d ago)" if age is not None and age >= 1 else stamp


def _host_lines(host: dict[str, Any], width: int) -> list[str]:
    blockers = ", ".join(safe(b["code"]) for b in host["blockers"]) or "-"
    lines = [
        f"  {safe(host['name']):<{width}}  {safe(host['uid']):>6}  {safe(host['gid']):>6}  "
        f"{safe(host['state'] or 'no record'):<10}  {_when(host):<26}  {blockers}"
    ]
    if host["request"]:
        lines.append(f"  {'':<{width}}  request pending: {safe(host['request'])}")
    lines += [f"  {'':<{width}}  ! {safe(problem)}" for problem in host["problems"]]
    return lines


def domain_survey(result: dict[str, Any]) -> list[str]:
    settings = result["settings"]
    target = settings["target"]
    origin = settings["dn"] if settings["exists"] else f"default; {settings['dn']} is absent"
    lines = [f"Domain {safe(result['base'])}: target {target['uid']}:{target['gid']} ({origin})"]
    lines += [f"  ! settings: {safe(p)}" for p in settings["problems"]]
    hosts = result["hosts"]
    if not hosts:
        lines.append("No KVM host has recorded itself yet.")
    else:
        width = max(4, *(len(safe(h["name"])) for h in hosts[:_MAX_LISTED]))
        lines.append(f"KVM hosts ({len(hosts)}):")
        lines.append(
            f"  {'HOST':<{width}}  {'UID':>6}  {'GID':>6}  {'STATE':<10}  {'LAST CHECK':<26}  "
            "BLOCKERS"
        )
        for host in hosts[:_MAX_LISTED]:
            lines += _host_lines(host, width)
        if len(hosts) > _MAX_LISTED:
            lines.append(f"  ... and {len(hosts) - _MAX_LISTED:,} more (use --json for all)")
    classes = result["classes"]
    if classes:
        lines.append(
            f"ID classes ({len(classes)}): live migration works only between hosts of one class"
        )
        for cls in classes[:_MAX_LISTED]:
            kind = "static (target)" if cls["static"] else "dynamic"
            names = ", ".join(safe(n) for n in cls["hosts"][:20])
            more = f" and {len(cls['hosts']) - 20} more" if len(cls["hosts"]) > 20 else ""
            lines.append(f"  {cls['id']:<13} {kind:<15} {len(cls['hosts'])} host(s): {names}{more}")
    holders = result["holders"]
    if holders:
        lines.append(f"LDAP objects holding the target numbers ({len(holders)}):")
        for holder in holders[:_MAX_LISTED]:
            held = " and ".join(
                f"{'uidNumber' if h == 'uid' else 'gidNumber'} "
                f"{target['uid'] if h == 'uid' else target['gid']}"
                for h in holder["holds"]
            )
            lines.append(f"  {safe(holder['dn'])} ({safe(holder['kind'])}): {held}")
    else:
        lines.append("No LDAP object holds the target numbers.")
    quiet = [h for h in hosts if h["stale"] or h["missing"]]
    if quiet:
        lines.append(f"Not reporting ({len(quiet)}):")
        for host in quiet[:_MAX_LISTED]:
            why = (
                "no record yet"
                if host["missing"]
                else f"last check {host['age_days']:.0f} days ago"
            )
            lines.append(f"  {safe(host['name'])}: {why}")
    summary = result["summary"]
    verdict = "converged" if summary["converged"] else "not converged"
    lines.append(
        f"Domain {verdict}: {summary['classes']} class(es), {summary['holders']} holder(s)."
    )
    return lines


def record(result: dict[str, Any]) -> list[str]:
    target = result["target"]
    numbers = f"{safe(result['uid'])}:{safe(result['gid'])}"
    lines = [
        f"request {safe(done['request'])!r}: {done['action']}, {done['writes']} write(s), "
        f"cleared={done['cleared']}" + "".join(f"; {safe(m)}" for m in done["messages"])
        for done in result.get("requests", [])
    ]
    lines += [
        f"{safe(result['dn'])}: libvirt-qemu {numbers}, {result['state']} "
        f"(target {target['uid']}:{target['gid']})"
    ]
    written = result["written"]
    lines.append(
        f"  wrote {', '.join(written)}" if written else "  record unchanged: nothing written"
    )
    lines += [f"  - [{safe(b['code'])}] {safe(b['message'])}" for b in result["blockers"]]
    error = result["detail"].get("error")
    if error:
        lines.append(f"  error: {safe(error.get('message'))}")
    return lines


def request(result: dict[str, Any]) -> list[str]:
    lines = []
    for host in result["hosts"]:
        status = "requested" if host["status"] == "requested" else "already pending"
        lines.append(f"{safe(host['host'])}: {result['request']} {status} ({safe(host['dn'])})")
    return lines


def settings(result: dict[str, Any]) -> list[str]:
    if result["action"] == "show":
        target = result["target"]
        where = "" if result["exists"] else " (default: the settings object does not exist)"
        lines = [f"target {target['uid']}:{target['gid']}{where} ({safe(result['dn'])})"]
        lines += [f"  problem: {safe(problem)}" for problem in result["problems"]]
        for lock in result["locks"]:
            state = {
                "permanent": "locked permanently",
                "absent": "NOT locked: UDM's allocator could hand it out",
                "until": f"locked temporarily (until {lock['lockTime']})",
            }[lock["state"]]
            lines.append(f"  {lock['kind']} {lock['number']}: {state}")
        return lines
    old, new = result["old"], result["new"]
    verb = "would move" if result["dry_run"] else "moved"
    lines = [
        f"target {verb} from {old['uid']}:{old['gid']} to {new['uid']}:{new['gid']}"
        if result["changed"]
        else f"target stays {new['uid']}:{new['gid']}"
    ]
    lines += [f"  lock {safe(dn)}" for dn in result["locked"]]
    lines += [f"  unlock {safe(dn)}" for dn in result["unlocked"]]
    lines += [f"  note: {safe(note)}" for note in result["notes"]]
    lines.append(f"  {len(result['hosts'])} host(s) asked to record themselves again")
    return lines


RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "domain-survey": domain_survey,
    "record": record,
    "request": request,
    "settings": settings,
}
