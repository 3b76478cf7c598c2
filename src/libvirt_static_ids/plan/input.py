# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The domain the plan works on, from the directory's host records and their inventories, or
from what ``survey --domain --json`` printed (``plan --from``: validated by the shipped
``domain-survey.schema.json``, then read exactly as records from the directory are).

A record is reported, never trusted: a host whose record or inventory cannot be used, whose
conversion is under way or failed, or that something other than its VMs blocks, is left out
of the plan (neither emptied nor used as a destination) with the reason, so the plan is
honest about what it covers. Hosts without libvirt-qemu are no KVM hosts and are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from libvirt_static_ids.directory.record import State, StoredRecord
from libvirt_static_ids.errors import UsageError
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


def domain(
    target: IdPair, records: Iterable[StoredRecord], holders: Sequence[str] = ()
) -> tuple[Domain, list[str]]:
    """(the domain to plan, names of hosts skipped as no KVM hosts); ``holders``: DNs of
    directory objects holding the target numbers (they block every conversion)."""
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
    return Domain(target, tuple(hosts), tuple(unplanned), tuple(holders)), skipped


def _schema_problem(data: Any) -> str | None:
    import jsonschema  # ~0.3 s to import: only ``plan --from`` pays for it
    from jsonschema.exceptions import best_match

    text = resources.files("libvirt_static_ids").joinpath("schemas/domain-survey.schema.json")
    schema = json.loads(text.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = best_match(validator.iter_errors(data))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the top"
    return f"at {where}: {error.message:.200}"


def _record(host: dict[str, Any]) -> StoredRecord:
    inventory = host["inventory"]
    return StoredRecord(
        dn=host["dn"],
        name=host["name"],
        has_class=True,
        state=host["state"],
        uid=host["uid"],
        gid=host["gid"],
        checked=None,
        blockers=tuple(dict(b) for b in host["blockers"]),
        detail={},
        request=host["request"],
        problems=tuple(host["problems"]),
        inventory=None if inventory is None else json.dumps(inventory),
    )


def from_survey(data: Any, source: str) -> tuple[Domain, list[str]]:
    """The domain of a saved ``survey --domain --json``; UsageError names what is wrong."""
    problem = _schema_problem(data)
    if problem is not None:
        raise UsageError(
            f"--from {source!r} is not the output of `survey --domain --json` ({problem})",
            option="--from",
        )
    target = IdPair(data["settings"]["target"]["uid"], data["settings"]["target"]["gid"])
    holders = [holder["dn"] for holder in data["holders"]]
    return domain(target, [_record(host) for host in data["hosts"]], holders)
