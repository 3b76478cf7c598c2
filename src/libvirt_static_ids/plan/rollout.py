# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The whole domain's conversion carried out through the directory, wave by wave.

The admin side never touches a host: it writes requests on host objects (request.py), each
host's listener carries them out as a transient unit and echoes the request's id and state in
its own record, which this module watches. The state of a rollout *is* the directory — the
host records with their numbers and VM inventories, and the requests with the rollout's id —
so every administrator sees it (``rollout status``) and a rollout started again (after a
failure, Ctrl-C or a killed process) continues where the domain is: it first waits for
requests still under way, has every host record itself, plans again from those records and
carries out what is left. Nothing here can leave a VM without its images: every bridge is
opened and closed by the host's own evacuation, which stops with the VM running where it was.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import record
from libvirt_static_ids.directory import request as requests
from libvirt_static_ids.directory.request import HostRequest, Kind, RequestState
from libvirt_static_ids.errors import ExitCode, StaticIdsError
from libvirt_static_ids.plan import check, planner
from libvirt_static_ids.plan import input as plan_input
from libvirt_static_ids.plan.model import Options
from libvirt_static_ids.plan.rollout_actions import Action, Work, actions, eta_seconds

POLL_SECONDS = 0.2  # one base-scope search per request under way
ANSWER_SECONDS = 120.0  # a host's listener takes up a request (replication, then the unit)
ACTION_SECONDS = 3600.0  # the longest one request may run
Progress = Callable[[str], None]


class RolloutRefused(StaticIdsError):
    """The domain cannot be rolled out as it is: nothing was requested."""

    code = "rollout-refused"
    exit_code = ExitCode.REFUSED


class RolloutFailed(StaticIdsError):
    """A host reported a failure (or no answer): the rollout stopped, every VM still runs."""

    code = "rollout-failed"
    exit_code = ExitCode.FAILED


class RolloutStatus(StrEnum):
    CONVERGED = "converged"  # every KVM host at the target, nothing left to do
    PLANNED = "planned"  # dry run / status: work is left
    DONE = "done"  # this run carried out the plan
    FAILED = "failed"
    REFUSED = "refused"


@dataclass(frozen=True)
class Limits:
    max_parallel_hosts: int = 4
    poll_seconds: float = POLL_SECONDS
    answer_seconds: float = ANSWER_SECONDS
    action_seconds: float = ACTION_SECONDS


def new_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"r{moment.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"


@dataclass
class Prepared:
    """The domain read from the directory and the work its plan means."""

    rollout_id: str
    target: str
    made: planner.Plan
    proof: check.CheckReport
    work: Work
    dns: dict[str, str]
    holders: list[directory.Holder]
    in_flight: list[dict[str, Any]]
    skipped: list[str]

    def held(self) -> list[str]:
        """Directory objects holding the target: no host can convert (refused up front)."""
        return [
            f"{holder.kind} {holder.dn} holds the target {'/'.join(holder.holds)} "
            "in the directory: free it or change the target (`settings set`)"
            for holder in self.holders
        ]

    def refusals(self) -> list[str]:
        """Why this plan must not be carried out unattended (empty: it may)."""
        found = self.held()
        found += [f"{name}: {why}" for name, why in self.made.domain.unplanned]
        if not self.proof.ok:
            found.append("the checker rejected the plan: " + "; ".join(self.proof.problems[:3]))
        if self.work.suspended:
            found.append(
                "capacity is short: the plan would suspend "
                + ", ".join(self.work.suspended)
                + " (add capacity, or convert those hosts with `convert --suspend-vms` first)"
            )
        return found

    def as_dict(self) -> dict[str, Any]:
        pending = self.work.actions
        return {
            "rollout_id": self.rollout_id,
            "target": self.target,
            "waves": self.work.waves,
            "actions": [action.as_dict(self.rollout_id) for action in pending],
            "hosts": [
                {
                    "name": host.name,
                    "uid": host.ids.uid,
                    "gid": host.ids.gid,
                    "static": str(host.ids) == self.target,
                    "running": [vm.name for vm in host.vms if vm.running],
                }
                for host in self.made.domain.hosts
            ],
            "migrations": self.made.migrations,
            "eta_seconds": eta_seconds(pending, self.made.options.max_parallel_hosts),
            "in_flight": self.in_flight,
            "refusals": self.refusals(),
            "skipped": self.skipped,
        }


def _in_flight(records: Sequence[record.StoredRecord]) -> list[dict[str, Any]]:
    """Hosts with a request not yet taken up, or one they echo as still running."""
    found = []
    for stored in records:
        echo = requests.echoed(stored.detail) or {}
        if stored.request or echo.get("state") == RequestState.RUNNING:
            found.append(
                {
                    "host": stored.name,
                    "dn": stored.dn,
                    "pending": stored.request,
                    "echo": echo or None,
                }
            )
    return found


