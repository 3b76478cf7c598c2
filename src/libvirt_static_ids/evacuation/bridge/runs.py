# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The migration bridge: let a foreign numeric identity read and write disk images, for a while.

Opening journals every file's exact mode and ACL (before and after, as repair journals an
entry) before touching any, and is all-or-nothing: a file that cannot be widened undoes the
others and the bridge reports failure with what must run where. Closing restores exactly the
mode and ACL, keeping an owner libvirt changed meanwhile; a file changed by someone else is
left and listed. A TTL closes the bridge by itself.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import UsageError
from libvirt_static_ids.evacuation import nfsclient
from libvirt_static_ids.evacuation.bridge import bridged_file, timer
from libvirt_static_ids.evacuation.bridge.bridged_file import BridgedFile, ChangeRefused, Via
from libvirt_static_ids.evacuation.identity import errno_name
from libvirt_static_ids.files import repair, widen
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.files.widen import DEFAULT_MODE, Mode
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity
from libvirt_static_ids.journal.records import EntryRecord, TimerRecord
from libvirt_static_ids.journal.runs import RunInfo, RunKind, RunState
from libvirt_static_ids.journal.store import Journal, Store

MAX_TTL = 7 * 24 * 3600
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


def parse_ttl(text: str | None) -> int | None:
    if text is None:
        return None
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


def _plan(names: list[str], identity: Identity, mode: Mode, report: BridgeReport) -> list[_Planned]:
    planned = []
    for name in names:
        target = BridgedFile(name)
        before, device, inode = target.read()
        chosen = mode
        if mode == Mode.ACL and not target.acl_supported():
            chosen = Mode.CHMOD
            report.warnings.append(
                f"WARNING: {name} takes no POSIX ACL (EOPNOTSUPP): it is made WORLD-WRITABLE "
                "(chmod a+rw) for the bridge's lifetime instead"
            )
        after = widen.widen(before, chosen, identity.uid, identity.gid)
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
    mode: Mode = DEFAULT_MODE,
    ttl: int | None = None,
    domain: str | None = None,
    dry_run: bool = False,
    now: float | None = None,
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
    planned = _plan(names, identity, mode, report)
    if ttl is None and any(item.mode == Mode.CHMOD for item in planned):
        report.warnings.append("WARNING: world-writable images without --ttl: close the bridge!")
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
    report.expires = math.ceil(started + ttl) if ttl and not dry_run else None
    return report, planned, names


def open_bridge(
    root: HostRoot,
    identity: Identity,
    paths: Sequence[str],
    *,
    mode: Mode = DEFAULT_MODE,
    ttl: int | None = None,
    domain: str | None = None,
    dry_run: bool = False,
    timer_runner: TimerRunner = timer.run,
    now: float | None = None,
) -> BridgeReport:
    """Widen every file for ``identity`` or none; journaled, with a TTL if given."""
    report, planned, names = prepare(
        identity, paths, mode=mode, ttl=ttl, domain=domain, dry_run=dry_run, now=now
    )
    if dry_run:
        return report
    store = Store(root)
    with store.locked():
        return open_locked(store, report, planned, names, timer_runner=timer_runner)


def open_locked(
    store: Store,
    report: BridgeReport,
    planned: list[_Planned],
    names: list[str],
    *,
    timer_runner: TimerRunner = timer.run,
) -> BridgeReport:
    """The journaled part of ``open_bridge``; the caller holds the store's lock."""
    root, identity, ttl = store.root, report.identity, report.ttl
    params = {
        "uid": identity.uid,
        "gid": identity.gid,
        "mode": report.mode,
        "ttl": ttl,
        "expires": report.expires,
        "domain": report.domain,
        "files": names,
    }
    with store.run(RunKind.BRIDGE, params, resume=False) as journal:
        report.run_id = journal.run_id
        journal.record_many(_record(item) for item in planned)
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
        if not failed and ttl and timer.systemd_available(root):
            report.timer = timer.start_argv(root, journal.run_id, ttl)
            journal.record(TimerRecord(tuple(report.timer)))
            problem = timer_runner(report.timer)
            if problem:
                report.warnings.append(f"the TTL timer did not start ({problem}): undone")
                failed = True
        if failed:
            _undo_open(journal, report)
            return report
        journal.set_state(
            RunState.COMPLETE, bridge="open", expires=report.expires, files=len(names)
        )
        return report


