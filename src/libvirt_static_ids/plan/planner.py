# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The rolling conversion of a whole domain: which VM moves where, and when each host converts.

A host can be renumbered only when no VM runs on it, so every VM running on a dynamic host
has to leave it at least once: that count is the lower bound. The plan goes in waves: in each,
as many dynamic hosts (up to ``max_parallel_hosts``) as the static hosts' free memory can take
are emptied onto them and converted, so the next wave has more static room. Hosts go largest
first and each VM to the tightest static host it fits (best fit, biggest VMs first): with one
host's worth of spare capacity every VM moves exactly once.

When no dynamic host's VMs fit, the host leaving the fewest VMs over is emptied anyway: room
is made by moving a VM between static hosts, else the VM is parked on a dynamic host
converted later (it moves again), and what fits nowhere is suspended (managed save) while its
host converts, as ``convert --suspend-vms`` does. With no static host at all, half as many
hosts as may run at once are parked side by side, so the waves after them start wide (a
trade: their VMs move twice, the rollout takes less time). A migration gets a bridge only when its
images do not already open for both hosts in every world (effects.py); a VM that even a
bridge cannot prove is suspended instead of moved.

On a small domain where that falls short of the bound, the exact search (search.py) finds
the order with the fewest suspensions, then the fewest migrations, and it is used instead.

