# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Every failure path of evacuate leaves each VM with access to its disks and each image no
wider than its bridge promised; interrupts are journaled as interrupted and resumed.

libvirt's test driver over real images with real ACLs (``evac_world``); interrupts are
injected at exact phases (pytest-mock), kill -9 / SIGTERM / SIGINT hit a child process at
those phases. The lab (tests/lab/test_evacuate_*.py) repeats what only real libvirt decides.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from evacuation.conftest import opens_as
from evacuation.evac_world import (
    SOURCE_GID,
    SOURCE_UID,
    TARGET,
    Interrupt,
    Migration,
    World,
    make_world,
)
from libvirt_static_ids.evacuation import probe
from libvirt_static_ids.evacuation.bridge import runs as bridge
from libvirt_static_ids.evacuation.bridge.bridged_file import BridgedFile
from libvirt_static_ids.host import hypervisor
from libvirt_static_ids.journal.store import Store

pytest.importorskip(
    "libvirt", reason="needs libvirt-python (pip, built against Debian libvirt-dev)"
)

HERE = Path(__file__).parent


@pytest.fixture
def world(shared_dir: Path, tmp_path: Path) -> World:
    return make_world(shared_dir, tmp_path, names=("alpha", "beta"))


def owner_mode(path: Path) -> tuple[int, int, int, bool]:
    st = os.stat(path)
    acl = "system.posix_acl_access" in os.listxattr(path)
    return st.st_uid, st.st_gid, st.st_mode & 0o7777, acl


def evacuate_run(world: World) -> str:
    (run,) = [r for r in Store(world.root).runs() if r.kind == "evacuate"]
    return str(run.state)


def open_bridges(world: World) -> list[dict]:
    return bridge.open_bridges(world.root)


def assert_evacuated(world: World) -> None:
    """The end state of a good evacuation: every image the destination's, exactly 0600."""
    for disk in world.disks.values():
        assert owner_mode(disk) == (TARGET.uid, TARGET.gid, 0o600, False), disk
        assert opens_as(disk, TARGET.uid, TARGET.gid)
    assert open_bridges(world) == []


def test_a_failed_migration_after_the_relabel_gives_the_image_back_to_the_source(world):
    """libvirt does not restore labels on a shared file system after a failed incoming
    migration: the destination already chowned the image. The VM that stays here must keep
    its access: the owner goes back to the source's numbers (was: 64055:64055 0600)."""
    migration = Migration(world, fail_for="alpha", relabel=True)
    report = world.run(migration)
    assert report.status == "failed"
    assert report.domains[0].status == "failed"
    alpha = world.disks["alpha"]
    assert owner_mode(alpha) == (SOURCE_UID, SOURCE_GID, 0o600, False)
    assert opens_as(alpha, SOURCE_UID, SOURCE_GID)
    assert not opens_as(alpha, TARGET.uid, TARGET.gid)
    assert open_bridges(world) == []
    assert evacuate_run(world) == "failed"


def test_a_guest_left_paused_by_a_failed_migration_runs_again_with_its_access(world, mocker):
    """A failure after the switch-over began leaves the source paused; evacuate resumes it,
    and only once its image is the source's again (resumed earlier it would pause on an I/O
    error). Was: the VM that "stays here" stayed paused."""
    import libvirt

    alpha = world.disks["alpha"]
    real = hypervisor.resume_if_paused
    access_at_resume = []

    def resume(domain):
        access_at_resume.append(opens_as(alpha, SOURCE_UID, SOURCE_GID))
        return real(domain)

    mocker.patch.object(hypervisor, "resume_if_paused", side_effect=resume)
    migration = Migration(world, fail_for="alpha", relabel=True, pause=True)
    report = world.run(migration)
    assert report.domains[0].status == "failed"
    assert migration.domains["alpha"].state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert access_at_resume == [True]
    assert "paused" not in report.domains[0].message


