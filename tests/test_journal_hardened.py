# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Journals that cannot be misread, and undo without traps (issue 10, items 4 and 7).

Damaged journals refuse resume and rollback before anything changes; a lost run directory is
no empty success; runs sort by their sequence; the lock is never a symlink; file-system
errors are clear JSON errors; bare rollback means the last convert run.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path

import pytest

from libvirt_static_ids.errors import LockHeld
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal.runs import RunKind, RunState
from libvirt_static_ids.journal.store import Store

STATE = b"var/lib/libvirt-static-ids"
IMAGES = "var/lib/libvirt/images"


def run_dir(root: Path, run_id: str) -> Path:
    return root / os.fsdecode(STATE) / "runs" / run_id


def interrupt(root: Path, run_id: str) -> None:
    """What a kill -9 leaves behind: the stored state still says the run is active."""
    path = run_dir(root, run_id) / "state.json"
    stored = json.loads(path.read_text())
    stored["state"] = "running"
    path.write_text(json.dumps(stored))


def convert(cli, root: Path, *args: str) -> str:
    result = cli("convert", *args, root=root, json=True)
    assert result.code == 0, result
    return result.data["run_id"]


def accounts(root: Path) -> dict[str, bytes]:
    return {n: (root / "etc" / n).read_bytes() for n in ("passwd", "group", "shadow", "gshadow")}


def owner(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


# -- damaged journals ----------------------------------------------------------------------------


@pytest.mark.parametrize("junk", [b"42", b"null", b'{"op":"entry"}', b"{not json"])
def test_one_bad_record_anywhere_refuses_resume_and_rollback(cli, fake_root, snapshot, junk):
    run_id = convert(cli, fake_root)
    journal = run_dir(fake_root, run_id) / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([*lines[:3], junk + b"\n", *lines[3:]]))
    interrupt(fake_root, run_id)
    damaged = journal.read_bytes()
    before = snapshot(fake_root)
    for argv in (["convert"], ["rollback"], ["rollback", run_id]):
        result = cli(*argv, root=fake_root, json=True)
        assert result.code == 1, (argv, result)
        assert result.data["error"]["code"] == "journal"
        assert f"run {run_id}: journal line 4" in result.data["error"]["message"]
    assert snapshot(fake_root) == before  # nothing replayed, nothing undone
    assert journal.read_bytes() == damaged
    [run] = cli("journal", root=fake_root, json=True).data["runs"]
    assert (run["state"], run["interrupted_while"]) == ("interrupted", "running")


def test_a_garbage_last_line_is_refused_and_never_appended_after(cli, fake_root, snapshot):
    run_id = convert(cli, fake_root)
    journal = run_dir(fake_root, run_id) / "journal.jsonl"
    count = len(journal.read_bytes().splitlines())
    with open(journal, "ab") as handle:
        handle.write(b"garbage\n")
    interrupt(fake_root, run_id)
    damaged, before = journal.read_bytes(), snapshot(fake_root)
    shown = cli("journal", "show", run_id, root=fake_root, json=True)
    assert shown.code == 1 and f"journal line {count + 1}" in shown.data["error"]["message"]
    resumed = cli("convert", root=fake_root, json=True)
    assert resumed.code == 1, resumed
    assert journal.read_bytes() == damaged and snapshot(fake_root) == before


def test_a_deleted_journal_is_an_error_not_an_empty_rollback(cli, fake_root, snapshot):
    run_id = convert(cli, fake_root)
    (run_dir(fake_root, run_id) / "journal.jsonl").unlink()
    converted, account_text = snapshot(fake_root), accounts(fake_root)
    result = cli("rollback", root=fake_root, json=True)
    assert result.code == 1, result
    assert "journal.jsonl is missing" in result.data["error"]["message"]
    assert snapshot(fake_root) == converted and accounts(fake_root) == account_text


