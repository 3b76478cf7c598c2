# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The domain's target pair: show it, and move it with its permanent allocator locks.

UDM reserves a number with a lock object ``cn=<N>,cn=uidNumber,cn=temporary,cn=univention,
<base>`` (and gidNumber) whose ``lockTime`` is the end of the reservation; ``0`` never ends
(univention/admin/locking.py). The join script locks the target so UDM's allocator never
hands it out; moving the target moves those locks: the new pair is locked first, the
directory is checked again under that lock (an object created meanwhile is found), then the
settings object is changed by a compare-and-swap of the old values, and only then are the
old locks removed. At every moment the target in force is locked; an interruption leaves
both pairs locked, never neither. Every host then gets a ``refresh`` request: it records
itself against the new pair (and so reports a local account holding it as a conflict).

API: ``show(conn, base)`` -> SettingsView; ``change_target(conn, base, IdPair, dry_run=)``
-> TargetChange (``as_dict()`` each); refusals are PreflightRefused with ``blockers``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import ldap
import ldap.dn

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import record, reservation
from libvirt_static_ids.errors import PreflightRefused
from libvirt_static_ids.ids import IdPair

LOCK_KINDS = {"uid": "uidNumber", "gid": "gidNumber"}
PERMANENT = b"0"
WOULD_REQUEST = "would-request"  # a dry run's host status, beside client.RequestStatus


class LockState(StrEnum):
    ABSENT = "absent"
    PERMANENT = "permanent"
    UNTIL = "until"  # a temporary lock: UDM is handing the number out


def lock_dn(base: str, which: str, number: int) -> str:
    kind = LOCK_KINDS[which]
    return f"cn={number},cn={ldap.dn.escape_dn_chars(kind)},cn=temporary,cn=univention,{base}"


@dataclass(frozen=True)
class Lock:
    """One allocator lock of a number: absent, permanent (lockTime 0) or until a time."""

    dn: str
    which: str
    number: int
    lock_time: int | None  # None: no lock object

    @property
    def permanent(self) -> bool:
        return self.lock_time == 0

    @property
    def state(self) -> LockState:
        if self.lock_time is None:
            return LockState.ABSENT
        return LockState.PERMANENT if self.permanent else LockState.UNTIL

    def as_dict(self) -> dict[str, Any]:
        return {
            "dn": self.dn,
            "kind": LOCK_KINDS[self.which],
            "number": self.number,
            "state": str(self.state),
            "lockTime": self.lock_time,
        }


def read_lock(conn: directory.LdapConnection, base: str, which: str, number: int) -> Lock:
    dn = lock_dn(base, which, number)
    entry = directory.read_entry(conn, dn, ["lockTime"])
    if entry is None:
        return Lock(dn, which, number, None)
    values = record._values(entry, "lockTime")
    text = values[0].decode("ascii", "replace") if values else "0"
    return Lock(dn, which, number, int(text) if text.isdigit() else 0)


def locks(conn: directory.LdapConnection, base: str, pair: IdPair) -> list[Lock]:
    return [read_lock(conn, base, "uid", pair.uid), read_lock(conn, base, "gid", pair.gid)]


@dataclass(frozen=True)
class SettingsView:
    settings: directory.Settings
    locks: tuple[Lock, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "settings",
            "action": "show",
            **self.settings.as_dict(),
            "locks": [lock.as_dict() for lock in self.locks],
        }


def show(conn: directory.LdapConnection, base: str) -> SettingsView:
    settings = directory.read_settings(conn, base)
    return SettingsView(settings, tuple(locks(conn, base, settings.target)))


@dataclass
class TargetChange:
    old: IdPair
    new: IdPair
    dry_run: bool
    settings_dn: str
    locked: list[str] = field(default_factory=list)  # lock objects added
    unlocked: list[str] = field(default_factory=list)  # lock objects removed
    hosts: list[dict[str, str]] = field(default_factory=list)  # refresh requested
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "settings",
            "action": "set",
            "dn": self.settings_dn,
            "old": self.old.as_dict(),
            "new": self.new.as_dict(),
            "changed": self.changed,
            "dry_run": self.dry_run,
            "locked": list(self.locked),
            "unlocked": list(self.unlocked),
            "hosts": list(self.hosts),
            "notes": list(self.notes),
        }


def _blockers(
    conn: directory.LdapConnection, base: str, pair: IdPair, hosts: Sequence[record.StoredRecord]
) -> list[dict[str, str]]:
    """Why ``pair`` cannot become the target: holders in the directory (by the reservation
    rule), a number UDM is handing out right now, a host converting to the current target."""
    numbers = {"uid": pair.uid, "gid": pair.gid}
    found = []
    for holder in directory.holders(conn, base, pair):
        which = reservation.blocked(holder.kind, holder.uid_number, holder.gid_number, numbers)
        if which is not None:
            found.append(
                {
                    "code": f"target-{which}-taken",
                    "message": f"{which.upper()} {numbers[which]} belongs to {holder.kind} "
                    f"{holder.dn}",
                }
            )
    for lock in locks(conn, base, pair):
        if lock.lock_time is not None and not lock.permanent and lock.lock_time > time.time():
            found.append(
                {
                    "code": "number-being-allocated",
                    "message": f"UDM is handing out {LOCK_KINDS[lock.which]} {lock.number} "
                    f"right now ({lock.dn}); try again in a few minutes",
                }
            )
    for host in hosts:
        if host.state == record.State.CONVERTING:
            found.append(
                {
                    "code": "host-converting",
                    "message": f"host {host.name} is converting to the current target; "
                    "change the target when it has finished",
                }
            )
    return found