def test_a_refused_chown_back_keeps_the_bridge_open_and_says_so(world, mocker):
    """Where the chown back is refused, the VM that stays here keeps its access through the
    bridge (its ACL names the source's numbers), and the report says the bridge stays."""
    real = BridgedFile.apply

    def refusing(self, current, target):
        if (current.uid, current.gid) != (target.uid, target.gid):
            raise PermissionError(1, "Operation not permitted")
        return real(self, current, target)

    mocker.patch.object(BridgedFile, "apply", refusing)
    report = world.run(Migration(world, fail_for="alpha", relabel=True))
    alpha = report.domains[0]
    assert alpha.status == "failed"
    assert f"its bridge {alpha.bridge} stays open" in alpha.message
    assert opens_as(world.disks["alpha"], SOURCE_UID, SOURCE_GID)
    assert [b["run_id"] for b in open_bridges(world)] == [alpha.bridge]


# Where an interrupt (Ctrl-C, SIGTERM) strikes, and whether the VM has left by then.
PHASES = {
    "before-bridge": ("open_locked", "before"),
    "inside-bridge": ("apply", "after"),  # the first file widened, the open not finished
    "after-bridge": ("open_locked", "after"),
    "probe": ("probe", "before"),
    "migrate-before-switch": ("migrate", "before"),
    "migrate-after-switch": ("migrate", "after"),
    "after-hand-over": ("close_locked", "after"),
}


def _inject(mocker, world: World, phase: str, migration: Migration) -> None:
    target, when = PHASES[phase]
    if target == "migrate":
        migration.interrupt["alpha"] = when
        return
    owners = {"open_locked": bridge, "close_locked": bridge, "probe": probe, "apply": BridgedFile}
    real = getattr(owners[target], target)

    def striking(*args, **kwargs):
        if when == "before":
            raise Interrupt
        real(*args, **kwargs)
        raise Interrupt

    mocker.patch.object(owners[target], target, striking)


@pytest.mark.parametrize("phase", list(PHASES))
def test_an_interrupt_at_any_step_is_journaled_as_interrupted_and_resumed(world, mocker, phase):
    """Was: Ctrl-C during migrate journaled the run as complete; a rerun nested a second
    bridge over the first and left the image 0660 with the bridge's ACL for good."""
    migration = Migration(world)
    _inject(mocker, world, phase, migration)
    with pytest.raises(Interrupt):
        world.run(migration)
    mocker.stopall()
    assert evacuate_run(world) == "interrupted"
    # Whatever the phase, the VM has access where it runs now.
    alpha = world.disks["alpha"]
    departed = "alpha" not in world.node.read_text()
    who = (TARGET.uid, TARGET.gid) if departed else (SOURCE_UID, SOURCE_GID)
    assert opens_as(alpha, *who)

    report = world.run(Migration(world))
    assert report.resumed
    assert report.status == "evacuated", [(d.name, d.status, d.message) for d in report.domains]
    assert sorted(d.name for d in report.domains if d.status == "migrated") == ["alpha", "beta"]
    assert evacuate_run(world) == "complete"
    assert_evacuated(world)
    bridges = [r for r in Store(world.root).runs() if r.kind == "bridge"]
    assert all(r.state in ("rolled back", "failed") for r in bridges)