def test_a_run_that_recorded_nothing_has_an_empty_journal(cli, fake_root):
    images = str(fake_root / IMAGES)
    nothing = cli("repair", "--from-uid", "4711", "--from-gid", "4711", images, root=fake_root)
    assert nothing.code == 0, nothing
    [run] = cli("journal", root=fake_root, json=True).data["runs"]
    assert (run_dir(fake_root, run["run_id"]) / "journal.jsonl").read_bytes() == b""
    shown = cli("journal", "show", run["run_id"], root=fake_root, json=True)
    assert (shown.code, shown.data["records"]) == (0, [])


def test_a_half_converted_host_without_its_journal_is_refused_with_what_to_do(
    cli, fake_root, snapshot
):
    run_id = convert(cli, fake_root)
    # The run directory is lost after usermod, groupmod and part of the files: put the group
    # back to its old number by hand, as groupmod had not run yet, and lose the journal.
    group = fake_root / "etc/group"
    group.write_text(group.read_text().replace("libvirt-qemu:x:64055:", "libvirt-qemu:x:114:"))
    for path in sorted((fake_root / os.fsdecode(STATE) / "runs" / run_id).iterdir()):
        path.unlink()
    (fake_root / os.fsdecode(STATE) / "runs" / run_id).rmdir()
    before = snapshot(fake_root)
    survey = cli("survey", root=fake_root, json=True)
    assert "half-converted" in [b["code"] for b in survey.data["blockers"]]
    result = cli("convert", root=fake_root, json=True)
    assert result.code == 3, result
    [blocker] = [b for b in result.data["error"]["blockers"] if b["code"] == "half-converted"]
    assert "no journal" in blocker["message"] and "repair --from-uid OLD" in blocker["message"]
    assert snapshot(fake_root) == before


# -- the order of runs ---------------------------------------------------------------------------


def test_runs_sort_by_sequence_not_by_their_one_second_stamp(tmp_path, mocker):
    store = Store(HostRoot.open(str(tmp_path)))
    # Two runs in one second: their IDs then sort by kind name, "convert" before "repair".
    mocker.patch("time.gmtime", return_value=time.gmtime(1_800_000_000))
    with store.locked():
        for kind in (RunKind.REPAIR, RunKind.CONVERT):
            with store.run(kind, {}) as journal:
                journal.set_state(RunState.COMPLETE)
    runs = store.runs()
    assert [run.kind for run in runs] == [RunKind.REPAIR, RunKind.CONVERT]
    assert [run.sequence for run in runs] == [1, 2]
    assert sorted(run.run_id for run in runs) != [run.run_id for run in runs]


# -- the lock and the state directory ------------------------------------------------------------


def test_the_lock_is_never_opened_through_a_symlink(cli, fake_root, tmp_path, snapshot):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    state = fake_root / os.fsdecode(STATE)
    state.mkdir(parents=True)
    (state / "lock").symlink_to(victim)
    before = snapshot(fake_root)
    result = cli("convert", root=fake_root, json=True)
    assert result.code == 1, result
    assert result.data["error"]["code"] == "journal"
    assert str(state / "lock") in result.data["error"]["message"]
    assert victim.read_text() == "precious\n" and snapshot(fake_root) == before


@pytest.mark.parametrize(
    ("broken", "exits"),
    [
        # Listing runs needs no lock; convert and rollback do.
        ("lock", {"convert": 1, "rollback": 1}),
        ("runs", {"convert": 1, "rollback": 1, "journal": 1}),
    ],
    ids=["lock-is-a-directory", "runs-is-a-file"],
)
def test_a_broken_state_directory_is_a_clear_json_error(cli, fake_root, snapshot, broken, exits):
    state = fake_root / os.fsdecode(STATE)
    state.mkdir(parents=True)
    if broken == "lock":
        (state / "lock").mkdir()
    else:
        (state / "runs").write_text("")
    lock = STATE + b"/lock"  # made by the first command that takes it
    before = snapshot(fake_root, exclude=[lock])
    for command, code in exits.items():
        result = cli(command, root=fake_root, json=True)
        assert result.code == code, (command, result)
        error = result.data["error"]
        named = [b["message"] for b in error.get("blockers", [])] + [error["message"]]
        assert any(str(state / broken) in text for text in named), result
    assert snapshot(fake_root, exclude=[lock]) == before


