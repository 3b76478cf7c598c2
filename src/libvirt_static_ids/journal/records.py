# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The journal's records: one dataclass per kind, and the one place that encodes and decodes them.

A record is written before the change it announces, and read back by a later version to
resume or undo it, so a record that does not decode exactly is refused, never guessed at. The
on-disk spelling (``op`` and field names) is that of 0.1.0 and is described by
``schemas/journal.schema.json``; ``"op": "domain"`` is 0.1.0's name for a VM's downtime step.

Decoding is hand-written (checking a record against the JSON Schema costs ~0.5 ms, a repair
journals tens of thousands); tests prove it accepts exactly what the schema accepts.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from libvirt_static_ids.errors import JournalError

MAX_ID = 4294967295
MAX_INODE = (1 << 64) - 1  # st_dev and st_ino are 64-bit
_E = TypeVar("_E", bound=StrEnum)


class Op(StrEnum):
    ENTRY = "entry"
    ACCOUNT = "account"
    STEP = "step"
    VM_DOWNTIME = "domain"
    TIMER = "timer"
    VM_EVACUATION = "vm"


class AccountKind(StrEnum):
    USER = "user"
    GROUP = "group"


class HostStep(StrEnum):
    RESTART_LIBVIRTD = "restart-libvirtd"


class DowntimeStep(StrEnum):
    STOP = "stop"
    STOPPED = "stopped"
    START = "start"
    STARTED = "started"
    START_FAILED = "start-failed"


class EvacuationStep(StrEnum):
    BRIDGE = "bridge"
    BRIDGE_OPEN = "bridge-open"
    MIGRATE = "migrate"
    CLOSED = "closed"
    DONE = "done"


FileState = Mapping[str, Any]
"""One entry's metadata as journaled: uid, gid, mode and base64 xattrs (``files.metadata``)."""


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """One file's metadata before and after a change (repair, bridge)."""

    path: str
    dev: int
    ino: int
    before: FileState
    after: FileState
    bridge_mode: str | None = None

    def encode(self) -> dict[str, Any]:
        data = {
            "op": Op.ENTRY.value,
            "path": self.path,
            "dev": self.dev,
            "ino": self.ino,
            "before": self.before,
            "after": self.after,
        }
        if self.bridge_mode is not None:
            data["bridge_mode"] = self.bridge_mode
        return data


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A user or group renumbered (usermod/groupmod)."""

    kind: AccountKind
    name: str
    old: int
    new: int

    def encode(self) -> dict[str, Any]:
        return {
            "op": Op.ACCOUNT.value,
            "kind": self.kind.value,
            "name": self.name,
            "old": self.old,
            "new": self.new,
        }


@dataclass(frozen=True, slots=True)
class StepRecord:
    """A host action that changes no file (it must be repeated by the rollback)."""

    name: HostStep

    def encode(self) -> dict[str, Any]:
        return {"op": Op.STEP.value, "name": self.name.value}


@dataclass(frozen=True, slots=True)
class DowntimeRecord:
    """A VM stopped or started again by a conversion with downtime."""

    step: DowntimeStep
    name: str
    uuid: str
    how: str | None = None
    images: tuple[str, ...] | None = None
    message: str | None = None

    def encode(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "op": Op.VM_DOWNTIME.value,
            "step": self.step.value,
            "name": self.name,
            "uuid": self.uuid,
        }
        if self.how is not None:
            data["how"] = self.how
        if self.images is not None:
            data["images"] = list(self.images)
        if self.message is not None:
            data["message"] = self.message
        return data


@dataclass(frozen=True, slots=True)
class TimerRecord:
    """The command line of a bridge's TTL timer (stopped when the bridge closes)."""

    argv: tuple[str, ...]

    def encode(self) -> dict[str, Any]:
        return {"op": Op.TIMER.value, "argv": list(self.argv)}


@dataclass(frozen=True, slots=True)
class EvacuationRecord:
    """A VM's step in an evacuation, with the bridge run that serves it."""

    step: EvacuationStep
    name: str
    bridge: str | None = None

    def encode(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "op": Op.VM_EVACUATION.value,
            "name": self.name,
            "step": self.step.value,
        }
        if self.bridge is not None:
            data["bridge"] = self.bridge
        return data


Record = EntryRecord | AccountRecord | StepRecord | DowntimeRecord | TimerRecord | EvacuationRecord


def line(record: Record) -> bytes:
    """The record as one journal line."""
    return json.dumps(record.encode(), separators=(",", ":")).encode() + b"\n"


# -- decoding ------------------------------------------------------------------------------------


