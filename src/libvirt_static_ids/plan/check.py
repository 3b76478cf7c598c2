# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Prove a rolling plan step by step, on the domain as recorded; trust nothing in it.

The plan is replayed on the checker's own model of NFS (nfsrules.py: nothing shared with the
planner's effects) and after every step the checker demands:

- every running VM's images open (read-write; read-only disks: read) for the numbers of the
  host it runs on now, in every world, under the NFS rules given (numeric UID, GID and
  supplementary group, mode bits, and ACLs only if the server honours them); during a
  migration, for the numbers of both hosts;
- no host is over-committed: a VM moves only to a host with its memory free;
- every step is possible: the VM runs where the step says, a bridge closes only when open,
  a host converts only when no VM runs on it but those the step suspends;
- a bridge hands over to the identity journaled when it opened (the destination's numbers
  then), whatever that host's numbers are when it closes; on a root_squash export the
  hand-over chown is refused unless the NFS server's admin made it first;
- at the end every planned host is at the target numbers and no bridge is open.

A step changes only the images of its VM (and of VMs sharing a file with it) and the numbers
of an empty host, so after each step exactly those VMs are checked; all of them at the start
and at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan import nfsrules
from libvirt_static_ids.plan.model import Domain, Options, Vm
from libvirt_static_ids.plan.planner import Step

MAX_PROBLEMS = 50


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0
    steps: int = 0
    migrations: int = 0
    max_moves: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "more_problems": self.more_problems,
            "steps_checked": self.steps,
            "migrations": self.migrations,
            "max_moves_per_vm": self.max_moves,
        }


def check(domain: Domain, options: Options, steps: Sequence[Step]) -> CheckReport:
    return _Checker(domain, options).run(steps)


def _numbers(pair: IdPair) -> nfsrules.Numbers:
    return nfsrules.Numbers(pair.uid, pair.gid)


class _Refused(Exception):
    """A step that cannot be carried out as written."""


