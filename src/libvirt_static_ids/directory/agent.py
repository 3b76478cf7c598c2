# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What a host does about its own record: survey itself, write the record, act on requests.

Shared by the ``record`` command, the listener module and the transient unit a convert
request starts, so all three write the same record the same way. The record's state comes
from the host survey and the journal: a live convert run is "converting", a failed or
interrupted one "failed" until it is resumed or rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import request as requests
from libvirt_static_ids.directory import reservation
from libvirt_static_ids.directory.record import DETAIL, HostRecord, RecordUpdate, State
from libvirt_static_ids.directory.record import read as record_read
from libvirt_static_ids.directory.request import HostRequest, Kind, RequestState
from libvirt_static_ids.errors import (
    JournalError,
    OperationFailed,
    PreflightRefused,
    StaticIdsError,
    UnitRunning,
)
from libvirt_static_ids.files.repair import ProgressCallback
from libvirt_static_ids.host import convert, hypervisor, inventory, transient_unit
from libvirt_static_ids.host import survey as host_survey
from libvirt_static_ids.host.transient_unit import TransientUnit
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Verdict
from libvirt_static_ids.journal.runs import RunKind, RunState
from libvirt_static_ids.journal.store import Store

UNIT_NAME = "libvirt-static-ids-convert"
EVACUATE_UNIT_NAME = "libvirt-static-ids-evacuate"
EXECUTABLE = "/usr/bin/libvirt-static-ids"
Launcher = Callable[[TransientUnit], None]  # transient_unit.start, or a test's stand-in


def _last_convert_run(root: HostRoot) -> dict[str, Any] | None:
    try:
        runs = [run for run in Store(root).runs() if run.kind == RunKind.CONVERT]
    except (OSError, JournalError) as error:
        return {"state": "unreadable", "error": str(error)}
    if not runs:
        return None
    return {"run_id": runs[-1].run_id, "state": str(runs[-1].state)}


_TAKEN_CODE = {
    "uid": host_survey.BlockerCode.TARGET_UID_TAKEN,
    "gid": host_survey.BlockerCode.TARGET_GID_TAKEN,
}
_TAKEN = frozenset(_TAKEN_CODE.values())


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
    numbers = {"uid": target.uid, "gid": target.gid}
    for holder in directory.holders(conn, base, target):
        which = reservation.blocked(holder.kind, holder.uid_number, holder.gid_number, numbers)
        if which is not None:
            code = _TAKEN_CODE[which]
            found.append(
                host_survey.Blocker(
                    code,
                    f"target {which.upper()} {numbers[which]} belongs to "
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
    outcome: dict[str, Any] | None = None,
) -> RecordResult:
    """Survey this host against the domain's target and write what changed to its object.

    The VM inventory (for ``plan``) is taken from ``inventory_uri``; on the live host by
    default from qemu:///system, for any other root only when a URI is given. ``outcome``
    is the echo of the request being carried out (request.py); without one the stored echo
    stays, so a rollout still finds it after the next refresh.
    """
    survey = host_survey.survey(root, settings.target, proc)
    extra = (
        []
        if survey.verdict == Verdict.STATIC
        else directory_blockers(conn, base_of(settings), settings, root)
    )
    host_record = derive(survey, root, state=state, error=error, extra=extra)
    if outcome is not None:
        host_record = replace(
            host_record, detail={**host_record.detail, requests.DETAIL_KEY: outcome}
        )
    uri = inventory_uri or (hypervisor.DEFAULT_URI if root.is_live else None)
    if uri is not None:
        taken = inventory.encode(inventory.collect_from(uri))
        host_record = replace(host_record, inventory=taken)
    change = directory.write_record(
        conn, dn, host_record, now or datetime.now(UTC), keep=(requests.DETAIL_KEY,)
    )
    return RecordResult(dn, str(settings.target), host_record, change, survey, tuple(extra))


def convert_unit(
    executable: str = EXECUTABLE,
    root: str = "/",
    request: HostRequest | None = None,
    inventory_uri: str | None = None,
) -> TransientUnit:
    """The conversion as a transient unit (``record --convert``, or the request with its id).

    The fixed unit name makes a second convert request fail to start while one runs. A
    request with an id is passed on whole, so the unit echoes it when it ends.
    """
    work = ["--request", request.value()] if request is not None and request.id else ["--convert"]
    return _unit(
        UNIT_NAME,
        "libvirt-static-ids: convert libvirt-qemu to the domain's static IDs",
        [executable, "record", *work],
        root,
        inventory_uri,
    )


def evacuate_unit(
    request: HostRequest,
    executable: str = EXECUTABLE,
    root: str = "/",
    inventory_uri: str | None = None,
) -> TransientUnit:
    """An evacuation (``record --request VALUE``) as a transient unit."""
    return _unit(
        EVACUATE_UNIT_NAME,
        f"libvirt-static-ids: live-migrate VMs to {request.to}",
        [executable, "record", "--request", request.value()],
        root,
        inventory_uri,
    )


def _unit(
    name: str, description: str, command: list[str], root: str, inventory_uri: str | None
) -> TransientUnit:
    command += ["--root", root] if root != "/" else []
    command += ["--connect", inventory_uri] if inventory_uri else []
    return TransientUnit(name, tuple(command), description=description)


class Handled(StrEnum):
    """What this host did about a request (the listener logs it)."""

    RECORDED = "recorded"
    LAUNCHED = "launched"
    LAUNCH_FAILED = "launch-failed"
    # Its unit runs already (a conversion under way): left pending, carried out after it.
    BUSY = "busy"
    IGNORED = "ignored"


@dataclass
class RequestOutcome:
    request: str
    action: Handled
    writes: int = 0
    cleared: bool = False
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "action": str(self.action),
            "writes": self.writes,
            "cleared": self.cleared,
            "messages": list(self.messages),
        }