CHILD = """
import os, signal, sys
sys.path[:0] = [{here!r}, {tests!r}]
from evacuation.evac_world import Migration, World, make_world
from pathlib import Path
from libvirt_static_ids.evacuation.bridge import runs as bridge
from libvirt_static_ids.evacuation import probe
world = make_world(Path({shared!r}), Path({tmp!r}), names=("alpha", "beta"))
phase, number = {phase!r}, {signal_number}
def strike(*_a, **_k):
    os.kill(os.getpid(), number)
    signal.pause()
migration = Migration(world)
if phase == "probe":
    probe.probe = strike
elif phase == "migrate":
    real = migration.world.depart
    def departing(name):
        real(name)
        strike()
    migration.world.depart = departing
world.run(migration)
"""


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("phase", ["probe", "migrate"])
def test_a_signal_to_the_process_leaves_an_interrupted_run_that_resumes(
    world, shared_dir, tmp_path, phase, signal_number
):
    """kill -9, SIGTERM and Ctrl-C hit a real child process (probe: the bridge is open, the VM
    here; migrate: the VM has just left); the journal says interrupted, a rerun finishes."""
    script = CHILD.format(
        tests=str(HERE.parent),
        here=str(HERE),
        shared=str(shared_dir),
        tmp=str(tmp_path),
        phase=phase,
        signal_number=int(signal_number),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == -signal_number, done.stderr  # Python re-raises SIGINT too
    assert evacuate_run(world) == "interrupted"
    report = world.run(Migration(world))
    assert report.resumed and report.status == "evacuated", report.as_dict()
    assert_evacuated(world)


def test_a_file_under_an_open_bridge_is_not_bridged_again(evac, world):
    """Was: two bridges on one image (one chmod, one ACL) left it -rw-rw-rw- after both
    closes, while the journal said "rolled back"."""
    alpha = world.disks["alpha"]
    args = ["bridge", "open", "--uid", TARGET.uid, "--gid", TARGET.gid]
    first = evac(*args, "--mode", "chmod", alpha, root=world.root.path)
    assert first.code == 0, first.out
    widened = owner_mode(alpha)
    second = evac(*args, alpha, root=world.root.path)
    assert second.code == 3
    message = second.data["error"]["message"]
    assert first.data["run_id"] in message and str(alpha) in message
    assert owner_mode(alpha) == widened
    closed = evac("bridge", "close", root=world.root.path)  # the only open bridge
    assert closed.code == 0
    assert owner_mode(alpha) == (SOURCE_UID, SOURCE_GID, 0o600, False)


def test_an_image_under_a_bridge_opened_by_hand_refuses_the_evacuation_up_front(evac, world):
    alpha = world.disks["alpha"]
    opened = evac("bridge", "open", "--uid", 7, "--gid", 7, alpha, root=world.root.path)
    widened = owner_mode(alpha)
    migration = Migration(world)
    report = world.run(migration)
    assert report.status == "refused"
    assert opened.data["run_id"] in report.domains[0].refusals[0]
    assert migration.calls == []
    assert owner_mode(alpha) == widened
    assert evacuate_run(world) == "failed"  # refused, settled: nothing to resume


def test_bare_close_with_several_open_lists_them(evac, world):
    args = ["bridge", "open", "--uid", TARGET.uid, "--gid", TARGET.gid]
    ids = [evac(*args, disk, root=world.root.path).data["run_id"] for disk in world.disks.values()]
    listed = evac("bridge", "close", root=world.root.path)
    assert listed.code == 2
    assert listed.data["error"]["bridges"] == ids
    assert all(run_id in listed.data["error"]["message"] for run_id in ids)
    nothing = evac("bridge", "close", "--expired", root=world.root.path)
    assert nothing.data["closed"] == []  # an hour to go: the default TTL
    assert all(b["expires"] for b in open_bridges(world))


def test_a_close_that_hit_a_conflict_is_not_rolled_back(evac, world):
    alpha = world.disks["alpha"]
    opened = evac("bridge", "open", "--uid", 1, "--gid", 1, alpha, root=world.root.path)
    os.chmod(alpha, 0o644)  # someone else
    closed = evac("bridge", "close", opened.data["run_id"], root=world.root.path)
    assert closed.data["status"] == "closed-with-conflicts"
    (run,) = [r for r in Store(world.root).runs() if r.run_id == opened.data["run_id"]]
    assert run.state == "failed"  # what `journal` shows: not "rolled back"
    assert run.summary["left"] == [str(alpha)]
    assert open_bridges(world) == []


def test_the_timers_close_waits_for_a_run_that_holds_the_lock(evac, world):
    """Was: ``bridge close`` from the TTL timer took the lock non-blocking and gave up while
    evacuate held it; the bridge then stayed open for good."""
    alpha = world.disks["alpha"]
    opened = evac("bridge", "open", "--ttl", 1, "--uid", 7, "--gid", 7, alpha, root=world.root.path)
    assert opened.code == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from libvirt_static_ids.hostroot import HostRoot\n"
            "from libvirt_static_ids.journal.store import Store\n"
            "with Store(HostRoot.open(sys.argv[1])).locked():\n"
            "    print('held', flush=True)\n"
            "    time.sleep(3)\n",
            world.root.path,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        closed = evac("bridge", "close", "--expired", root=world.root.path)
    finally:
        holder.wait(timeout=30)
    assert closed.code == 0, closed.out
    assert [r["status"] for r in closed.data["closed"]] == ["closed"]
    assert owner_mode(alpha) == (SOURCE_UID, SOURCE_GID, 0o600, False)
