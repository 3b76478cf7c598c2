# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Benchmark: ``plan`` on a domain of 500 hosts x 20 VMs (default): plan, check, schedule.

The domain: hosts of 256 GiB, VMs of 2 to 16 GiB, two disks each (owned by the host's
numbers, mode 0600/0640/0660, or group-shared), hosts sharing 8 dynamic number pairs.

    spare:  10% of the hosts already static, every host about 70% full
    tight:  no host static, every host about 85% full (hosts park their VMs first)

With the command's defaults (reserve 2 GiB, 10 Gbit/s links, one migration per host at a
time, 20 hosts at once, 120 s per conversion). For each scenario, one line per figure, each
starting with its name: planning + checking time (median of R rounds, each from cold caches;
aim < 1 s; with the CPU time they took and the load average, since on a busy machine the
time is the CPU time plus the waiting for a core), migrations over their lower
bound (running VMs on hosts not at the target: each must leave once), suspensions (0 where
capacity allows), the schedule's makespan over its lower bound (aim <= 1.1), and the KB's
procedure, one migration and one conversion at a time, over our makespan (aim >= 10).

No assertions: these are figures to record, not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import stat
import statistics
import time

from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan import check, nfsrules, planner, schedule
from libvirt_static_ids.plan.model import DEFAULT_RESERVE_MIB, Domain, Host, Image, Options, Vm

TARGET = IdPair(64055, 64055)
HOST_MIB = 256 * 1024
VM_MIB = (2048, 4096, 8192, 16384)


def build(hosts: int, vms: int, *, static_share: float, fill: float, seed: int) -> Domain:
    rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data
    pairs = [IdPair(1000 + n, 2000 + n) for n in range(8)]
    made = []
    for index in range(hosts):
        name = f"kvm{index:04d}"
        ids = TARGET if index < hosts * static_share else rng.choice(pairs)
        guests, used = [], 0
        for number in range(vms):
            memory = rng.choice(VM_MIB)
            running = used + memory <= HOST_MIB * fill
            used += memory if running else 0
            images = []
            for disk in range(2):
                if rng.random() < 0.1:
                    meta = Metadata(0, ids.gid, stat.S_IFREG | 0o660)
                else:
                    mode = rng.choice((0o600, 0o640, 0o660))
                    meta = Metadata(ids.uid, ids.gid, stat.S_IFREG | mode)
                images.append(Image(f"/srv/images/{name}/vm{number}-{disk}.qcow2", meta))
            guests.append(Vm(f"{name}/vm{number}", f"vm{number}", memory, running, tuple(images)))
        made.append(Host(name, ids, HOST_MIB - used, tuple(guests)))
    return Domain(TARGET, tuple(made))


def run(label: str, domain: Domain, rounds: int) -> None:
    options = Options(reserve_mib=DEFAULT_RESERVE_MIB)
    planned, checked, timed, cpu = [], [], [], []
    for _ in range(rounds):
        planner.clear_caches()  # each round from cold: nothing memoized from the last
        nfsrules.clear_caches()
        started, busy = time.perf_counter(), time.process_time()
        made = planner.plan(domain, options)
        planned.append(time.perf_counter() - started)
        started = time.perf_counter()
        report = check.check(made.domain, options, made.steps)
        checked.append(time.perf_counter() - started)
        cpu.append(time.process_time() - busy)
        started = time.perf_counter()
        timing = schedule.schedule(made)
        timed.append(time.perf_counter() - started)
    stats = made.stats()
    vms = sum(len(h.vms) for h in domain.hosts)
    running = sum(vm.running for h in domain.hosts for vm in h.vms)
    plan_s, check_s = statistics.median(planned), statistics.median(checked)
    print(
        f"{label}: {len(domain.hosts)} hosts, {vms} VMs ({running} running), {len(made.steps)} "
        f"steps in {timing.waves} waves, checker "
        + ("proves it" if report.ok else "FAILED: " + report.problems[0])
    )
    print(
        f"{label} planning+checking: {plan_s + check_s:.2f} s (planning {plan_s:.2f}, checking "
        f"{check_s:.2f}, scheduling {statistics.median(timed):.2f}; median of {rounds}; CPU "
        f"{statistics.median(cpu):.2f} s; load average {os.getloadavg()[0]:.1f})"
    )
    bound = stats["lower_bound"]
    print(f"{label} migrations/lower-bound: {stats['migrations'] / bound if bound else 1.0:.3f}")
    print(f"{label} suspensions: {stats['suspended']}")
    print(f"{label} makespan/lower-bound: {timing.makespan / timing.lower_bound:.3f}")
    print(f"{label} serial/makespan: {timing.serial / timing.makespan:.1f}")
    print(
        f"  makespan {timing.makespan / 3600:.2f} h, lower bound {timing.lower_bound / 3600:.2f} h "
        f"(chain {timing.bound_chain / 3600:.2f}, hosts {timing.bound_hosts / 3600:.2f}, bytes "
        f"{timing.bound_bytes / 3600:.2f}), one at a time {timing.serial / 3600:.1f} h; "
        f"{stats['migrations']} migrations for a bound of {bound}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--vms", type=int, default=20, help="VMs defined per host")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    spare = build(args.hosts, args.vms, static_share=0.1, fill=0.7, seed=args.seed)
    run("spare", spare, args.rounds)
    tight = build(args.hosts, args.vms, static_share=0.0, fill=0.85, seed=args.seed)
    run("tight", tight, args.rounds)


if __name__ == "__main__":
    main()