Pure: a Domain in, steps and figures out. check.py proves the result, schedule.py times it.
"""

from __future__ import annotations

import bisect
import functools
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan import effects, search
from libvirt_static_ids.plan.model import Domain, Host, Options, Vm

# The exact search runs on domains up to this many running VMs and hosts.
SEARCH_VMS = 12
SEARCH_HOSTS = 6


class StepOp(StrEnum):
    """What a step does; the checker replays each kind on its own model."""

    BRIDGE = "bridge"
    MIGRATE = "migrate"
    CLOSE = "close"  # with hand-over
    SERVER_CHOWN = "server-chown"  # root_squash: the NFS server's admin hands over
    CONVERT = "convert"


class Method(StrEnum):
    """How the order was found."""

    WAVES = "waves"  # the greedy waves
    SEARCH = "search"  # the exact search (small domains)


class Step(NamedTuple):
    """One action on one host: bridge, migrate, close (with hand-over) or convert.

    An immutable record as a named tuple: a plan has tens of thousands, and a frozen
    dataclass costs three to four times as much to make (every field set through
    ``object.__setattr__``). Changed copies: ``step._replace(...)``.
    """

    op: StepOp
    host: str  # where it runs: the source of a move, or the host converted
    vm: str | None = None  # the VM's key
    name: str | None = None  # the VM's name
    to: str | None = None
    mode: str | None = None  # bridge: acl | chmod
    grants: tuple[IdPair, ...] = ()  # bridge: the numbers given rw access
    suspend: tuple[tuple[str, str], ...] = ()  # convert: (key, name) saved and resumed
    # bridge: the identity journaled when it opens (the destination's numbers then), which
    # close hands the images over to; server-chown: the numbers the images are given.
    identity: IdPair | None = None
    paths: tuple[str, ...] = ()  # server-chown: the images on root_squash exports

    def text(self) -> str:
        if self.op == StepOp.BRIDGE:
            who = ", ".join(str(pair) for pair in self.grants)
            how = f"ACL entries rw for {who}" if self.mode == "acl" else "chmod a+rw"
            return f"on {self.host}: open a bridge for {self.name}'s images ({how})"
        if self.op == StepOp.MIGRATE:
            return f"on {self.host}: live-migrate {self.name} to {self.to}"
        if self.op == StepOp.CLOSE:
            return (
                f"on {self.host}: close {self.name}'s bridge, handing its images over to "
                f"{self.to}'s numbers"
            )
        if self.op == StepOp.SERVER_CHOWN:
            return (
                f"on the NFS server (root_squash export): chown {self.identity} "
                + " ".join(self.paths)
                + f" (hands {self.name}'s images to {self.to})"
            )
        if self.suspend:
            names = ", ".join(name for _, name in self.suspend)
            return f"on {self.host}: convert --suspend-vms (saves and resumes {names})"
        return f"on {self.host}: convert"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"op": self.op, "host": self.host, "text": self.text()}
        if self.vm is not None:
            data.update(vm=self.vm, name=self.name, to=self.to)
        if self.op == StepOp.BRIDGE:
            data.update(mode=self.mode, grants=[pair.as_dict() for pair in self.grants])
        if self.identity is not None:
            data["identity"] = self.identity.as_dict()
        if self.op == StepOp.SERVER_CHOWN:
            data["paths"] = list(self.paths)
        if self.op == StepOp.CONVERT:
            data["suspend"] = [{"vm": key, "name": name} for key, name in self.suspend]
        return data


@dataclass
class Plan:
    domain: Domain  # as planned: unusable hosts moved to ``unplanned``
    options: Options
    steps: list[Step] = field(default_factory=list)
    lower_bound: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    method: Method = Method.WAVES

    @property
    def migrations(self) -> int:
        return sum(step.op == StepOp.MIGRATE for step in self.steps)

    @property
    def suspended(self) -> list[tuple[str, str]]:
        return [pair for step in self.steps for pair in step.suspend]

    def stats(self) -> dict[str, Any]:
        moves = Counter(step.vm for step in self.steps if step.op == StepOp.MIGRATE)
        return {
            "lower_bound": self.lower_bound,
            "migrations": self.migrations,
            "extra_migrations": sum(count - 1 for count in moves.values()),
            "suspended": len(self.suspended),
            "bridges": sum(step.op == StepOp.BRIDGE for step in self.steps),
            "max_moves_per_vm": max(moves.values(), default=0),
            "hosts_converted": sum(step.op == StepOp.CONVERT for step in self.steps),
            "server_steps": sum(step.op == StepOp.SERVER_CHOWN for step in self.steps),
            "method": self.method,
            "seconds": round(self.seconds, 3),
        }

    @property
    def cost(self) -> int:
        """What the plan is judged by: suspensions first, then migrations."""
        return search.SUSPENSION * len(self.suspended) + self.migrations


@functools.lru_cache(maxsize=1 << 16)
def _route(
    states: tuple[tuple[bool, effects.Worlds, bool], ...],
    source: IdPair,
    destination: IdPair,
    mode: str,
    honours: bool,
) -> bool | None:
    """How a VM with these images, (readonly, worlds, squashed) each, may move: None: not
    provably; False: with no bridge (they open for both hosts in every world already); True:
    with a bridge, then handed over. Thousands of VMs share a few such states.

    In ACL mode the bridge names both hosts' numbers: once the destination relabels an
    image, the source is no longer its owner and needs an entry of its own. On a root_squash
    export nothing relabels, and root may not widen a file root owns (the bridge retries as
    the owner, who is root): such an image cannot be bridged.
    """
    both = (source, destination)
    if all(
        effects.opens(effects.migrated(w, destination, not squashed), both, readonly, honours)
        for readonly, w, squashed in states
    ):
        return False
    grants = grants_for(source, destination)
    for readonly, worlds, squashed in states:
        if squashed and any(w.meta.uid == 0 for w in worlds):
            return None
        during = effects.migrated(effects.bridged(worlds, mode, grants), destination, not squashed)
        after = effects.closed(during, destination)
        if not (
            effects.opens(during, both, readonly, honours)
            and effects.opens(after, (destination,), readonly, honours)
        ):
            return None
    return True


@functools.lru_cache(maxsize=1 << 16)
def _moved(
    states: tuple[tuple[bool, effects.Worlds, bool], ...],
    source: IdPair,
    destination: IdPair,
    mode: str,
    honours: bool,
) -> tuple[bool | None, tuple[effects.Worlds, ...]]:
    """The route, and each image's worlds once the move is done: bridge, migration, the NFS
    server's chown (root_squash), close; one memo for the whole move of a VM."""
    bridged = _route(states, source, destination, mode, honours)
    if bridged is None:
        return None, ()
    after = []
    for _, before, squashed in states:
        worlds = before
        if bridged:
            worlds = effects.bridged(worlds, mode, grants_for(source, destination))
        worlds = effects.migrated(worlds, destination, not squashed)
        if bridged and squashed:
            worlds = effects.server_chowned(worlds, destination)
        if bridged:
            worlds = effects.closed(worlds, destination)
        after.append(worlds)
    return bridged, tuple(after)


