# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What a host does about its own record: survey itself, write the record, act on requests.

Shared by the ``record`` command, the listener module and the transient unit a convert
request starts, so all three write the same record the same way. The record's state comes
from the host survey and the journal: a live convert run is "converting", a failed or
interrupted one "failed" until it is resumed or rolled back.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory.record import HostRecord, RecordUpdate, Request, State
from libvirt_static_ids.errors import (
    JournalError,
    OperationFailed,
    PreflightRefused,
    StaticIdsError,
)
from libvirt_static_ids.files.repair import ProgressCallback
from libvirt_static_ids.host import convert, hypervisor, inventory
from libvirt_static_ids.host import survey as host_survey
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Verdict
from libvirt_static_ids.journal.runs import RunKind, RunState
from libvirt_static_ids.journal.store import Store

UNIT_NAME = "libvirt-static-ids-convert"
EXECUTABLE = "/usr/bin/libvirt-static-ids"
Launcher = Callable[[Sequence[str]], None]


def _last_convert_run(root: HostRoot) -> dict[str, Any] | None:
    try:
        runs = [run for run in Store(root).runs() if run.kind == RunKind.CONVERT]
    except (OSError, JournalError) as error:
        return {"state": "unreadable", "error": str(error)}
    if not runs:
        return None
    return {"run_id": runs[-1].run_id, "state": str(runs[-1].state)}


_TAKEN = frozenset(
    {host_survey.BlockerCode.TARGET_UID_TAKEN, host_survey.BlockerCode.TARGET_GID_TAKEN}
)


def directory_blockers(
    conn: directory.LdapConnection, base: str, settings: directory.Settings, root: HostRoot
) -> list[host_survey.Blocker]:
    """The directory's holders of the target numbers, as this host's blockers.

    usermod/groupmod consult NSS, which on a UCS host includes LDAP: a user or group holding
    the target blocks every host. On the live host the survey already asks NSS; for any other
    root the directory itself is asked.
    """
    if root.is_live:
        return []
    found = []
    target = settings.target
    for holder in directory.holders(conn, base, target):
        is_group = holder.kind == "group" or holder.kind.startswith("groups/")
        if "uid" in holder.holds and not is_group:
            found.append(
                host_survey.Blocker(
                    host_survey.BlockerCode.TARGET_UID_TAKEN,
                    f"target UID {target.uid} belongs to "
                    f"{holder.kind} {holder.dn} in the directory",
                )
            )
        if "gid" in holder.holds and is_group:
            found.append(
                host_survey.Blocker(
                    host_survey.BlockerCode.TARGET_GID_TAKEN,
                    f"target GID {target.gid} belongs to "
                    f"{holder.kind} {holder.dn} in the directory",
                )
            )
    return found


def derive(
    survey: host_survey.HostSurvey,
    root: HostRoot,
    *,
    state: State | None = None,
    error: StaticIdsError | None = None,
    extra: Sequence[host_survey.Blocker] = (),
) -> HostRecord:
    """The record a host should hold, from its survey, the directory's holders, its journal."""
    blockers = [*survey.blockers, *extra]
    detail: dict[str, Any] = {"blockers": [b.as_dict() for b in blockers]}
    run = _last_convert_run(root)
    if run is not None:
        detail["run"] = run
    derived = State(str(survey.verdict))
    if derived == State.DYNAMIC and _TAKEN & {b.code for b in extra}:
        derived = State.CONFLICT
    if run and run["state"] == RunState.RUNNING:
        derived = State.CONVERTING
    elif run and run["state"] in (RunState.FAILED, RunState.INTERRUPTED, "unreadable"):
        derived = State.FAILED
    if error is not None:
        derived = State.FAILED
        detail["error"] = {"code": error.code, "message": error.message}
    current = survey.current
    uid = survey.user.uid if survey.user else None
    gid = current.gid if current else (survey.group.gid if survey.group else None)
    return HostRecord(state or derived, uid, gid, detail)


def base_of(settings: directory.Settings) -> str:
    """The LDAP base, from the settings object's DN (cn=libvirt-static-ids,cn=univention,...)."""
    return settings.dn.split(",", 2)[2]


@dataclass
class RecordResult:
    dn: str
    target: str
    record: HostRecord
    change: RecordUpdate
    survey: host_survey.HostSurvey
    extra_blockers: tuple[host_survey.Blocker, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "record",
            "dn": self.dn,
            "target": self.survey.target.as_dict(),
            "state": str(self.record.state),
            "uid": self.record.uid,
            "gid": self.record.gid,
            "blockers": [b.as_dict() for b in (*self.survey.blockers, *self.extra_blockers)],
            "detail": dict(self.record.detail),
            "written": self.change.attributes,
            "writes": 0 if self.change.empty else 1,
        }


def record_host(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    *,
    state: State | None = None,
    error: StaticIdsError | None = None,
    now: datetime | None = None,
    proc: str = "/proc",
    inventory_uri: str | None = None,
) -> RecordResult:
    """Survey this host against the domain's target and write what changed to its object.

    The VM inventory (for ``plan``) is taken from ``inventory_uri``; on the live host by
    default from qemu:///system, for any other root only when a URI is given.
    """
    survey = host_survey.survey(root, settings.target, proc)
    extra = (
        []
        if survey.verdict == Verdict.STATIC
        else directory_blockers(conn, base_of(settings), settings, root)
    )
    host_record = derive(survey, root, state=state, error=error, extra=extra)
    uri = inventory_uri or (hypervisor.DEFAULT_URI if root.is_live else None)
    if uri is not None:
        taken = inventory.encode(inventory.collect_from(uri))
        host_record = replace(host_record, inventory=taken)
    change = directory.write_record(conn, dn, host_record, now or datetime.now(UTC))
    return RecordResult(dn, str(settings.target), host_record, change, survey, tuple(extra))


