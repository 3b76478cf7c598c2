# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Every ``enum`` in the shipped JSON Schemas is exactly the Python vocabulary behind it.

The schemas promise what the JSON output may contain; the enums are what the code writes.
A value added, renamed or dropped on one side only fails here. Every enum the schemas hold
is found by walking them, so a new one fails too until it is mapped below (or listed, with
the reason it has no Python counterpart).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

import libvirt_static_ids
from libvirt_static_ids import errors
from libvirt_static_ids.cli.plan import PlanStatus
from libvirt_static_ids.directory import domain_survey, settings
from libvirt_static_ids.directory.client import DirectoryError, Reason, RequestStatus
from libvirt_static_ids.directory.record import Request, State
from libvirt_static_ids.directory.request import Kind as RequestKind
from libvirt_static_ids.directory.request import RequestState
from libvirt_static_ids.evacuation.bridge.bridged_file import Via
from libvirt_static_ids.evacuation.bridge.runs import Action, BridgeState, BridgeStatus, FileStatus
from libvirt_static_ids.evacuation.report import EvacuateStatus, IdentitySource, VmStatus
from libvirt_static_ids.files.widen import Mode
from libvirt_static_ids.host.convert import ConvertStatus
from libvirt_static_ids.host.downtime import How, OutcomeStatus
from libvirt_static_ids.host.rollback import RollbackStatus
from libvirt_static_ids.host.survey import BlockerCode
from libvirt_static_ids.ids import IdPair, Verdict
from libvirt_static_ids.journal.records import (
    AccountKind,
    DowntimeStep,
    EvacuationStep,
    HostStep,
    Op,
)
from libvirt_static_ids.journal.runs import ACTIVE_STATES, RunKind, RunState
from libvirt_static_ids.plan.planner import Method, StepOp
from libvirt_static_ids.plan.rollout import RolloutStatus
from libvirt_static_ids.plan.schedule import TaskKind

SCHEMAS = Path(libvirt_static_ids.__file__).parent / "schemas"
CLI = "cli-output.schema.json"
DIRECTORY = "directory-output.schema.json"
SURVEY = "domain-survey.schema.json"
EVACUATION = "evacuation-output.schema.json"
INVENTORY = "inventory.schema.json"
PLAN = "plan-output.schema.json"
JOURNAL = "journal.schema.json"
ROLLOUT = "rollout-output.schema.json"


def values(*parts: Iterable[Any]) -> list[Any]:
    """The values of enums (their members in definition order) and of plain lists, joined."""
    joined: list[Any] = []
    for part in parts:
        joined += [m.value if isinstance(m, Enum) else m for m in part]
    return joined


def _codes(classes: Iterable[type[errors.StaticIdsError]]) -> list[str]:
    return [cls.code for cls in classes]


# The core's errors, in the order errors.py defines them: every one reaches the JSON.
CORE_ERRORS = [
    value
    for value in vars(errors).values()
    if isinstance(value, type) and issubclass(value, errors.StaticIdsError)
]
# Exit codes of an error result (0 is success, which carries no error).
ERROR_EXITS = [code for code in errors.ExitCode if code != errors.ExitCode.OK]
NULL = [None]