def _undo_open(journal: Journal, report: BridgeReport) -> None:
    """Put back what an open that failed had changed; the run ends failed (nothing open)."""
    report.status = BridgeStatus.FAILED
    for result in report.files:
        if result.status == FileStatus.OPENED and result.via:
            restored = _close_one(_from_record_for(journal, result.path), hand_over=None)
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


def _close_one(record: EntryRecord, hand_over: Identity | None) -> FileResult:
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
    if hand_over is not None and (current.uid, current.gid) != (hand_over.uid, hand_over.gid):
        wanted = bridged_file.with_owner(wanted, hand_over.uid, hand_over.gid)
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
        result.status = FileStatus.KEPT if hand_over is not None else FileStatus.FAILED
    return result


def _identity_of(info: RunInfo) -> Identity:
    return Identity(int(info.params["uid"]), int(info.params["gid"]))


def close_bridge(
    root: HostRoot,
    run_id: str,
    *,
    hand_over: bool = False,
    timer_runner: TimerRunner = timer.run,
) -> BridgeReport:
    """Restore every file of the bridge ``run_id`` (idempotent).

    ``hand_over``: first give each file to the bridge's identity (chown, what libvirt does on
    the destination and root_squash prevents), so the migrated VM keeps its access; a file
    whose chown is refused keeps its bridge and the report says what to run where.
    """
    store = Store(root)
    with store.locked():
        return close_locked(store, run_id, hand_over=hand_over, timer_runner=timer_runner)


def close_locked(
    store: Store,
    run_id: str,
    *,
    hand_over: bool = False,
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
    with store.taken_up(run_id, RunState.ROLLING_BACK, bridge="closing") as journal:
        heir = identity if hand_over else None
        report.files = [_close_one(record, heir) for record in journal.records_of(EntryRecord)]
        kept = [f for f in report.files if f.status in (FileStatus.KEPT, FileStatus.FAILED)]
        conflicts = [f for f in report.files if f.status == FileStatus.CONFLICT]
        if kept:
            report.status = BridgeStatus.FAILED
            journal.set_state(
                RunState.COMPLETE,
                bridge="open",
                expires=info.params.get("expires"),
                close_failed=len(kept),
            )
        else:
            report.status = BridgeStatus.CLOSED_WITH_CONFLICTS if conflicts else BridgeStatus.CLOSED
            journal.set_state(RunState.ROLLED_BACK, bridge="closed", conflicts=len(conflicts))
            if any(journal.records_of(TimerRecord)) and timer.systemd_available(store.root):
                timer_runner(timer.stop_argv(run_id))  # gone already when it fired itself
    return report


def _is_open(info: RunInfo) -> bool:
    return info.kind == RunKind.BRIDGE and (
        (info.state == RunState.COMPLETE and info.summary.get("bridge") == "open")
        or info.state == RunState.INTERRUPTED
    )


def close_expired(
    root: HostRoot, *, now: float | None = None, timer_runner: TimerRunner = timer.run
) -> list[BridgeReport]:
    """Close every open bridge past its TTL, and every bridge an interrupted open left."""
    moment = time.time() if now is None else now
    store = Store(root)
    reports = []
    with store.locked():
        for info in store.runs():
            if not _is_open(info):
                continue
            expires = info.params.get("expires")
            due = info.state == RunState.INTERRUPTED or (expires is not None and expires <= moment)
            if due:
                reports.append(
                    close_locked(store, info.run_id, hand_over=False, timer_runner=timer_runner)
                )
    return reports


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
            }
        )
    return found
