# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The plan checker catches bad plans; the planner's choices in small, named situations.

Proves: the checker refuses a migration without the access both hosts need (no bridge; an
ACL bridge on a server that ignores ACLs, as nfs-ganesha's VFS does; an ACL bridge for the
destination's numbers only, which the source loses once the destination relabels the image),
an over-committed host, a step naming the wrong host, a close without a bridge, a convert
with a VM still running, a plan that leaves a bridge open or a host unconverted, and an
inventory contradicting its own host, a close handing over to the destination's numbers at
close time rather than those journaled when its bridge opened (the issue's bad plan), a bridge
naming other numbers than its destination's, a root_squash close without the NFS server's
chown, a bridge on a root-owned root_squash image, a VM suspended on a root_squash export
(its repair chown is refused); the checker imports none of the
planner's effect code. The planner: bridges with chmod by default and with
ACL entries for both hosts when the server honours ACLs; skips the bridge when the image
already opens for both; converts empty hosts first; chains hosts through the freshly
converted ones; parks VMs on a dynamic host when capacity is short (they move twice) and
suspends what fits nowhere; keeps hosts it cannot reason about out of the plan.
"""

from __future__ import annotations

import stat
from dataclasses import replace

from libvirt_static_ids.files import acl
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan import check, planner
from libvirt_static_ids.plan.model import Domain, Host, Image, Options, Vm
from libvirt_static_ids.plan.planner import Step, StepOp

TARGET = IdPair(64055, 64055)
OLD = IdPair(109, 114)
OTHER = IdPair(110, 115)


def _vm(host: str, name: str, memory: int, ids: IdPair, mode: int = 0o600) -> Vm:
    meta = Metadata(ids.uid, ids.gid, stat.S_IFREG | mode)
    return Vm(f"{host}/{name}", name, memory, True, (Image(f"/img/{host}-{name}", meta),))


def _small() -> Domain:
    """One static host with room for everything, one dynamic host with two VMs."""
    return Domain(
        TARGET,
        (
            Host("static1", TARGET, 8192),
            Host("kvm1", OLD, 0, (_vm("kvm1", "web", 2048, OLD), _vm("kvm1", "db", 4096, OLD))),
        ),
    )


def _good(domain: Domain, options: Options | None = None) -> list[Step]:
    made = planner.plan(domain, options or Options())
    assert check.check(made.domain, made.options, made.steps).ok
    return made.steps


def _problems(domain: Domain, steps: list[Step], options: Options | None = None) -> list[str]:
    report = check.check(domain, options or Options(), steps)
    assert not report.ok
    return report.problems


def test_a_good_plan_bridges_with_chmod_and_is_proven():
    steps = _good(_small())
    assert [(s.op, s.name) for s in steps] == [
        ("bridge", "db"),
        ("migrate", "db"),
        ("close", "db"),
        ("bridge", "web"),
        ("migrate", "web"),
        ("close", "web"),
        ("convert", None),
    ]
    assert {s.mode for s in steps if s.op == "bridge"} == {"chmod"}
    assert steps[1].text() == "on kvm1: live-migrate db to static1"


def test_a_migration_without_bridge_is_caught():
    steps = [s for s in _good(_small()) if s.op not in ("bridge", "close")]
    problems = _problems(_small(), steps)
    assert problems[0] == (
        "step 1 (on kvm1: live-migrate db to static1): while migrating, /img/kvm1-db does not "
        "open for both kvm1 (109:114) and static1 (64055:64055)"
    )


def test_an_acl_bridge_on_a_server_ignoring_acls_is_caught():
    """What nfs-ganesha's VFS FSAL does: the ACL is stored and ignored; mode bits decide."""
    steps = [
        s._replace(mode="acl", grants=(TARGET, OLD)) if s.op == "bridge" else s
        for s in _good(_small())
    ]
    problems = _problems(_small(), steps, Options(honours_acls=False))
    assert "while migrating, /img/kvm1-db does not open for both" in problems[0]
    # The same steps are proven where the server honours ACLs.
    assert check.check(_small(), Options(honours_acls=True), steps).ok


def test_an_acl_bridge_for_the_destination_keeps_the_source_through_a_relabel():
    """evacuate's ACL bridge names the target, and also the image's current owner and group:
    when the destination's relabel makes the target the owner, the still-running source keeps
    its own entry and the image."""
    steps = [
        s._replace(mode="acl", grants=(TARGET,)) if s.op == "bridge" else s
        for s in _good(_small(), Options(honours_acls=True))
    ]
    assert check.check(_small(), Options(honours_acls=True), steps).ok


def test_the_planner_grants_both_numbers_when_acls_are_honoured():
    steps = _good(_small(), Options(honours_acls=True))
    bridges = [s for s in steps if s.op == "bridge"]
    assert bridges and all(s.mode == "acl" and s.grants == (TARGET, OLD) for s in bridges)


def test_over_commit_wrong_host_and_order_are_caught():
    domain = _small()
    small = replace(domain, hosts=(replace(domain.hosts[0], free_mib=4096), domain.hosts[1]))
    steps = _good(domain)
    assert "over-committed" in " ".join(_problems(small, steps))
    wrong = [s._replace(host="static1") if s.op == "migrate" else s for s in steps]
    assert "db runs on kvm1, not on static1" in " ".join(_problems(domain, wrong))
    early = [steps[-1], *steps[:-1]]  # convert first
    assert "VMs running on kvm1 and VMs suspended differ: db, web" in _problems(domain, early)[0]
    unclosed = [s for s in steps if s.op != "close"]
    assert "at the end: the bridge of db is still open" in _problems(domain, unclosed)
    no_bridge = [s for s in steps if s.op != "bridge"]
    assert "no bridge is open for db" in " ".join(_problems(domain, no_bridge))
    unconverted = steps[:-1]
    assert "at the end: kvm1 is still at 109:114, not converted" in _problems(domain, unconverted)


def test_no_bridge_where_the_image_already_opens_for_both():
    shared = _vm("kvm1", "web", 1024, OLD, mode=0o666)
    domain = Domain(TARGET, (Host("static1", TARGET, 4096), Host("kvm1", OLD, 0, (shared,))))
    assert [s.op for s in _good(domain)] == ["migrate", "convert"]


def test_empty_hosts_first_then_a_chain_through_converted_hosts():
    domain = Domain(
        TARGET,
        (
            Host("empty", OLD, 8192),  # converted first, then the first destination
            Host("kvm1", OLD, 0, (_vm("kvm1", "a", 4096, OLD), _vm("kvm1", "b", 4096, OLD))),
            Host("kvm2", OTHER, 0, (_vm("kvm2", "c", 8192, OTHER),)),
        ),
    )
    steps = _good(domain)
    summary = [(s.op, s.host, s.to) for s in steps if s.op in ("migrate", "convert")]
    assert summary == [
        ("convert", "empty", None),
        ("migrate", "kvm1", "empty"),
        ("migrate", "kvm1", "empty"),
        ("convert", "kvm1", None),
        ("migrate", "kvm2", "kvm1"),
        ("convert", "kvm2", None),
    ]


def test_short_capacity_parks_then_suspends():
    """No static host and every host half full: the first host's VMs park on a dynamic
    host (and move again); with memory short overall, a VM is suspended instead."""
    parked = Domain(
        TARGET,
        (
            Host("kvm1", OLD, 4096, (_vm("kvm1", "a", 4096, OLD),)),
            Host("kvm2", OTHER, 4096, (_vm("kvm2", "b", 4096, OTHER),)),
        ),
    )
    made = planner.plan(parked)
    assert check.check(made.domain, made.options, made.steps).ok
    assert made.stats()["extra_migrations"] == 1 and made.suspended == []
    assert any("capacity is short" in note for note in made.notes)
    full = Domain(
        TARGET,
        (
            Host("kvm1", OLD, 0, (_vm("kvm1", "a", 4096, OLD),)),
            Host("kvm2", OTHER, 0, (_vm("kvm2", "b", 4096, OTHER),)),
        ),
    )
    made = planner.plan(full)
    assert check.check(made.domain, made.options, made.steps).ok
    assert made.migrations == 0
    assert [name for _, name in made.suspended] == ["a", "b"]
    assert made.steps[0].text() == "on kvm1: convert --suspend-vms (saves and resumes a)"


def test_a_vm_no_bridge_can_hand_over_keeps_its_host_out():
    """Group-writable only (owner bits ---): after the hand-over the target owns the image,
    and POSIX gives an owner the owner bits alone. Moving it would stop it."""
    meta = Metadata(0, OLD.gid, stat.S_IFREG | 0o066)
    odd = Vm("kvm1/odd", "odd", 1024, True, (Image("/img/odd", meta),))
    domain = Domain(TARGET, (Host("static1", TARGET, 4096), Host("kvm1", OLD, 0, (odd,))))
    made = planner.plan(domain)
    assert check.check(made.domain, made.options, made.steps).ok
    assert made.steps == []
    assert dict(made.domain.unplanned)["kvm1"].startswith(
        "VM odd: no bridge makes its images open for 64055:64055 after the move (mode 0066)"
    )


def test_hosts_the_plan_cannot_reason_about_are_left_out():
    entries = [
        (acl.USER_OBJ, 6, acl.UNDEFINED_ID),
        (acl.USER, 6, OLD.uid),
        (acl.GROUP_OBJ, 0, acl.UNDEFINED_ID),
        (acl.MASK, 6, acl.UNDEFINED_ID),
        (acl.OTHER, 0, acl.UNDEFINED_ID),
    ]
    via_acl = Metadata(0, 0, stat.S_IFREG | 0o660, ((acl.ACCESS, acl.encode(entries)),))
    acl_vm = Vm("kvm1/x", "x", 1024, True, (Image("/img/x", via_acl),))
    unknown = Vm("kvm2/y", "y", 1024, True, (Image("/img/y", None),))
    domain = Domain(
        TARGET,
        (
            Host("static1", TARGET, 8192),
            Host("kvm1", OLD, 0, (acl_vm,)),
            Host("kvm2", OTHER, 0, (unknown,)),
        ),
    )
    made = planner.plan(domain)  # ACLs not honoured: x's record contradicts its running
    assert dict(made.domain.unplanned) == {
        "kvm1": "VM x runs, yet by its mode bits image /img/x does not open for 109:114: the "
        "record is stale, or the server honours ACLs",
        "kvm2": "VM y: image /img/y was unreadable when recorded",
    }
    assert made.steps == [] and made.lower_bound == 0
    honoured = planner.plan(domain, Options(honours_acls=True))
    assert [name for name, _ in honoured.domain.unplanned] == ["kvm2"]
    assert check.check(honoured.domain, honoured.options, honoured.steps).ok
    # The checker, given the unscreened domain, refuses it before the first step.
    assert "before step 1" in check.check(domain, Options(), []).problems[0]


def _bridged_to_dynamic() -> Domain:
    """kvm1's VM, a dynamic host kvm2 with room for it, and a static host."""
    return Domain(
        TARGET,
        (
            Host("kvm1", OLD, 0, (_vm("kvm1", "web", 2048, OLD),)),
            Host("kvm2", OTHER, 4096),
        ),
    )


def test_a_close_hands_over_to_the_identity_journaled_at_open():
    """The bad plan of the issue: bridge for dynamic kvm2, migrate there, convert kvm2 (web
    saved and resumed), close. The real close hands over to kvm2's numbers *as journaled
    when the bridge opened* (110:115), not kvm2's numbers now: web, running as 64055:64055,
    loses its image."""
    domain = _bridged_to_dynamic()
    key = "kvm1/web"
    steps = [
        Step(StepOp.BRIDGE, "kvm1", key, "web", "kvm2", "chmod", (), identity=OTHER),
        Step(StepOp.MIGRATE, "kvm1", key, "web", "kvm2"),
        Step(StepOp.CONVERT, "kvm2", suspend=((key, "web"),)),
        Step(StepOp.CLOSE, "kvm1", key, "web", "kvm2", identity=OTHER),
        Step(StepOp.CONVERT, "kvm1"),
    ]
    problems = _problems(domain, steps)
    assert problems == [
        "after step 4 (on kvm1: close web's bridge, handing its images over to kvm2's "
        "numbers): running VM web: /img/kvm1-web does not open for kvm2 (64055:64055)",
        "at the end: running VM web: /img/kvm1-web does not open for kvm2 (64055:64055)",
    ]
    # Closed before kvm2 converts, the same steps are proven.
    good = [steps[0], steps[1], steps[3], steps[2], steps[4]]
    assert check.check(domain, Options(), good).ok


def test_a_bridge_naming_other_numbers_than_its_destination_is_refused():
    domain = _bridged_to_dynamic()
    key = "kvm1/web"
    steps = [
        Step(StepOp.BRIDGE, "kvm1", key, "web", "kvm2", "chmod", (), identity=TARGET),
        Step(StepOp.MIGRATE, "kvm1", key, "web", "kvm2"),
        Step(StepOp.CLOSE, "kvm1", key, "web", "kvm2", identity=TARGET),
        Step(StepOp.CONVERT, "kvm1"),
        Step(StepOp.CONVERT, "kvm2", suspend=((key, "web"),)),
    ]
    problems = _problems(domain, steps)
    assert problems[0] == (
        "step 1 (on kvm1: open a bridge for web's images (chmod a+rw)): the bridge names "
        "64055:64055, but kvm2 runs as 110:115"
    )


SQUASHED = Options(root_squash=("/img",))


def test_root_squash_hand_over_is_the_nfs_servers_step():
    """On a root_squash export nothing relabels and the client's chown is refused: the plan
    has the NFS server's admin chown each image before the bridge closes."""
    made = planner.plan(_small(), SQUASHED)
    assert check.check(made.domain, SQUASHED, made.steps).ok
    ops = [s.op for s in made.steps]
    assert ops[:4] == ["bridge", "migrate", "server-chown", "close"]
    server = made.steps[2]
    assert server.text() == (
        "on the NFS server (root_squash export): chown 64055:64055 /img/kvm1-db "
        "(hands db's images to static1)"
    )
    assert made.stats()["server_steps"] == 2


def test_root_squash_close_without_the_servers_chown_is_caught():
    made = planner.plan(_small(), SQUASHED)
    steps = [s for s in made.steps if s.op != "server-chown"]
    problems = _problems(made.domain, steps, SQUASHED)
    assert problems[0] == (
        "step 3 (on kvm1: close db's bridge, handing its images over to static1's numbers): "
        "root_squash refuses the hand-over chown of /img/kvm1-db to 64055:64055: the NFS "
        "server's admin must chown it first"
    )


def test_root_squash_image_owned_by_root_cannot_be_bridged():
    """Root is nobody to the server and the owner is root: no client can widen the image.
    The planner leaves its host out, saying what the server's admin must do; a plan
    bridging it anyway is refused."""
    meta = Metadata(0, OLD.gid, stat.S_IFREG | 0o660)
    vm = Vm("kvm1/odd", "odd", 1024, True, (Image("/img/odd", meta),))
    domain = Domain(TARGET, (Host("static1", TARGET, 4096), Host("kvm1", OLD, 0, (vm,))))
    made = planner.plan(domain, SQUASHED)
    assert made.steps == []
    assert dict(made.domain.unplanned)["kvm1"] == (
        "VM odd: image /img/odd is root's on a root_squash export: no client may widen or "
        "hand it over; on the NFS server, chown it to 109:114 first"
    )
    bad = [
        Step(StepOp.BRIDGE, "kvm1", "kvm1/odd", "odd", "static1", "chmod", (), identity=TARGET),
        Step(StepOp.MIGRATE, "kvm1", "kvm1/odd", "odd", "static1"),
    ]
    assert "is root's on a root_squash export" in _problems(domain, bad, SQUASHED)[0]


def test_the_checker_shares_no_effect_code_with_the_planner():
    """check.py and its model import neither the planner's effects nor the tools' code."""
    import ast
    import inspect

    from libvirt_static_ids.plan import nfsrules

    for module in (check, nfsrules):
        tree = ast.parse(inspect.getsource(module))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert not imported & {"effects", "widen", "access", "planner_effects"}, module


def test_a_vm_suspended_on_a_root_squash_export_is_not_proven():
    """convert --suspend-vms repairs the saved VM's images by chown: root_squash refuses it,
    so after the resume the image is still the old numbers'. The planner says so; the
    checker does not prove the step."""
    full = Domain(TARGET, (Host("kvm1", OLD, 0, (_vm("kvm1", "a", 4096, OLD),)),))
    made = planner.plan(full, SQUASHED)
    assert [name for _, name in made.suspended] == ["a"]
    assert any("on a root_squash export: the repair cannot" in note for note in made.notes)
    problems = _problems(made.domain, made.steps, SQUASHED)
    assert problems[0] == (
        "after step 1 (on kvm1: convert --suspend-vms (saves and resumes a)): running VM a: "
        "/img/kvm1-a does not open for kvm1 (64055:64055)"
    )
    # Without root_squash the same plan is proven.
    assert check.check(made.domain, Options(), made.steps).ok
