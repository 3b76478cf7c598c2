# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The migration bridge: let a foreign numeric identity read and write disk images, for a while.

Opening journals every file's exact mode and ACL (before and after, as repair journals an
entry) before touching any, and is all-or-nothing: a file that cannot be widened undoes the
others and the bridge reports failure with what must run where. Closing restores exactly the
mode and ACL and gives each image the owner its VM needs (``owner.py``); a file changed by
someone else is left and listed, and such a close is not "rolled back". Every bridge has a TTL,
armed before the first file is widened; a file under an open bridge is not bridged again (the
second bridge would journal the first one's widening as its "before" and keep it for good).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import LockHeld, PreflightRefused, UsageError
from libvirt_static_ids.evacuation import nfsclient
from libvirt_static_ids.evacuation.bridge import bridged_file, timer
from libvirt_static_ids.evacuation.bridge.bridged_file import BridgedFile, ChangeRefused, Via
from libvirt_static_ids.evacuation.bridge.owner import Owner, decide
from libvirt_static_ids.evacuation.identity import errno_name
from libvirt_static_ids.files import repair, widen
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.files.widen import Mode
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity
from libvirt_static_ids.journal.records import EntryRecord, TimerRecord
from libvirt_static_ids.journal.runs import RunInfo, RunKind, RunState
from libvirt_static_ids.journal.store import Journal, Store

MAX_TTL = 7 * 24 * 3600
DEFAULT_TTL = 3600
LOCK_WAIT = 600  # how long ``--expired`` waits for a run that holds the lock (seconds)
TimerRunner = Callable[[list[str]], "str | None"]


class FileStatus(StrEnum):
    """What opening or closing the bridge did to one image."""

    OPENED = "opened"
    WOULD_OPEN = "would-open"
    RESTORED = "restored"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    CONFLICT = "conflict"  # changed by someone else since: left as it is
    KEPT = "kept"  # a hand-over refused: the file stays bridged
    UNDONE = "undone"  # opened, then put back because another file failed
    NOT_STARTED = "not-started"  # never reached: an earlier file failed


class Action(StrEnum):
    """Which half of a bridge's life a report is about."""

    OPEN = "open"
    CLOSE = "close"


class BridgeStatus(StrEnum):
    """The whole bridge after an open or a close (``ok`` says which are no failure)."""

    OPEN = "open"
    WOULD_OPEN = "would-open"
    FAILED = "failed"
    CLOSED = "closed"
    CLOSED_WITH_CONFLICTS = "closed-with-conflicts"
    ALREADY_CLOSED = "already-closed"


class BridgeState(StrEnum):
    """A bridge still open (``bridge status``): as opened, or left half-open by a crash."""

    OPEN = "open"
    INTERRUPTED = "interrupted"


@dataclass
class FileResult:
    path: str
    status: FileStatus
    mode: str | None = None
    via: Via | None = None
    before: Metadata | None = None
    after: Metadata | None = None
    message: str | None = None
    advice: str | None = None
    errno: str | None = None
    widened: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "mode": self.mode,
            "via": self.via,
            "before": self.before.to_json() if self.before else None,
            "after": self.after.to_json() if self.after else None,
            "message": self.message,
            "advice": self.advice,
            "errno": self.errno,
            "widened": self.widened,
        }


