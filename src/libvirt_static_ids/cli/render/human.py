# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Human-readable output, rendered from the same dicts that ``--json`` prints."""

from __future__ import annotations

from typing import Any

from libvirt_static_ids.cli.render import domain, downtime, evacuate, plan, rollout
from libvirt_static_ids.cli.render.text import shown_path, words
from libvirt_static_ids.errors import StaticIdsError

_MAX_LISTED = 200


def error(exc: StaticIdsError) -> str:
    lines = [f"error: {exc.message}"]
    for blocker in exc.details.get("blockers", []):
        lines.append(f"  - [{blocker['code']}] {blocker['message']}")
    return "\n".join(lines)


def _owner(meta: dict[str, Any]) -> str:
    return f"{meta['uid']}:{meta['gid']}"


def _change(change: dict[str, Any]) -> str:
    before, after = change["before"], change["after"]
    parts = []
    if _owner(before) != _owner(after):
        parts.append(f"{_owner(before)} -> {_owner(after)}")
    names = sorted(set(before.get("xattrs", {})) | set(after.get("xattrs", {})))
    changed = [
        n for n in names if before.get("xattrs", {}).get(n) != after.get("xattrs", {}).get(n)
    ]
    if changed:
        parts.append("xattrs " + ", ".join(n.rsplit(".", 1)[-1] for n in changed))
    return f"    {shown_path(change['path'])}: {'; '.join(parts)}"


def _changes(changes: list[dict[str, Any]], limit: int | None) -> list[str]:
    lines = [_change(change) for change in changes[:limit]]
    if limit is not None and len(changes) > limit:
        lines.append(f"    ... and {len(changes) - limit:,} more (-v or --json for all)")
    return lines


def _problems(stats: dict[str, Any]) -> list[str]:
    return [f"  ! {shown_path(p['path'])}: {p['reason']}" for p in stats["problems"]]


def _survey(result: dict[str, Any]) -> list[str]:
    target = result["target"]
    if result["uid"] is None:
        numbers = "absent"
    else:
        gid = result["gid"] if result["gid"] is not None else "-"
        numbers = f"UID {result['uid']}, group GID {gid}"
    lines = [
        f"libvirt-qemu: {numbers}",
        f"  primary group: {result['primary_group'] or '-'} ({result['primary_gid'] or '-'})",
        f"  target: {target['uid']}:{target['gid']}",
        f"  verdict: {result['verdict'].upper()}",
    ]
    if result["blockers"]:
        lines.append("  blockers:")
        lines += [f"    - [{b['code']}] {b['message']}" for b in result["blockers"]]
    return lines


def _convert(result: dict[str, Any], limit: int | None) -> list[str]:
    """Where the target came from and what was recorded (joined or not), then the run."""
    joined = result.get("directory")
    return ([f"directory: {joined['note']}"] if joined else []) + _converted(result, limit)


def _converted(result: dict[str, Any], limit: int | None) -> list[str]:
    status = result["status"]
    target = result["survey"]["target"]
    if status == "already-static":
        return [f"libvirt-qemu is already static ({target['uid']}:{target['gid']}): nothing to do"]
    if status == "absent":
        return ["libvirt-qemu does not exist on this host: nothing to convert"]
    lines = []
    if result["dry_run"]:
        heading = "would resume run " + result["run_id"] if status == "would-resume" else "would"
        lines.append(f"dry run: {heading}:")
    else:
        verb = "resumed and finished" if result["resumed"] else "ran"
        lines.append(f"run {result['run_id']} {verb}:")
    # Steps name paths (--path): escape undecodable bytes like every other path shown.
    lines += [f"  {number}. {shown_path(step)}" for number, step in enumerate(result["steps"], 1)]
    repair = result["repair"]
    if result["dry_run"]:
        lines.append(
            f"  files that would change ({len(result['changes']):,} of {repair['scanned']:,}):"
        )
        lines += _changes(result["changes"], limit)
        if result["survey"]["blockers"]:
            lines.append("  refused now, because of:")
            lines += [f"    - [{b['code']}] {b['message']}" for b in result["survey"]["blockers"]]
        return lines + downtime.lines(result)
    lines.append(f"  scanned {repair['scanned']:,} entries, changed {repair['changed']:,}")
    lines += _problems(repair)
    lines += downtime.lines(result)
    if status == "failed":
        lines.append("FAILED: fix the problems above, then `repair --orphans` or `rollback`")
    else:
        lines.append(f"done: libvirt-qemu is {target['uid']}:{target['gid']}")
    return lines