def prepare(
    conn: directory.LdapConnection, base: str, options: Options, rollout_id: str | None = None
) -> Prepared:
    """Read the directory, plan, check and turn the plan into actions (changes nothing)."""
    settings = directory.read_settings(conn, base)
    records = directory.list_hosts(conn, base, [*directory.HOST_ATTRIBUTES, record.INVENTORY])
    holders = directory.holders(conn, base, settings.target)
    domain, skipped = plan_input.domain(settings.target, records, [h.dn for h in holders])
    made = planner.plan(domain, options)
    # Blocked by holders, there are no steps to prove (as for ``plan``).
    proof = (
        check.CheckReport()
        if made.domain.holders
        else check.check(made.domain, options, made.steps)
    )
    return Prepared(
        rollout_id or new_id(),
        str(settings.target),
        made,
        proof,
        actions(made),
        {stored.name: stored.dn for stored in records},
        holders,
        _in_flight(records),
        skipped,
    )


@dataclass
class Watch:
    """One request on one host, watched through that host's record."""

    host: str
    dn: str
    request: HostRequest
    started: float
    taken_up: bool = False
    echo: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.echo is not None and self.echo.get("state") in (
            RequestState.DONE,
            RequestState.FAILED,
        )


def _look(conn: directory.LdapConnection, watch: Watch, limits: Limits, now: float) -> None:
    entry = directory.read_entry(conn, watch.dn, [record.DETAIL, record.REQUEST])
    stored = record.read(watch.dn, watch.host, entry or {})
    echo = requests.echoed(stored.detail)
    if echo is not None and echo.get("id") == watch.request.id:
        watch.taken_up = True
        watch.echo = echo
    if not watch.finished:
        waited = now - watch.started
        if not watch.taken_up and waited > limits.answer_seconds:
            watch.echo = watch.request.outcome(
                RequestState.FAILED,
                f"{watch.host} did not take up the request within {limits.answer_seconds:.0f} s "
                "(is its listener running? `univention-directory-listener-ctrl status`)",
            )
        elif waited > limits.action_seconds:
            watch.echo = watch.request.outcome(
                RequestState.FAILED, f"{watch.host} did not finish within {waited:.0f} s"
            )


def request_and_wait(
    conn: directory.LdapConnection,
    asks: Sequence[tuple[str, str, HostRequest]],
    limits: Limits,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Watch]:
    """Set each (host, dn, request), then watch all of them until each has finished."""
    watches = []
    for host, dn, wanted in asks:
        directory.set_request(conn, dn, wanted.value())
        watches.append(Watch(host, dn, wanted, time.monotonic()))
    return wait_all(conn, watches, limits, sleep)


def wait_all(
    conn: directory.LdapConnection,
    watches: list[Watch],
    limits: Limits,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Watch]:
    while True:
        for watch in watches:
            if not watch.finished:
                _look(conn, watch, limits, time.monotonic())
        if all(watch.finished for watch in watches):
            return watches
        sleep(limits.poll_seconds)


