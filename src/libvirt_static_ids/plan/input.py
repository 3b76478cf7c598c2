# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The domain the plan works on, from the directory's host records and their inventories.

A record is reported, never trusted: a host whose record or inventory cannot be used, whose
conversion is under way or failed, or that something other than its VMs blocks, is left out
of the plan (neither emptied nor used as a destination) with the reason, so the plan is
honest about what it covers. Hosts without libvirt-qemu are no KVM hosts and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

from libvirt_static_ids.directory.record import State, StoredRecord
from libvirt_static_ids.host.survey import BlockerCode
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan import inventory
from libvirt_static_ids.plan.model import Domain, Host

# What emptying the host resolves; any other blocker keeps it out of the plan.
RESOLVED_BY_EMPTYING = frozenset({BlockerCode.PROCESSES_RUNNING})
_WAITING = {
    State.CONVERTING: "a conversion is under way: plan again when it has recorded its end",
    State.FAILED: "its last conversion failed: resume or roll it back first",
    State.CONFLICT: "the target numbers are taken (see `survey --domain`)",
}


def _reason(stored: StoredRecord, target: IdPair) -> str | None:
    if stored.problems:
        return "unusable record: " + "; ".join(stored.problems)
    if stored.state is None or stored.uid is None or stored.gid is None:
        return "no record of its numbers: run `libvirt-static-ids record` there"
    waiting = _WAITING.get(State(stored.state))
    if waiting:
        return waiting
    blocking = [b["code"] for b in stored.blockers if b["code"] not in RESOLVED_BY_EMPTYING]
    if blocking and IdPair(stored.uid, stored.gid) != target:
        return "blocked by " + ", ".join(blocking) + " (see `survey --domain`)"
    return None


def domain(target: IdPair, records: Iterable[StoredRecord]) -> tuple[Domain, list[str]]:
    """(the domain to plan, names of hosts skipped as no KVM hosts)."""
    hosts: list[Host] = []
    unplanned: list[tuple[str, str]] = []
    skipped: list[str] = []
    for stored in records:
        if stored.state == State.ABSENT:
            skipped.append(stored.name)
            continue
        reason = _reason(stored, target)
        if reason is None:
            try:
                free, vms = inventory.parse(stored.name, stored.inventory)
            except inventory.Unusable as error:
                reason = str(error)
        if reason is not None:
            unplanned.append((stored.name, reason))
            continue
        assert stored.uid is not None and stored.gid is not None
        hosts.append(Host(stored.name, IdPair(stored.uid, stored.gid), free, tuple(vms)))
    return Domain(target, tuple(hosts), tuple(unplanned)), skipped
