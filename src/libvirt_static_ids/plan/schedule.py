# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The plan in time: how long each step takes, what may run side by side, when it ends.

A task is one VM's move (its bridge, migration, server chown and close) or one host's
conversion. A migration copies the guest's memory at the link's share (``link_mib_s`` /
``migrations_per_host``) plus a fixed overhead; a conversion takes ``convert_s``. The plan's
order gives the dependencies: a VM's moves one after another; a move into a host after the
moves out of it that came first in the plan (so its memory is free) and after that host's
conversion if the plan converted it first; a conversion after every move off (and onto) the
host that came before it. Within those, tasks start as early as the limits allow (the plan's
order breaks ties): each host takes part in at most ``migrations_per_host`` migrations at a
time, at most ``max_parallel_hosts`` hosts are being emptied or converted at once.

The lower bound on any schedule of this plan: the longest chain of dependent tasks (the
moves off a host, sharing its link, count one after another over its slots); the
hosts' own work (each must send its VMs at link speed and convert) spread over the hosts
allowed at once; the bytes moved over the bandwidth of all links allowed at once.
A task's wave is the number of conversions it waits for, one after another, plus one.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from libvirt_static_ids.plan.model import Options, Vm
from libvirt_static_ids.plan.planner import Plan, StepOp


class TaskKind(StrEnum):
    MIGRATE = "migrate"  # one VM's move: bridge, migration, server chown, close
    CONVERT = "convert"


@dataclass(slots=True)
class Task:
    index: int
    kind: TaskKind
    host: str  # the source, or the host converted
    seconds: float
    steps: tuple[int, ...]  # indices into the plan's steps
    to: str | None = None
    vm: str | None = None
    name: str | None = None
    memory_mib: int = 0
    counts: bool = False  # takes a place among max_parallel_hosts (its host is dynamic)
    after: tuple[int, ...] = ()  # tasks that must end first
    after_start: tuple[int, ...] = ()  # tasks that must start first
    start: float = 0.0
    end: float = 0.0
    wave: int = 1

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "host": self.host,
            "wave": self.wave,
            "start": round(self.start, 1),
            "end": round(self.end, 1),
            "seconds": round(self.seconds, 1),
            "steps": [n + 1 for n in self.steps],
        }
        if self.kind == TaskKind.MIGRATE:
            data.update(to=self.to, vm=self.vm, name=self.name, memory_mib=self.memory_mib)
        return data


@dataclass
class Schedule:
    tasks: list[Task]
    makespan: float
    bound_chain: float
    bound_hosts: float
    bound_bytes: float
    serial: float  # every task one after another: the KB's procedure

    @property
    def lower_bound(self) -> float:
        return max(self.bound_chain, self.bound_hosts, self.bound_bytes)

    @property
    def waves(self) -> int:
        return max((task.wave for task in self.tasks), default=0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "makespan_s": round(self.makespan, 1),
            "lower_bound_s": round(self.lower_bound, 1),
            "bounds_s": {
                "chain": round(self.bound_chain, 1),
                "hosts": round(self.bound_hosts, 1),
                "bytes": round(self.bound_bytes, 1),
            },
            "serial_s": round(self.serial, 1),
            "waves": self.waves,
            "tasks": [task.as_dict() for task in self.tasks],
        }


PARALLEL = "\0parallel"  # the resource max_parallel_hosts counts


def migration_seconds(vm: Vm, options: Options) -> float:
    share = options.link_mib_s / options.migrations_per_host
    return vm.memory_mib / share + options.migration_overhead_s


def _tasks(made: Plan) -> list[Task]:
    """Group the steps into tasks and derive their dependencies from the plan's order."""
    options = made.options
    vms = {vm.key: vm for host in made.domain.hosts for vm in host.vms}
    dynamic = {host.name for host in made.domain.hosts if host.ids != made.domain.target}
    tasks: list[Task] = []
    open_move: dict[str, tuple[Task, bool]] = {}  # VM key -> (its move, bridged), until done
    last_move: dict[str, int] = {}
    outs: dict[str, list[int]] = {}  # host -> moves off it so far
    ins: dict[str, list[int]] = {}
    converted: dict[str, int] = {}
    for number, step in enumerate(made.steps):
        if step.op == StepOp.CONVERT:
            task = Task(len(tasks), TaskKind.CONVERT, step.host, options.convert_s, (number,))
            task.counts = True
            task.after = tuple(sorted(set(outs.get(step.host, []) + ins.get(step.host, []))))
            converted[step.host] = task.index
            # Later moves onto the host wait for its conversion, which waited for these.
            outs[step.host], ins[step.host] = [], []
            dynamic.discard(step.host)
            tasks.append(task)
            continue
        assert step.vm is not None and step.to is not None
        if step.vm in open_move:
            move, bridged = open_move[step.vm]
        else:
            vm = vms[step.vm]
            bridged = step.op == StepOp.BRIDGE
            move = Task(
                len(tasks),
                TaskKind.MIGRATE,
                step.host,
                migration_seconds(vm, options),
                (),
                step.to,
                step.vm,
                step.name,
                vm.memory_mib,
                counts=step.host in dynamic,
            )
            after = set(outs.get(step.to, []))
            if step.vm in last_move:
                after.add(last_move[step.vm])
            if step.to in converted and not outs.get(step.to):
                after.add(converted[step.to])
            if step.host in converted:
                after.add(converted[step.host])
            move.after = tuple(sorted(after))
            if ins.get(step.to):
                move.after_start = (ins[step.to][-1],)
            open_move[step.vm] = (move, bridged)
            tasks.append(move)
            last_move[step.vm] = move.index
            outs.setdefault(step.host, []).append(move.index)
            ins.setdefault(step.to, []).append(move.index)
        move.steps = (*move.steps, number)
        if step.op == (StepOp.CLOSE if bridged else StepOp.MIGRATE):
            del open_move[step.vm]
    return tasks


