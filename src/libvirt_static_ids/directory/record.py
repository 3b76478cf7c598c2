# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A host's record in LDAP: what it holds, how it is read back, and what a write must change.

The record is read by every survey and written by every host, so reading tolerates any data
(a record is only ever reported, never trusted), and writing changes only what differs: an
unchanged host costs no write, and the check time alone is refreshed at most once a day, so
an old check time means "stopped reporting", not "nothing changed".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from libvirt_static_ids.ids import MAX_ID

OBJECT_CLASS = "libvirtStaticIdsHost"
UID = "libvirtStaticIdsUid"
GID = "libvirtStaticIdsGid"
STATE = "libvirtStaticIdsState"
CHECKED = "libvirtStaticIdsChecked"
DETAIL = "libvirtStaticIdsDetail"
REQUEST = "libvirtStaticIdsRequest"
# The host's VM inventory (inventory.py): read by ``plan`` only, so no survey fetches it.
INVENTORY = "libvirtStaticIdsInventory"
RECORD_ATTRIBUTES = (UID, GID, STATE, CHECKED, DETAIL)

CHECK_REFRESH = timedelta(days=1)
DETAIL_LIMIT = 8192  # bytes of JSON; longer blocker messages are cut, codes are kept


class State(StrEnum):
    STATIC = "static"
    DYNAMIC = "dynamic"
    ABSENT = "absent"
    CONFLICT = "conflict"
    CONVERTING = "converting"
    FAILED = "failed"


class Request(StrEnum):
    REFRESH = "refresh"
    CONVERT = "convert"


