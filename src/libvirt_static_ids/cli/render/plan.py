# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Human-readable output of ``plan``: the figures first, then the steps, then what is left."""

from __future__ import annotations

from typing import Any

HEADINGS = {
    "complete": "a plan for every KVM host, no VM stops",
    "needs-downtime": "a plan for every KVM host; capacity is short: some VMs are suspended",
    "incomplete": "INCOMPLETE: some hosts could not be planned (see below)",
    "blocked": "BLOCKED: objects in the directory hold the target numbers (see below)",
    "unsafe": "UNSAFE: the checker found problems; do not follow this plan",
}


def duration(seconds: float) -> str:
    """``1 h 05 min``, ``4 min 10 s``, ``12 s``."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _plan(result: dict[str, Any]) -> list[str]:
    stats, check = result["stats"], result["check"]
    timed, options = result["schedule"], result["options"]
    target = result["target"]
    bound = stats["lower_bound"]
    distance = stats["migrations"] - bound
    lines = [
        f"plan to {target['uid']}:{target['gid']}: {HEADINGS[result['status']]}",
        f"  {stats['migrations']} migrations, lower bound {bound} "
        f"({distance:+d}: {stats['extra_migrations']} second moves, "
        f"{stats['suspended']} suspended instead of moved), "
        f"{stats['hosts_converted']} hosts converted, {stats['bridges']} bridges "
        f"({result['options']['bridge_mode']}), planned in {stats['seconds']:.2f} s",
        f"  takes about {duration(timed['makespan_s'])} in {timed['waves']} waves (lower bound "
        f"{duration(timed['lower_bound_s'])}; one migration at a time: "
        f"{duration(timed['serial_s'])}), up to {options['max_parallel_hosts']} hosts at once",
        "  checker: "
        + (
            f"proven, {check['steps_checked']} steps"
            if check["ok"]
            else f"{len(check['problems']) + check['more_problems']} problem(s)"
        ),
    ]
    width = len(str(len(result["steps"])))
    lines += [f"  {n:>{width}}. {step['text']}" for n, step in enumerate(result["steps"], 1)]
    if result["suspend"]:
        lines.append("  suspended (managed save) while their host converts:")
        lines += [f"    {s['name']} on {s['host']}" for s in result["suspend"]]
    lines += [f"  target held by {dn}" for dn in result["holders"]]
    for entry in result["unplanned"]:
        lines.append(f"  not planned: {entry['host']}: {entry['reason']}")
    lines += [f"  ! {problem}" for problem in check["problems"]]
    if check["more_problems"]:
        lines.append(f"  ! ... and {check['more_problems']} more")
    lines += [f"  note: {note}" for note in result["notes"]]
    return lines


RENDERERS = {"plan": _plan}
