# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A simulated domain for rollouts: joined KVM hosts on a real slapd, each with its listener.

- ``domain``   ``domain(spec)`` builds the hosts of ``spec`` ({name: (SimulatedHost, memory
               MiB, [(vm, MiB)])}): a fake root each (real account files, UCR, machine
               secret) joined to the testbed, a libvirt test-driver node file of running VMs
               whose images lie in one shared, world-traversable directory (the NFS share's
               stand-in) owned by the host's numbers, mode 0600; then starts each host's
               daemon (tests/hostd.py: the real listener module,
               replication and systemd stand-ins; one process forking a child per host)
               and waits until every host has recorded itself. -> SimDomain. The daemon
               is ended by its PID at teardown (it ends its children by theirs).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap
import pytest

import cli_support
from libvirt_static_ids.directory import record
from libvirt_static_ids_testbed import SimHost, Testbed, add_simulated_host
from libvirt_static_ids_testbed.simulated import SimulatedHost

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
STUBS = REPO / "tests" / "stubs"

DOMAIN_XML = """<domain type='test'>
    <name>{name}</name>
    <uuid>{uuid}</uuid>
    <memory>{kib}</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='{image}'/><target dev='vda'/></disk>
    </devices>
  </domain>"""

Spec = Mapping[str, tuple[SimulatedHost, int, Sequence[tuple[str, int]]]]


def child_env(testbed: Testbed, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "UNIVENTION_BASECONF" and not k.startswith("LDAP")
    }
    env.update(LDAPCONF=os.devnull, LDAPRC=os.devnull, LDAPTLS_CACERT=testbed.ca_file)
    env.update(extra)
    return env


@dataclass
class SimDomain:
    testbed: Testbed
    work: Path
    hosts: dict[str, SimHost]
    vms: dict[str, str]  # VM -> the host it started on
    admin: list[str]
    daemon: subprocess.Popen[bytes] | None = None  # hostd.py: every host's listener

    @property
    def nodes(self) -> Path:
        return self.work / "nodes"

    @property
    def share(self) -> Path:
        return self.work / "share"

    def node_file(self, host: str) -> Path:
        return self.nodes / f"{host}.xml"

    def running(self, host: str) -> list[str]:
        """The VMs in the host's node file (the test driver runs every one of them)."""
        tree = ET.parse(self.node_file(host))  # noqa: S314 - the test's own file
        return [d.findtext("name", "") for d in tree.getroot().iterfind("domain")]

    def entry(self, host: str) -> dict[str, list[bytes]]:
        found = self.testbed.admin.search_s(
            self.hosts[host].dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*"]
        )
        return found[0][1]

    def stored(self, host: str) -> record.StoredRecord:
        return record.read(self.hosts[host].dn, host, self.entry(host))

    def rollout(self, *args: str, json: bool = True) -> subprocess.Popen[str]:
        """``libvirt-static-ids rollout`` as the Domain Admin, in its own process."""
        admin_root = self.work / "admin"
        admin_root.mkdir(exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "libvirt_static_ids",
            "--root",
            str(admin_root),
            *(["--json"] if json else []),
            "rollout",
            *args,
            *self.admin,
        ]
        return subprocess.Popen(
            argv,
            env=child_env(self.testbed),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def _write_node(path: Path, memory_mib: int, domains: Sequence[str]) -> None:
    path.write_text(
        f"<node>\n  <memory>{memory_mib * 1024}</memory>\n  " + "\n  ".join(domains) + "\n</node>\n"
    )


@pytest.fixture
def domain(testbed: Testbed) -> Iterator[Callable[[Spec], SimDomain]]:
    work = Path(tempfile.mkdtemp(prefix="rollout-", dir="/tmp"))
    work.chmod(0o755)  # the probe's child (another identity) must reach the share
    made: list[SimDomain] = []

    def build(spec: Spec) -> SimDomain:
        for sub in ("nodes", "share", "hosts"):
            (work / sub).mkdir()
        (work / "share").chmod(0o755)
        # The share is "an NFS mount" for evacuate's shared-storage check (see hostd.py).
        (work / "nodes" / "mountinfo").write_text(
            f"36 25 0:50 / {work / 'share'} rw - nfs nas:/vms rw,vers=3\n"
        )
        hosts: dict[str, SimHost] = {}
        vms: dict[str, str] = {}
        for name, (numbers, memory, guests) in spec.items():
            hosts[name] = add_simulated_host(testbed, name, str(work / "hosts"), numbers)
            domains = []
            for vm, mib in guests:
                image = work / "share" / f"{vm}.qcow2"
                image.write_bytes(b"QFI\xfb disk image of " + vm.encode())
                os.chown(image, numbers.uid, numbers.gid)
                image.chmod(0o600)
                domains.append(
                    DOMAIN_XML.format(
                        name=vm,
                        uuid=uuid.uuid5(uuid.NAMESPACE_DNS, f"{vm}.kvm.test"),
                        kib=mib * 1024,
                        image=image,
                    )
                )
                vms[vm] = name
            _write_node(work / "nodes" / f"{name}.xml", memory, domains)
        sim = SimDomain(testbed, work, hosts, vms, testbed.admin_options(str(work)))
        made.append(sim)
        sim.daemon = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "tests" / "hostd.py"),
                str(REPO / "listener" / "libvirt-static-ids.py"),
                str(sim.nodes),
                *(f"{name}={host.root}" for name, host in hosts.items()),
            ],
            env=child_env(testbed, PYTHONPATH=os.pathsep.join([str(STUBS), str(REPO / "src")])),
        )
        deadline = time.monotonic() + 60
        for name in hosts:
            while sim.stored(name).state is None or sim.stored(name).inventory is None:
                assert sim.daemon.poll() is None, (work / f"{name}.log").read_text()
                assert time.monotonic() < deadline, f"{name} never recorded itself"
                time.sleep(0.1)
        return sim

    yield build
    for sim in made:
        if sim.daemon is not None:
            if sim.daemon.poll() is None:
                os.kill(sim.daemon.pid, signal.SIGTERM)
            try:
                sim.daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.kill(sim.daemon.pid, signal.SIGKILL)
                sim.daemon.wait()
    shutil.rmtree(work, ignore_errors=True)


def logs(sim: SimDomain) -> str:
    return "\n".join(
        f"--- {name}\n" + (sim.work / f"{name}.log").read_text()[-3000:] for name in sim.hosts
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    """Wait for a rollout; its --json output (if it printed any) must match the schema."""
    out, err = process.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    if out.strip().startswith("{"):
        cli_support.check_json(
            cli_support.CliResult(process.returncode, out, err), "rollout-output.schema.json"
        )
    return process.returncode, out, err


def as_json(text: str) -> Any:
    import json

    return json.loads(text)
