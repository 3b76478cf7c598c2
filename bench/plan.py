# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Benchmark: ``plan`` on a domain of 500 hosts x 20 VMs (default), and its checker.

The domain: hosts of 256 GiB, VMs of 2 to 16 GiB, two disks each (owned by the host's
numbers, mode 0600/0640/0660, or group-shared), hosts sharing 8 dynamic number pairs.

    spare:  10% of the hosts already static, every host about 70% full
    tight:  no host static, every host about 85% full (VMs park or are suspended)

For each: the planning time (median of R rounds, each from cold caches; the aim here is under
2 s) and the checker's time, and the plan's migrations against the lower bound (the running
VMs on hosts not at the target, each of which must leave its host once): ratio, second moves,
VMs suspended.

No assertions: these are figures to record, not a test.
"""

from __future__ import annotations

import argparse
import random
import stat
import statistics
import time

from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan import check, planner
from libvirt_static_ids.plan.model import Domain, Host, Image, Options, Vm

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
    options = Options()
    planned, checked = [], []
    made = planner.plan(domain, options)
    for _ in range(rounds):
        planner.clear_caches()  # each round from cold: nothing memoized from the last
        started = time.perf_counter()
        made = planner.plan(domain, options)
        planned.append(time.perf_counter() - started)
        planner.clear_caches()
        started = time.perf_counter()
        report = check.check(made.domain, options, made.steps)
        checked.append(time.perf_counter() - started)
    stats = made.stats()
    vms = sum(len(h.vms) for h in domain.hosts)
    running = sum(h.vms[i].running for h in domain.hosts for i in range(len(h.vms)))
    bound = stats["lower_bound"]
    plan_s = statistics.median(planned)
    print(f"{label}: {len(domain.hosts)} hosts, {vms} VMs ({running} running)")
    print(
        f"  planning  {plan_s:.3f} s (median of {rounds}; aim < 2 s: {plan_s / 2:.2f} of it), "
        f"checking {statistics.median(checked):.3f} s, {len(made.steps)} steps, "
        f"checker {'proves it' if report.ok else 'FAILED: ' + report.problems[0]}"
    )
    ratio = stats["migrations"] / bound if bound else 1.0
    print(
        f"  migrations {stats['migrations']} / lower bound {bound} = {ratio:.3f}; "
        f"second moves {stats['extra_migrations']}, suspended {stats['suspended']}, "
        f"hosts converted {stats['hosts_converted']}"
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