def format_time(moment: datetime) -> str:
    """LDAP GeneralizedTime, UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def parse_time(text: str) -> tuple[datetime, str] | None:
    """A GeneralizedTime as slapd stores it (``YYYYmmddHHMMSS[.fff]Z``), else None: the
    moment, and the same in ISO 8601 as ``iso`` writes it (made from the text, not the moment:
    this runs for every host of a survey)."""
    text = text.strip()
    if len(text) < 15 or not text.endswith("Z") or not text[:14].isdigit():
        return None
    written = f"{text[0:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:{text[12:14]}"
    try:  # fromisoformat is C
        return datetime.fromisoformat(written + "+00:00"), written + "Z"
    except ValueError:
        return None


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    m = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def encode_detail(detail: Mapping[str, Any]) -> str:
    """Compact, key-sorted JSON: the same detail always gives the same bytes (no rewrite)."""
    text = json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode()) <= DETAIL_LIMIT:
        return text
    trimmed = dict(detail)
    trimmed["blockers"] = [
        {"code": b.get("code", "?"), "message": str(b.get("message", ""))[:200]}
        for b in detail.get("blockers", [])
    ]
    trimmed["truncated"] = True
    text = json.dumps(trimmed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()[:DETAIL_LIMIT].decode(errors="ignore")


@dataclass(frozen=True)
class HostRecord:
    """What one host reports about itself."""

    state: State
    uid: int | None = None
    gid: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    inventory: str | None = None  # encoded inventory JSON; None leaves the stored one

    def values(self) -> dict[str, list[bytes]]:
        """The record attributes as LDAP values; an empty list means "not set"."""
        values = {
            UID: [str(self.uid).encode()] if self.uid is not None else [],
            GID: [str(self.gid).encode()] if self.gid is not None else [],
            STATE: [str(self.state).encode()],
            DETAIL: [encode_detail(self.detail).encode()],
        }
        if self.inventory is not None:
            values[INVENTORY] = [self.inventory.encode()]
        return values


@dataclass(frozen=True)
class RecordUpdate:
    """One LDAP modify, or nothing: (attribute, new values) pairs; [] deletes."""

    replace: tuple[tuple[str, tuple[bytes, ...]], ...] = ()
    add_object_class: bool = False

    @property
    def empty(self) -> bool:
        return not self.replace and not self.add_object_class

    @property
    def attributes(self) -> list[str]:
        names = [name for name, _ in self.replace]
        return (["objectClass"] if self.add_object_class else []) + names


def _values(entry: Mapping[str, Sequence[bytes]], name: str) -> list[bytes]:
    lowered = name.lower()
    for key, values in entry.items():
        if key.lower() == lowered:
            return list(values)
    return []


def has_object_class(entry: Mapping[str, Sequence[bytes]], name: str = OBJECT_CLASS) -> bool:
    wanted = name.lower().encode()
    return any(value.lower() == wanted for value in _values(entry, "objectClass"))


def plan(stored: Mapping[str, Sequence[bytes]], record: HostRecord, now: datetime) -> RecordUpdate:
    """The smallest modify that makes ``stored`` (the entry as read) hold ``record``.

    The check time is written with any other change, or alone when it is missing, unreadable,
    more than a day old, or implausibly far in the future.
    """
    changed = []
    for name, values in record.values().items():
        if sorted(_values(stored, name)) != sorted(values):
            changed.append((name, tuple(values)))
    checked_values = _values(stored, CHECKED)
    checked = parse_time(checked_values[0].decode(errors="replace")) if checked_values else None
    fresh = checked is not None and abs(now - checked[0]) < CHECK_REFRESH
    if changed or not fresh:
        changed.append((CHECKED, (format_time(now).encode(),)))
    return RecordUpdate(tuple(changed), add_object_class=not has_object_class(stored))


class StoredRecord(NamedTuple):
    """A record as read from LDAP, with every problem found in it named, never raised.

    A named tuple, not a frozen dataclass: a survey makes one per host (thousands), and a
    tuple is made several times faster than a frozen dataclass sets its fields.
    """

    dn: str
    name: str
    has_class: bool
    state: str | None
    uid: int | None
    gid: int | None
    checked: datetime | None
    blockers: tuple[dict[str, Any], ...]
    detail: Mapping[str, Any]
    request: str | None
    problems: tuple[str, ...]
    inventory: str | None = None  # only when read with INVENTORY (``plan``)
    checked_iso: str | None = None  # ``checked`` as ``iso`` writes it, when read from LDAP

    @property
    def recorded(self) -> bool:
        return self.state is not None and self.checked is not None


_STATES = frozenset(state.value for state in State)
_CANONICAL = {
    name.lower(): name for name in (*RECORD_ATTRIBUTES, REQUEST, INVENTORY, "objectClass", "cn")
}
_CANONICAL_NAMES = frozenset(_CANONICAL.values())


def _canonical(entry: Mapping[str, Sequence[bytes]]) -> Mapping[str, Sequence[bytes]]:
    """The entry with our attribute names spelled as in the schema (LDAP names ignore case)."""
    if _CANONICAL_NAMES.issuperset(entry):
        return entry  # what slapd sends: no copy
    return {_CANONICAL.get(key.lower(), key): values for key, values in entry.items()}


def _blockers(detail: Any, problems: list[str]) -> tuple[dict[str, Any], ...]:
    raw = detail.get("blockers", [])
    if not isinstance(raw, list):
        problems.append(f"{DETAIL} has blockers that are not a list")
        return ()
    found = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            found.append({"code": item["code"], "message": str(item.get("message", ""))})
        else:
            problems.append(f"{DETAIL} has an unreadable blocker {item!r:.80}")
    return tuple(found)


@functools.lru_cache(maxsize=1024)
def _detail(
    text: str | None,
) -> tuple[Mapping[str, Any], tuple[dict[str, Any], ...], tuple[str, ...]]:
    """(detail, blockers, problems) of a detail value; many hosts share one (no blockers)."""
    problems: list[str] = []
    if text is None:
        return {}, (), ()
    try:
        detail = json.loads(text)
    except ValueError:
        return {}, (), (f"{DETAIL} is not JSON: {text!r:.80}",)
    if not isinstance(detail, dict):
        return {}, (), (f"{DETAIL} is JSON but not an object: {text!r:.80}",)
    blockers = _blockers(detail, problems)
    return MappingProxyType(detail), blockers, tuple(problems)


@functools.lru_cache(maxsize=256)
def _state(raw: bytes) -> tuple[str | None, str | None]:
    """(state, problem) of a stored state value; a domain has a handful of them."""
    state = raw.decode("utf-8", "replace").lower()
    if state not in _STATES:
        return None, f"{STATE} {state!r} is not a known state"
    return state, None


@functools.lru_cache(maxsize=4096)
def _id(name: str, raw: bytes) -> tuple[int | None, str | None]:
    """(number, problem) of a stored UID or GID; a domain has few distinct ones."""
    text = raw.decode("utf-8", "replace")
    if not text.strip().isdigit() or not 0 <= int(text) <= MAX_ID:
        return None, f"{name} {text!r} is not a usable ID"
    return int(text), None


class _Shared(NamedTuple):
    """What a record's state, numbers and detail say; problems before and after the check
    time's place (problems are listed in attribute order)."""

    state: str | None
    uid: int | None
    gid: int | None
    detail: Mapping[str, Any]
    blockers: tuple[dict[str, Any], ...]
    before: tuple[str, ...]
    after: tuple[str, ...]