def _writes(result: RecordResult) -> int:
    return 0 if result.change.empty else 1


def handle_request(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    value: str,
    *,
    launch: Launcher | None = None,
    now: datetime | None = None,
    proc: str = "/proc",
    inventory_uri: str | None = None,
) -> RequestOutcome:
    """Act on the request ``value`` found on this host's object, then delete exactly it.

    ``inventory_uri``: the libvirt whose VMs this host records (default on the live host:
    qemu:///system); the unit is told the same.

    Long work (convert, evacuate) starts as a transient unit and is echoed "running" first;
    a value that cannot be parsed is echoed "failed" with the reason (under its id, if one
    can be read), so whoever asked learns why nothing happens.
    """
    try:
        request = requests.parse(value)
    except StaticIdsError as error:
        outcome = RequestOutcome(value, Handled.IGNORED, messages=[error.message])
        echo = _unparsed(value, error.message)
        outcome.writes = _writes(
            record_host(conn, dn, root, settings, now=now, proc=proc, outcome=echo)
        )
        outcome.cleared = directory.clear_request(conn, dn, value)
        return outcome
    if request.kind is Kind.REFRESH:
        result = record_host(
            conn,
            dn,
            root,
            settings,
            now=now,
            proc=proc,
            outcome=_echo(request, RequestState.DONE),
            inventory_uri=inventory_uri,
        )
        outcome = RequestOutcome(value, Handled.RECORDED, writes=_writes(result))
    else:
        if request.kind is Kind.CONVERT and _converting(root):
            # The running conversion owns the record; this request waits for its end.
            return RequestOutcome(value, Handled.BUSY, messages=["a conversion is under way"])
        converting = State.CONVERTING if request.kind is Kind.CONVERT else None
        before = record_host(
            conn,
            dn,
            root,
            settings,
            state=converting,
            now=now,
            proc=proc,
            outcome=_echo(request, RequestState.RUNNING),
        )
        outcome = RequestOutcome(value, Handled.LAUNCHED, writes=_writes(before))
        unit = (
            convert_unit(root=root.path, request=request, inventory_uri=inventory_uri)
            if request.kind is Kind.CONVERT
            else evacuate_unit(request, root=root.path, inventory_uri=inventory_uri)
        )
        try:
            (launch or transient_unit.start)(unit)  # looked up now: a test may replace it
        except UnitRunning as error:
            # Started meanwhile by someone else: not a failure of this request, which stays
            # pending; the record says what the running unit does, not what this one asked.
            outcome.action = Handled.BUSY
            outcome.messages.append(error.message)
            outcome.writes += _writes(record_host(conn, dn, root, settings, now=now, proc=proc))
            return outcome
        except StaticIdsError as error:
            failed = record_host(
                conn,
                dn,
                root,
                settings,
                error=error if request.kind is Kind.CONVERT else None,
                now=now,
                proc=proc,
                outcome=_echo(request, RequestState.FAILED, error.message),
            )
            outcome.action = Handled.LAUNCH_FAILED
            outcome.writes += _writes(failed)
            outcome.messages.append(error.message)
    outcome.cleared = directory.clear_request(conn, dn, value)
    return outcome