def _refuse(blockers: list[dict[str, str]], pair: IdPair) -> None:
    if blockers:
        raise PreflightRefused(
            f"{pair} cannot become the target: {len(blockers)} blocker(s); nothing was changed",
            blockers=blockers,
        )


def _add_lock(conn: directory.LdapConnection, lock: Lock) -> bool:
    """Lock ``lock``'s number permanently; False if a permanent lock exists already."""
    if lock.permanent:
        return False
    attrs = [
        ("objectClass", [b"top", b"lock"]),
        ("cn", [str(lock.number).encode()]),
        ("lockTime", [PERMANENT]),
    ]
    with directory.ldap_errors(f"locking {lock.dn}"):
        if lock.lock_time is None:
            conn.add_ext_s(lock.dn, attrs)
        else:  # an expired temporary lock: made permanent, as locking.lock renews one
            conn.modify_ext_s(lock.dn, [(ldap.MOD_REPLACE, "lockTime", [PERMANENT])])
    return True


def _remove_lock(conn: directory.LdapConnection, dn: str) -> None:
    with directory.ldap_errors(f"unlocking {dn}"), contextlib.suppress(ldap.NO_SUCH_OBJECT):
        conn.delete_ext_s(dn)


def change_target(
    conn: directory.LdapConnection, base: str, new: IdPair, *, dry_run: bool = False
) -> TargetChange:
    """Make ``new`` the domain's target: validate, lock it, switch, unlock the old pair,
    ask every host to re-record. A dry run validates and says what it would do."""
    settings = directory.read_settings(conn, base)
    old = settings.target
    hosts = directory.list_hosts(conn, base)
    change = TargetChange(old, new, dry_run, settings.dn)
    if not settings.exists:
        _refuse(
            [
                {
                    "code": "no-settings",
                    "message": f"{settings.dn} does not exist (the join script creates it)",
                }
            ],
            new,
        )
    _refuse(_blockers(conn, base, new, hosts) if new != old else [], new)
    wanted = [lock for lock in locks(conn, base, new) if not lock.permanent]
    if dry_run:
        change.locked = [lock.dn for lock in wanted]
        change.unlocked = _old_locks(conn, base, old, new)
        change.hosts = [{"host": h.name, "dn": h.dn, "status": WOULD_REQUEST} for h in hosts]
        return change
    for lock in wanted:
        if _add_lock(conn, lock):
            change.locked.append(lock.dn)
    if new != old:
        # Under the new locks nobody else can take the numbers: look once more.
        late = _blockers(conn, base, new, hosts)
        if late:
            for dn in change.locked:
                _remove_lock(conn, dn)
            change.locked = []
            _refuse(late, new)
        try:
            _swap_target(conn, settings, old, new)
        except PreflightRefused:
            now = directory.read_settings(conn, base).target
            for lock in locks(conn, base, new):
                if lock.dn in change.locked and (lock.which, lock.number) not in {
                    ("uid", now.uid),
                    ("gid", now.gid),
                }:
                    _remove_lock(conn, lock.dn)
            raise
        for dn in _old_locks(conn, base, old, new):
            _remove_lock(conn, dn)
            change.unlocked.append(dn)
    else:
        change.notes.append(f"the target is {new} already; its locks are in place")
    names = {host.dn: host.name for host in hosts}
    requested = directory.request_hosts(conn, base, list(names), record.Request.REFRESH)
    change.hosts = [{**done, "host": names[done["dn"]]} for done in requested]
    return change


def _old_locks(conn: directory.LdapConnection, base: str, old: IdPair, new: IdPair) -> list[str]:
    """The permanent locks of the old pair that the new one does not need."""
    kept = {("uid", new.uid), ("gid", new.gid)}
    return [
        lock.dn
        for lock in locks(conn, base, old)
        if lock.permanent and (lock.which, lock.number) not in kept
    ]


def _swap_target(
    conn: directory.LdapConnection, settings: directory.Settings, old: IdPair, new: IdPair
) -> None:
    """Replace the target only if it still is ``old`` (delete of exactly the old values)."""
    modlist: list[tuple[int, str, Any]] = []
    for attribute, before, after in (
        (directory.TARGET_UID, old.uid, new.uid),
        (directory.TARGET_GID, old.gid, new.gid),
    ):
        modlist.append((ldap.MOD_DELETE, attribute, [str(before).encode()]))
        modlist.append((ldap.MOD_ADD, attribute, [str(after).encode()]))
    with directory.ldap_errors(f"changing the target in {settings.dn}"):
        try:
            conn.modify_ext_s(settings.dn, modlist)
        except ldap.NO_SUCH_ATTRIBUTE as error:
            raise PreflightRefused(
                f"the target in {settings.dn} changed meanwhile (it is no longer {old}); "
                "nothing was changed there: run settings show and try again",
                blockers=[{"code": "changed-meanwhile", "message": str(error)}],
            ) from error
