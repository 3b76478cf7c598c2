# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""This host's conversion as a transient systemd unit, and its progress read from its journal.

UMC ends a module process after ``umc/module/timeout`` without requests, on logout and on a
server restart; a conversion must not end with it. So the module starts the same command a
convert request starts (``libvirt-static-ids record --convert``, under the unit name the
listener uses too: one conversion per host) and only reads: the planned number of changes
and the runs before it from a small file the module writes first, the progress from the run's
write-ahead journal, the end from systemd and the outcome from the run and the host's record.
Any module instance, in any process, finds a conversion again from these.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from libvirt_static_ids.directory import agent
from libvirt_static_ids.errors import JournalError, UsageError
from libvirt_static_ids.host import transient_unit
from libvirt_static_ids.hostroot import STATE_DIR, HostRoot
from libvirt_static_ids.journal.runs import RunInfo, RunKind, RunState
from libvirt_static_ids.journal.store import Store

UNIT = agent.UNIT_NAME
FILE = "umc-conversion.json"
_ID_PREFIX = "conversion-"


@dataclass(frozen=True)
class Started:
    """What the module knew when it started the unit; written before the unit starts."""

    id: str
    host: str
    total: int  # the changes the dry run planned: the progress bar's 100 %
    after_sequence: int  # the newest run before this conversion
    started: float
    paths: tuple[str, ...] = ()
    restart: bool = True


def _file(root: HostRoot) -> str:
    return root.join(os.path.join(STATE_DIR, FILE))


def _newest_sequence(root: HostRoot) -> int:
    with contextlib.suppress(OSError, JournalError):
        return max((run.sequence for run in Store(root).runs()), default=0)
    return 0


def unit_argv(root: HostRoot, paths: Sequence[str], restart: bool, executable: str) -> list[str]:
    """The command the unit runs: convert, recording "converting" and the end state."""
    argv = [executable]
    if not root.is_live:
        argv += ["--root", root.path]
    argv += ["record", "--convert"]
    for path in paths:
        argv += ["--path", path]
    return argv + ([] if restart else ["--no-restart"])


def start(
    root: HostRoot,
    host: str,
    total: int,
    paths: Sequence[str],
    restart: bool,
    *,
    executable: str = agent.EXECUTABLE,
    environment: Mapping[str, str] | None = None,
) -> Started:
    """Start the conversion unit; UnitRunning when a conversion of this host runs already."""
    started = Started(
        f"{_ID_PREFIX}{secrets.token_hex(6)}",
        host,
        total,
        _newest_sequence(root),
        time.time(),
        tuple(paths),
        restart,
    )
    path = _file(root)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    unit = transient_unit.TransientUnit(
        UNIT,
        tuple(unit_argv(root, paths, restart, executable)),
        description=f"libvirt-static-ids: convert {host}, started in UMC",
        environment=dict(environment or {}),
    )
    if transient_unit.is_running(UNIT):
        raise transient_unit.UnitRunning(f"{UNIT}.service is already running", unit=UNIT)
    temporary = f"{path}.new"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump({**asdict(started), "paths": list(paths)}, handle)
    os.replace(temporary, path)
    try:
        transient_unit.start(unit)
    except BaseException:
        os.unlink(path)  # nothing started: nothing to find again
        raise
    return started


def current(root: HostRoot) -> Started | None:
    """The conversion this module started last on this host, if any."""
    try:
        with open(_file(root), encoding="utf-8") as handle:
            data = json.load(handle)
        return Started(
            str(data["id"]),
            str(data["host"]),
            int(data["total"]),
            int(data["after_sequence"]),
            float(data["started"]),
            tuple(str(p) for p in data.get("paths", [])),
            bool(data.get("restart", True)),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{_file(root)} cannot be read: {error}", option="progress_id") from error


def forget(root: HostRoot, started: Started) -> None:
    """The outcome has been shown: a later module opens on the overview, not on it."""
    if current(root) == started:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_file(root))


def run_of(root: HostRoot, started: Started) -> RunInfo | None:
    """The convert run this conversion made (none yet, or none when it was refused)."""
    runs = [
        run
        for run in Store(root).runs()
        if run.kind == RunKind.CONVERT and run.sequence > started.after_sequence
    ]
    return runs[-1] if runs else None


def journaled(root: HostRoot, run: RunInfo) -> int:
    """Records in the run's journal so far: each entry is journaled before it changes."""
    path = Store(root).open(run.run_id).directory
    try:
        with open(os.path.join(path, "journal.jsonl"), "rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))
    except FileNotFoundError:
        return 0


def running(started: Started | None) -> bool:
    """systemd's answer: is the conversion unit loaded and live?"""
    return started is not None and transient_unit.is_running(UNIT)


def outcome(run: RunInfo | None, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The finished conversion, told from its run and the record the unit wrote last."""
    detail = (stored or {}).get("detail") or {}
    error = detail.get("error") if isinstance(detail, Mapping) else None
    if run is None:
        if isinstance(error, Mapping) and error.get("code") == "refused":
            return {
                "status": "refused",
                "message": str(error.get("message", "")),
                "blockers": list((stored or {}).get("blockers", [])),
            }
        message = str(error.get("message")) if isinstance(error, Mapping) else ""
        return {
            "status": "failed",
            "message": message
            or f"the conversion ended before it began a run: see `journalctl -u {UNIT}`",
        }
    summary = run.summary
    repair = {
        "scanned": int(summary.get("scanned", 0)),
        "changed": int(summary.get("changed", 0)),
        "problems": [],
    }
    if run.state == RunState.COMPLETE:
        return {"status": "converted", "run_id": run.run_id, "repair": repair}
    return {
        "status": "failed",
        "run_id": run.run_id,
        "repair": repair,
        "message": (
            str(error.get("message"))
            if isinstance(error, Mapping)
            else f"run {run.run_id} is {run.state}: `libvirt-static-ids journal show "
            f"{run.run_id}` says why"
        ),
    }


def is_id(value: str) -> bool:
    return value.startswith(_ID_PREFIX)