@functools.lru_cache(maxsize=1024)  # as _detail: a detail may be 8 KiB
def _shared(
    state_raw: bytes | None, uid_raw: bytes | None, gid_raw: bytes | None, detail_raw: bytes | None
) -> _Shared:
    """Many hosts store the same state, numbers and detail: one look-up per host."""
    state, problem = _state(state_raw) if state_raw is not None else (None, None)
    before = (problem,) if problem else ()
    after: list[str] = []
    uid = gid = None
    if uid_raw is not None:
        uid, problem = _id(UID, uid_raw)
        if problem:
            after.append(problem)
    if gid_raw is not None:
        gid, problem = _id(GID, gid_raw)
        if problem:
            after.append(problem)
    text = detail_raw.decode("utf-8", "replace") if detail_raw is not None else None
    detail, blockers, detail_problems = _detail(text)
    return _Shared(state, uid, gid, detail, blockers, before, (*after, *detail_problems))


def read(dn: str, name: str, entry: Mapping[str, Sequence[bytes]]) -> StoredRecord:
    """Interpret an LDAP entry (attribute -> values) as a host record.

    Runs once per host of a survey (thousands): what many hosts share (state, numbers,
    detail) is interpreted once per combination of values, and the rest is read inline.
    """
    get = _canonical(entry).get
    state, uid, gid, detail = get(STATE), get(UID), get(GID), get(DETAIL)
    shared = _shared(
        state[0] if state else None,
        uid[0] if uid else None,
        gid[0] if gid else None,
        detail[0] if detail else None,
    )
    problems = shared.before
    checked = checked_iso = None
    values = get(CHECKED)
    if values:
        checked_text = values[0].decode("utf-8", "replace")
        parsed = parse_time(checked_text)
        if parsed is None:
            problems = (*problems, f"{CHECKED} {checked_text!r} is not a time")
        else:
            checked, checked_iso = parsed
    if shared.after:
        problems = (*problems, *shared.after)
    values = get(REQUEST)
    request = values[0].decode("utf-8", "replace") if values else None
    classes = get("objectClass")
    inventory = get(INVENTORY)
    return StoredRecord(
        dn,
        name,
        has_object_class({"objectClass": classes}) if classes else False,
        shared.state,
        shared.uid,
        shared.gid,
        checked,
        shared.blockers,
        shared.detail,
        request.strip().lower() if request else None,
        problems,
        inventory[0].decode("utf-8", "replace") if inventory else None,
        checked_iso,
    )
