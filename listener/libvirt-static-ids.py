# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Listener module: keep this host's record in LDAP current and carry out requests for it.

Installed as /usr/lib/univention-directory-listener/system/libvirt-static-ids.py. The file
name is also the module's name in the listener's interpreter, so it must not be
``libvirt_static_ids``: that would shadow the core package this module imports.

It listens to two objects: this host's computer object (a request appeared) and the
settings object (the target changed). Everything it decides is in the core
(libvirt_static_ids.directory.agent); it never writes a value that did not change and only reacts to
the request and target attributes, so its own writes never trigger it again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import ldap
import ldap.filter
import univention.uldap
from univention.listener import ListenerModuleConfiguration, ListenerModuleHandler

from libvirt_static_ids.directory import agent, record
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.errors import StaticIdsError
from libvirt_static_ids.hostroot import HostRoot


def _first(entry: Mapping[str, Sequence[bytes]], name: str) -> str | None:
    values = entry.get(name) or []
    return values[0].decode("utf-8", "replace") if values else None


class LibvirtStaticIds(ListenerModuleHandler):
    """Records this KVM host's libvirt-qemu numbers and acts on refresh/convert requests."""

    root = "/"  # the host's file system root; its etc/machine.secret is the machine account
    connect: str | None = None  # libvirt whose VMs are recorded (None: qemu:///system)
    launch = staticmethod(agent.launch_transient_unit)

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
        self._record("initial record")

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

    # -- decisions (each one a call into the core) ------------------------------------------

    def _changed(
        self, dn: str, old: Mapping[str, Sequence[bytes]], new: Mapping[str, Sequence[bytes]]
    ) -> None:
        if record.has_object_class(new, directory.SETTINGS_CLASS):
            targets = (directory.TARGET_UID, directory.TARGET_GID)
            if not old or self.diff(old, new, keys=targets):
                self._record("the domain's target changed")
            return
        if not directory.same_dn(dn, self.ucr.get("ldap/hostdn") or ""):
            return
        request = _first(new, record.REQUEST)
        if request and (not old or request != _first(old, record.REQUEST)):
            self._request(request)
        elif not old:
            self._record("this host's object appeared")

    def _connection(self) -> univention.uldap.access:
        secret = os.path.join(self.root, "etc", "machine.secret")
        return univention.uldap.getMachineConnection(ldap_master=True, secret_file=secret)

    def _record(self, why: str) -> None:
        with self.as_root():
            try:
                lo = self._connection()
                settings = directory.read_settings(lo.lo, lo.base)
                result = agent.record_host(
                    lo.lo, lo.binddn, HostRoot(self.root), settings, inventory_uri=self.connect
                )
            except (StaticIdsError, OSError, ldap.LDAPError) as error:
                self.logger.error("recording this host (%s) failed: %s", why, error)
                return
        written = ", ".join(result.change.attributes) or "nothing (unchanged)"
        self.logger.info("%s: %s, wrote %s", why, result.record.state, written)

    def _request(self, value: str) -> None:
        with self.as_root():
            try:
                lo = self._connection()
                settings = directory.read_settings(lo.lo, lo.base)
                outcome = agent.handle_request(
                    lo.lo,
                    lo.binddn,
                    HostRoot(self.root),
                    settings,
                    value,
                    launch=self.launch,
                    inventory_uri=self.connect,
                )
            except (StaticIdsError, OSError, ldap.LDAPError) as error:
                self.logger.error("request %r failed: %s", value, error)
                return
        self.logger.info(
            "request %r: %s, %d write(s), cleared=%s %s",
            value,
            outcome.action,
            outcome.writes,
            outcome.cleared,
            "; ".join(outcome.messages),
        )