class _Bad(ValueError):
    """Why a record does not decode (turned into a JournalError naming the line)."""


def _fields(
    data: Mapping[str, Any], required: frozenset[str], optional: frozenset[str] = frozenset()
) -> None:
    missing = required - data.keys()
    if missing:
        raise _Bad(f"missing {', '.join(sorted(missing))}")
    unknown = data.keys() - required - optional - {"op"}
    if unknown:
        raise _Bad(f"unknown field {', '.join(sorted(unknown))}")


def _number(data: Mapping[str, Any], key: str, top: int = MAX_ID) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise _Bad(f"{key} {value!r:.40} is not a number in 0..{top}")
    return value


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise _Bad(f"{key} {value!r:.40} is not a string")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    return _text(data, key) if key in data else None


def _texts(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Bad(f"{key} {value!r:.40} is not a list of strings")
    return tuple(value)


def _choice(data: Mapping[str, Any], key: str, enum: type[_E]) -> _E:
    try:
        return enum(data[key])
    except (ValueError, TypeError):
        raise _Bad(f"{key} {data[key]!r:.40} is not one of {', '.join(enum)}") from None


def _file_state(data: Mapping[str, Any], key: str) -> FileState:
    value = data[key]
    if not isinstance(value, dict):
        raise _Bad(f"{key} is not an object")
    try:
        _fields(value, frozenset({"uid", "gid", "mode"}), frozenset({"xattrs"}))
        for number in ("uid", "gid", "mode"):
            _number(value, number)
    except _Bad as error:
        raise _Bad(f"{key}: {error}") from None
    xattrs = value.get("xattrs", {})
    if not isinstance(xattrs, dict) or not all(isinstance(v, str) for v in xattrs.values()):
        raise _Bad(f"{key}: xattrs is not an object of base64 strings")
    for name, encoded in xattrs.items():
        try:
            base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise _Bad(f"{key}: xattr {name!r:.40} is not base64") from None
    return value


def _entry(data: Mapping[str, Any]) -> EntryRecord:
    _fields(data, frozenset({"path", "dev", "ino", "before", "after"}), frozenset({"bridge_mode"}))
    return EntryRecord(
        _text(data, "path"),
        _number(data, "dev", MAX_INODE),
        _number(data, "ino", MAX_INODE),
        _file_state(data, "before"),
        _file_state(data, "after"),
        _optional_text(data, "bridge_mode"),
    )


def _account(data: Mapping[str, Any]) -> AccountRecord:
    _fields(data, frozenset({"kind", "name", "old", "new"}))
    return AccountRecord(
        _choice(data, "kind", AccountKind),
        _text(data, "name"),
        _number(data, "old"),
        _number(data, "new"),
    )


def _step(data: Mapping[str, Any]) -> StepRecord:
    _fields(data, frozenset({"name"}))
    return StepRecord(_choice(data, "name", HostStep))


def _downtime(data: Mapping[str, Any]) -> DowntimeRecord:
    _fields(data, frozenset({"step", "name", "uuid"}), frozenset({"how", "images", "message"}))
    return DowntimeRecord(
        _choice(data, "step", DowntimeStep),
        _text(data, "name"),
        _text(data, "uuid"),
        _optional_text(data, "how"),
        _texts(data, "images") if "images" in data else None,
        _optional_text(data, "message"),
    )


def _timer(data: Mapping[str, Any]) -> TimerRecord:
    _fields(data, frozenset({"argv"}))
    return TimerRecord(_texts(data, "argv"))


def _evacuation(data: Mapping[str, Any]) -> EvacuationRecord:
    _fields(data, frozenset({"step", "name"}), frozenset({"bridge"}))
    return EvacuationRecord(
        _choice(data, "step", EvacuationStep), _text(data, "name"), _optional_text(data, "bridge")
    )


_DECODERS: dict[Op, Callable[[Mapping[str, Any]], Record]] = {
    Op.ENTRY: _entry,
    Op.ACCOUNT: _account,
    Op.STEP: _step,
    Op.VM_DOWNTIME: _downtime,
    Op.TIMER: _timer,
    Op.VM_EVACUATION: _evacuation,
}


def decode(data: object, where: str) -> Record:
    """The typed record of one decoded journal line; JournalError names ``where`` and why."""
    try:
        if not isinstance(data, dict):
            raise _Bad(f"{data!r:.40} is not an object")
        if "op" not in data:
            raise _Bad("it has no op")
        return _DECODERS[_choice(data, "op", Op)](data)
    except _Bad as error:
        raise JournalError(f"{where}: not a valid record ({error})") from None
