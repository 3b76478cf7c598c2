# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A request carried out on the host by its transient unit, and echoed in the host's record.

The listener (directory/agent.py) parses the request, echoes it "running" and starts
``libvirt-static-ids record --request VALUE`` as a transient unit; that unit lands here. An
evacuation goes through evacuation.evacuate (bridge, probe, live-migrate, close with hand-over,
journaled on this host), a conversion through agent.convert_and_record; either way the host
then records itself (numbers, state, VM inventory) with the echo "done" or "failed" and the
reason. It lives above directory/ and evacuation/ because it joins the two.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from typing import Any

from libvirt_static_ids.directory import agent, ucr
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory.record import State
from libvirt_static_ids.directory.request import HostRequest, Kind, RequestState
from libvirt_static_ids.errors import StaticIdsError
from libvirt_static_ids.evacuation import evacuate
from libvirt_static_ids.files.widen import Mode
from libvirt_static_ids.host import hypervisor
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import Identity

EVACUATION_TTL = 3600  # seconds each bridge may stay open if everything else fails


@dataclass
class Carried:
    """What the unit did: the evacuation's or conversion's report, and the record after."""

    request: HostRequest
    report: dict[str, Any] | None
    record: agent.RecordResult
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        data = self.record.as_dict()
        data["request"] = self.request.value()
        data[self.request.kind.value] = self.report
        return data


def carry_out(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    request: HostRequest,
    *,
    connect_uri: str | None = None,
    hostname: str | None = None,
    migrate: hypervisor.Migrate = hypervisor.migrate,
    restart: bool = True,
    mountinfo: str = "/proc/self/mountinfo",
) -> Carried:
    """Carry ``request`` out here and record the outcome as this host (``conn``: its account).

    ``connect_uri`` is this host's libvirt (default qemu:///system); the inventory is
    recorded from it, so the record shows at once which VMs left.
    """
    uri = connect_uri or hypervisor.DEFAULT_URI
    try:
        return _carry_out(
            conn,
            dn,
            root,
            settings,
            request,
            uri=uri,
            hostname=hostname,
            migrate=migrate,
            restart=restart,
            mountinfo=mountinfo,
        )
    except BaseException as error:
        # A crash must not leave the echo "running": the rollout would wait for it.
        echo = request.outcome(RequestState.FAILED, f"the unit ended unexpectedly: {error!r}")
        with contextlib.suppress(Exception):
            agent.record_host(conn, dn, root, settings, inventory_uri=uri, outcome=echo)
        raise


def _carry_out(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    request: HostRequest,
    *,
    uri: str,
    hostname: str | None,
    migrate: hypervisor.Migrate,
    restart: bool,
    mountinfo: str,
) -> Carried:
    if request.kind is Kind.CONVERT:
        report, after = agent.convert_and_record(
            conn, dn, root, settings, restart=restart, request=request, inventory_uri=uri
        )
        ok = after.record.state != State.FAILED
        return Carried(request, report.as_dict() if report else None, after, ok)
    if request.kind is Kind.REFRESH:
        result = agent.record_host(
            conn, dn, root, settings, inventory_uri=uri, outcome=request.outcome(RequestState.DONE)
        )
        return Carried(request, None, result, True)
    return _evacuate(
        conn,
        dn,
        root,
        settings,
        request,
        uri=uri,
        hostname=hostname,
        migrate=migrate,
        mountinfo=mountinfo,
    )


def _evacuate(
    conn: directory.LdapConnection,
    dn: str,
    root: HostRoot,
    settings: directory.Settings,
    request: HostRequest,
    *,
    uri: str,
    hostname: str | None,
    migrate: hypervisor.Migrate,
    mountinfo: str,
) -> Carried:
    assert request.to is not None and request.numbers is not None and request.mode is not None
    here = hostname or socket.gethostname().split(".")[0]
    report: evacuate.EvacuateReport | None = None
    message: str | None = None
    try:
        report = evacuate.evacuate(
            root,
            here,
            request.to,
            Identity(request.numbers.uid, request.numbers.gid),
            connect_uri=uri,
            dest_uri=evacuate.default_dest_uri(ucr.qualified(root, request.to)),
            mode=Mode(request.mode),
            ttl=EVACUATION_TTL,
            migrate=migrate,
            mountinfo=mountinfo,
            vms=request.vms,
        )
    except StaticIdsError as error:
        message = error.message
    if report is not None:
        left = sorted(set(request.vms) - {d.name for d in report.domains})
        failed = [d for d in report.domains if d.status == evacuate.VmStatus.FAILED]
        if failed:
            message = "; ".join(f"{d.name}: {d.message}" for d in failed)
        elif report.status == evacuate.EvacuateStatus.FAILED:
            message = "the evacuation failed"
        elif report.status == evacuate.EvacuateStatus.REFUSED:
            message = "; ".join(
                f"{d.name}: {d.message}"
                for d in report.domains
                if d.status == evacuate.VmStatus.REFUSED
            )
        migrated = sorted(d.name for d in report.domains if d.status == evacuate.VmStatus.MIGRATED)
    else:
        left, migrated = [], []
    state = RequestState.FAILED if message else RequestState.DONE
    echo = request.outcome(state, message, migrated=migrated, not_running=left)
    after = agent.record_host(conn, dn, root, settings, inventory_uri=uri, outcome=echo)
    return Carried(request, report.as_dict() if report else None, after, state is RequestState.DONE)