def _run(tasks: list[Task], options: Options) -> float:
    """List scheduling in the plan's order within the limits; sets start and end."""
    waiting_ends = [len(t.after) for t in tasks]
    waiting_starts = [len(t.after_start) for t in tasks]
    ended_by: dict[int, list[int]] = {}
    started_by: dict[int, list[int]] = {}
    for task in tasks:
        for other in task.after:
            ended_by.setdefault(other, []).append(task.index)
        for other in task.after_start:
            started_by.setdefault(other, []).append(task.index)
    ready = [t.index for t in tasks if not waiting_ends[t.index] and not waiting_starts[t.index]]
    heapq.heapify(ready)
    slots: dict[str, int] = {}
    active: dict[str, int] = {}  # host -> running tasks that count on it
    blocked: dict[str, list[int]] = {}  # resource -> tasks waiting for it
    running: list[tuple[float, int]] = []
    now = 0.0

    def blocking(task: Task, limit: int) -> str | None:
        if task.kind == TaskKind.MIGRATE:
            for host in (task.host, task.to or ""):
                if slots.get(host, 0) >= options.migrations_per_host:
                    return host
        if task.counts and task.host not in active and len(active) >= limit:
            return PARALLEL
        return None

    def release(key: str) -> None:
        for index in blocked.pop(key, []):
            heapq.heappush(ready, index)

    while ready or running or PARALLEL in blocked:
        limit = options.max_parallel_hosts
        if not running and not ready and PARALLEL in blocked:
            # Every host worked on waits for one not yet begun: let one more begin.
            release(PARALLEL)
            limit = len(active) + 1
        while ready:
            task = tasks[heapq.heappop(ready)]
            resource = blocking(task, limit)
            if resource is not None:
                blocked.setdefault(resource, []).append(task.index)
                continue
            task.start, task.end = now, now + task.seconds
            if task.kind == TaskKind.MIGRATE:
                slots[task.host] = slots.get(task.host, 0) + 1
                slots[task.to or ""] = slots.get(task.to or "", 0) + 1
            if task.counts:
                active[task.host] = active.get(task.host, 0) + 1
            heapq.heappush(running, (task.end, task.index))
            for other in started_by.get(task.index, ()):
                waiting_starts[other] -= 1
                if not waiting_starts[other] and not waiting_ends[other]:
                    heapq.heappush(ready, other)
        if not running:
            continue
        now, index = heapq.heappop(running)
        done = [index]
        while running and running[0][0] <= now:
            done.append(heapq.heappop(running)[1])
        for index in done:
            task = tasks[index]
            if task.kind == TaskKind.MIGRATE:
                for host in (task.host, task.to or ""):
                    slots[host] -= 1
                    release(host)
            if task.counts:
                active[task.host] -= 1
                # A host stays among those worked on from its first move to its conversion.
                if task.kind == TaskKind.CONVERT:
                    del active[task.host]
                    release(PARALLEL)
                elif not active[task.host]:
                    active[task.host] = 0
            for other in ended_by.get(index, ()):
                waiting_ends[other] -= 1
                if not waiting_ends[other] and not waiting_starts[other]:
                    heapq.heappush(ready, other)
    return max((t.end for t in tasks), default=0.0)


def schedule(made: Plan) -> Schedule:
    options = made.options
    tasks = _tasks(made)
    makespan = _run(tasks, options)
    earliest = [0.0] * len(tasks)
    slots = options.migrations_per_host
    for task in tasks:  # dependencies always point back in the plan's order
        begin = max((earliest[o] + tasks[o].seconds for o in task.after), default=0.0)
        if task.kind == TaskKind.CONVERT:
            # The moves off (and onto) the host share its link: the last of them ends no
            # sooner than the first could start plus all of them over its slots.
            for shares in (
                [o for o in task.after if tasks[o].host == task.host],
                [o for o in task.after if tasks[o].to == task.host],
            ):
                if shares:
                    first = min(earliest[o] for o in shares)
                    begin = max(begin, first + sum(tasks[o].seconds for o in shares) / slots)
        earliest[task.index] = begin
        task.wave = max(
            (tasks[o].wave + (tasks[o].kind == TaskKind.CONVERT) for o in task.after), default=1
        )
    chain = max((earliest[t.index] + t.seconds for t in tasks), default=0.0)
    work = sum(t.seconds for t in tasks if t.counts and t.kind == TaskKind.CONVERT)
    sent = sum(t.memory_mib for t in tasks if t.counts and t.kind == TaskKind.MIGRATE)
    overhead = sum(1 for t in tasks if t.counts and t.kind == TaskKind.MIGRATE)
    work += sent / options.link_mib_s
    work += overhead * options.migration_overhead_s / options.migrations_per_host
    hosts = len(made.domain.hosts)
    lanes = max(1, min(options.max_parallel_hosts, hosts))
    links = max(1.0, min(options.max_parallel_hosts, hosts / 2)) * options.link_mib_s
    moved = sum(t.memory_mib for t in tasks if t.kind == TaskKind.MIGRATE)
    return Schedule(
        tasks,
        makespan,
        chain,
        work / lanes,
        moved / links,
        sum(t.seconds for t in tasks),
    )
