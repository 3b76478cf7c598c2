# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``convert`` on a host joined to a UCS domain: the domain's target, and the outcome recorded.

On a joined host (UCR ``ldap/hostdn``, the machine account's secret) ``convert`` takes the
target from the settings object, refuses when the directory holds it for someone else (usermod
would meet that user through NSS), and records the outcome — converted, failed or interrupted
— in the host's own computer object at once, with or without downtime, so ``survey --domain``
and ``plan`` never see a converted host as dynamic. Off the domain (no UCR, or the directory
unreachable) it converts to ``--uid``/``--gid`` as always and says that nothing was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libvirt_static_ids.errors import PreflightRefused, StaticIdsError, UsageError
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import DEFAULT_TARGET, IdPair

if TYPE_CHECKING:
    from libvirt_static_ids.directory import client


@dataclass
class JoinedHost:
    """The directory as this host's machine account sees it, or why there is none."""

    note: str
    conn: client.LdapConnection | None = None
    base: str | None = None
    host_dn: str | None = None
    settings: client.Settings | None = None
    recorded: str | None = None

    @classmethod
    def find(cls, root: HostRoot) -> JoinedHost:
        from libvirt_static_ids.directory import client, connection, ucr

        if not ucr.load(root).get("ldap/hostdn"):
            return cls(
                "not joined to a UCS domain (no UCR ldap/hostdn): the target comes from "
                "--uid/--gid and nothing is recorded in the directory"
            )
        try:
            params = connection.resolve(root)
            conn = client.connect(
                params.uri, params.binddn, params.password, starttls=params.starttls
            )
            settings = client.read_settings(conn, params.base)
        except StaticIdsError as error:
            return cls(
                f"the directory cannot be used ({error.message}): the target comes from "
                "--uid/--gid and nothing is recorded; run `libvirt-static-ids record` later"
            )
        source = "the settings object" if settings.exists else "the default (no settings object)"
        return cls(
            f"joined: the target {settings.target} comes from {source}",
            conn,
            params.base,
            params.host_dn,
            settings,
        )

    def target(self, given: IdPair, root: HostRoot) -> IdPair:
        """The domain's target; ``given`` (--uid/--gid) must be it or the default."""
        if self.settings is None or self.conn is None or self.base is None:
            return given
        from libvirt_static_ids.directory import agent

        domain = self.settings.target
        if given not in (domain, DEFAULT_TARGET):
            raise UsageError(
                f"--uid/--gid {given} differ from the domain's target {domain} "
                f"({self.settings.dn}): give none, or change the target (`settings set`)",
                option="--uid",
            )
        held = agent.directory_blockers(self.conn, self.base, self.settings, root)
        if held:
            raise PreflightRefused(
                f"{len(held)} blocker(s) in the directory: nothing was changed",
                blockers=[blocker.as_dict() for blocker in held],
            )
        return domain

    def record(self, root: HostRoot, inventory_uri: str | None = None) -> None:
        """Record this host as it is now (converted, failed or interrupted), its VMs from
        ``inventory_uri`` (on the live host by default qemu:///system); never raises."""
        if self.conn is None or self.settings is None or self.host_dn is None:
            return
        from libvirt_static_ids.directory import agent

        try:
            result = agent.record_host(
                self.conn, self.host_dn, root, self.settings, inventory_uri=inventory_uri
            )
        except StaticIdsError as error:
            self.note += f"; recording failed ({error.message}): run `libvirt-static-ids record`"
            return
        self.recorded = str(result.record.state)
        self.note += f"; recorded {self.recorded} in {self.host_dn}"

    def close(self) -> None:
        if self.conn is not None:
            self.conn.unbind_s()
            self.conn = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "joined": self.settings is not None,
            "settings": self.settings.dn if self.settings is not None else None,
            "host_dn": self.host_dn,
            "recorded": self.recorded,
            "note": self.note,
        }
