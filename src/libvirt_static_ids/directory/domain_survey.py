# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The domain survey: every KVM host's record, grouped into ID classes, with what blocks.

Live migration over shared storage works only between hosts whose libvirt-qemu has the same
UID and GID, so hosts with identical numbers form a class and a class migrates only within
itself. Built from two LDAP searches (host records, holders of the target numbers); pure
otherwise, so it is tested without a directory.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import record
from libvirt_static_ids.directory.client import Holder, Settings
from libvirt_static_ids.directory.record import State, StoredRecord, iso
from libvirt_static_ids.ids import IdPair

STALE_AFTER = timedelta(days=7)
# The summary counts hosts without a (readable) record under this state.
NO_RECORD = "unknown"
# Only these states carry numbers that describe what QEMU runs as right now (a failed
# conversion records the numbers the host kept; a converting one is in flux).
_CLASSIFIED = frozenset({State.STATIC, State.DYNAMIC, State.CONFLICT, State.FAILED})
_DONE = frozenset({State.STATIC, State.ABSENT})


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cycle collector off while a survey is built, on again after if it was on.

    A survey makes tens of thousands of objects (records, views, dicts) and no reference
    cycle, so every collector pass meanwhile finds nothing while it walks them all (about a
    fifth of the survey's CPU for 5,000 hosts). If it was off already (the program's choice,
    or another thread building a survey), it is left to whoever turned it off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class HostView(NamedTuple):
    """One host as the survey shows it (a named tuple: one is made per host, thousands)."""

    record: StoredRecord
    stale: bool
    missing: bool
    age_days: float | None
    numbers: IdPair | None  # only states that say what QEMU runs as now

    def as_dict(self, shared: dict[Any, Any] | None = None) -> dict[str, Any]:
        """The host as the survey reports it.

        With ``shared`` (one dict for one survey's hosts), the parts many hosts have alike
        (numbers, state, class, blockers, request, problems, error) are built once per kind
        of record and shared by those hosts' dicts: treat them as read-only.
        """
        r = self.record
        # Records read from the same detail text share its parsed objects (record._detail),
        # and hosts with the same numbers share one pair (_pair): their identities stand for
        # their values, and every record is alive while this runs.
        shape: tuple[Any, ...] = (r.uid, r.gid, r.state, id(self.numbers), id(r.detail))
        shape += (id(r.blockers), r.request, r.problems)
        parts = shared.get(shape) if shared is not None else None
        if parts is None:
            numbers = self.numbers
            parts = (
                str(numbers) if numbers else None,
                [dict(b) for b in r.blockers],
                list(r.problems),
                # Why the last conversion failed or was refused (agent.derive records it).
                _error(r.detail),
            )
            if shared is not None:
                shared[shape] = parts
        numbers_class, blockers, problems, error = parts
        inventory = r.inventory
        if inventory is not None:
            inventory = _inventory(inventory)
            if inventory is _UNREADABLE:
                inventory = None
                problems = [*r.problems, "its VM inventory is not JSON"]
        return {
            "name": r.name,
            "dn": r.dn,
            "uid": r.uid,
            "gid": r.gid,
            "state": r.state,
            "checked": r.checked_iso if r.checked_iso is not None else iso(r.checked),
            "age_days": self.age_days,
            "stale": self.stale,
            "missing": self.missing,
            "class": numbers_class,
            "blockers": blockers,
            "request": r.request,
            "problems": problems,
            "error": error,
            # What ``plan --from`` plans with: free memory, VMs, their memory, state, images.
            "inventory": inventory,
        }


def _error(detail: Any) -> dict[str, str] | None:
    error = detail.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return None
    return {"code": error["code"], "message": str(error.get("message", ""))}


_UNREADABLE: Any = object()


def _inventory(text: str) -> Any:
    """The recorded inventory as JSON, _UNREADABLE when not JSON (or not an object)."""
    try:
        value = json.loads(text)
    except ValueError:
        return _UNREADABLE
    return value if isinstance(value, dict) else _UNREADABLE