def _in_a_mount_namespace(mount: str) -> list[str]:
    """A wrapper for run_cli: ``mount`` (with $STATE) first, then the command, privately."""
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", f'{mount} && exec "$@"', "sh"]


@pytest.mark.parametrize(
    ("mount", "why"),
    [
        ('mount --bind "$STATE" "$STATE" && mount -o remount,bind,ro "$STATE"', "Read-only"),
        (
            'mount -t tmpfs -o size=64k tmpfs "$STATE" && '
            'dd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null; true',
            "No space left",
        ),
    ],
    ids=["read-only", "full"],
)
def test_a_read_only_or_full_state_directory_refuses_before_any_change(  # noqa: PLR0917
    cli, fake_root, snapshot, monkeypatch, mount, why
):
    state = fake_root / os.fsdecode(STATE)
    state.mkdir(parents=True)
    monkeypatch.setenv("STATE", str(state))
    before, account_text = snapshot(fake_root, exclude=[STATE]), accounts(fake_root)
    result = cli("convert", root=fake_root, json=True, wrapper=_in_a_mount_namespace(mount))
    assert result.code == 1, result
    assert result.data["error"]["code"] == "journal"
    assert why in result.data["error"]["message"], result.data["error"]["message"]
    assert snapshot(fake_root, exclude=[STATE]) == before
    assert accounts(fake_root) == account_text