@dataclass
class BridgeReport:
    action: Action
    status: BridgeStatus
    run_id: str | None
    identity: Identity
    mode: str
    ttl: int | None = None
    expires: int | None = None
    domain: str | None = None
    files: list[FileResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timer: list[str] | None = None

    @property
    def ok(self) -> bool:
        return self.status in (
            BridgeStatus.OPEN,
            BridgeStatus.WOULD_OPEN,
            BridgeStatus.CLOSED,
            BridgeStatus.ALREADY_CLOSED,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "bridge",
            "action": self.action,
            "status": self.status,
            "run_id": self.run_id,
            "identity": self.identity.as_dict(),
            "mode": self.mode,
            "ttl": self.ttl,
            "expires": self.expires,
            "domain": self.domain,
            "files": [f.as_dict() for f in self.files],
            "warnings": self.warnings,
            "timer": self.timer,
        }


def parse_ttl(text: str | None) -> int:
    """Seconds; no ``--ttl`` is the default hour: no bridge stays open for ever."""
    if text is None:
        return DEFAULT_TTL
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_TTL:
        raise UsageError(
            f"--ttl {text!r} is not a number of seconds (1..{MAX_TTL})", option="--ttl"
        )
    return int(value)


def _names(paths: Sequence[str]) -> list[str]:
    """Real paths (images are opened through symlinks) or URLs, each once; bad ones refused."""
    names: list[str] = []
    for path in paths:
        if nfsclient.is_url(path):
            name = nfsclient.validate(path)
        else:
            if not os.path.lexists(path):
                raise UsageError(f"PATH {path!r} does not exist", option="PATH")
            name = os.path.realpath(path)
            if not os.path.isfile(name):
                raise UsageError(f"PATH {path!r} is not a regular file", option="PATH")
        if name not in names:
            names.append(name)
    if not names:
        raise UsageError("bridge open needs at least one image (PATH... or --vm NAME)")
    return names


@dataclass
class _Planned:
    file: BridgedFile
    device: int
    inode: int
    mode: Mode
    before: Metadata
    after: Metadata


def _plan(
    names: list[str],
    identity: Identity,
    mode: Mode,
    report: BridgeReport,
    writable: list[str] | None,
) -> list[_Planned]:
    """``writable``: the files the foreign identity must write (None: all); the others are
    widened for reading only (a read-only disk, a qcow2 backing file)."""
    planned = []
    for name in names:
        target = BridgedFile(name)
        before, device, inode = target.read()
        chosen = mode
        rights = widen.RW if writable is None or name in writable else widen.R
        if mode == Mode.ACL and not target.acl_supported():
            chosen = Mode.CHMOD
            spread = "WORLD-WRITABLE (chmod a+rw)" if rights == widen.RW else "world-readable"
            report.warnings.append(
                f"WARNING: {name} takes no POSIX ACL (EOPNOTSUPP): it is made {spread} "
                "for the bridge's lifetime instead"
            )
        after = widen.widen(before, chosen, identity.uid, identity.gid, rights)
        planned.append(_Planned(target, device, inode, chosen, before, after))
    return planned


def _record(item: _Planned) -> EntryRecord:
    change = repair.EntryChange(
        os.fsencode(item.file.name), item.device, item.inode, item.before, item.after
    )
    return change.record(bridge_mode=str(item.mode))


def _failure(result: FileResult, error: OSError) -> None:
    result.status = FileStatus.FAILED
    result.errno = errno_name(error.errno) if error.errno else None
    result.message = error.strerror or str(error)
    if isinstance(error, ChangeRefused):
        result.advice = error.advice


def prepare(
    identity: Identity,
    paths: Sequence[str],
    *,
    mode: Mode = Mode.ACL,
    ttl: int = DEFAULT_TTL,
    domain: str | None = None,
    dry_run: bool = False,
    now: float | None = None,
    writable: Sequence[str] | None = None,
) -> tuple[BridgeReport, list[_Planned], list[str]]:
    """Read every file and compute its widened metadata; changes nothing."""
    names = _names(paths)
    report = BridgeReport(
        Action.OPEN, BridgeStatus.OPEN, None, identity, str(mode), ttl=ttl, domain=domain
    )
    if mode == Mode.CHMOD:
        report.warnings.append(
            "WARNING: --mode chmod makes the images WORLD-WRITABLE until the bridge is closed"
        )
    planned = _plan(names, identity, mode, report, _names(writable) if writable else None)
    report.files = [
        FileResult(
            item.file.name,
            FileStatus.WOULD_OPEN if dry_run else FileStatus.OPENED,
            str(item.mode),
            before=item.before,
            after=item.after,
            widened=widen.widened_others(item.before, item.after, identity.uid, identity.gid),
        )
        for item in planned
    ]
    for result in report.files:
        if result.widened:
            report.warnings.append(
                f"{result.path}: the larger ACL mask also gives {', '.join(result.widened)} "
                "more rights while the bridge is open"
            )
    if dry_run:
        report.status = BridgeStatus.WOULD_OPEN
    started = time.time() if now is None else now
    report.expires = None if dry_run else math.ceil(started + ttl)
    return report, planned, names


def open_bridge(
    root: HostRoot,
    identity: Identity,
    paths: Sequence[str],
    *,
    mode: Mode = Mode.ACL,
    ttl: int = DEFAULT_TTL,
    domain: str | None = None,
    dry_run: bool = False,
    timer_runner: TimerRunner = timer.run,
    now: float | None = None,
    writable: Sequence[str] | None = None,
    whereabouts: dict[str, str] | None = None,
) -> BridgeReport:
    """Widen every file for ``identity`` or none; journaled, closing by itself after ``ttl``."""
    report, planned, names = prepare(
        identity,
        paths,
        mode=mode,
        ttl=ttl,
        domain=domain,
        dry_run=dry_run,
        now=now,
        writable=writable,
    )
    if dry_run:
        return report
    store = Store(root)
    with store.locked():
        return open_locked(
            store, report, planned, names, timer_runner=timer_runner, whereabouts=whereabouts
        )


def open_locked(
    store: Store,
    report: BridgeReport,
    planned: list[_Planned],
    names: list[str],
    *,
    timer_runner: TimerRunner = timer.run,
    whereabouts: dict[str, str] | None = None,
) -> BridgeReport:
    """The journaled part of ``open_bridge``; the caller holds the store's lock.

    ``whereabouts``: ``connect`` and ``dest_uri``, the libvirt URIs a close asks where the
    VM runs (``owner.decide``).
    """
    root, identity, ttl = store.root, report.identity, report.ttl
    _refuse_bridged_again(store, names)
    params = {
        "uid": identity.uid,
        "gid": identity.gid,
        "mode": report.mode,
        "ttl": ttl,
        "expires": report.expires,
        "domain": report.domain,
        "files": names,
        **(whereabouts or {}),
    }
    with store.run(RunKind.BRIDGE, params, resume=False) as journal:
        report.run_id = journal.run_id
        journal.record_many(_record(item) for item in planned)
        # The TTL first: a crash between widening and arming would leave a bridge for ever.
        if ttl and timer.systemd_available(root):
            report.timer = timer.start_argv(root, journal.run_id, ttl)
            journal.record(TimerRecord(tuple(report.timer)))
            problem = timer_runner(report.timer)
            if problem:
                report.warnings.append(f"the TTL timer did not start ({problem}): nothing opened")
                for result in report.files:
                    result.status = FileStatus.NOT_STARTED
                report.status = BridgeStatus.FAILED
                journal.set_state(RunState.FAILED, bridge="failed")
                return report
        failed = False
        for item, result in zip(planned, report.files, strict=True):
            try:
                result.via = item.file.apply(item.before, item.after)
            except OSError as error:
                _failure(result, error)
                failed = True
                break
            except Exception as error:  # anything else must still undo what was done
                _failure(result, OSError(0, f"{type(error).__name__}: {error}"))
                result.via = Via.ROOT  # may have changed part of the file: restore it too
                failed = True
                break
        if failed:
            _undo_open(journal, report)
            if report.timer:
                timer_runner(timer.stop_argv(journal.run_id))
            return report
        journal.set_state(
            RunState.COMPLETE, bridge="open", expires=report.expires, files=len(names)
        )
        return report


def _refuse_bridged_again(store: Store, names: list[str]) -> None:
    """A second bridge would journal the first one's widening as the file's "before"."""
    for info in store.runs():
        if not _is_open(info):
            continue
        taken = sorted(set(names) & set(info.params.get("files", [])))
        if taken:
            raise PreflightRefused(
                f"{taken[0]} is under the open bridge {info.run_id} already (for "
                f"{_identity_of(info)}): close that one first (`bridge close {info.run_id}`); "
                "nothing was changed",
                bridge=info.run_id,
                files=taken,
            )


def _undo_open(journal: Journal, report: BridgeReport) -> None:
    """Put back what an open that failed had changed; the run ends failed (nothing open)."""
    report.status = BridgeStatus.FAILED
    for result in report.files:
        if result.status == FileStatus.OPENED and result.via:
            record = _from_record_for(journal, result.path)
            restored = _close_one(record, Owner.RESTORE, report.identity)
            if restored.status not in (FileStatus.RESTORED, FileStatus.UNCHANGED):
                result.status, result.message = restored.status, restored.message
                result.advice = restored.advice
            else:
                result.status = FileStatus.UNDONE
        elif result.status == FileStatus.OPENED:
            result.status = FileStatus.NOT_STARTED
    journal.set_state(RunState.FAILED, bridge="failed")


def _from_record_for(journal: Journal, path: str) -> EntryRecord:
    return next(r for r in journal.records_of(EntryRecord) if r.path == path)


def _close_one(record: EntryRecord, owner: Owner, heir: Identity) -> FileResult:
    """Restore one file's mode and ACL, giving it the owner ``owner`` says (``heir``: the
    bridge's numbers). A chown that is refused keeps the file bridged (``kept``)."""
    change = repair.EntryChange.from_record(record)
    name = os.fsdecode(change.path)
    result = FileResult(name, FileStatus.RESTORED, record.bridge_mode, before=change.before)
    target = BridgedFile(name)
    try:
        current, device, inode = target.read()
    except FileNotFoundError:
        result.status, result.message = FileStatus.CONFLICT, "removed since; nothing to restore"
        return result
    except OSError as error:
        _failure(result, error)
        return result
    if (device, inode) != (change.device, change.inode):
        result.status, result.message = (
            FileStatus.CONFLICT,
            "replaced by another file since; left as it is",
        )
        return result
    wanted = widen.restored(current, change.before)
    if owner == Owner.HAND_OVER:
        wanted = bridged_file.with_owner(wanted, heir.uid, heir.gid)
    elif owner == Owner.RESTORE:
        wanted = bridged_file.with_owner(wanted, change.before.uid, change.before.gid)
    result.after = wanted
    if current == wanted:
        result.status = FileStatus.UNCHANGED
        return result
    ours = widen.managed_parts(current) in (
        widen.managed_parts(change.after),
        widen.managed_parts(change.before),
    )
    if not ours:
        result.status = FileStatus.CONFLICT
        result.message = (
            f"mode or ACL changed by someone else since (now mode "
            f"{current.mode & 0o7777:04o}); left as it is"
        )
        return result
    try:
        result.via = target.apply(current, wanted)
    except OSError as error:
        _failure(result, error)
        chown = (current.uid, current.gid) != (wanted.uid, wanted.gid)
        if chown:
            result.status = FileStatus.KEPT
            whose = "its VM's numbers" if owner != Owner.KEEP else "the owner"
            result.message = (
                f"{result.message}: the bridge stays on this file until it has {whose} "
                f"{wanted.uid}:{wanted.gid} (its running VM needs the bridge until then)"
            )
    return result


def _identity_of(info: RunInfo) -> Identity:
    return Identity(int(info.params["uid"]), int(info.params["gid"]))


def close_bridge(
    root: HostRoot,
    run_id: str | None,
    *,
    owner: Owner | None = None,
    timer_runner: TimerRunner = timer.run,
) -> BridgeReport:
    """Restore every file of the bridge ``run_id`` (idempotent); None: the only open one.

    ``owner`` None asks libvirt where the bridge's VM runs (``owner.decide``); HAND_OVER
    (``--hand-over``) gives each file to the bridge's identity first, so the migrated VM keeps
    its access. A file whose chown is refused keeps its bridge and the report says what to run
    where.
    """
    store = Store(root)
    with store.locked():
        chosen = run_id or only_open(store)
        return close_locked(store, chosen, owner=owner, timer_runner=timer_runner)


def only_open(store: Store) -> str:
    """The one open bridge (bare ``bridge close``); none or several are bad input, listed."""
    found = [info for info in store.runs() if _is_open(info)]
    if len(found) == 1:
        return found[0].run_id
    if not found:
        raise UsageError("no bridge is open: nothing to close", option="RUN_ID")
    listed = "; ".join(
        f"{info.run_id} ({info.params.get('domain') or ', '.join(info.params.get('files', []))})"
        for info in found
    )
    raise UsageError(
        f"{len(found)} bridges are open, name one (or --expired): {listed}",
        option="RUN_ID",
        bridges=[info.run_id for info in found],
    )


def close_locked(
    store: Store,
    run_id: str,
    *,
    owner: Owner | None = None,
    timer_runner: TimerRunner = timer.run,
) -> BridgeReport:
    """The journaled part of ``close_bridge``; the caller holds the store's lock."""
    info = store.info(store.open(run_id))
    if info.kind != RunKind.BRIDGE:
        raise UsageError(f"run {run_id} is a {info.kind} run, not a bridge", option="RUN_ID")
    identity = _identity_of(info)
    report = BridgeReport(
        Action.CLOSE,
        BridgeStatus.CLOSED,
        run_id,
        identity,
        str(info.params.get("mode")),
        ttl=info.params.get("ttl"),
        expires=info.params.get("expires"),
        domain=info.params.get("domain"),
    )
    if info.state in (RunState.ROLLED_BACK, RunState.FAILED):
        report.status = BridgeStatus.ALREADY_CLOSED
        return report
    chosen = decide(info.params) if owner is None else owner
    if chosen == Owner.UNKNOWN:
        report.status = BridgeStatus.FAILED
        report.warnings.append(
            f"cannot tell where {info.params.get('domain')} runs (libvirt at "
            f"{info.params.get('connect')} or {info.params.get('dest_uri')} did not answer): "
            "the bridge stays open, its VM may need it"
        )
        return report
    with store.taken_up(run_id, RunState.ROLLING_BACK, bridge="closing") as journal:
        report.files = [
            _close_one(record, chosen, identity) for record in journal.records_of(EntryRecord)
        ]
        kept = [f for f in report.files if f.status in (FileStatus.KEPT, FileStatus.FAILED)]
        conflicts = [f for f in report.files if f.status == FileStatus.CONFLICT]
        if kept:
            report.status = BridgeStatus.FAILED
            awaiting = [
                {"path": f.path, "command": f.advice} for f in kept if f.status == FileStatus.KEPT
            ]
            journal.set_state(
                RunState.COMPLETE,
                bridge="open",
                expires=info.params.get("expires"),
                close_failed=len(kept),
                awaiting=awaiting,
            )
        elif conflicts:
            # Not "rolled back": files someone else changed were left, maybe still wide.
            report.status = BridgeStatus.CLOSED_WITH_CONFLICTS
            journal.set_state(
                RunState.FAILED,
                bridge="closed-with-conflicts",
                conflicts=len(conflicts),
                left=[f.path for f in conflicts],
            )
        else:
            journal.set_state(RunState.ROLLED_BACK, bridge="closed", conflicts=0)
        if (
            not kept
            and any(journal.records_of(TimerRecord))
            and timer.systemd_available(store.root)
        ):
            timer_runner(timer.stop_argv(run_id))  # gone already when it fired itself
    return report


def _is_open(info: RunInfo) -> bool:
    return info.kind == RunKind.BRIDGE and (
        (info.state == RunState.COMPLETE and info.summary.get("bridge") == "open")
        or info.state == RunState.INTERRUPTED
    )


def close_expired(
    root: HostRoot,
    *,
    now: float | None = None,
    timer_runner: TimerRunner = timer.run,
    wait: float = LOCK_WAIT,
) -> list[BridgeReport]:
    """Close every open bridge past its TTL, and every bridge an interrupted open left.

    A run holding the lock (an evacuation migrating this very VM) is waited for, up to
    ``wait`` seconds, rather than given up on: the timer that runs this must not lose a close.
    Each bridge's VM decides the owner its images get (``owner.decide``).
    """
    store = Store(root)
    deadline = time.monotonic() + wait
    while True:
        try:
            with store.locked():
                moment = time.time() if now is None else now
                return [
                    close_locked(store, info.run_id, timer_runner=timer_runner)
                    for info in store.runs()
                    if _due(info, moment)
                ]
        except LockHeld:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)


