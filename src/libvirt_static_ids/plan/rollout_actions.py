# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The plan as work for the hosts: one request per action, in waves that may run at once.

The planner's steps (bridge, migrate, close, convert) become the requests hosts carry out:
an *evacuate* of the VMs one host sends to one destination (the host's unit bridges, probes,
migrates and closes each of them itself) and a *convert*. This narrow adapter is the only
place that reads the plan's steps, so a richer plan (waves, durations) changes nothing else.

Two actions that touch a common host (as source or destination) keep the plan's order; all
others are independent: a host's free memory, its numbers and the images of the VMs on it
change only through actions touching it, so every order that keeps each host's sequence is
as safe as the checked one. An action's wave is one more than the latest wave it waits for.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from libvirt_static_ids.directory import agent
from libvirt_static_ids.directory.request import HostRequest, Kind
from libvirt_static_ids.host import transient_unit
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan.planner import Plan, StepOp
from libvirt_static_ids.plan.schedule import migration_seconds


@dataclass(frozen=True)
class Action:
    """One request to one host: evacuate VMs to a destination, or convert."""

    number: int  # 1-based, in the plan's order
    kind: Kind
    host: str
    to: str | None = None
    numbers: IdPair | None = None  # evacuate: the destination's numbers when it runs
    mode: str | None = None
    vms: tuple[str, ...] = ()  # names
    memory_mib: int = 0
    after: tuple[int, ...] = ()  # numbers of the actions it waits for
    wave: int = 1
    seconds: int = 0  # the schedule's estimate (its VMs migrate one after another)

    @property
    def hosts(self) -> tuple[str, ...]:
        return (self.host,) if self.to is None else (self.host, self.to)

    def request(self, rollout_id: str) -> HostRequest:
        return HostRequest(
            self.kind, f"{rollout_id}.{self.number}", self.to, self.numbers, self.mode, self.vms
        )

    def command(self, rollout_id: str) -> str:
        """The exact command line the host's listener starts for this action."""
        request = self.request(rollout_id)
        unit = (
            agent.convert_unit(request=request)
            if self.kind is Kind.CONVERT
            else agent.evacuate_unit(request)
        )
        return shlex.join(transient_unit.start_argv(unit))

    def text(self) -> str:
        if self.kind is Kind.CONVERT:
            return f"convert {self.host}"
        return f"live-migrate {', '.join(self.vms)} from {self.host} to {self.to}"

    def as_dict(self, rollout_id: str) -> dict[str, Any]:
        return {
            "number": self.number,
            "wave": self.wave,
            "kind": self.kind.value,
            "host": self.host,
            "to": self.to,
            "vms": list(self.vms),
            "memory_mib": self.memory_mib,
            "after": list(self.after),
            "seconds": self.seconds,
            "text": self.text(),
            "request": self.request(rollout_id).value(),
            "command": self.command(rollout_id),
        }


@dataclass
class Work:
    """The plan's actions, and what keeps it from being carried out unattended."""

    actions: list[Action] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)  # VMs the plan would stop

    @property
    def waves(self) -> int:
        return max((action.wave for action in self.actions), default=0)


def actions(plan: Plan) -> Work:
    """The plan's steps as requests: migrations of one host to one destination grouped."""
    ids = {host.name: host.ids for host in plan.domain.hosts}
    vms = {vm.key: vm for host in plan.domain.hosts for vm in host.vms}
    target = plan.domain.target
    work = Work()
    drafts: list[dict[str, Any]] = []
    for step in plan.steps:
        if step.op == StepOp.MIGRATE:
            assert step.to is not None and step.name is not None and step.vm is not None
            last = drafts[-1] if drafts else None
            if (
                last
                and last["kind"] is Kind.EVACUATE
                and (last["host"], last["to"])
                == (
                    step.host,
                    step.to,
                )
            ):
                last["vms"].append(step.name)
                last["memory"] += vms[step.vm].memory_mib
                last["seconds"] += migration_seconds(vms[step.vm], plan.options)
                continue
            drafts.append(
                {
                    "kind": Kind.EVACUATE,
                    "host": step.host,
                    "to": step.to,
                    "numbers": ids[step.to],
                    "vms": [step.name],
                    "memory": vms[step.vm].memory_mib,
                    "seconds": migration_seconds(vms[step.vm], plan.options),
                }
            )
        elif step.op == StepOp.CONVERT:
            work.suspended += [name for _, name in step.suspend]
            drafts.append(
                {
                    "kind": Kind.CONVERT,
                    "host": step.host,
                    "vms": [],
                    "memory": 0,
                    "seconds": plan.options.convert_s,
                }
            )
            ids[step.host] = target
    last_on: dict[str, int] = {}
    waves: dict[int, int] = {}
    for number, draft in enumerate(drafts, 1):
        touched = [draft["host"]] + ([draft["to"]] if draft.get("to") else [])
        after = tuple(sorted({last_on[h] for h in touched if h in last_on}))
        wave = 1 + max((waves[n] for n in after), default=0)
        waves[number] = wave
        for host in touched:
            last_on[host] = number
        work.actions.append(
            Action(
                number,
                draft["kind"],
                draft["host"],
                draft.get("to"),
                draft.get("numbers"),
                plan.options.bridge_mode if draft["kind"] is Kind.EVACUATE else None,
                tuple(draft["vms"]),
                draft["memory"],
                after,
                wave,
                round(draft["seconds"]),
            )
        )
    return work


def eta_seconds(pending: list[Action], parallel: int) -> int:
    """The time the rollout takes for ``pending`` by its own rule (``rollout._run_actions``):
    in the plan's order, each action as soon as those it waits for are done, at most
    ``parallel`` at once, each taking its estimate. Actions it waits for that are not pending
    are done already."""
    left = {action.number for action in pending}
    queue = list(pending)
    running: list[tuple[int, int]] = []  # (finish time, number)
    now = 0
    while queue or running:
        ready = [a for a in queue if left.isdisjoint(a.after)]
        for action in ready[: max(0, max(1, parallel) - len(running))]:
            queue.remove(action)
            running.append((now + action.seconds, action.number))
        if not running:  # the rest waits in a cycle: no plan makes one, but never loop
            break
        now, number = min(running)
        running.remove((now, number))
        left.discard(number)
    return now