# (schema, JSON pointer) -> exactly the values its enum must list, in that order.
EXPECTED: dict[tuple[str, str], list[Any]] = {
    (CLI, "/$defs/blocker/properties/code"): values(BlockerCode),
    (CLI, "/$defs/host_survey/properties/verdict"): values(Verdict),
    (CLI, "/$defs/convert/properties/status"): values(ConvertStatus),
    (CLI, "/$defs/downtime/properties/how"): values(How),
    (CLI, "/$defs/downtime_domain/properties/status"): values(OutcomeStatus),
    (CLI, "/$defs/rollback/properties/status"): values(RollbackStatus),
    (CLI, "/$defs/run/properties/state"): values(RunState),
    # A run can only have been interrupted while it was active.
    (CLI, "/$defs/run/properties/interrupted_while"): values(ACTIVE_STATES),
    (CLI, "/$defs/error/properties/error/properties/code"): _codes(CORE_ERRORS),
    (CLI, "/$defs/error/properties/exit"): values(ERROR_EXITS),
    (DIRECTORY, "/$defs/state"): values(State),
    (DIRECTORY, "/$defs/request/properties/request"): values(Request),
    (DIRECTORY, "/$defs/request/properties/hosts/items/properties/status"): values(RequestStatus),
    (DIRECTORY, "/$defs/error/properties/error/properties/code"): _codes(
        [*CORE_ERRORS, DirectoryError]
    ),
    (DIRECTORY, "/$defs/error/properties/error/properties/reason"): values(Reason),
    (DIRECTORY, "/$defs/settings_set/properties/hosts/items/properties/status"): values(
        RequestStatus, [settings.WOULD_REQUEST]
    ),
    (DIRECTORY, "/$defs/settings_show/properties/locks/items/properties/kind"): list(
        settings.LOCK_KINDS.values()
    ),
    (DIRECTORY, "/$defs/settings_show/properties/locks/items/properties/state"): values(
        settings.LockState
    ),
    (DIRECTORY, "/$defs/error/properties/exit"): values(ERROR_EXITS),
    (SURVEY, "/properties/summary/properties/states/propertyNames"): values(
        State, [domain_survey.NO_RECORD]
    ),
    (SURVEY, "/$defs/host/properties/state"): values(State, NULL),
    # Which of the target's two numbers an object holds: IdPair's fields.
    (SURVEY, "/$defs/holder/properties/holds/items"): [
        field.name for field in dataclasses.fields(IdPair)
    ],
    (EVACUATION, "/$defs/bridge_file/properties/status"): values(FileStatus),
    (EVACUATION, "/$defs/bridge_file/properties/mode"): values(Mode, NULL),
    (EVACUATION, "/$defs/bridge_file/properties/via"): values(Via, NULL),
    (EVACUATION, "/$defs/bridge_report/properties/action"): values(Action),
    (EVACUATION, "/$defs/bridge_report/properties/status"): values(BridgeStatus),
    (EVACUATION, "/$defs/bridge_report/properties/mode"): values(Mode),
    (EVACUATION, "/$defs/bridge_status/properties/bridges/items/properties/state"): values(
        BridgeState
    ),
    (EVACUATION, "/$defs/bridge_status/properties/bridges/items/properties/mode"): values(Mode),
    (EVACUATION, "/$defs/evacuate/properties/status"): values(EvacuateStatus),
    (EVACUATION, "/$defs/evacuate/properties/identity_source"): values(IdentitySource),
    (EVACUATION, "/$defs/evacuate/properties/domains/items/properties/status"): values(VmStatus),
    (PLAN, "/$defs/step/properties/op"): values(StepOp),
    (PLAN, "/$defs/plan/properties/stats/properties/method"): values(Method),
    (PLAN, "/$defs/schedule/properties/tasks/items/properties/kind"): values(TaskKind),
    (PLAN, "/$defs/step/properties/mode"): values(Mode),
    (PLAN, "/$defs/plan/properties/status"): values(PlanStatus),
    (PLAN, "/$defs/plan/properties/options/properties/bridge_mode"): values(Mode),
    (PLAN, "/$defs/error/properties/exit"): values(ERROR_EXITS),
    (CLI, "/$defs/run/properties/kind"): values(RunKind),
    (CLI, "/$defs/journal_show/properties/records/items/properties/op"): values(Op),
    (JOURNAL, "/$defs/run/properties/kind"): values(RunKind),
    # "interrupted" is derived when a run is read, never stored.
    (JOURNAL, "/$defs/state/properties/state"): values(
        [state for state in RunState if state != RunState.INTERRUPTED]
    ),
    (JOURNAL, "/$defs/account/properties/kind"): values(AccountKind),
    (JOURNAL, "/$defs/step/properties/name"): values(HostStep),
    (JOURNAL, "/$defs/vm_downtime/properties/step"): values(DowntimeStep),
    (JOURNAL, "/$defs/vm_evacuation/properties/step"): values(EvacuationStep),
    # A rollout's actions are the two request kinds that do work (refresh only records).
    (ROLLOUT, "/$defs/action/properties/kind"): values(
        [kind for kind in RequestKind if kind != RequestKind.REFRESH]
    ),
    (ROLLOUT, "/$defs/echo/properties/state"): values(RequestState),
    (ROLLOUT, "/$defs/error/properties/exit"): values(ERROR_EXITS),
    # A plan or status shows work left or none; a run ends converged, done or failed.
    (ROLLOUT, "/$defs/plan/properties/status"): values(
        [RolloutStatus.CONVERGED, RolloutStatus.PLANNED]
    ),
    (ROLLOUT, "/$defs/run/properties/status"): values(
        [RolloutStatus.CONVERGED, RolloutStatus.DONE, RolloutStatus.FAILED]
    ),
}

