# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``rollout`` across the real two-host lab: one command converts the domain through LDAP.

Real: libvirtd and QEMU on both hosts (hosta dynamic, 109:114, with two running guests on the
no_root_squash export; hostb static, 64055:64055), the storage's NFSv3 rules, slapd with our
schema and ACL holding both hosts' records, the listener module run inside each host as its
machine account, each request's unit (``record --request``: evacuate, convert) run inside
the host it is for, libvirt's own TLS transport between the hosts (``qemu://hostb.kvm.test/system``,
the tool's default destination), usermod/groupmod and libvirtd's restart on hosta.
Stand-ins: the listener daemon's replication (tests/hostd.py --live), systemd-run in a lab
host (lab/systemd_run.py), the hosts' route to the Primary (lab/relay.py). Proves: every guest
runs on, its counter still growing; both hosts end static; no bridge is left and each image
has its mode and ACL again, now owned by the target; every record is current.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest
from labcli import open_bridges

import cli_support
from libvirt_static_ids.directory import record
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal.runs import RunKind, RunState
from libvirt_static_ids.journal.store import Store
from libvirt_static_ids.plan import inventory
from libvirt_static_ids_testbed import Testbed
from libvirt_static_ids_testbed.lab import STATIC, Lab, LabHost
from libvirt_static_ids_testbed.lab.host import HostProcess

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
ACL = "system.posix_acl_access"
GUESTS = ("g1", "g2")


def acl_of(path: Path) -> bytes | None:
    try:
        return os.getxattr(path, ACL)
    except OSError as error:
        if error.errno == errno.ENODATA:
            return None
        raise


