# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The demo hosts' listeners: each host acts on the requests an admin writes to its object.

On UCS, replication brings a request to the host's listener, which records a refresh or
starts the conversion as a transient systemd unit (``libvirt_static_ids.directory.agent``). Here one
thread looks at every demo host's object every ``interval`` seconds and calls the same
``agent.handle_request`` as that host; the "transient unit" is a thread running
``agent.convert_and_record``, what the unit runs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

from libvirt_static_ids.directory import agent, record
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.errors import StaticIdsError
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed import SimHost, Testbed


class DemoAgents:
    def __init__(self, testbed: Testbed, hosts: Sequence[SimHost], interval: float = 0.5) -> None:
        self.testbed = testbed
        self.hosts = list(hosts)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-agents", daemon=True)
        self._units: list[threading.Thread] = []

    def start(self) -> DemoAgents:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for unit in self._units:
            unit.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for host in self.hosts:
                with contextlib.suppress(StaticIdsError):
                    self.poll(host)

    def poll(self, host: SimHost) -> agent.RequestOutcome | None:
        """Act on the request on ``host``'s object, if there is one."""
        conn = self.testbed.connect(host.dn, host.password)
        try:
            entry = directory.read_entry(conn, host.dn, [record.REQUEST]) or {}
            wanted = record.REQUEST.lower()
            values = next((v for k, v in entry.items() if k.lower() == wanted), [])
            if not values:
                return None
            settings = directory.read_settings(conn, self.testbed.base)
            return agent.handle_request(
                conn,
                host.dn,
                HostRoot(host.root),
                settings,
                values[0].decode("utf-8", "replace"),
                launch=lambda unit: self._launch(host),
            )
        finally:
            conn.unbind_s()

    def _launch(self, host: SimHost) -> None:
        unit = threading.Thread(target=self._convert, args=(host,), daemon=True)
        self._units.append(unit)
        unit.start()

    def _convert(self, host: SimHost) -> Any:
        conn = self.testbed.connect(host.dn, host.password)
        try:
            settings = directory.read_settings(conn, self.testbed.base)
            return agent.convert_and_record(conn, host.dn, HostRoot(host.root), settings)
        finally:
            conn.unbind_s()