def _repair(result: dict[str, Any], limit: int | None) -> list[str]:
    repair = result["repair"]
    verb = "would change" if result["dry_run"] else "changed"
    lines = []
    if result.get("run_id"):
        lines.append(f"run {result['run_id']}:")
    count = len(result["changes"]) if result["dry_run"] else repair["changed"]
    lines.append(f"scanned {repair['scanned']:,} entries, {verb} {count:,}")
    if result["dry_run"]:
        lines += _changes(result["changes"], limit)
    if result["mode"] == "orphans" and result["untouched"]:
        lines.append(f"orphans with numbers no journal knows ({len(result['untouched']):,}), left:")
        lines += [
            f"    {shown_path(o['path'])}: {o['uid']}:{o['gid']}"
            for o in result["untouched"][:limit]
        ]
    lines += _problems(repair)
    return lines


def _rollback(result: dict[str, Any], limit: int | None) -> list[str]:
    if result["run_id"] is None:
        return ["nothing to roll back: no run that changed something is left to undo"]
    if result["dry_run"]:
        lines = [f"rollback of run {result['run_id']} ({result['kind']}) would restore:"]
        lines += [f"  {line}" for line in result["accounts"]]
        lines += _changes(result["changes"], limit)
        lines.append(f"  {result['restored']:,} entries; nothing was changed")
    else:
        lines = [f"rolled back run {result['run_id']} ({result['kind']}):"]
        lines += [f"  {line}" for line in result["accounts"]]
        lines.append(f"  restored {result['restored']:,} entries")
    if result["conflicts"]:
        verb = "would be left" if result["dry_run"] else "left"
        lines.append(f"  {len(result['conflicts'])} entries were changed by someone else; {verb}:")
        lines += [f"  ! {shown_path(c['path'])}: {c['reason']}" for c in result["conflicts"]]
    if result.get("domains"):
        started = "would start again" if result["dry_run"] else "the run had stopped"
        lines.append(f"  VMs {started}:")
        lines += downtime.vm_lines(result["domains"])
    return lines


def _journal(result: dict[str, Any]) -> list[str]:
    if "runs" in result:
        if not result["runs"]:
            return ["no runs recorded"]
        return [
            f"{r['run_id']}  {r['kind']:<8} {r['state']:<12} {r['started']}" for r in result["runs"]
        ]
    run = result["run"]
    lines = [f"run {run['run_id']} ({run['kind']}), {run['state']}, started {run['started']}"]
    lines += [f"  {key}: {words(value)}" for key, value in run["params"].items()]
    lines += [f"  summary {key}: {words(value)}" for key, value in run["summary"].items()]
    for record in result["records"]:
        if record["op"] == "entry":
            lines.append(_change(record))
        elif record["op"] == "account":
            lines.append(
                f"    {record['kind']} {record['name']}: {record['old']} -> {record['new']}"
            )
        else:
            lines.append(f"    step {record.get('name', record['op'])}")
    return lines


# The results that list entries, shortened to the first _MAX_LISTED unless asked for all.
_LISTING = {"convert": _convert, "repair": _repair, "rollback": _rollback}
_RENDERERS = {
    "survey": _survey,
    "journal": _journal,
    **domain.RENDERERS,
    **evacuate.RENDERERS,
    **plan.RENDERERS,
    **rollout.RENDERERS,
}


def human(result: dict[str, Any], *, every_entry: bool = False) -> str:
    """The report of one command; ``every_entry`` lists every changed entry, not the first 200."""
    command = result["command"]
    if command in _LISTING:
        return "\n".join(_LISTING[command](result, None if every_entry else _MAX_LISTED))
    return "\n".join(_RENDERERS[command](result))