def settle(
    conn: directory.LdapConnection,
    in_flight: Sequence[dict[str, Any]],
    limits: Limits,
    progress: Progress,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait until no host has a request pending or running (an earlier run's, anyone's)."""
    left = list(in_flight)
    started = time.monotonic()
    while left:
        progress(
            f"waiting for {len(left)} request(s) under way: " + ", ".join(i["host"] for i in left)
        )
        still = []
        for item in left:
            entry = directory.read_entry(conn, item["dn"], [record.DETAIL, record.REQUEST])
            stored = record.read(item["dn"], item["host"], entry or {})
            echo = requests.echoed(stored.detail) or {}
            if stored.request or echo.get("state") == RequestState.RUNNING:
                still.append(item)
        left = still
        if left and time.monotonic() - started > limits.action_seconds:
            raise RolloutFailed(
                "requests still under way after "
                f"{limits.action_seconds:.0f} s on {', '.join(i['host'] for i in left)}: "
                "nothing new was requested"
            )
        if left:
            sleep(limits.poll_seconds)


def refresh_all(
    conn: directory.LdapConnection,
    dns: dict[str, str],
    tag: str,
    limits: Limits,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Watch]:
    """Every host records itself again (numbers, state, VMs), so the plan starts from now."""
    asks = [
        (name, dn, HostRequest(Kind.REFRESH, f"{tag}.{index}"))
        for index, (name, dn) in enumerate(sorted(dns.items()), 1)
    ]
    return request_and_wait(conn, asks, limits, sleep)


@dataclass
class RunReport:
    rollout_id: str
    status: RolloutStatus
    done: list[dict[str, Any]] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "rollout",
            "rollout_id": self.rollout_id,
            "status": self.status,
            "done": self.done,
            "failure": self.failure,
            "plan": self.before,
            "after": self.after,
            "seconds": round(self.seconds, 1),
        }


def _failed(watches: Sequence[Watch]) -> Watch | None:
    return next((w for w in watches if w.echo and w.echo.get("state") == RequestState.FAILED), None)


def carry_out(
    conn: directory.LdapConnection,
    base: str,
    options: Options,
    limits: Limits,
    progress: Progress,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> RunReport:
    """Settle, refresh every host, plan, run the waves, refresh again: the whole rollout."""
    started = time.monotonic()
    first = prepare(conn, base, options)
    rollout_id = first.rollout_id
    held = first.held()
    if held:
        raise RolloutRefused(
            f"the rollout cannot run, nothing was requested: {'; '.join(held)}", problems=held
        )
    settle(conn, first.in_flight, limits, progress, sleep)
    progress(f"rollout {rollout_id}: every host records itself")
    failed = _failed(refresh_all(conn, first.dns, f"{rollout_id}.refresh", limits, sleep))
    if failed is not None:
        raise RolloutFailed(f"{failed.host} could not record itself: {failed.echo}")
    prepared = prepare(conn, base, options, rollout_id)
    refusals = prepared.refusals()
    report = RunReport(rollout_id, RolloutStatus.DONE, before=prepared.as_dict())
    if refusals:
        raise RolloutRefused(
            "the rollout cannot run; every host recorded itself, nothing else was "
            f"requested: {'; '.join(refusals)}",
            problems=refusals,
        )
    if not prepared.work.actions:
        report.status = RolloutStatus.CONVERGED
    progress(
        f"{len(prepared.work.actions)} requests in {prepared.work.waves} waves, "
        f"at most {limits.max_parallel_hosts} at once"
    )
    failure = _run_actions(
        conn, prepared, limits=limits, progress=progress, report=report, sleep=sleep
    )
    if failure is not None:
        report.status = RolloutStatus.FAILED
        report.failure = failure
    if report.status is not RolloutStatus.FAILED:
        _failed(refresh_all(conn, prepared.dns, f"{rollout_id}.end", limits, sleep))
        report.after = prepare(conn, base, options, rollout_id).as_dict()
    report.seconds = time.monotonic() - started
    return report


def _run_actions(
    conn: directory.LdapConnection,
    prepared: Prepared,
    *,
    limits: Limits,
    progress: Progress,
    report: RunReport,
    sleep: Callable[[float], None],
) -> dict[str, Any] | None:
    """Every action as soon as those it waits for are done, at most ``max_parallel_hosts``
    at once; the first failure stops new requests (those under way finish) and is returned."""
    queue = list(prepared.work.actions)
    done: set[int] = set()
    running: list[tuple[Action, Watch, bool]] = []  # (action, watch, destination refresh)
    failure: dict[str, Any] | None = None
    while (queue and failure is None) or running:
        ready = [a for a in queue if done.issuperset(a.after)] if failure is None else []
        for action in ready[: max(0, max(1, limits.max_parallel_hosts) - len(running))]:
            queue.remove(action)
            wanted = action.request(prepared.rollout_id)
            dn = prepared.dns[action.host]
            directory.set_request(conn, dn, wanted.value())
            progress(f"wave {action.wave}: requested on {action.host}: {action.text()}")
            running.append((action, Watch(action.host, dn, wanted, time.monotonic()), False))
        still = []
        for action, watch, refreshing in running:
            _look(conn, watch, limits, time.monotonic())
            if not watch.finished:
                still.append((action, watch, refreshing))
                continue
            assert watch.echo is not None
            if watch.echo.get("state") == RequestState.FAILED:
                failure = failure or {
                    "action": action.as_dict(prepared.rollout_id),
                    "host": watch.host,
                    "echo": watch.echo,
                }
                progress(f"FAILED on {watch.host}: {watch.echo.get('message', '')}")
                continue
            if action.to is not None and not refreshing:
                # The destination's record learns of the VMs it received.
                again = HostRequest(Kind.REFRESH, f"{watch.request.id}.to")
                dn = prepared.dns[action.to]
                directory.set_request(conn, dn, again.value())
                still.append((action, Watch(action.to, dn, again, time.monotonic()), True))
                continue
            done.add(action.number)
            report.done.append({"number": action.number, "text": action.text()})
            progress(f"done ({len(done)}/{len(prepared.work.actions)}): {action.text()}")
        running = still
        if running:
            sleep(limits.poll_seconds)
    return failure


def status(conn: directory.LdapConnection, base: str, options: Options) -> dict[str, Any]:
    """What is left to do, what runs now, and about how long the rest takes."""
    return described(prepare(conn, base, options))


def described(prepared: Prepared) -> dict[str, Any]:
    """``rollout status`` of a domain already read (the UMC page adds its schedule)."""
    data = prepared.as_dict()
    data["command"] = "rollout-status"
    converged = not prepared.work.actions and not prepared.made.domain.unplanned
    data["status"] = RolloutStatus.CONVERGED if converged else RolloutStatus.PLANNED
    return data
