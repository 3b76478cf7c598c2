# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""kill -9 of a running ``convert`` (and ``rollback``) at many points of a large repair.

One big simulated host is built per module (about 24,000 entries under the images tree:
mixed owners, ACLs, libvirt xattrs, setuid files, capabilities, hard links, symlinks, FIFOs,
a device node). Copy A is converted to completion: that is the expected end state. Every
case then works on a fresh ``cp -a`` copy, kills the real CLI with SIGKILL at a chosen point
and checks, entry by entry (uid, gid, mode, every xattr incl. ACLs, per relative path; and
the account files' content), that resuming reaches A's state and rollback the original one.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import cli_support
import treegen
from libvirt_static_ids.files import repair
from libvirt_static_ids_testbed import simulated

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: chown, trusted.* xattrs, mknod, usermod --prefix"
)

ENTRIES = 24_000
# Entry records reach the journal in batches of this size (one write and fsync each).
BATCH = getattr(repair, "BATCH", 2048)
STATE_DIR = "var/lib/libvirt-static-ids"
SCOPE = ("var", "srv")  # libvirt's trees, our outside symlink target (srv/), not etc/
IMAGES = "var/lib/libvirt/images"
# Not Debian's usual 109:114 -> 64055:64055: convert refuses (exit 3) while any process on
# this machine runs as the old UID, and rollback while one runs as the target; other test
# files start such processes (process_as(109, ...), process_as(64055, ...)), and suites run
# side by side on shared machines. Numbers nobody else uses keep these kills deterministic.
NUMBERS = treegen.Numbers(old_uid=20109, old_gid=20114, kvm_gid=106, target=20155)
HOST = simulated.SimulatedHost(uid=NUMBERS.old_uid, gid=NUMBERS.old_gid, kvm_gid=NUMBERS.kvm_gid)
CONVERT = ("convert", "--no-restart", "--uid", str(NUMBERS.target), "--gid", str(NUMBERS.target))
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[a-z]+-[0-9a-f]{6}$")


@dataclass(frozen=True)
class World:
    original: str
    before: dict  # snapshot of the original tree
    before_accounts: dict
    after: dict  # snapshot after an uninterrupted convert
    after_accounts: dict
    journal_lines: int  # lines of that convert's journal
    convert_seconds: float


def take(root: str) -> dict:
    return treegen.snapshot(root, SCOPE, skip=(STATE_DIR,))


def assert_state(root: str, snapshot: dict, accounts: dict, what: str) -> None:
    differences = treegen.differences(take(root), snapshot)
    assert not differences, f"{what}: entries differ:\n" + "\n".join(differences)
    assert treegen.accounts(root) == accounts, f"{what}: account files differ"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Where the trees live: tmpfs if it can (see treegen.scratch_directory)."""
    base = treegen.scratch_directory(str(tmp_path_factory.mktemp("crash")), "lsi-crash-")
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def world(scratch: str) -> World:
    original = os.path.join(scratch, "original")
    simulated.build(original, HOST)
    outside = os.path.join(original, "srv/outside.img")
    treegen.make_outside_target(outside, NUMBERS)
    tree = os.path.join(original, IMAGES, "tree")
    treegen.build_big_tree(tree, ENTRIES, outside, numbers=NUMBERS)
    before = take(original)
    before_accounts = treegen.accounts(original)

    reference = os.path.join(scratch, "reference")
    treegen.copy_tree(original, reference)
    # cp -a must have kept every owner, mode, ACL, xattr and hard link, or nothing below holds.
    assert not treegen.differences(take(reference), before)
    started = time.monotonic()
    result = cli_support.run(*CONVERT, root=reference)
    convert_seconds = time.monotonic() - started
    assert result.code == 0, result.err
    after = take(reference)
    changed = sum(1 for path in after if after[path] != before[path])
    assert changed > ENTRIES // 3, f"only {changed} entries changed: the tree is too tame"
    # The reference itself must be right, or equal to it would prove little.
    for path, state in after.items():
        if path.startswith(b"srv/"):
            assert state == before[path], path  # outside the scope, a symlink target
        else:
            assert not treegen.old_numbers_in(state, NUMBERS.old_uid, NUMBERS.old_gid), path
    (run_dir,) = run_dirs(reference)
    with open(os.path.join(run_dir, "journal.jsonl"), "rb") as handle:
        journal_lines = handle.read().count(b"\n")
    assert journal_lines > 4 * BATCH, "too few changes for several batches"
    after_accounts = treegen.accounts(reference)
    result = cli_support.run("rollback", root=reference)
    assert result.code == 0, result.err
    assert_state(reference, before, before_accounts, "reference rollback")
    shutil.rmtree(reference)
    return World(
        original,
        before,
        before_accounts,
        after,
        after_accounts,
        journal_lines,
        convert_seconds,
    )


@pytest.fixture
def victim(world: World, scratch: str) -> Iterator[str]:
    """A fresh identical copy of the original host."""
    base = tempfile.mkdtemp(prefix="victim-", dir=scratch)
    root = os.path.join(base, "root")
    treegen.copy_tree(world.original, root)
    yield root
    shutil.rmtree(base, ignore_errors=True)


# --- starting and killing the real CLI -----------------------------------------------------


def _stored_state(run_dir: str) -> str:
    with open(os.path.join(run_dir, "state.json"), encoding="utf-8") as handle:
        state: str = json.load(handle)["state"]
    return state


def run_dirs(root: str) -> list[str]:
    runs = os.path.join(root, STATE_DIR, "runs")
    try:
        names = sorted(os.listdir(runs))
    except FileNotFoundError:
        return []
    return [os.path.join(runs, name) for name in names if RUN_ID.match(name)]


def start(root: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*cli_support.COMMAND, "--root", root, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _session_alive(session: int) -> bool:
    """True while a process (not a zombie) of the session lives, e.g. an orphaned usermod."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != b"Z":
            return True
    return False