@functools.lru_cache(maxsize=1 << 10)
def grants_for(source: IdPair, destination: IdPair) -> tuple[IdPair, ...]:
    """Whose numbers an ACL bridge names: the destination's, and the source's (one tuple
    for every bridge between the same numbers)."""
    return tuple(dict.fromkeys((destination, source)))


def _unusable(host: Host, vm: Vm, target: IdPair, options: Options) -> str | None:
    """Why the plan cannot reason about this running VM, if it cannot.

    An image unreadable when recorded, or not opening for its own host's numbers under the
    given NFS rules, means the record (or ``honours_acls``) is wrong; on a host to convert,
    an image no bridge can hand over to the target numbers (its owner bits lack what the
    VM needs) would stop the VM wherever it goes.
    """
    states = []
    for image in vm.images:
        if image.meta is None:
            return f"VM {vm.name}: image {image.path} was unreadable when recorded"
        worlds = effects.initial(image.meta)
        states.append((image.readonly, worlds, options.squashed(image.path)))
        if not effects.opens(worlds, (host.ids,), image.readonly, options.honours_acls):
            rules = "mode bits and ACLs" if options.honours_acls else "mode bits"
            return (
                f"VM {vm.name} runs, yet by its {rules} image {image.path} does not open for "
                f"{host.ids}: the record is stale"
                + ("" if options.honours_acls else ", or the server honours ACLs")
            )
    if host.ids != target:
        mode, honours = options.bridge_mode, options.honours_acls
        if _route(tuple(states), host.ids, target, mode, honours) is None:
            known = [(i, i.meta) for i in vm.images if i.meta is not None]
            rooted = [i.path for i, m in known if m.uid == 0 and options.squashed(i.path)]
            if rooted:
                return (
                    f"VM {vm.name}: image {rooted[0]} is root's on a root_squash export: no "
                    f"client may widen or hand it over; on the NFS server, chown it to "
                    f"{host.ids} first"
                )
            return (
                f"VM {vm.name}: no bridge makes its images open for {target} after the move "
                f"(mode {', '.join(f'{m.mode & 0o7777:04o}' for _, m in known)}): "
                "give the owner read-write first"
            )
    return None


def screen(domain: Domain, options: Options) -> Domain:
    """The domain without hosts the plan cannot reason about, each with the reason."""
    kept: list[Host] = []
    unplanned = list(domain.unplanned)
    seen_hosts: set[str] = set()
    running_on: dict[str, str] = {}
    for host in domain.hosts:
        reason = None
        if host.name in seen_hosts:
            reason = "listed twice"
        for vm in host.vms:
            if reason is not None or not vm.running:
                continue
            if vm.key in running_on:
                reason = f"VM {vm.name} is recorded running on {running_on[vm.key]} as well"
            else:
                reason = _unusable(host, vm, domain.target, options)
        seen_hosts.add(host.name)
        if reason is not None:
            unplanned.append((host.name, reason))
            continue
        kept.append(host)
        running_on.update((vm.key, host.name) for vm in host.vms if vm.running)
    return Domain(domain.target, tuple(kept), tuple(unplanned), domain.holders)


