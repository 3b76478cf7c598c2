# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Property tests of ``plan`` on random domains up to 50 hosts and 500 VMs (hypothesis).

Proves, for every domain drawn (numbers shared between hosts, static hosts, empty hosts,
owned/grouped/world-shared/read-only images, with and without an NFS server honouring ACLs,
with and without a memory reserve): the independent checker proves the plan (every running
VM's images open for its host's numbers at every step, during migrations for both hosts, no
host over-committed, every step possible, every host converted, no bridge left open); the
lower bound is the running VMs on non-static hosts; each of them leaves its host or is
suspended on it; VMs on static hosts move only where capacity is short. With one host's
worth of spare capacity, migrations equal the lower bound: no VM moves twice and none is
suspended.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libvirt_static_ids.plan import check, planner
from libvirt_static_ids.plan.model import Options

from .plan_domains import TARGET, build

SIZES = st.tuples(st.integers(1, 50), st.integers(0, 500))
SEEDS = st.integers(0, 2**32 - 1)
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _start(domain):
    return {vm.key: host.name for host in domain.hosts for vm in host.vms if vm.running}


SHAPES = st.tuples(st.booleans(), st.sampled_from([0, 512]), st.integers(1, 6), st.floats(0, 0.6))


@FAST
@given(SEEDS, SIZES, SHAPES)
def test_the_checker_proves_every_plan(seed, sizes, shape):
    honours, reserve, pairs, static_share = shape
    domain = build(
        seed,
        *sizes,
        honours_acls=honours,
        dynamic_pairs=pairs,
        static_share=static_share,
    )
    options = Options(honours_acls=honours, reserve_mib=reserve)
    made = planner.plan(domain, options)
    assert made.domain.unplanned == ()  # the generated records are consistent
    report = check.check(made.domain, options, made.steps)
    assert report.ok, report.problems
    assert made.lower_bound == planner.lower_bound(domain)
    # Every VM running on a dynamic host leaves it, or is suspended while a host converts
    # (where capacity is short, a VM parked on another dynamic host may be suspended there).
    start = _start(domain)
    moved = {step.vm for step in made.steps if step.op == "migrate"}
    suspended = {key for key, _ in made.suspended}
    for host in domain.hosts:
        if host.ids != TARGET:
            for vm in host.vms:
                if vm.running:
                    assert vm.key in moved or vm.key in suspended, vm.key
    # VMs on static hosts move only to make room where capacity is short; every step's
    # bridge mode follows the ACL option.
    static = {h.name for h in domain.hosts if h.ids == TARGET}
    if any(start[key] in static for key in moved):
        assert made.method == "search" or any("capacity is short" in n for n in made.notes)
    assert {s.mode for s in made.steps if s.op == "bridge"} <= {options.bridge_mode}
    assert made.migrations >= made.lower_bound - len(suspended)


@FAST
@given(SEEDS, SIZES, st.booleans(), st.integers(1, 6))
def test_with_one_spare_host_migrations_equal_the_lower_bound(seed, sizes, honours, pairs):
    domain = build(seed, *sizes, spare=True, honours_acls=honours, dynamic_pairs=pairs)
    options = Options(honours_acls=honours)
    made = planner.plan(domain, options)
    report = check.check(made.domain, options, made.steps)
    assert report.ok, report.problems
    assert made.suspended == []
    assert made.migrations == made.lower_bound
    assert report.max_moves <= 1
    assert max(Counter(s.vm for s in made.steps if s.op == "migrate").values(), default=0) <= 1
    # The chain: every dynamic host is converted once, after its last VM has left.
    converts = [s.host for s in made.steps if s.op == "convert"]
    assert sorted(converts) == sorted(h.name for h in domain.hosts if h.ids != TARGET)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_the_largest_domains_too(seed):
    domain = build(seed, 50, 500, spare=True)
    made = planner.plan(domain)
    assert check.check(made.domain, made.options, made.steps).ok
    assert made.migrations == made.lower_bound