def kill(process: subprocess.Popen[bytes], whole_group: bool) -> None:
    """SIGKILL the CLI (or its whole process group, like a crash would), then let what it
    started (usermod, groupmod) end, as it would on a real host."""
    if whole_group:
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _session_alive(process.pid):
        assert time.monotonic() < deadline, "children of the killed run did not end"
        time.sleep(0.005)


def kill_at_lines(
    process: subprocess.Popen[bytes], root: str, lines: int, whole_group: bool = False
) -> int:
    """SIGKILL once the run's journal has >= ``lines`` lines (0: once the run exists).

    Returns the journal's line count when the kill was sent.
    """
    deadline = time.monotonic() + 60
    journal, offset, seen = None, 0, 0
    while True:
        assert process.poll() is None, f"the run ended before its journal had {lines} lines"
        assert time.monotonic() < deadline, "timed out waiting for the journal"
        if journal is None:
            found = run_dirs(root)
            if found:
                journal = os.path.join(found[0], "journal.jsonl")
        if journal is not None:
            try:
                with open(journal, "rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
            except FileNotFoundError:
                chunk = b""
            offset += len(chunk)
            seen += chunk.count(b"\n")
            if seen >= lines:
                break
        time.sleep(0.0002)
    kill(process, whole_group)
    assert process.returncode == -signal.SIGKILL, process.returncode
    return seen


def wait_for_state(process: subprocess.Popen[bytes], root: str, state: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"the process ended before its run was {state!r}"
        assert time.monotonic() < deadline
        for run_dir in run_dirs(root):
            try:
                with open(os.path.join(run_dir, "state.json"), encoding="utf-8") as handle:
                    if json.load(handle)["state"] == state:
                        return
            except (OSError, ValueError):
                pass
        time.sleep(0.0005)


# --- checks -------------------------------------------------------------------------------


def journal_runs(root: str) -> list[dict]:
    result = cli_support.run("--json", "journal", root=root)
    assert result.code == 0, result.err
    return result.data["runs"]


def check_interrupted(root: str, interrupted_while: str = "running") -> None:
    """(a) the run shows as interrupted and another command is refused with exit 4."""
    (run,) = journal_runs(root)
    assert run["state"] == "interrupted", run
    assert run["interrupted_while"] == interrupted_while, run
    result = cli_support.run(
        "repair",
        "--from-uid",
        str(NUMBERS.old_uid),
        "--from-gid",
        str(NUMBERS.old_gid),
        os.path.join(root, IMAGES),
        root=root,
    )
    assert result.code == 4, (result.code, result.out, result.err)
    assert run["run_id"] in result.err
    assert len(journal_runs(root)) == 1, "the refused repair must not have started a run"


def resume_and_roll_back(root: str, world: World) -> None:
    """(b) convert again finishes the same run at A's end state; (c) rollback restores all."""
    result = cli_support.run("--json", *CONVERT, root=root)
    assert result.code == 0, (result.out, result.err)
    report = result.data
    assert report["status"] == "converted"
    assert report["resumed"] is True
    assert_state(root, world.after, world.after_accounts, "after resume")
    (run,) = journal_runs(root)
    assert run["state"] == "complete", run
    roll_back(root, world)


def roll_back(root: str, world: World) -> None:
    result = cli_support.run("rollback", root=root)
    assert result.code == 0, (result.out, result.err)
    assert_state(root, world.before, world.before_accounts, "after rollback")
    (run,) = journal_runs(root)
    assert run["state"] == "rolled back", run


def kill_point(world: World, name: str) -> int:
    """Journal line counts at which to kill: records are 1 user, 2 group, then batches."""
    batches = (world.journal_lines - 2 + BATCH - 1) // BATCH
    first_of_batch = [2 + index * BATCH + 1 for index in range(batches)]
    points = {
        "run-created": 0,  # run.json/state.json exist, nothing journaled: before usermod
        "user-record": 1,  # usermod announced (and maybe running)
        "group-record": 2,  # groupmod announced, or the scan started
        "first-batch": first_of_batch[0],  # first batch journaled, being applied
        "second-batch": first_of_batch[1],
        "middle-batch": first_of_batch[batches // 2],
        "last-full-batch": first_of_batch[batches - 2],
    }
    return points[name]


LINE_POINTS = [
    "run-created",
    "user-record",
    "group-record",
    "first-batch",
    "second-batch",
    "middle-batch",
    "last-full-batch",
]


# --- the cases ----------------------------------------------------------------------------


@pytest.mark.parametrize("point", LINE_POINTS)
def test_kill_at_journal_line_then_resume_then_rollback(
    world: World, victim: str, point: str
) -> None:
    lines = kill_point(world, point)
    process = start(victim, *CONVERT)
    seen = kill_at_lines(process, victim, lines)
    assert seen >= lines
    check_interrupted(victim)
    resume_and_roll_back(victim, world)


@pytest.mark.parametrize("point", ["user-record", "first-batch"])
def test_kill_whole_process_group_then_resume(world: World, victim: str, point: str) -> None:
    """Like a crash: usermod/groupmod die with the CLI, maybe half-way (stale lock files)."""
    process = start(victim, *CONVERT)
    kill_at_lines(process, victim, kill_point(world, point), whole_group=True)
    check_interrupted(victim)
    resume_and_roll_back(victim, world)


@pytest.mark.parametrize("seed", [11, 22, 33])
def test_kill_at_random_time_then_resume(world: World, victim: str, seed: int) -> None:
    delay = random.Random(seed).uniform(0.0, world.convert_seconds * 0.9)  # noqa: S311
    process = start(victim, *CONVERT)
    time.sleep(delay)
    kill(process, whole_group=False)
    found = run_dirs(victim)
    lines = 0
    if found and os.path.exists(os.path.join(found[0], "journal.jsonl")):
        with open(os.path.join(found[0], "journal.jsonl"), "rb") as handle:
            lines = handle.read().count(b"\n")
    print(f"seed {seed}: kill after {delay:.3f} s, exit {process.returncode}, {lines} lines")
    if process.returncode != -signal.SIGKILL:  # it finished first: still a valid end state
        assert process.returncode == 0
        assert_state(victim, world.after, world.after_accounts, "finished before the kill")
        roll_back(victim, world)
        return
    if found and _stored_state(found[0]) == "complete":  # killed between "complete" and exit
        assert_state(victim, world.after, world.after_accounts, "complete before the kill")
        roll_back(victim, world)
        return
    if not found:  # killed before the run existed: nothing may have changed
        assert_state(victim, world.before, world.before_accounts, "killed before the run")
        result = cli_support.run(*CONVERT, root=victim)
        assert result.code == 0, result.err
        assert_state(victim, world.after, world.after_accounts, "fresh run after early kill")
        roll_back(victim, world)
        return
    check_interrupted(victim)
    resume_and_roll_back(victim, world)


@pytest.mark.parametrize("point", ["user-record", "first-batch", "middle-batch"])
def test_kill_then_rollback_without_resume(world: World, victim: str, point: str) -> None:
    process = start(victim, *CONVERT)
    kill_at_lines(process, victim, kill_point(world, point))
    check_interrupted(victim)
    roll_back(victim, world)


def kill_mid_rollback(process: subprocess.Popen[bytes], root: str, fraction: float) -> None:
    """SIGKILL a rollback once about ``fraction`` of its journaled entries have their old
    owner back (0: at once). It runs in 1 ms slices between SIGSTOPs, so the kill always
    finds it stopped mid-way, never finished: no time measured under another load decides
    where the kill lands."""
    (run_dir,) = [d for d in run_dirs(root) if _stored_state(d) == "rolling back"]
    with open(os.path.join(run_dir, "journal.jsonl"), encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.endswith("\n")]
    entries = [r for r in records if r["op"] == "entry" and r["before"]["uid"] != r["after"]["uid"]]
    sample = entries[:: max(1, len(entries) // 20)]

    def restored() -> int:
        return sum(os.lstat(e["path"]).st_uid == e["before"]["uid"] for e in sample)

    process.send_signal(signal.SIGSTOP)
    deadline = time.monotonic() + 60
    while restored() < fraction * len(sample):
        assert process.poll() is None, "the rollback ended while stopped"
        assert time.monotonic() < deadline, "the rollback made no progress"
        process.send_signal(signal.SIGCONT)
        time.sleep(0.001)
        process.send_signal(signal.SIGSTOP)
    kill(process, whole_group=False)


@pytest.mark.parametrize("fraction", [0.0, 0.4])
def test_kill_during_rollback_then_rollback_again(
    world: World, victim: str, fraction: float
) -> None:
    result = cli_support.run(*CONVERT, root=victim)
    assert result.code == 0, result.err
    process = start(victim, "rollback")
    wait_for_state(process, victim, "rolling back")
    kill_mid_rollback(process, victim, fraction)
    assert process.returncode == -signal.SIGKILL, "the rollback ended before the kill"
    check_interrupted(victim, interrupted_while="rolling back")
    # Resuming the conversion is refused: only the rollback may be finished.
    result = cli_support.run(*CONVERT, root=victim)
    assert result.code == 4, (result.out, result.err)
    roll_back(victim, world)


def test_kill_convert_then_kill_its_rollback_then_rollback(world: World, victim: str) -> None:
    process = start(victim, *CONVERT)
    kill_at_lines(process, victim, kill_point(world, "middle-batch"))
    process = start(victim, "rollback")
    wait_for_state(process, victim, "rolling back")
    kill_mid_rollback(process, victim, 0.2)
    assert process.returncode == -signal.SIGKILL, "the rollback ended before the kill"
    check_interrupted(victim, interrupted_while="rolling back")
    roll_back(victim, world)


def test_torn_journal_record_then_resume_then_rollback(world: World, victim: str) -> None:
    """A kill inside write() leaves half a record at the journal's end; nothing it announced
    was done. Resuming appends after it: the journal must stay readable for the rollback."""
    process = start(victim, *CONVERT)
    kill_at_lines(process, victim, kill_point(world, "second-batch"))
    (run_dir,) = run_dirs(victim)
    journal = os.path.join(run_dir, "journal.jsonl")
    with open(journal, "ab") as handle:
        handle.write(b'{"op":"entry","path":"/var/lib/libvirt/images/tree/e1","dev":1,"ino')
    check_interrupted(victim)
    resume_and_roll_back(victim, world)


def test_run_directory_without_state_is_ignored(world: World, victim: str) -> None:
    """A kill while a run is being created leaves a half-made directory behind; it must not
    stop every later command (it did: "run.json unreadable")."""
    runs = os.path.join(victim, STATE_DIR, "runs")
    os.makedirs(os.path.join(runs, ".20260101T000000Z-convert-abcdef.new"))
    assert journal_runs(victim) == []
    result = cli_support.run(*CONVERT, root=victim)
    assert result.code == 0, result.err
    assert_state(victim, world.after, world.after_accounts, "after convert")
    assert not [name for name in os.listdir(runs) if name.endswith(".new")]
    roll_back(victim, world)