def plan(domain: Domain, options: Options | None = None) -> Plan:
    """The rolling conversion of ``domain`` (screened first): waves, or on a small domain
    where they fall short of the bound, the exact search's order."""
    options = options or Options()
    started = time.perf_counter()
    screened = screen(domain, options)
    if screened.holders:
        result = Plan(screened, options, [], lower_bound(screened))
        result.notes.append(
            f"the target {screened.target} is held in the directory by "
            + "; ".join(screened.holders)
            + ": every conversion would be refused; free it or choose another target first"
        )
        result.seconds = time.perf_counter() - started
        return result
    planner = _Planner(screened, options)
    planner.run()
    result = Plan(screened, options, planner.steps, planner.lower_bound, notes=planner.notes)
    if result.cost > result.lower_bound and _small(screened):
        better = _searched(screened, options)
        if better is not None and better.cost < result.cost:
            result = better
    result.seconds = time.perf_counter() - started
    return result


def _small(domain: Domain) -> bool:
    running = sum(vm.running for host in domain.hosts for vm in host.vms)
    return running <= SEARCH_VMS and len(domain.hosts) <= SEARCH_HOSTS


def _searched(domain: Domain, options: Options) -> Plan | None:
    """The exact search's plan, carried out step by step; None where it gives up or a move
    it chose cannot be proven."""
    planner = _Planner(domain, options)
    names = [host.name for host in domain.hosts]
    slots, loads = [], []
    for host in domain.hosts:
        stuck = set(planner.stuck(host.name))
        running = [planner.vms[key] for key in planner.running[host.name]]
        slots.append(
            search.Slot(
                planner.capacity[host.name],
                host.name in planner.static,
                tuple(vm.memory_mib for vm in running if vm.key in stuck),
            )
        )
        loads.append([vm.memory_mib for vm in running if vm.key not in stuck])
    found = search.search(slots, loads)
    if found is None:
        return None
    try:
        planner.follow(names, found[1])
    except _Unprovable:
        return None
    made = Plan(domain, options, planner.steps, planner.lower_bound, notes=planner.notes)
    made.method = Method.SEARCH
    return made


def clear_caches() -> None:
    """Forget every memoized route and effect (benchmarks measure a cold start)."""
    _route.cache_clear()
    _moved.cache_clear()
    grants_for.cache_clear()
    effects.clear_caches()


class _Unprovable(Exception):
    """A move the exact search chose has no provable route (its images say no)."""


def _best_fit(
    frees: list[tuple[int, str]], items: list[tuple[int, str]]
) -> tuple[list[tuple[str, str]], list[str], list[tuple[int, str]]]:
    """Each item (memory, key), biggest first, to the host with the least free memory that
    takes it. ``frees`` (sorted free, host) is not changed.
    -> ([(key, host)], [unplaced key], frees left)
    """
    free = list(frees)
    placed, unplaced = [], []
    for memory, key in sorted(items, key=lambda item: (-item[0], item[1])):
        index = bisect.bisect_left(free, (memory, ""))
        if index == len(free):
            unplaced.append(key)
            continue
        room, host = free.pop(index)
        bisect.insort(free, (room - memory, host))
        placed.append((key, host))
    return placed, unplaced, free


@dataclass(frozen=True, slots=True)
class _Split:
    """A dynamic host's running VMs: (memory, key) of those that can move to a static host,
    keys of those no move can be proven for; the movable ones' memory, and the largest."""

    movable: list[tuple[int, str]]
    stuck: list[str]
    memory: int
    largest: int


@dataclass(slots=True)
class _Choice:
    """A host to empty: VMs placed on static hosts, VMs left over (to make room for, park or
    suspend), VMs no migration can be proven for (to suspend)."""

    host: str
    placed: list[tuple[str, str]]
    unplaced: list[str]
    stuck: list[str]


