# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Long work started as a transient systemd unit, so the caller never waits for it.

The listener, the UMC module and the rollout start slow work (recording, converting,
evacuating) this way: the caller's process may end meanwhile (UMC ends idle modules, the
listener must return at once), and systemd keeps the work, its log and its exit.

API::

    unit = TransientUnit("libvirt-static-ids-convert", ("/usr/bin/libvirt-static-ids",
                         "record", "--convert"), description="...", properties={"Nice": "5"})
    start(unit)                   # systemd-run --unit=NAME --collect --no-block ... -- ARGV
                                  # UnitRunning: a unit of that name is loaded (running)
                                  # OperationFailed: systemd-run could not start it
    status("libvirt-static-ids-convert")  # UnitStatus: state (UnitState), sub, result, pid
    is_running(name)              # status(name).running: one of a run's live states

A unit name is fixed by its purpose (one conversion per host, one evacuation per run), so
"already running?" is systemd's own answer: a second start of a loaded name fails. Units are
started with ``--collect``: a finished unit, failed or not, is unloaded, so the name is free
again and the outcome lives where the work writes it (the run journal, the host's record);
its output stays in the systemd journal under the unit's name (``journalctl -u NAME``).
``systemd-run`` and ``systemctl`` are found on PATH (tests put recording fakes first).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from libvirt_static_ids.errors import OperationFailed, UnitRunning, UsageError

TIMEOUT = 30  # seconds for systemd to answer; the work itself is never waited for
SUFFIX = ".service"
_NAME = re.compile(r"[A-Za-z0-9:_.\\-]{1,240}")  # systemd's unit name characters, no '@'
_ALREADY_LOADED = "already loaded or has a fragment file"
_SHOWN = ("LoadState", "ActiveState", "SubState", "Result", "MainPID", "ExecMainStatus")


class UnitState(StrEnum):
    """systemd's ActiveState of a unit, plus MISSING for a unit that is not loaded."""

    ACTIVE = "active"
    ACTIVATING = "activating"
    DEACTIVATING = "deactivating"
    RELOADING = "reloading"
    INACTIVE = "inactive"
    FAILED = "failed"
    MISSING = "missing"


_LIVE = frozenset(
    {UnitState.ACTIVE, UnitState.ACTIVATING, UnitState.DEACTIVATING, UnitState.RELOADING}
)


def _checked_name(name: str) -> str:
    bare = name.removesuffix(SUFFIX)
    if not _NAME.fullmatch(bare):
        raise UsageError(
            f"invalid unit name {name!r}: use letters, digits and ':_.-\\' (at most 240)",
            name=name,
        )
    return bare


@dataclass(frozen=True)
class TransientUnit:
    """A command and how systemd should run it; ``name`` without ``.service``."""

    name: str
    argv: tuple[str, ...]
    description: str
    properties: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _checked_name(self.name))
        if not self.argv:
            raise UsageError(f"unit {self.name!r} has no command", name=self.name)
        for key, value in (*self.properties.items(), *self.environment.items()):
            if not key or "=" in key or "\n" in key + value:
                raise UsageError(f"unit {self.name!r}: invalid setting {key!r}", name=self.name)


def start_argv(unit: TransientUnit) -> list[str]:
    """The ``systemd-run`` command line that starts ``unit`` and returns without waiting."""
    return [
        "systemd-run",
        f"--unit={unit.name}",
        f"--description={unit.description}",
        "--collect",
        "--no-block",
        "--quiet",
        *(f"--property={key}={value}" for key, value in unit.properties.items()),
        *(f"--setenv={key}={value}" for key, value in unit.environment.items()),
        "--",
        *unit.argv,
    ]


def status_argv(name: str) -> list[str]:
    return ["systemctl", "show", f"--property={','.join(_SHOWN)}", "--", name + SUFFIX]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise OperationFailed(f"{argv[0]} could not run: {error}", argv=list(argv)) from error


def start(unit: TransientUnit) -> None:
    """Start ``unit``; UnitRunning if its name is loaded, OperationFailed on any other refusal."""
    result = _run(start_argv(unit))
    if result.returncode == 0:
        return
    reason = result.stderr.strip() or result.stdout.strip()
    if _ALREADY_LOADED in reason:
        raise UnitRunning(f"{unit.name}{SUFFIX} is already running", unit=unit.name)
    raise OperationFailed(
        f"systemd-run could not start {unit.name}{SUFFIX} (exit {result.returncode}): {reason}",
        unit=unit.name,
    )


@dataclass(frozen=True)
class UnitStatus:
    """What systemd says of a unit now."""

    name: str
    state: UnitState
    sub_state: str = ""
    result: str = ""
    main_pid: int | None = None
    exit_status: int | None = None

    @property
    def running(self) -> bool:
        return self.state in _LIVE


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and text != "0" else None


def parse_show(name: str, text: str) -> UnitStatus:
    """``systemctl show`` output (KEY=VALUE lines) as a UnitStatus."""
    shown = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
    if shown.get("LoadState") == "not-found":
        return UnitStatus(name, UnitState.MISSING)
    try:
        state = UnitState(shown.get("ActiveState", ""))
    except ValueError as error:
        raise OperationFailed(
            f"systemctl show {name}{SUFFIX}: unknown ActiveState {shown.get('ActiveState')!r}",
            unit=name,
        ) from error
    exit_status = shown.get("ExecMainStatus")
    return UnitStatus(
        name,
        state,
        shown.get("SubState", ""),
        shown.get("Result", ""),
        _number(shown.get("MainPID")),
        int(exit_status) if exit_status and exit_status.isdigit() else None,
    )


def status(name: str) -> UnitStatus:
    """The unit's state; a collected (finished) unit is MISSING."""
    bare = _checked_name(name)
    result = _run(status_argv(bare))
    if result.returncode != 0:
        raise OperationFailed(
            f"systemctl show {bare}{SUFFIX} failed (exit {result.returncode}): "
            f"{result.stderr.strip()}",
            unit=bare,
        )
    return parse_show(bare, result.stdout)


def is_running(name: str) -> bool:
    return status(name).running
