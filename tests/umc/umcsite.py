# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The site under test: the demo domain with the real backend behind a ModuleBridge.

``umc_site(local, extra_files=0, serve=False)`` (context manager) starts the demo domain
(real slapd, simulated hosts, ``local`` being the host the module runs on), points the
stand-ins of ``univention.*`` at that host's UCR, and yields a ``Site``:
``site.call(verb, options)`` -> Answer(status, body) as UMC's module server would answer,
``site.poll(progress_id)`` -> every progress reply; with ``serve`` also the dev server
(``site.url``) and the hosts' simulated listeners. Everything ends with it, slapd by PID.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "umc-module" / "dev"
if str(DEV) not in sys.path:
    sys.path.insert(0, str(DEV))

from umcdev.agents import DemoAgents  # noqa: E402
from umcdev.bridge import Answer, ModuleBridge, use_stubs  # noqa: E402
from umcdev.demo import DemoDomain  # noqa: E402
from umcdev.server import NODE_MODULES, UmcDevServer  # noqa: E402
from umcdev.units import TESTS, DemoSystemd  # noqa: E402

if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
import fake_systemd  # noqa: E402, F401 - the tests read its calls through this module

use_stubs()


@dataclass
class Site:
    demo: DemoDomain
    bridge: ModuleBridge
    systemd: DemoSystemd
    server: UmcDevServer | None = None

    def new_instance(self) -> ModuleBridge:
        """A new module process's Instance for the same session (the old one is dropped)."""
        self.bridge.close()
        self.bridge = make_bridge(self.demo, self.systemd)
        if self.server is not None:
            self.server.bridge = self.bridge
        return self.bridge

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def call(self, verb: str, options: Any = None, flavor: str | None = None) -> Answer:
        return self.bridge.call(f"libvirt-static-ids/{verb}", options or {}, flavor, {}, {})

    def poll(self, progress_id: int) -> list[dict[str, Any]]:
        """Every progress reply until it is finished (or an error answer ends it)."""
        replies = []
        while True:
            answer = self.call("progress", {"progress_id": progress_id})
            replies.append(answer.body)
            if answer.status != 200 or answer.body["result"]["finished"]:
                return replies
            time.sleep(0.05)


def _point_stubs_at(ucr_file: str) -> None:
    """The host's UCR, which the stand-ins read (UCS reads /etc/univention, never touched)."""
    os.environ["UNIVENTION_BASECONF"] = ucr_file
    import univention.management.console.ldap as umc_ldap
    from univention.config_registry import ConfigRegistry

    umc_ldap._ucr = ConfigRegistry().load()  # it reads UCR once, at import


def make_bridge(demo: DemoDomain, systemd: DemoSystemd) -> ModuleBridge:
    bridge = ModuleBridge(demo.admin.dn, "Administrator", demo.admin.password, demo.local.root)
    systemd.configure(bridge.instance, demo.testbed.ca_file)
    return bridge


@contextlib.contextmanager
def umc_site(local: str, *, extra_files: int = 0, serve: bool = False) -> Iterator[Site]:
    if serve and not (NODE_MODULES / "dojo" / "dojo.js").is_file():
        pytest.fail(f"Dojo is missing: run `npm ci` in {NODE_MODULES.parent} (make umc-deps)")
    saved = os.environ.get("UNIVENTION_BASECONF")
    demo = DemoDomain.start(local, extra_files=extra_files)
    pid = demo.testbed.pid
    agents = None
    site = None
    systemd = DemoSystemd().start()
    try:
        _point_stubs_at(demo.local.ucr_file)
        site = Site(demo, make_bridge(demo, systemd), systemd)
        if serve:
            agents = DemoAgents(demo.testbed, list(demo.hosts.values()), interval=0.2).start()
            site.server = UmcDevServer(0, site.bridge).start()
        yield site
    finally:
        if site is not None and site.server is not None:
            site.server.stop()
        if agents is not None:
            agents.stop()
        systemd.stop()
        demo.stop()
        if saved is None:
            os.environ.pop("UNIVENTION_BASECONF", None)
        else:
            os.environ["UNIVENTION_BASECONF"] = saved
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # slapd is gone