def convert_unit_argv(executable: str = EXECUTABLE, root: str = "/") -> list[str]:
    """systemd-run starting the conversion as a transient unit; returns without waiting.

    The fixed unit name makes a second convert request fail to start while one runs.
    """
    argv = [
        "systemd-run",
        f"--unit={UNIT_NAME}",
        "--description=libvirt-static-ids: convert libvirt-qemu to the domain's static IDs",
        "--collect",
        "--no-block",
        "--",
        executable,
        "record",
        "--convert",
    ]
    return argv + (["--root", root] if root != "/" else [])


def launch_transient_unit(argv: Sequence[str]) -> None:
    """Start ``argv`` (a systemd-run command line); raise OperationFailed if it did not."""
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise OperationFailed(f"{argv[0]} could not run: {error}") from error
    if result.returncode != 0:
        raise OperationFailed(
            f"{' '.join(argv[:2])} failed with exit {result.returncode}: {result.stderr.strip()}"
        )


class Handled(StrEnum):
    """What this host did about a request (the listener logs it)."""

    RECORDED = "recorded"
    LAUNCHED = "launched"
    LAUNCH_FAILED = "launch-failed"
    IGNORED = "ignored"


@dataclass
class RequestOutcome:
    request: str
    action: Handled
    writes: int = 0
    cleared: bool = False
    messages: list[str] = field(default_factory=list)


def handle_request(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    value: str,
    *,
    launch: Launcher = launch_transient_unit,
    argv: Sequence[str] | None = None,
    now: datetime | None = None,
    proc: str = "/proc",
) -> RequestOutcome:
    """Act on the request ``value`` found on this host's object, then delete exactly it."""
    try:
        request = Request(value.strip().lower())
    except ValueError:
        outcome = RequestOutcome(value, Handled.IGNORED, messages=[f"unknown request {value!r}"])
        outcome.cleared = directory.clear_request(conn, dn, value)
        return outcome
    if request is Request.REFRESH:
        result = record_host(conn, dn, root, settings, now=now, proc=proc)
        outcome = RequestOutcome(value, Handled.RECORDED, writes=0 if result.change.empty else 1)
    else:
        before = record_host(conn, dn, root, settings, state=State.CONVERTING, now=now, proc=proc)
        outcome = RequestOutcome(value, Handled.LAUNCHED, writes=0 if before.change.empty else 1)
        try:
            launch(list(argv) if argv is not None else convert_unit_argv(root=root.path))
        except StaticIdsError as error:
            failed = record_host(conn, dn, root, settings, error=error, now=now, proc=proc)
            outcome.action = Handled.LAUNCH_FAILED
            outcome.writes += 0 if failed.change.empty else 1
            outcome.messages.append(error.message)
    outcome.cleared = directory.clear_request(conn, dn, value)
    return outcome


def convert_and_record(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    *,
    paths: Sequence[str] = (),
    restart: bool = True,
    proc: str = "/proc",
) -> tuple[convert.ConvertReport | None, RecordResult]:
    """The transient unit's work: record "converting", convert, record the end state.

    ``paths``: more trees to repair (the UMC module's "more paths", e.g. NFS images).
    """
    before = record_host(conn, dn, root, settings, state=State.CONVERTING, proc=proc)
    report = None
    error: StaticIdsError | None = None
    try:
        if before.extra_blockers:
            raise PreflightRefused(
                f"{len(before.extra_blockers)} blocker(s) in the directory: nothing was changed",
                blockers=[b.as_dict() for b in before.extra_blockers],
            )
        report = convert.convert(root, settings.target, paths, restart=restart, proc=proc)
    except StaticIdsError as failure:
        error = failure
    after = record_host(conn, dn, root, settings, error=error, proc=proc)
    return report, after


def convert_here(
    conn: directory.LdapConnection,
    machine: directory.LdapConnection,
    host_dn: str,
    root: HostRoot,
    settings: directory.Settings,
    *,
    paths: Sequence[str] = (),
    restart: bool = True,
    progress: ProgressCallback | None = None,
    proc: str = "/proc",
) -> tuple[convert.ConvertReport, RecordResult]:
    """An administrator converts this host: the outcome is recorded as the host itself.

    ``conn`` (the administrator's) looks for directory objects holding the target, which
    usermod would meet through NSS; ``machine`` (this host's account) writes the record. A
    refusal (PreflightRefused) changes nothing, the record included; a failure is recorded
    (the journal says failed or running) and raised.
    """
    held = directory_blockers(conn, base_of(settings), settings, root)
    if held:
        raise PreflightRefused(
            f"{len(held)} blocker(s) in the directory: nothing was changed",
            blockers=[blocker.as_dict() for blocker in held],
        )
    try:
        report = convert.convert(
            root, settings.target, paths, restart=restart, progress=progress, proc=proc
        )
    except PreflightRefused:
        raise
    except StaticIdsError:
        record_host(machine, host_dn, root, settings, proc=proc)
        raise
    return report, record_host(machine, host_dn, root, settings, proc=proc)
