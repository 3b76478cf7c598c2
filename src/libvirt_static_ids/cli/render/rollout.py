# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Human-readable output of ``rollout``: the waves, each host's command, what is left."""

from __future__ import annotations

from typing import Any


def _duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def _waves(plan: dict[str, Any], commands: bool) -> list[str]:
    lines = []
    for wave in range(1, plan["waves"] + 1):
        chosen = [a for a in plan["actions"] if a["wave"] == wave]
        lines.append(f"  wave {wave}/{plan['waves']} ({len(chosen)} request(s)):")
        for action in chosen:
            lines.append(f"    {action['number']:>3}. on {action['host']}: {action['text']}")
            if commands:
                lines.append(f"         $ {action['command']}")
    return lines


def _summary(plan: dict[str, Any]) -> list[str]:
    hosts = plan["hosts"]
    static = sum(h["static"] for h in hosts)
    lines = [
        f"  target {plan['target']}: {static} of {len(hosts)} KVM hosts static, "
        f"{len(plan['actions'])} requests in {plan['waves']} waves, {plan['migrations']} "
        f"live migrations, about {_duration(plan['eta_seconds'])} (estimate)"
    ]
    for item in plan["in_flight"]:
        echo = item["echo"] or {}
        what = item["pending"] or f"{echo.get('kind')} {echo.get('id', '')}".strip()
        lines.append(f"  under way on {item['host']}: {what} ({echo.get('state', 'pending')})")
    lines += [f"  ! {problem}" for problem in plan["refusals"]]
    return lines


def _plan(result: dict[str, Any]) -> list[str]:
    lines = [f"rollout {result['rollout_id']} (dry run: nothing requested)", *_summary(result)]
    lines += _waves(result, commands=True)
    if not result["actions"] and not result["refusals"]:
        lines.append("  nothing to do: every KVM host is static")
    return lines


def _status(result: dict[str, Any]) -> list[str]:
    lines = [f"rollout status: {result['status']}", *_summary(result)]
    lines += _waves(result, commands=False)
    for host in result["hosts"]:
        kind = "static " if host["static"] else "dynamic"
        lines.append(
            f"  {host['name']}: {kind} {host['uid']}:{host['gid']}, running "
            + (", ".join(host["running"]) or "nothing")
        )
    return lines


def _rollout(result: dict[str, Any]) -> list[str]:
    lines = [
        f"rollout {result['rollout_id']}: {result['status']}, {len(result['done'])} requests "
        f"carried out in {result['seconds']:.1f} s"
    ]
    lines += [f"  done: {item['text']}" for item in result["done"]]
    failure = result["failure"]
    if failure:
        echo = failure["echo"]
        lines.append(f"  FAILED on {failure['host']}: {echo.get('message', echo)}")
        lines.append("  every VM still runs; fix the cause, then run `rollout` again to continue")
    after = result["after"]
    if after is not None:
        left = len(after["actions"])
        lines.append(
            "  the domain has converged: every KVM host is static"
            if not left and not after["refusals"]
            else f"  left: {left} requests; ! " + "; ".join(after["refusals"])
        )
    return lines


RENDERERS = {"rollout": _rollout, "rollout-plan": _plan, "rollout-status": _status}