class Domain:
    """The lab joined to the testbed: each host's object, its listener, the admin's CLI."""

    def __init__(self, lab: Lab, testbed: Testbed, work: Path) -> None:
        self.lab, self.testbed, self.work = lab, testbed, work
        self.dns: dict[str, str] = {}
        self.listeners: list[HostProcess] = []

    def join(self, host: LabHost) -> None:
        """What a UCS join leaves on the host: UCR, the machine secret, the LDAP CA."""
        dn, password = self.testbed.add_host(host.name)
        self.testbed.write_host_identity(host.path("/"), host.name, dn, password)
        conf = Path(host.path("/etc/ldap/ldap.conf"))
        conf.parent.mkdir(exist_ok=True)
        conf.write_text(f"TLS_CACERT {self.testbed.ca_file}\n")
        self.dns[host.name] = dn

    def start_listener(self, host: LabHost) -> None:
        """The real listener module in the host, as its machine account (tests/hostd.py)."""
        stubs = os.pathsep.join([str(REPO / "tests" / "stubs"), str(REPO / "src")])
        listener = REPO / "listener" / "libvirt-static-ids.py"
        argv = [sys.executable, str(REPO / "tests" / "hostd.py"), "--live", str(listener)]
        self.listeners.append(host.spawn(argv, "listener.log", env={"PYTHONPATH": stubs}))

    def stored(self, name: str) -> record.StoredRecord:
        """The host's record as the directory holds it now."""
        found = self.testbed.admin.search_s(
            self.dns[name], ldap.SCOPE_BASE, "(objectClass=*)", ["*"]
        )
        return record.read(self.dns[name], name, found[0][1])

    def logs(self) -> str:
        """Each host's listener and unit logs, for a failing assertion's message."""
        parts = []
        for host in self.lab.hosts:
            parts.append(f"--- {host.name} listener\n{host.log_tail('listener.log', 30)}")
            for unit in ("libvirt-static-ids-listener", "libvirt-static-ids-evacuate",
                         "libvirt-static-ids-convert"):  # fmt: skip
                tail = host.log_tail(f"/run/lab/units/{unit}.log", 30)
                parts.append(f"--- {host.name} {unit}\n{tail}")
        return "\n".join(parts)

    def rollout(self, *args: str, timeout: float = 150) -> tuple[int, Any]:
        """``libvirt-static-ids --json rollout ARGS`` as the Domain Admin (on the "Primary":
        this machine); its output checked against the shipped schema."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LDAP")}
        env.pop("UNIVENTION_BASECONF", None)
        env.update(LDAPCONF=os.devnull, LDAPRC=os.devnull, LDAPTLS_CACERT=self.testbed.ca_file)
        admin = self.work / "admin"
        admin.mkdir(exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "libvirt_static_ids", "--root", str(admin), "--json",
             "rollout", *args, *self.testbed.admin_options(str(self.work))],
            capture_output=True, text=True, env=env, timeout=timeout, check=False,
        )  # fmt: skip
        assert "Traceback" not in done.stderr, done.stderr
        cli_support.check_json(
            cli_support.CliResult(done.returncode, done.stdout, done.stderr),
            "rollout-output.schema.json",
        )
        return done.returncode, json.loads(done.stdout)


@pytest.fixture
def domain(lab: Lab, testbed: Testbed) -> Iterator[Domain]:
    work = Path(tempfile.mkdtemp(prefix="labroll-", dir="/tmp"))
    made = Domain(lab, testbed, work)
    testbed.set_target(*STATIC)
    lab.forward(testbed.port)
    try:
        yield made
    finally:
        for listener in made.listeners:
            listener.stop()
        shutil.rmtree(work, ignore_errors=True)


def wait_recorded(domain: Domain, names: tuple[str, ...], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for name in names:
        while domain.stored(name).state is None or domain.stored(name).inventory is None:
            assert time.monotonic() < deadline, f"{name} never recorded itself\n{domain.logs()}"
            time.sleep(0.2)


def test_rollout_converts_the_real_lab_through_the_directory(
    lab: Lab, domain: Domain, grows: Callable[..., bool]
) -> None:
    a, b = lab.host("hosta"), lab.host("hostb")
    images = {name: Path(lab.backing(lab.guest(a, "no_root_squash", name))) for name in GUESTS}
    subprocess.run(["setfacl", "-m", "u:4242:r", str(images["g2"])], check=True)
    before = {name: (path.stat().st_mode & 0o7777, acl_of(path)) for name, path in images.items()}
    counters = {name: a.counter(name) for name in GUESTS}
    for host in (a, b):
        domain.join(host)
        domain.start_listener(host)
    wait_recorded(domain, ("hosta", "hostb"))
    assert (domain.stored("hosta").state, domain.stored("hostb").state) == ("dynamic", "static")

    code, planned = domain.rollout("--dry-run")
    assert code == 0, planned
    assert planned["refusals"] == [], planned
    evacuations = [x for x in planned["actions"] if x["kind"] == "evacuate"]
    assert [x["host"] for x in evacuations] == ["hosta"], planned
    assert sorted(vm for x in evacuations for vm in x["vms"]) == sorted(GUESTS)
    assert [x["host"] for x in planned["actions"] if x["kind"] == "convert"] == ["hosta"]

    code, report = domain.rollout()
    assert code == 0, (report, domain.logs())
    assert report["status"] == "done" and report["failure"] is None, (report, domain.logs())
    assert report["after"]["actions"] == [] and report["after"]["refusals"] == []

    where = {name: [h.name for h in (a, b) if h.is_running(name)] for name in GUESTS}
    assert all(len(hosts) == 1 for hosts in where.values()), where
    for name, (host_name,) in where.items():
        host = lab.host(host_name)
        assert host.counter(name) >= counters[name]  # the same guest, continued
        assert grows(host, name)
    assert (a.passwd_numbers(), b.passwd_numbers()) == (STATIC, STATIC)
    evacuations = [r for r in Store(HostRoot(a.path("/"))).runs() if r.kind == RunKind.EVACUATE]
    assert [(r.state, r.params["dest_uri"]) for r in evacuations] == [
        (RunState.COMPLETE, b.tls_uri)  # the tool's default: libvirt's TLS, as between UCS hosts
    ]
    for host in (a, b):
        assert open_bridges(host) == [], host.name
    for name, image in images.items():
        st = image.stat()
        assert (st.st_uid, st.st_gid) == STATIC, name
        assert (st.st_mode & 0o7777, acl_of(image)) == before[name], name
    for host in (a, b):
        stored = domain.stored(host.name)
        assert (stored.state, stored.uid, stored.gid) == ("static", *STATIC), stored
        assert stored.request is None, stored.request
        _, vms = inventory.parse(host.name, stored.inventory)
        running = sorted(vm.name for vm in vms if vm.running)
        assert running == sorted(n for n, hosts in where.items() if hosts == [host.name])

    code, status = domain.rollout("status")
    assert code == 0 and status["status"] == "converged", status
