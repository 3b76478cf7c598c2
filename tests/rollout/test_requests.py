# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Request values: written and read back the same; every bad value refused, naming it.

And the plan's steps as the requests a rollout makes: migrations of one source to one
destination in one request, actions sharing no host free to run at once.
"""

from __future__ import annotations

import pytest

from libvirt_static_ids.directory import request as requests
from libvirt_static_ids.directory.request import HostRequest, Kind
from libvirt_static_ids.errors import UsageError
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan import planner
from libvirt_static_ids.plan.model import Domain, Host, Vm
from libvirt_static_ids.plan.rollout_actions import Action, actions, eta_seconds

TARGET = IdPair(64055, 64055)


def test_a_request_reads_back_as_written():
    wanted = HostRequest(Kind.EVACUATE, "r1.3", "kvm02", TARGET, "chmod", ("web", "my vm/1"))
    value = wanted.value()
    assert value == (
        "evacuate to=kvm02 uid=64055 gid=64055 mode=chmod vm=web vm=my%20vm%2F1 id=r1.3"
    )
    assert requests.parse(value) == wanted
    assert requests.parse("convert") == HostRequest(Kind.CONVERT)
    assert requests.parse("Refresh id=x") == HostRequest(Kind.REFRESH, "x")


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("", "empty"),
        ("reboot", "'reboot'"),
        ("convert to=kvm2", "'to'"),
        ("convert id", "'id'"),
        ("refresh id=a id=b", "id given twice"),
        ("refresh id=;rm", "';rm'"),
        ("evacuate uid=1 gid=1 mode=acl vm=a", "to"),
        ("evacuate to=kvm2 uid=1 gid=1 mode=666 vm=a", "'666'"),
        ("evacuate to=kvm2 uid=1 gid=1 mode=acl", "no vm="),
        ("evacuate to=-rf uid=1 gid=1 mode=acl vm=a", "'-rf'"),
        ("evacuate to=kvm2 uid=+1 gid=1 mode=acl vm=a", "'+1'"),
        ("evacuate to=kvm2 uid=1 gid=1 mode=acl vm=", "vm=''"),
    ],
)
def test_a_bad_request_is_refused_naming_what_is_wrong(value, named):
    with pytest.raises(UsageError) as raised:
        requests.parse(value)
    assert named in raised.value.message


def _vm(name, mib=512):
    return Vm(name, name, mib, True)


def test_the_plan_becomes_requests_in_waves():
    domain = Domain(
        TARGET,
        (
            Host("s1", TARGET, 4096, ()),
            Host("s2", TARGET, 4096, ()),
            Host("d1", IdPair(5001, 5001), 3072, (_vm("a"), _vm("b"))),
            Host("d2", IdPair(5002, 5002), 3072, (_vm("c", 3000),)),
        ),
    )
    made = planner.plan(domain)
    work = actions(made)
    kinds = [(a.kind, a.host, a.to, a.vms) for a in work.actions]
    moved = [vm for kind, _, _, vms in kinds if kind is Kind.EVACUATE for vm in vms]
    assert sorted(moved) == ["a", "b", "c"]
    assert sum(kind is Kind.CONVERT for kind, *_ in kinds) == 2
    for action in work.actions:
        earlier = work.actions[: action.number - 1]
        for other in earlier:
            if set(other.hosts) & set(action.hosts):
                assert other.wave < action.wave, (other, action)
        if action.kind is Kind.EVACUATE:
            assert action.mode == made.options.bridge_mode
            assert requests.parse(action.request("r").value()) == action.request("r")
            assert "record --request" in action.command("r")
    assert eta_seconds(work.actions, 1) >= eta_seconds(work.actions, 4)


def test_the_estimate_follows_the_rollouts_own_order():
    """Each action starts as soon as those it waits for are done (not when a whole wave is):
    a long evacuation of one host does not hold up another host's chain."""
    a = Action(1, Kind.EVACUATE, "d1", "s1", seconds=100)
    b = Action(2, Kind.CONVERT, "d1", after=(1,), wave=2, seconds=10)
    c = Action(3, Kind.EVACUATE, "d2", "s2", seconds=10)
    d = Action(4, Kind.CONVERT, "d2", after=(3,), wave=2, seconds=10)
    e = Action(5, Kind.EVACUATE, "d3", "d2", after=(4,), wave=3, seconds=50)
    assert eta_seconds([a, b, c, d, e], 2) == 110  # wave by wave it said 100 + 10 + 50
    assert eta_seconds([a, b, c, d, e], 1) == 180  # one at a time, in the plan's order
    assert eta_seconds([b, d, e], 2) == 60  # what they waited for is done already
    assert eta_seconds([], 4) == 0