# Enums that pick a branch of a conditional ("if"): a subset of the vocabulary named.
SUBSETS: dict[tuple[str, str], list[Any]] = {
    (PLAN, "/$defs/step/allOf/0/if/properties/op"): values(StepOp),
}

# Enums without a Python enum, and why.
UNMAPPED: dict[tuple[str, str], str] = {
    (ROLLOUT, "/$defs/plan/properties/command"): (
        "which command printed the plan: a discriminator of two output shapes (cli/rollout.py "
        "writes rollout-plan, plan/rollout.py rollout-status), not a status"
    ),
    (ROLLOUT, "/$defs/planned/properties/command"): (
        "the same discriminator, in the run's report of what it planned"
    ),
    (CLI, "/$defs/repair/properties/mode"): (
        "each repair report writes its own constant mode (RepairReport in "
        "files/repair_run.py: remap; OrphansReport in host/orphans.py: orphans): a "
        "discriminator of two report shapes, not a status"
    ),
    (DIRECTORY, "/$defs/record/properties/writes"): (
        "a count, not a vocabulary: a record is written with one modify at most"
    ),
    (INVENTORY, "/$defs/disk/oneOf/0/properties/acl/items/prefixItems/0"): (
        "POSIX ACL tag numbers (acl_tag_t of <sys/acl.h>): the kernel's xattr encoding, "
        "kept as the module constants of files/acl.py"
    ),
    (SURVEY, "/$defs/inventory_disk/oneOf/0/properties/acl/items/prefixItems/0"): (
        "the inventory's ACL tag numbers again, as the survey passes the inventory on"
    ),
}


def _enums(node: Any, pointer: str = "") -> Iterator[tuple[str, list[Any]]]:
    """Every ``enum`` under ``node``, with its JSON pointer."""
    if isinstance(node, dict):
        if "enum" in node:
            yield pointer, node["enum"]
        for key, child in node.items():
            yield from _enums(child, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _enums(child, f"{pointer}/{index}")


def _all_enums() -> dict[tuple[str, str], list[Any]]:
    found = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        for pointer, enum in _enums(json.loads(path.read_text())):
            found[path.name, pointer] = enum
    return found


FOUND = _all_enums()


def _id(key: tuple[str, str]) -> str:
    return f"{key[0]}#{key[1]}"


def test_every_schema_enum_is_accounted_for() -> None:
    """A new enum in a schema needs its Python counterpart here, or a reason it has none."""
    accounted = EXPECTED.keys() | SUBSETS.keys() | UNMAPPED.keys()
    assert not EXPECTED.keys() & UNMAPPED.keys()
    assert sorted(FOUND.keys() - accounted) == []  # in a schema, not mapped
    assert sorted(accounted - FOUND.keys()) == []  # mapped, but no longer in the schema


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=_id)
def test_schema_enum_equals_python(key: tuple[str, str]) -> None:
    assert FOUND[key] == EXPECTED[key]


@pytest.mark.parametrize("key", sorted(SUBSETS), ids=_id)
def test_conditional_enum_is_a_subset(key: tuple[str, str]) -> None:
    enum = FOUND[key]
    assert enum
    assert len(set(enum)) == len(enum)
    assert set(enum) <= set(SUBSETS[key])


def test_a_json_dump_writes_the_plain_values() -> None:
    """The output stays as it was: a StrEnum member is written as its value."""
    data = {"status": ConvertStatus.WOULD_RESUME, "codes": [BlockerCode.PROCESSES_RUNNING]}
    assert json.dumps(data) == '{"status": "would-resume", "codes": ["processes-running"]}'