def _converting(root: HostRoot) -> bool:
    """A conversion is under way here: the journal's last convert run is live."""
    run = _last_convert_run(root)
    return run is not None and run["state"] == RunState.RUNNING


def _unparsed(value: str, message: str) -> dict[str, Any]:
    """The echo of a value that is no request: failed, under its id if one can be read."""
    words = value.split()
    echo: dict[str, Any] = {"kind": words[0] if words else "", "state": RequestState.FAILED.value}
    named = [word[3:] for word in words if word.startswith("id=")]
    if named:
        echo["id"] = named[0]
    echo["message"] = message
    return echo


def _echo(
    request: HostRequest | None, state: RequestState, message: str | None = None, **extra: Any
) -> dict[str, Any] | None:
    """The echo of ``request`` (None without a request: nothing to echo)."""
    return request.outcome(state, message, **extra) if request is not None else None


def convert_and_record(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    *,
    paths: Sequence[str] = (),
    restart: bool = True,
    proc: str = "/proc",
    request: HostRequest | None = None,
    inventory_uri: str | None = None,
) -> tuple[convert.ConvertReport | None, RecordResult]:
    """The transient unit's work: record "converting", convert, record the end state.

    ``paths``: more trees to repair (the UMC module's "more paths", e.g. NFS images).
    """
    before = record_host(
        conn,
        dn,
        root,
        settings,
        state=State.CONVERTING,
        proc=proc,
        outcome=_echo(request, RequestState.RUNNING),
    )
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
    echo = (
        _echo(request, RequestState.FAILED, error.message)
        if error is not None
        else _echo(request, RequestState.DONE)
    )
    after = record_host(
        conn, dn, root, settings, error=error, proc=proc, outcome=echo, inventory_uri=inventory_uri
    )
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


LISTENER_UNIT = "libvirt-static-ids-listener"
MAX_ROUNDS = 10  # requests arriving while the unit works are handled by the same unit


def listener_unit(
    root: str = "/", executable: str = EXECUTABLE, inventory_uri: str | None = None
) -> TransientUnit:
    """The unit the listener starts for every event (``record --pending``): carry out the
    pending requests, then record."""
    argv = [executable, "record", "--pending"]
    argv += ["--root", root] if root != "/" else []
    argv += ["--connect", inventory_uri] if inventory_uri else []
    return TransientUnit(
        LISTENER_UNIT,
        tuple(argv),
        description="libvirt-static-ids: carry out this host's requests and record it in LDAP",
    )


def pending_requests(conn: directory.LdapConnection, dn: str) -> list[str]:
    """The request values on this host's object now (read as the host, in stored order)."""
    name = directory.record.REQUEST
    entry = directory.read_entry(conn, dn, [name]) or {}
    values = next((v for k, v in entry.items() if k.lower() == name.lower()), [])
    return [value.decode("utf-8", "replace") for value in values]