class _Checker:
    def __init__(self, domain: Domain, options: Options) -> None:
        self.target = domain.target
        self.honours = options.honours_acls
        self.ids: dict[str, IdPair] = {host.name: host.ids for host in domain.hosts}
        self.numbers = {host.name: _numbers(host.ids) for host in domain.hosts}  # as ids
        self.free = {host.name: host.free_mib - options.reserve_mib for host in domain.hosts}
        self.vms: dict[str, Vm] = {}
        self.where: dict[str, str] = {}
        self.worlds: dict[str, nfsrules.Worlds] = {}
        self.report = CheckReport()
        users: dict[str, list[str]] = {}
        for host in domain.hosts:
            for vm in host.vms:
                if not vm.running:
                    continue
                self.vms[vm.key] = vm
                self.where[vm.key] = host.name
                for image in vm.images:
                    users.setdefault(image.path, []).append(vm.key)
                    if image.meta is None:
                        self._problem(f"before step 1: {vm.name}: {image.path} is unknown")
                    else:
                        self.worlds.setdefault(image.path, nfsrules.initial(image.meta))
        # image -> the VMs using it (all running throughout); tuples, not 20,000 sets
        self.users = {path: tuple(keys) for path, keys in users.items()}
        self.squashed = {path for path in self.users if options.squashed(path)}
        # VM key -> (the host its bridge was opened for, the identity journaled then)
        self.bridges: dict[str, tuple[str, IdPair]] = {}
        self.moves: Counter[str] = Counter()
        self.on: dict[str, set[str]] = {name: set() for name in self.ids}  # host -> its VMs
        for key, name in self.where.items():
            self.on[name].add(key)

    def _problem(self, message: str) -> None:
        if len(self.report.problems) < MAX_PROBLEMS:
            self.report.problems.append(message)
        else:
            self.report.more_problems += 1

    # -- access --------------------------------------------------------------------------------

    def _opens(
        self, key: str, hosts: tuple[str, ...], worlds: dict[str, nfsrules.Worlds] | None = None
    ) -> str:
        """'' when the VM's images open for each host's numbers now; else what does not."""
        pairs = tuple(map(self.numbers.__getitem__, hosts))
        states = self.worlds if worlds is None else worlds
        opens, honours = nfsrules.opens, self.honours
        for image in self.vms[key].images:
            state = states.get(image.path)
            if state is None:
                return f"{image.path} is unknown"
            if not opens(state, pairs, image.readonly, honours):
                named = " and ".join(f"{h} ({self.ids[h]})" for h in hosts)
                both = "both " if len(pairs) > 1 else ""
                return f"{image.path} does not open for {both}{named}"
        return ""

    def _verify(self, keys: Iterable[str], when: str, step: Step | None = None) -> None:
        """Each VM's images open for its host now; a problem says when: ``when``, or after
        ``step`` (its text written only then: it costs, 30,000 times)."""
        for key in sorted(keys):
            denied = self._opens(key, (self.where[key],))
            if denied:
                label = when if step is None else "after " + self._label(step)
                self._problem(f"{label}: running VM {self.vms[key].name}: {denied}")

    def _label(self, step: Step) -> str:
        return f"step {self.report.steps} ({step.text()})"

    # -- steps ---------------------------------------------------------------------------------

    def _vm_on(self, step: Step) -> Vm:
        if step.vm not in self.vms:
            raise _Refused(f"no running VM {step.vm!r}")
        if self.where[step.vm] != step.host:
            raise _Refused(f"{step.name} runs on {self.where[step.vm]}, not on {step.host}")
        return self.vms[step.vm]

    def _destination(self, step: Step) -> str:
        if step.to not in self.ids:
            raise _Refused(f"no planned host {step.to!r}")
        if step.to == step.host:
            raise _Refused("source and destination are the same host")
        return step.to

    def _bridge(self, step: Step) -> set[str]:
        vm = self._vm_on(step)
        destination = self._destination(step)
        if vm.key in self.bridges:
            raise _Refused(f"{vm.name}'s bridge is already open")
        if step.mode not in ("acl", "chmod") or (step.mode == "acl" and not step.grants):
            raise _Refused(f"bridge mode {step.mode!r} with grants {list(step.grants)}")
        identity = self.ids[destination]
        if step.identity is not None and step.identity != identity:
            raise _Refused(
                f"the bridge names {step.identity}, but {destination} runs as {identity}"
            )
        mode, grants = step.mode, tuple(_numbers(pair) for pair in step.grants)
        for image in vm.images:
            if image.path in self.squashed and any(
                f.uid == 0 for f in self.worlds.get(image.path, ())
            ):
                raise _Refused(
                    f"{image.path} is root's on a root_squash export: root may not widen it"
                )
        self.bridges[vm.key] = (destination, identity)
        return self._change(vm, lambda w: nfsrules.bridge(w, mode, grants))

    def _migrate(self, step: Step) -> set[str]:
        vm = self._vm_on(step)
        destination = self._destination(step)
        if self.free[destination] < vm.memory_mib:
            raise _Refused(
                f"{destination} has {self.free[destination]} MiB free, {vm.name} needs "
                f"{vm.memory_mib} MiB: over-committed"
            )
        to = self.numbers[destination]
        during = {}
        for image in vm.images:
            if image.path in self.worlds:
                relabel = image.path not in self.squashed
                during[image.path] = nfsrules.migrate(self.worlds[image.path], to, relabel)
        denied = self._opens(vm.key, (step.host, destination), during)
        if denied:
            self._problem(f"{self._label(step)}: while migrating, {denied}")
        self.free[step.host] += vm.memory_mib
        self.free[destination] -= vm.memory_mib
        self.where[vm.key] = destination
        self.on[step.host].discard(vm.key)
        self.on[destination].add(vm.key)
        self.moves[vm.key] = self.moves.get(vm.key, 0) + 1
        self.report.migrations += 1
        touched = {vm.key}
        for path, worlds in during.items():
            self.worlds[path] = worlds
            touched.update(self.users[path])
        if not denied:
            touched.discard(vm.key)  # just proven for both hosts, on these very worlds
        return touched

    def _journaled(self, step: Step) -> tuple[Vm, IdPair]:
        if step.vm not in self.bridges:
            raise _Refused(f"no bridge is open for {step.name}")
        vm = self.vms[step.vm]
        opened_for, identity = self.bridges[vm.key]
        if opened_for != step.to:
            raise _Refused(f"{vm.name}'s bridge was opened for another host")
        return vm, identity

    def _server_chown(self, step: Step) -> set[str]:
        vm, identity = self._journaled(step)
        if step.identity != identity:
            raise _Refused(f"the bridge's identity is {identity}, not {step.identity}")
        mine = {image.path for image in vm.images}
        if not step.paths or not set(step.paths) <= mine:
            raise _Refused(f"{list(step.paths)} are not all {vm.name}'s images")
        touched = {vm.key}
        for path in step.paths:
            if path in self.worlds:
                self.worlds[path] = nfsrules.chown(self.worlds[path], _numbers(identity))
                touched.update(self.users[path])
        return touched

    def _close(self, step: Step) -> set[str]:
        vm, identity = self._journaled(step)
        heir = _numbers(identity)
        for image in vm.images:
            worlds = self.worlds.get(image.path)
            if (
                worlds is not None
                and image.path in self.squashed
                and not nfsrules.owned_by(worlds, heir)
            ):
                raise _Refused(
                    f"root_squash refuses the hand-over chown of {image.path} to {identity}: "
                    "the NFS server's admin must chown it first"
                )
        del self.bridges[vm.key]
        return self._change(vm, lambda w: nfsrules.close(w, heir))

    def _convert(self, step: Step) -> set[str]:
        host = step.host
        if host not in self.ids:
            raise _Refused(f"no planned host {host!r}")
        if self.ids[host] == self.target:
            raise _Refused(f"{host} is already at {self.target}")
        suspend = {key for key, _ in step.suspend}
        running = self.on[host]
        if running != suspend:
            names = sorted(self.vms[k].name for k in running ^ suspend)
            raise _Refused(f"VMs running on {host} and VMs suspended differ: {', '.join(names)}")
        old, new = self.numbers[host], _numbers(self.target)
        self.ids[host], self.numbers[host] = self.target, new
        touched: set[str] = set()
        for key in sorted(suspend):
            vm = self.vms[key]
            for image in vm.images:
                if image.path not in self.worlds:
                    continue
                if image.path in self.squashed:
                    continue  # root_squash refuses the repair's chown and libvirt's relabel
                remapped = nfsrules.remap(self.worlds[image.path], old, new)
                self.worlds[image.path] = nfsrules.migrate(remapped, new, True)
                touched.update(self.users[image.path])
            touched.add(key)
        return touched

    def _change(self, vm: Vm, effect: Any) -> set[str]:
        """Apply ``effect`` to the VM's images; the running VMs using them."""
        touched = {vm.key}
        for image in vm.images:
            if image.path in self.worlds:
                self.worlds[image.path] = effect(self.worlds[image.path])
                touched.update(self.users[image.path])
        return touched

    def run(self, steps: Sequence[Step]) -> CheckReport:
        self._verify(self.where, "before step 1")
        handlers = {
            "bridge": self._bridge,
            "migrate": self._migrate,
            "close": self._close,
            "server-chown": self._server_chown,
            "convert": self._convert,
        }
        for step in steps:
            self.report.steps += 1
            handler = handlers.get(step.op)
            try:
                if handler is None:
                    raise _Refused(f"unknown step {step.op!r}")
                touched = handler(step)
            except _Refused as refused:
                self._problem(f"{self._label(step)}: {refused}")
                continue
            self._verify(touched, "", step)
        for host, ids in sorted(self.ids.items()):
            if ids != self.target:
                self._problem(f"at the end: {host} is still at {ids}, not converted")
        for key in sorted(self.bridges):
            self._problem(f"at the end: the bridge of {self.vms[key].name} is still open")
        self._verify(self.where, "at the end")
        self.report.max_moves = max(self.moves.values(), default=0)
        return self.report
