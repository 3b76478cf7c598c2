# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The whole rollout, end to end, on a simulated domain of 20 hosts (see conftest.py).

Real: slapd with our schema and ACL, the listener module run as each host's machine account,
the shadow tools on each host's fake root, journals, bridges (chmod, as ``plan`` assumes for an
NFS server deciding by mode bits) probed as the destination's numbers, libvirt's test driver
per host. Simulated (tests/hostd.py): replication, systemd-run, the live
migration itself and the hosts' free memory. Proves: one command converges the domain —
every VM runs exactly once, every host is static, no bridge is open, every image is the
target's and 0600 again, every record is current; killed at random points (right after it
set a request) and started again, it ends in the same state.
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import request as requests
from libvirt_static_ids.evacuation.bridge import runs as bridge
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.plan import inventory
from libvirt_static_ids_testbed.simulated import SimulatedHost

from .conftest import as_json, finish, logs

TARGET = (64055, 64055)
STATIC = SimulatedHost(uid=64055, gid=64055)


def twenty_hosts():
    """4 static hosts with one VM each, 16 dynamic hosts (numbers of their own), two VMs each."""
    spec = {f"kvm{n:02d}": (STATIC, 8192, [(f"vm{n:02d}a", 1024)]) for n in range(1, 5)}
    for n in range(5, 21):
        numbers = SimulatedHost(uid=5000 + n, gid=5100 + n)
        spec[f"kvm{n:02d}"] = (numbers, 8192, [(f"vm{n:02d}a", 768), (f"vm{n:02d}b", 512)])
    return spec


def libvirt_qemu(root):
    with open(os.path.join(root, "etc/passwd"), encoding="utf-8") as passwd:
        lines = passwd.read().splitlines()
    for line in lines:
        fields = line.split(":")
        if fields[0] == "libvirt-qemu":
            return int(fields[2]), int(fields[3])
    raise AssertionError("no libvirt-qemu")


def assert_converged(sim):
    where = {}
    for name in sim.hosts:
        for vm in sim.running(name):
            assert vm not in where, f"{vm} runs on {where[vm]} and {name}"
            where[vm] = name
    assert sorted(where) == sorted(sim.vms), "every VM runs, exactly once"
    for name, host in sim.hosts.items():
        uid, _ = libvirt_qemu(host.root)
        assert uid == TARGET[0], f"{name} is still {uid}"
        assert bridge.open_bridges(HostRoot(host.root)) == [], f"{name} has an open bridge"
        stored = sim.stored(name)
        assert (stored.state, stored.uid, stored.gid) == ("static", *TARGET), (name, stored)
        assert stored.request is None, f"{name} still has request {stored.request}"
        _, vms = inventory.parse(name, stored.inventory)
        assert sorted(vm.name for vm in vms if vm.running) == sorted(sim.running(name)), name
    for vm in sim.vms:
        st = os.stat(sim.share / f"{vm}.qcow2")
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (*TARGET, 0o600), vm


def test_one_command_converges_twenty_hosts(domain):
    sim = domain(twenty_hosts())
    dry = sim.rollout("--dry-run")
    code, out, err = finish(dry)
    assert code == 0, (out, err)
    planned = as_json(out)
    assert planned["refusals"] == [] and planned["waves"] >= 2
    assert len(planned["hosts"]) == 20
    evacuations = [a for a in planned["actions"] if a["kind"] == "evacuate"]
    assert sum(len(a["vms"]) for a in evacuations) == planned["migrations"] >= 32
    first = evacuations[0]
    assert first["command"].startswith("systemd-run --unit=libvirt-static-ids-evacuate ")
    assert f"record --request '{first['request']}'" in first["command"]
    assert requests.parse(first["request"]).vms == tuple(first["vms"])
    assert all(sim.stored(name).request is None for name in sim.hosts), "a dry run requests nothing"

    code, out, err = finish(sim.rollout("--max-parallel-hosts", "4"))
    assert code == 0, (out, err, logs(sim))
    report = as_json(out)
    assert report["status"] == "done" and report["failure"] is None
    assert report["after"]["actions"] == [] and report["after"]["refusals"] == [], logs(sim)
    assert len(report["done"]) == len(planned["actions"])
    assert_converged(sim)

    code, out, err = finish(sim.rollout("status"))
    assert code == 0, err
    assert as_json(out)["status"] == "converged"
    code, out, err = finish(sim.rollout())
    assert code == 0, err
    assert as_json(out)["status"] == "converged"