def handle_pending(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    base: str,
    *,
    launch: Launcher | None = None,
    proc: str = "/proc",
    inventory_uri: str | None = None,
) -> tuple[list[RequestOutcome], RecordResult]:
    """What the listener's unit runs: every pending request (also ones left from a crash or
    from before the listener ran), read again until none is left, then this host's record.

    The settings are read afresh each round (a changed target is acted on). When a request
    started a unit of its own (convert), that unit records the outcome: this one only
    reports what it sees, so it never overwrites "converting" or the end state.

    The object is read once more after the record: a request set while this unit recorded
    would find it still running (systemd refuses the listener's second start) and wait for
    the daily timer otherwise. A request whose unit runs already (a second convert) stays
    pending: the listener starts this unit again when the conversion's record leaves
    "converting".
    """
    outcomes: list[RequestOutcome] = []
    result: RecordResult | None = None
    busy: set[str] = set()  # left pending for the running unit's end: not tried again here
    for _ in range(MAX_ROUNDS):
        values = [value for value in pending_requests(conn, dn) if value not in busy]
        if not values and result is not None:
            break
        settings = directory.read_settings(conn, base)
        if values:
            handled = [
                handle_request(
                    conn,
                    dn,
                    root,
                    settings,
                    value,
                    launch=launch,
                    proc=proc,
                    inventory_uri=inventory_uri,
                )
                for value in values
            ]
            busy.update(outcome.request for outcome in handled if outcome.action == Handled.BUSY)
            outcomes += handled
            result = None  # recorded before these requests: record again after them
        else:
            result = _record_after(conn, dn, root, settings, outcomes, proc, inventory_uri)
    if result is None:  # requests kept coming for MAX_ROUNDS rounds: the timer takes the rest
        settings = directory.read_settings(conn, base)
        result = _record_after(conn, dn, root, settings, outcomes, proc, inventory_uri)
    return outcomes, result


def _record_after(  # noqa: PLR0917 - handle_pending's own parts, passed on as they are
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    outcomes: list[RequestOutcome],
    proc: str,
    inventory_uri: str | None,
) -> RecordResult:
    if any(outcome.action in (Handled.LAUNCHED, Handled.BUSY) for outcome in outcomes):
        return assess_host(conn, dn, root, settings, proc=proc)
    orphan = ended_without_outcome(conn, dn)
    return record_host(
        conn, dn, root, settings, proc=proc, inventory_uri=inventory_uri, outcome=orphan
    )


_UNIT_OF = {Kind.CONVERT: UNIT_NAME, Kind.EVACUATE: EVACUATE_UNIT_NAME}


def ended_without_outcome(conn: directory.LdapConnection, dn: str) -> dict[str, Any] | None:
    """The echo, now failed, of a request whose unit is gone while the record still says
    "running": the host restarted, or the unit was killed before it could record its end.
    Whoever waits for it (a rollout) learns at once instead of after its time limit. None
    when nothing is stale, or when systemd cannot say."""
    entry = directory.read_entry(conn, dn, [DETAIL])
    echo = requests.echoed(record_read(dn, "", entry or {}).detail)
    if echo is None or echo["state"] != RequestState.RUNNING:
        return None
    try:
        unit = _UNIT_OF[Kind(str(echo.get("kind")))]
        if transient_unit.is_running(unit):
            return None
    except (KeyError, ValueError, OperationFailed):
        return None
    return {
        **echo,
        "state": RequestState.FAILED.value,
        "message": f"its unit {unit} ended without recording an outcome (the host restarted, "
        "or the unit was killed); nothing is under way: look at the host, then ask again",
    }


def assess_host(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    *,
    proc: str = "/proc",
) -> RecordResult:
    """The record this host would write now, not written (``change`` is empty), without
    the VM inventory: what ``record --pending`` reports once a unit of its own records."""
    survey = host_survey.survey(root, settings.target, proc)
    extra = (
        []
        if survey.verdict == Verdict.STATIC
        else directory_blockers(conn, base_of(settings), settings, root)
    )
    host_record = derive(survey, root, extra=extra)
    return RecordResult(dn, str(settings.target), host_record, RecordUpdate(), survey, tuple(extra))
