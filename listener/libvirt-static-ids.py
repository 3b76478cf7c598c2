# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Listener module: keep this host's record in LDAP current and carry out requests for it.

Installed as /usr/lib/univention-directory-listener/system/libvirt-static-ids.py. The file
name is also the module's name in the listener's interpreter, so it must not be
``libvirt_static_ids``: that would shadow the core package this module imports.

The listener daemon calls its modules one at a time and waits for each; recording opens
libvirt and stats VM images (often on NFS), so it never happens here. Every event that
matters starts one transient systemd unit, ``libvirt-static-ids record --pending``, and
returns: the unit carries out every request pending on this host's object (also ones
left from before: at ``initialize``, which the listener runs when the module is new or
resynchronised, that is all there is to pick up), re-reads until none is left, and records
this host. While that unit runs, another start is refused by systemd and not needed: the
unit reads the object again before it ends, and the daily timer runs it too. This module
opens no LDAP connection of its own.

It listens to two objects: this host's computer object (a request appeared) and the
settings object (the target changed), and reacts only to the request and target attributes,
so the unit's own writes never trigger it again, and to a record leaving "converting" while a
request is pending (one that waited for the conversion's unit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ldap.filter
from univention.listener import ListenerModuleConfiguration, ListenerModuleHandler

from libvirt_static_ids.directory import agent, record
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.errors import StaticIdsError, UnitRunning
from libvirt_static_ids.host import transient_unit


def _first(entry: Mapping[str, Sequence[bytes]], name: str) -> str | None:
    values = entry.get(name) or []
    return values[0].decode("utf-8", "replace") if values else None


def _ended(old: Mapping[str, Sequence[bytes]], new: Mapping[str, Sequence[bytes]]) -> bool:
    """The record left "converting": the conversion's unit is done."""
    converting = record.State.CONVERTING.value
    return _first(old, record.STATE) == converting != _first(new, record.STATE)


class LibvirtStaticIds(ListenerModuleHandler):
    """Starts this host's record-and-requests unit whenever its request or the target changes."""

    root = "/"  # the host's file system root
    executable = agent.EXECUTABLE
    connect: str | None = None  # libvirt whose VMs are recorded (None: qemu:///system)
    start = staticmethod(transient_unit.start)

    class Configuration(ListenerModuleConfiguration):
        description = "libvirt-static-ids: record this KVM host's libvirt-qemu IDs in LDAP"
        ldap_filter = f"(objectClass={directory.SETTINGS_CLASS})"
        attributes = [  # noqa: RUF012 - the API's own class attribute
            record.REQUEST,
            directory.TARGET_UID,
            directory.TARGET_GID,
        ]

        def get_ldap_filter(self) -> str:
            """This host's own object (uid ``<hostname>$``) and the settings object."""
            hostname = ListenerModuleHandler.ucr.get("hostname") or ""
            own = ldap.filter.filter_format(
                "(&(objectClass=posixAccount)(uid=%s))", [hostname + "$"]
            )
            return f"(|{own}(objectClass={directory.SETTINGS_CLASS}))"

    # -- listener entry points -------------------------------------------------------------

    def initialize(self) -> None:
        self._start("initial record, and any request pending")

    def create(self, dn: str, new: Mapping[str, Sequence[bytes]]) -> None:
        self._changed(dn, {}, new)

    def modify(
        self,
        dn: str,
        old: Mapping[str, Sequence[bytes]],
        new: Mapping[str, Sequence[bytes]],
        old_dn: str | None,
    ) -> None:
        self._changed(dn, old, new)

    # -- decisions ------------------------------------------------------------------------

    def _changed(
        self, dn: str, old: Mapping[str, Sequence[bytes]], new: Mapping[str, Sequence[bytes]]
    ) -> None:
        if record.has_object_class(new, directory.SETTINGS_CLASS):
            targets = (directory.TARGET_UID, directory.TARGET_GID)
            if not old or self.diff(old, new, keys=targets):
                self._start("the domain's target changed")
            return
        if not directory.same_dn(dn, self.ucr.get("ldap/hostdn") or ""):
            return
        request = _first(new, record.REQUEST)
        if request and (not old or request != _first(old, record.REQUEST)):
            self._start(f"request {request!r}")
        elif request and _ended(old, new):
            # Left pending while the conversion ran (its unit was busy): carried out now.
            self._start(f"request {request!r} after the conversion")
        elif not old:
            self._start("this host's object appeared")

    def _start(self, why: str) -> None:
        unit = agent.listener_unit(self.root, self.executable, self.connect)
        with self.as_root():  # systemd starts units for root only
            try:
                self.start(unit)
            except UnitRunning:
                self.logger.info(
                    "%s: %s runs already; it reads this host's object again before it ends",
                    why,
                    unit.name,
                )
                return
            except StaticIdsError as error:
                self.logger.error("%s: starting %s failed: %s", why, unit.name, error.message)
                return
        self.logger.info("%s: started %s", why, unit.name)