def _rollout_requests(sim):
    """Ids of the rollout actions (not refreshes) the hosts have echoed so far."""
    found = set()
    for name in sim.hosts:
        echo = requests.echoed(sim.stored(name).detail) or {}
        last = str(echo.get("id", "")).rsplit(".", 1)[-1]
        if last.isdigit():
            found.add(echo["id"])
    return found


@pytest.mark.parametrize("seed", [12])
def test_killed_at_random_points_and_started_again_ends_the_same(domain, seed):
    sim = domain(twenty_hosts())
    chooser = random.Random(seed)  # noqa: S311 - kill points, not secrets
    for _ in range(2):
        process = sim.rollout()
        wanted = chooser.randint(1, 8)
        seen = set()
        while len(seen) < wanted and process.poll() is None:
            seen |= _rollout_requests(sim)
            time.sleep(0.05)
        assert process.poll() is None, "the rollout ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        code, _, _ = finish(process)
        assert code == -signal.SIGKILL
    code, out, err = finish(sim.rollout())
    assert code == 0, (out, err, logs(sim))
    report = as_json(out)
    assert report["status"] in ("done", "converged") and report["after"]["actions"] == []
    assert_converged(sim)


def test_a_failure_stops_with_every_vm_running_and_a_second_run_finishes(domain):
    spec = {
        "kvm01": (STATIC, 4096, [("app", 1024)]),
        "kvm02": (SimulatedHost(uid=5002, gid=5102), 4096, [("web", 768), ("db", 512)]),
        "kvm03": (SimulatedHost(uid=5003, gid=5103), 4096, [("mail", 512)]),
    }
    sim = domain(spec)
    code, out, err = finish(sim.rollout("--dry-run", json=False))
    assert code == 0, (out, err)
    assert "wave 1/" in out and "$ systemd-run --unit=libvirt-static-ids-evacuate" in out, out
    assert not {"None", "True", "False"} & set(out.split()), out
    broken = sim.nodes / "fail-db"
    broken.write_text("")
    code, out, err = finish(sim.rollout())
    assert code == 1, (out, err, logs(sim))
    report = as_json(out)
    assert report["status"] == "failed"
    assert report["failure"]["host"] == "kvm02"
    assert "db" in report["failure"]["echo"]["message"]
    running = {vm: name for name in sim.hosts for vm in sim.running(name)}
    assert sorted(running) == sorted(sim.vms), "every VM still runs"
    assert running["db"] == "kvm02", "the VM whose migration failed stays where it ran"
    stat = os.stat(sim.share / "db.qcow2")
    assert (stat.st_uid, stat.st_mode & 0o7777) == (5002, 0o600), "its bridge is closed again"
    assert bridge.open_bridges(HostRoot(sim.hosts["kvm02"].root)) == []
    assert sim.stored("kvm02").state == "dynamic", "a host with a VM left is not converted"
    status = as_json(finish(sim.rollout("status"))[1])
    assert status["status"] == "planned" and status["actions"]

    broken.unlink()
    code, out, err = finish(sim.rollout())
    assert code == 0, (out, err, logs(sim))
    assert_converged(sim)


def test_a_holder_of_the_target_refuses_the_rollout_and_nothing_is_requested(domain):
    sim = domain({"kvm01": (STATIC, 4096, []), "kvm02": (SimulatedHost(5002, 5102), 4096, [])})
    holder = sim.testbed.add_user("squatter", uid_number=64055)
    for args in (("--dry-run",), ()):
        code, out, err = finish(sim.rollout(*args))
        assert code == 3, (out, err)
        assert holder.dn in out, out
    assert sim.stored("kvm02").state == "dynamic"
    assert libvirt_qemu(sim.hosts["kvm02"].root) == (5002, 106)


def test_a_bad_request_is_echoed_failed_with_the_reason_and_cleared(domain):
    sim = domain({"kvm01": (SimulatedHost(5001, 5101), 4096, [("web", 512)])})
    value = "evacuate to=kvm02 uid=64055 gid=64055 mode=666 vm=web id=bad.1"
    directory.set_request(sim.testbed.admin, sim.hosts["kvm01"].dn, value)
    deadline = time.monotonic() + 30
    while (
        sim.stored("kvm01").request is not None
        or (requests.echoed(sim.stored("kvm01").detail) or {}).get("id") != "bad.1"
    ):
        assert time.monotonic() < deadline, logs(sim)
        time.sleep(0.1)
    echo = requests.echoed(sim.stored("kvm01").detail)
    assert echo["state"] == "failed" and "'666'" in echo["message"], echo
    assert sim.running("kvm01") == ["web"]