class _Planner:
    def __init__(self, domain: Domain, options: Options) -> None:
        self.target = domain.target
        self.options = options
        self.hosts = {host.name: host for host in domain.hosts}
        self.ids = {host.name: host.ids for host in domain.hosts}
        self.free = {host.name: host.free_mib - options.reserve_mib for host in domain.hosts}
        self.capacity = {host.name: self.free[host.name] + host.used_mib for host in domain.hosts}
        self.running: dict[str, list[str]] = {
            host.name: [vm.key for vm in host.vms if vm.running] for host in domain.hosts
        }
        self.vms: dict[str, Vm] = {
            vm.key: vm for host in domain.hosts for vm in host.vms if vm.running
        }
        self.worlds: dict[str, effects.Worlds] = {}
        for vm in self.vms.values():
            for image in vm.images:
                assert image.meta is not None  # screened
                self.worlds.setdefault(image.path, effects.initial(image.meta))
        self.squashed = {path for path in self.worlds if options.squashed(path)}
        self.static = {name for name, ids in self.ids.items() if ids == self.target}
        self.dynamic = set(self.ids) - self.static
        self.lower_bound = sum(len(self.running[name]) for name in self.dynamic)
        self.steps: list[Step] = []
        self.notes: list[str] = []
        self._split_of: dict[str, _Split] = {}  # host -> _split(host), until its VMs change
        self._fresh: set[str] = set()  # hosts converted in the wave under way
        idle = sum(1 for name in self.dynamic for vm in self.hosts[name].vms if not vm.running)
        if idle:
            self.notes.append(
                f"{idle} VM(s) defined but not running on hosts to convert stay where they are; "
                "libvirt relabels their images when they start"
            )

    # -- access ------------------------------------------------------------------------------

    def _states(self, vm: Vm) -> tuple[tuple[bool, effects.Worlds, bool], ...]:
        """(readonly, worlds now, squashed) of each image: what ``_route`` decides on."""
        worlds, squashed = self.worlds, self.squashed
        return tuple([(i.readonly, worlds[i.path], i.path in squashed) for i in vm.images])

    def _route(self, vm: Vm, source: IdPair, destination: IdPair) -> bool | None:
        mode, honours = self.options.bridge_mode, self.options.honours_acls
        return _route(self._states(vm), source, destination, mode, honours)

    def stuck(self, host: str) -> list[str]:
        """VMs on ``host`` no migration to the target numbers can be proven for."""
        if host in self.static:
            return []
        return self._split(host).stuck

    def _split(self, host: str) -> _Split:
        """The VMs on a dynamic host that can move to a static host, and those that cannot
        be proven to (they will be suspended); kept until the host's VMs change, as every
        wave weighs every host left."""
        if host not in self._split_of:
            source = self.ids[host]
            movable, stuck = [], []
            for key in self.running[host]:
                vm = self.vms[key]
                if self._route(vm, source, self.target) is None:
                    stuck.append(key)
                else:
                    movable.append((vm.memory_mib, key))
            sizes = [memory for memory, _ in movable]
            self._split_of[host] = _Split(movable, stuck, sum(sizes), max(sizes, default=0))
        return self._split_of[host]

    # -- steps -------------------------------------------------------------------------------

    def _move(self, key: str, source: str, destination: str) -> None:
        vm = self.vms[key]
        to = self.ids[destination]
        mode, honours = self.options.bridge_mode, self.options.honours_acls
        route, after = _moved(self._states(vm), self.ids[source], to, mode, honours)
        if route is None:
            raise _Unprovable(f"{vm.name} from {source} to {destination}")
        squashed = [image.path for image in vm.images if image.path in self.squashed]
        if route:
            grants = grants_for(self.ids[source], to)
            self.steps.append(
                Step(StepOp.BRIDGE, source, key, vm.name, destination, mode, grants, identity=to)
            )
        self.steps.append(Step(StepOp.MIGRATE, source, key, vm.name, destination))
        if route and squashed:
            self.steps.append(
                Step(
                    StepOp.SERVER_CHOWN,
                    source,
                    key,
                    vm.name,
                    destination,
                    identity=to,
                    paths=tuple(squashed),
                )
            )
        if route:
            self.steps.append(Step(StepOp.CLOSE, source, key, vm.name, destination, identity=to))
        for image, worlds in zip(vm.images, after, strict=True):
            self.worlds[image.path] = worlds  # a file listed twice is moved once
        self.running[source].remove(key)
        self.running[destination].append(key)
        self._split_of.pop(source, None)
        self._split_of.pop(destination, None)
        self.free[source] += vm.memory_mib
        self.free[destination] -= vm.memory_mib

    def _convert(self, host: str, suspend: list[str]) -> None:
        old = self.ids[host]
        pairs = tuple((key, self.vms[key].name) for key in suspend)
        self.steps.append(Step(StepOp.CONVERT, host, suspend=pairs))
        for key in suspend:
            squashed = []
            for image in self.vms[key].images:
                if image.path in self.squashed:
                    squashed.append(image.path)  # the repair's chown is refused there
                    continue
                worlds = effects.remapped(self.worlds[image.path], old, self.target)
                self.worlds[image.path] = effects.migrated(worlds, self.target)
            if squashed:
                self.notes.append(
                    f"{self.vms[key].name} is suspended while {host} converts, but "
                    f"{', '.join(squashed)} is on a root_squash export: the repair cannot "
                    "give it the new numbers; chown it on the NFS server while it is saved, "
                    "or free room so that it can move instead"
                )
        self.ids[host] = self.target
        self.dynamic.discard(host)
        self.static.add(host)

    # -- the order ---------------------------------------------------------------------------

    def _frees(self) -> list[tuple[int, str]]:
        """(free, host) of the static hosts a wave may fill (not those converted in it)."""
        return sorted((self.free[name], name) for name in self.static - self._fresh)

    def _wave(self, remaining: list[str]) -> list[_Choice]:
        """Hosts (largest first) whose movable VMs all fit on the static hosts' free memory
        at the start of the wave, up to ``max_parallel_hosts``: emptied side by side."""
        frees = self._frees()
        claimed: set[str] = set()  # destinations of hosts already in the wave
        wave: list[_Choice] = []
        total = sum(free for free, _ in frees if free > 0)
        biggest = frees[-1][0] if frees else -1
        for host in remaining:
            if len(wave) >= self.options.max_parallel_hosts:
                break
            split = self._split(host)
            if split.memory > total or (split.movable and split.largest > biggest):
                continue
            movable, stuck = split.movable, split.stuck
            # Destinations of its own first: hosts sharing one wait for its link.
            own = [(free, name) for free, name in frees if name not in claimed]
            placed, unplaced, left = _best_fit(own, movable)
            if unplaced:
                placed, unplaced, left = _best_fit(frees, movable)
            else:
                left = sorted(left + [(free, name) for free, name in frees if name in claimed])
            if not unplaced:
                wave.append(_Choice(host, placed, [], stuck))
                frees = left
                claimed.update(destination for _, destination in placed)
                total = sum(free for free, _ in frees if free > 0)
                biggest = frees[-1][0] if frees else -1
        return wave

    def _least_short(self, remaining: list[str], count: int) -> list[_Choice]:
        """No host fits: the ``count`` leaving the fewest VMs over (then the largest), each
        placed on the static hosts' free memory as it is now (they are emptied side by side,
        so each is judged alone, as if it were the only one)."""
        frees = self._frees()
        scored = []
        for host in remaining:
            split = self._split(host)
            movable, stuck = split.movable, split.stuck
            placed, unplaced, _ = _best_fit(frees, movable)
            score = (len(unplaced) + len(stuck), -self.capacity[host], host)
            scored.append((score, _Choice(host, placed, unplaced, stuck)))
        scored.sort(key=lambda item: item[0])
        return [choice for _, choice in scored[:count]]

    def _make_room(self, memory: int, source: str) -> str | None:
        """Move one VM between static hosts so that ``memory`` fits on one of them; the host
        made room on, or None. The VM goes to the tightest other static host that takes it."""
        frees = self._frees()  # nothing moves until the one move that returns
        for room, host in reversed(frees):
            need = memory - room
            if need <= 0:
                return host
            for key in sorted(self.running[host], key=lambda k: (self.vms[k].memory_mib, k)):
                vm = self.vms[key]
                if vm.memory_mib < need:
                    continue
                index = bisect.bisect_left(frees, (vm.memory_mib, ""))
                spots = [name for _, name in frees[index : index + 2] if name != host]
                spot = spots[0] if spots else None
                if spot is not None and self._route(vm, self.target, self.target) is not None:
                    self._move(key, host, spot)
                    return host
        return None

    def _place_left(self, host: str, left: list[str], remaining: list[str]) -> list[str]:
        """What the static hosts cannot take: onto a static host after moving one of its VMs
        to another, else parked on a dynamic host converted last; the rest (no room, or no
        provable route) is suspended. -> keys to suspend."""
        suspend: list[str] = []
        parking = list(reversed(remaining))
        for key in sorted(left, key=lambda k: (-self.vms[k].memory_mib, k)):
            vm = self.vms[key]
            spot = self._make_room(vm.memory_mib, host)
            if spot is None:
                spot = next(
                    (
                        other
                        for other in parking
                        if self.free[other] >= vm.memory_mib
                        and self._route(vm, self.ids[host], self.ids[other]) is not None
                    ),
                    None,
                )
            if spot is None:
                suspend.append(key)
            else:
                self._move(key, host, spot)
        return suspend

    def run(self) -> None:
        for name in sorted(self.dynamic):
            if not self.running[name]:
                self._convert(name, [])
        remaining = sorted(self.dynamic, key=lambda name: (-self.capacity[name], name))
        short: list[str] = []
        while remaining:
            wave = self._wave(remaining)
            if not wave:
                # With no room anywhere, half as many hosts as may run at once are parked
                # side by side (one host stays to park on): their VMs move twice, but the
                # next waves start that wide.
                side_by_side = (
                    max(1, self.options.max_parallel_hosts // 2) if not self.static else 1
                )
                wave = self._least_short(remaining, max(1, min(side_by_side, len(remaining) - 1)))
                short.extend(chosen.host for chosen in wave)
            for chosen in wave:
                remaining.remove(chosen.host)
            self._fresh = set()
            for chosen in wave:
                for key, destination in chosen.placed:
                    self._move(key, chosen.host, destination)
                suspend = self._place_left(chosen.host, chosen.unplaced, remaining)
                self._convert(chosen.host, suspend + chosen.stuck)
                self._fresh.add(chosen.host)
            self._fresh = set()
        if short:
            self.notes.append(
                f"capacity is short when emptying {', '.join(short)}: the static hosts cannot "
                "take all their VMs, so room is made by moving VMs between static hosts, some "
                "are parked on hosts converted later (they move twice) or suspended while "
                "their host converts"
            )

    def follow(self, names: list[str], actions: list[search.Action]) -> None:
        """Carry out the exact search's actions on real VMs (equal memory: any of them)."""
        for action in actions:
            if len(action) == 1:
                host = names[action[0]]
                if host in self.dynamic:
                    self._convert(host, list(self.running[host]))
                continue
            memory, source, destination = action
            stuck = set(self.stuck(names[source]))
            key = min(
                k
                for k in self.running[names[source]]
                if self.vms[k].memory_mib == memory and k not in stuck
            )
            self._move(key, names[source], names[destination])
        suspended = sum(len(step.suspend) for step in self.steps)
        if suspended:
            self.notes.append(
                f"capacity is short: {suspended} VM(s) suspended while their host converts; "
                "no order of migrations keeps them running"
            )


def lower_bound(domain: Domain) -> int:
    """Running VMs on hosts not yet at the target numbers: each must leave its host once."""
    return sum(
        sum(vm.running for vm in host.vms) for host in domain.hosts if host.ids != domain.target
    )