def test_a_locked_out_run_names_a_holder_that_has_not_written_its_pid_yet(tmp_path):
    store = Store(HostRoot.open(str(tmp_path)))
    os.makedirs(store.base)
    holder = os.open(store.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # taken, PID not written yet
        late = threading.Timer(0.2, os.pwrite, (holder, b"4242\n", 0))
        late.start()
        with pytest.raises(LockHeld) as refused, store.locked():
            pass
        late.join()
    finally:
        os.close(holder)
    assert refused.value.details["pid"] == 4242
    assert "PID 4242" in refused.value.message


# -- orphans -------------------------------------------------------------------------------------


def test_an_old_number_with_a_name_again_is_never_remapped_as_an_orphan(cli, fake_root):
    convert(cli, fake_root)
    passwd = fake_root / "etc/passwd"
    passwd.write_text(passwd.read_text() + "newcomer:x:109:100::/nonexistent:/usr/sbin/nologin\n")
    theirs = fake_root / IMAGES / "theirs.img"
    theirs.write_bytes(b"")
    os.chown(theirs, 109, 114)  # UID 109 is newcomer's now; GID 114 still has no name
    result = cli("repair", "--orphans", root=fake_root, json=True)
    assert result.code == 0, result
    assert owner(theirs) == (109, 64055)


# -- rollback without traps ----------------------------------------------------------------------


def test_bare_rollback_refuses_when_a_later_run_changed_files_and_lists_them(
    cli, fake_root, snapshot
):
    convert_id = convert(cli, fake_root)
    extra = fake_root / "srv/extra"
    extra.mkdir(parents=True)
    (extra / "f").write_bytes(b"")
    os.chown(extra / "f", 4242, 4242)
    args = ["--from-uid", "4242", "--from-gid", "4242", "--to-uid", "4343", "--to-gid", "4343"]
    repair = cli("repair", *args, str(extra), root=fake_root, json=True)
    before = snapshot(fake_root)
    bare = cli("rollback", root=fake_root, json=True)
    assert bare.code == 2, bare
    listed = [c["run_id"] for c in bare.data["error"]["candidates"]]
    assert listed == [repair.data["run_id"], convert_id]  # newest first
    assert snapshot(fake_root) == before and owner(extra / "f") == (4343, 4343)


def test_bare_rollback_passes_over_runs_that_changed_nothing(cli, fake_root, snapshot):
    before = snapshot(fake_root, exclude=[STATE, b"etc"])
    convert_id = convert(cli, fake_root)
    images = str(fake_root / IMAGES)
    assert (
        cli("repair", "--from-uid", "4711", "--from-gid", "4711", images, root=fake_root).code == 0
    )
    result = cli("rollback", root=fake_root, json=True)
    assert (result.code, result.data["run_id"]) == (0, convert_id), result
    assert snapshot(fake_root, exclude=[STATE, b"etc"]) == before


def test_rollback_dry_run_lists_exactly_what_would_be_restored(cli, fake_root, snapshot):
    run_id = convert(cli, fake_root)
    converted, account_text = snapshot(fake_root), accounts(fake_root)
    journaled = [
        r["path"]
        for r in cli("journal", "show", run_id, root=fake_root, json=True).data["records"]
        if r["op"] == "entry"
    ]
    dry = cli("rollback", "--dry-run", root=fake_root, json=True)
    assert dry.code == 0, dry
    assert (dry.data["status"], dry.data["dry_run"], dry.data["run_id"]) == (
        "would-roll-back",
        True,
        run_id,
    )
    assert [c["path"] for c in dry.data["changes"]] == journaled
    assert all(c["after"]["uid"] in (0, 109) for c in dry.data["changes"])
    assert dry.data["accounts"] == [
        "group libvirt-qemu: 64055 -> 114",
        "user libvirt-qemu: 64055 -> 109",
    ]
    assert snapshot(fake_root) == converted and accounts(fake_root) == account_text
    human = cli("rollback", "--dry-run", root=fake_root)
    assert "would restore" in human.out and "nothing was changed" in human.out
    done = cli("rollback", root=fake_root, json=True)
    assert (done.data["restored"], done.data["accounts"]) == (
        dry.data["restored"],
        dry.data["accounts"],
    )


# -- resume --------------------------------------------------------------------------------------


def test_survey_names_an_interrupted_run_and_convert_resume_takes_its_parameters(cli, fake_root):
    extra = fake_root / "srv/extra"
    extra.mkdir(parents=True)
    (extra / "f").write_bytes(b"")
    os.chown(extra / "f", 109, 114)
    run_id = convert(cli, fake_root, "--uid", "64056", "--gid", "64056", "--path", str(extra))
    interrupt(fake_root, run_id)
    survey = cli("survey", "--uid", "64056", "--gid", "64056", root=fake_root, json=True)
    [blocker] = [b for b in survey.data["blockers"] if b["code"] == "run-interrupted"]
    assert blocker["command"] == f"libvirt-static-ids --root {fake_root} convert --resume"
    assert run_id in blocker["message"]
    assert cli("convert", root=fake_root, json=True).code == 4  # other parameters: refused
    mixed = cli("convert", "--resume", "--path", str(extra), root=fake_root, json=True)
    assert mixed.code == 2 and mixed.data["error"]["option"] == "--resume"
    resumed = cli("convert", "--resume", root=fake_root, json=True)
    assert resumed.code == 0, resumed
    assert (resumed.data["run_id"], resumed.data["resumed"]) == (run_id, True)
    assert resumed.data["survey"]["target"] == {"uid": 64056, "gid": 64056}
    assert owner(extra / "f") == (64056, 64056)
    nothing = cli("convert", "--resume", root=fake_root, json=True)
    assert nothing.code == 2 and "no interrupted convert run" in nothing.data["error"]["message"]


def test_the_first_run_makes_its_directories_durably(tmp_path, mocker):
    """A power loss after a host's first change must not take the state directory with the
    journal in it: each directory the first run makes is fsynced into its parent (the leaf
    0700, the others as makedirs leaves them); a later run makes none and syncs no parent."""
    from libvirt_static_ids.journal import store as store_module

    synced = mocker.spy(store_module, "_fsync_dir")
    store = Store(HostRoot(str(tmp_path)))
    state = Path(store.base)
    made = [p for p in (state, *state.parents) if p != tmp_path and tmp_path in p.parents]
    with store.locked(), store.run(RunKind.REPAIR, {}):
        pass
    first = {Path(call.args[0]) for call in synced.call_args_list}
    assert {p.parent for p in made} | {state} <= first  # runs/ is made in the state dir
    assert state.stat().st_mode & 0o777 == 0o700
    synced.reset_mock()
    with store.locked(), store.run(RunKind.REPAIR, {}):
        pass
    again = {Path(call.args[0]) for call in synced.call_args_list}
    assert not again & ({p.parent for p in made} | {state})