@functools.lru_cache(maxsize=4096)
def _pair(uid: int, gid: int) -> IdPair:
    """A domain has few distinct pairs: each is made once, not once per host."""
    return IdPair(uid, gid)


@dataclass(frozen=True)
class IdClass:
    numbers: IdPair
    static: bool
    hosts: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.numbers),
            "uid": self.numbers.uid,
            "gid": self.numbers.gid,
            "static": self.static,
            "hosts": list(self.hosts),
            # Same numbers only: a class migrates to itself and to no other class.
            "migrates_to": [str(self.numbers)] if len(self.hosts) > 1 else [],
        }


@dataclass(frozen=True)
class DomainSurvey:
    base: str
    now: datetime
    settings: Settings
    hosts: tuple[HostView, ...]
    classes: tuple[IdClass, ...]
    holders: tuple[Holder, ...]

    def as_dict(self) -> dict[str, Any]:
        with _collector_paused():
            return self._as_dict()

    def _as_dict(self) -> dict[str, Any]:
        states: dict[str, int] = {}
        stale: list[str] = []
        missing: list[str] = []
        done = True
        for host in self.hosts:  # one pass: a survey has thousands of hosts
            state = host.record.state
            key = state or NO_RECORD
            states[key] = states.get(key, 0) + 1
            if host.stale:
                stale.append(host.record.name)
            if host.missing:
                missing.append(host.record.name)
            done = done and state in _DONE
        shared: dict[Any, Any] = {}
        return {
            "command": "domain-survey",
            "base": self.base,
            "surveyed_at": iso(self.now),
            "settings": self.settings.as_dict(),
            "hosts": [host.as_dict(shared) for host in self.hosts],
            "classes": [cls.as_dict() for cls in self.classes],
            "holders": [holder.as_dict() for holder in self.holders],
            "stale": stale,
            "missing": missing,
            "summary": {
                "hosts": len(self.hosts),
                "states": dict(sorted(states.items())),
                "classes": len(self.classes),
                "holders": len(self.holders),
                "stale": len(stale),
                "missing": len(missing),
                # Every host that has libvirt-qemu runs it with the target, nothing else
                # in the directory holds the target numbers.
                "converged": not self.holders and done,
            },
        }


def _view(host: StoredRecord, now: datetime) -> HostView:
    uid, gid = host.uid, host.gid
    classified = host.state in _CLASSIFIED and uid is not None and gid is not None
    numbers = _pair(uid, gid) if classified else None
    checked = host.checked
    if checked is None:  # never checked: missing, whatever else it holds
        return HostView(host, False, True, None, numbers)
    age = now - checked
    days = round(age.total_seconds() / 86400, 2)
    return HostView(host, age > STALE_AFTER, host.state is None, days, numbers)


def build(
    base: str,
    settings: Settings,
    hosts: Sequence[StoredRecord],
    holders: Sequence[Holder],
    now: datetime,
) -> DomainSurvey:
    views = tuple([_view(host, now) for host in hosts])
    members: dict[IdPair, list[str]] = {}
    for view in views:
        if view.numbers is not None:
            members.setdefault(view.numbers, []).append(view.record.name)
    target = settings.target
    classes = tuple(
        IdClass(numbers, numbers == target, tuple(names))
        for numbers, names in sorted(
            members.items(), key=lambda item: (item[0] != target, -len(item[1]), item[0])
        )
    )
    return DomainSurvey(base, now, settings, views, classes, tuple(holders))


def collect(
    conn: directory.LdapConnection,
    base: str,
    now: datetime | None = None,
    *,
    inventories: bool = False,
) -> DomainSurvey:
    """Two searches (host records, holders of the target) and the survey built from them.

    ``inventories``: read each host's VM inventory too (``survey --domain --json`` prints
    them for ``plan --from``; the UMC module and the diagnostic need none).
    """
    settings = directory.read_settings(conn, base)
    extra = [record.INVENTORY] if inventories else []
    with _collector_paused():
        hosts = directory.list_hosts(conn, base, [*directory.HOST_ATTRIBUTES, *extra])
        holders = directory.holders(conn, base, settings.target)
        return build(base, settings, hosts, holders, now or datetime.now(UTC))
