# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The plan in time (schedule.py): durations, dependencies, limits, bounds, waves.

Proves, on named domains and on random ones (hypothesis): a migration takes its guest's
memory over the link's share plus the overhead, a conversion its convert time; a host
converts only after every VM left it, and VMs move onto a converted host only after its
conversion; no host takes part in more migrations at once than allowed, no more hosts are
worked on at once than allowed, and replaying the schedule in time never puts more memory on
a host than it has; lower bound <= makespan <= serial (one task at a time); with one host at
a time and one migration per host, the schedule is the serial procedure; a host emptied
onto a host converted in wave w is in wave w+1.
"""

from __future__ import annotations

import stat
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan import planner, schedule
from libvirt_static_ids.plan.model import Domain, Host, Image, Options, Vm

from .plan_domains import build

TARGET = IdPair(64055, 64055)
OLD = IdPair(109, 114)


def _vm(host: str, name: str, memory: int) -> Vm:
    meta = Metadata(OLD.uid, OLD.gid, stat.S_IFREG | 0o600)
    return Vm(f"{host}/{name}", name, memory, True, (Image(f"/img/{host}-{name}", meta),))


def _chain() -> Domain:
    """static1 takes kvm1's VMs; kvm2's VMs then go to the converted kvm1."""
    return Domain(
        TARGET,
        (
            Host("static1", TARGET, 8192),
            Host("kvm1", OLD, 0, (_vm("kvm1", "a", 4096), _vm("kvm1", "b", 4096))),
            Host("kvm2", OLD, 0, (_vm("kvm2", "c", 8192),)),
        ),
    )


OPTIONS = Options(link_mib_s=1024, convert_s=60, migration_overhead_s=4)


def test_durations_dependencies_and_waves():
    made = planner.plan(_chain(), OPTIONS)
    timed = schedule.schedule(made)
    kinds = [(t.kind, t.host, t.to, t.seconds, t.wave) for t in timed.tasks]
    assert kinds == [
        ("migrate", "kvm1", "static1", 4096 / 1024 + 4, 1),
        ("migrate", "kvm1", "static1", 8.0, 1),
        ("convert", "kvm1", None, 60, 1),
        ("migrate", "kvm2", "kvm1", 8192 / 1024 + 4, 2),
        ("convert", "kvm2", None, 60, 2),
    ]
    a, b, convert1, c, convert2 = timed.tasks
    assert (a.start, a.end, b.start, b.end) == (0, 8, 8, 16)  # one migration per host
    assert convert1.start == 16 and c.start == convert1.end == 76
    assert convert2.start == c.end == 88 and timed.makespan == 148
    assert timed.serial == 8 + 8 + 60 + 12 + 60
    assert timed.bound_chain == timed.makespan  # nothing here could run side by side
    # Every step of the plan is in exactly one task.
    numbers = sorted(n for t in timed.tasks for n in t.steps)
    assert numbers == list(range(len(made.steps)))


def test_two_migrations_per_host_share_its_link():
    options = Options(link_mib_s=1024, convert_s=60, migration_overhead_s=4, migrations_per_host=2)
    timed = schedule.schedule(planner.plan(_chain(), options))
    a, b = timed.tasks[:2]
    assert a.seconds == b.seconds == 4096 / 512 + 4
    assert a.start == b.start == 0  # side by side, each at half the link


def _replay(made, timed):
    """Check the limits by replaying the schedule's events in time."""
    options = made.options
    free = {h.name: h.free_mib - options.reserve_mib for h in made.domain.hosts}
    events = []
    for task in timed.tasks:
        events.append((task.end, 0, task))  # ends before starts at the same instant
        events.append((task.start, 1, task))
    events.sort(key=lambda e: (e[0], e[1], e[2].index))
    busy: dict[str, int] = defaultdict(int)
    worked: dict[str, int] = defaultdict(int)  # host -> its counting tasks begun - converted
    converted_at: dict[str, float] = {}
    running, idle_at = 0, {}  # tasks under way; instant -> whether none was under way then
    for when, starting, task in events:
        if starting:
            idle_at.setdefault(when, running == 0)
        running += 1 if starting else -1
        if task.kind == "migrate":
            if starting:
                busy[task.host] += 1
                busy[task.to] += 1
                assert busy[task.host] <= options.migrations_per_host
                assert busy[task.to] <= options.migrations_per_host
                free[task.to] -= task.memory_mib
                assert free[task.to] >= 0, (when, task)
            else:
                busy[task.host] -= 1
                busy[task.to] -= 1
                free[task.host] += task.memory_mib
        if task.counts and starting:
            worked[task.host] += 1
            # Beyond the limit only when every host worked on waits for one not yet begun
            # (a host parks VMs on one converted after it): then nothing else is under way.
            assert len(worked) <= options.max_parallel_hosts or idle_at[when], (when, task)
        if task.kind == "convert" and not starting:
            worked.pop(task.host, None)
            converted_at[task.host] = when
    return converted_at


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    st.integers(0, 2**32 - 1),
    st.tuples(st.integers(2, 30), st.integers(0, 200)),
    st.integers(1, 4),
    st.integers(1, 3),
)
def test_limits_memory_and_bounds_hold(seed, sizes, parallel, per_host):
    options = Options(max_parallel_hosts=parallel, migrations_per_host=per_host)
    made = planner.plan(build(seed, *sizes, static_share=0.3), options)
    timed = schedule.schedule(made)
    converted_at = _replay(made, timed)
    for task in timed.tasks:
        if task.kind == "migrate" and task.to in converted_at:
            # Onto a host converted before it in the plan: after that conversion.
            convert = next(t for t in timed.tasks if t.kind == "convert" and t.host == task.to)
            assert task.start >= convert.end or convert.index > task.index
    for convert in (t for t in timed.tasks if t.kind == "convert"):
        off = [
            t
            for t in timed.tasks[: convert.index]
            if t.kind == "migrate" and t.host == convert.host
        ]
        assert all(t.end <= convert.start for t in off)
    assert timed.lower_bound <= timed.makespan + 1e-6
    assert timed.makespan <= timed.serial + 1e-6


@FAST
@given(st.integers(0, 2**32 - 1), st.tuples(st.integers(2, 20), st.integers(0, 120)))
def test_one_host_at_a_time_is_the_serial_procedure(seed, sizes):
    domain = build(seed, *sizes, spare=True)  # room enough: no VM moves between static hosts
    made = planner.plan(domain, Options(max_parallel_hosts=1))
    timed = schedule.schedule(made)
    assert abs(timed.makespan - timed.serial) < 1e-6