def _due(info: RunInfo, moment: float) -> bool:
    if not _is_open(info):
        return False
    expires = info.params.get("expires")
    if info.state == RunState.INTERRUPTED:
        return True
    awaiting = info.summary.get("awaiting")
    # A bridge kept for a hand-over is retried on every run of the timer (the NFS admin may
    # have run the chown by now); the others when their TTL is over.
    return bool(awaiting) or (expires is not None and expires <= moment)


def open_bridges(root: HostRoot, *, now: float | None = None) -> list[dict[str, Any]]:
    """``bridge status``: every bridge still open (or left half-open by a crash)."""
    moment = time.time() if now is None else now
    found = []
    for info in Store(root).runs():
        if not _is_open(info):
            continue
        expires = info.params.get("expires")
        found.append(
            {
                "run_id": info.run_id,
                "state": BridgeState.INTERRUPTED
                if info.state == RunState.INTERRUPTED
                else BridgeState.OPEN,
                "identity": _identity_of(info).as_dict(),
                "mode": info.params.get("mode"),
                "domain": info.params.get("domain"),
                "files": info.params.get("files", []),
                "started": info.started,
                "expires": expires,
                "expired": expires is not None and expires <= moment,
                "awaiting": info.summary.get("awaiting", []),
            }
        )
    return found
