# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The rollout page's data: ``rollout status`` and the plan's schedule as a timeline.

Everything comes from the core, as the CLI gets it: the status of ``rollout status`` (waves,
hosts, VMs, ETA) and, for the same reading of the directory, the schedule ``plan`` times
(plan/schedule.py) with the colours of ``plan --html``. The only thing added here is which
bar is under way: a host's first scheduled task of the kind its pending or running request
has. Read-only: the page starts nothing (``rollout`` runs from a shell, where it can be
watched and stopped).
"""

from __future__ import annotations

import argparse
from typing import Any

from libvirt_static_ids.cli import plan as cli_plan
from libvirt_static_ids.cli.render import plan_html
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import request as requests
from libvirt_static_ids.errors import UsageError
from libvirt_static_ids.plan import rollout
from libvirt_static_ids.plan.model import Options
from libvirt_static_ids.plan.schedule import TaskKind, schedule

# A request's kind -> the kind of schedule task it carries out (refresh: none).
TASK_OF = {requests.Kind.EVACUATE: TaskKind.MIGRATE, requests.Kind.CONVERT: TaskKind.CONVERT}


def default_options() -> Options:
    """The plan options ``rollout`` uses when given none (its own parser's defaults)."""
    parser = argparse.ArgumentParser(add_help=False)
    cli_plan.add_plan_options(parser)
    return cli_plan.options_from(parser.parse_args([]))


def _under_way(item: dict[str, Any]) -> tuple[requests.Kind | None, tuple[str, ...], str | None]:
    """A request under way: its kind (None: unreadable), VMs and destination."""
    if item.get("pending"):
        try:
            wanted = requests.parse(item["pending"])
        except UsageError:
            return None, (), None
        return wanted.kind, wanted.vms, wanted.to
    kind = (item.get("echo") or {}).get("kind")
    return (requests.Kind(kind) if kind in set(requests.Kind) else None), (), None


def _mark_running(tasks: list[dict[str, Any]], in_flight: list[dict[str, Any]]) -> None:
    """Mark each host's first task of its request's kind; each request gets kind, VMs, to."""
    for task in tasks:
        task["running"] = False
    for item in in_flight:
        under_way, item["vms"], item["to"] = _under_way(item)
        item["kind"] = under_way
        kind = TASK_OF.get(under_way) if under_way is not None else None
        if kind is None:
            continue
        for task in tasks:
            if task["host"] == item["host"] and task["kind"] == kind:
                task["running"] = True
                break


def status(conn: directory.LdapConnection, base: str) -> dict[str, Any]:
    """``rollout status`` with the timeline: the schedule's tasks, the running one marked."""
    prepared = rollout.prepare(conn, base, default_options())
    data = rollout.described(prepared)
    timed = schedule(prepared.made).as_dict()
    _mark_running(timed["tasks"], data["in_flight"])
    data["timeline"] = {
        **timed,
        "hosts": list(dict.fromkeys(task["host"] for task in timed["tasks"])),
        "colours": {"waves": list(plan_html.WAVE_COLOURS), "convert": plan_html.CONVERT},
    }
    return data
