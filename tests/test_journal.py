# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The journal: interrupted runs (exit 4, resume, rollback), rendering, torn and corrupt records."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
from pathlib import Path

STATE = b"var/lib/libvirt-static-ids"
EXCLUDE = [STATE, b"etc/passwd-", b"etc/group-", b"etc/shadow-", b"etc/gshadow-"]
ACCOUNT_FILES = ("passwd", "group", "shadow", "gshadow")


def accounts(root: Path) -> dict[str, bytes]:
    return {name: (root / "etc" / name).read_bytes() for name in ACCOUNT_FILES}


def owner(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def run_dir(root: Path, run_id: str) -> Path:
    return root / "var/lib/libvirt-static-ids/runs" / run_id


def set_state(root: Path, run_id: str, state: str) -> None:
    """What a kill -9 leaves behind: the stored state still says the run is active."""
    path = run_dir(root, run_id) / "state.json"
    stored = json.loads(path.read_text())
    stored["state"] = state
    path.write_text(json.dumps(stored))


def convert(cli, root: Path, *args: str) -> str:
    result = cli("convert", *args, root=root, json=True)
    assert result.code == 0, result
    return result.data["run_id"]


def journal_runs(cli, root: Path) -> list[dict]:
    result = cli("journal", root=root, json=True)
    assert result.code == 0, result
    return result.data["runs"]


def records(cli, root: Path, run_id: str) -> list[dict]:
    result = cli("journal", "show", run_id, root=root, json=True)
    assert result.code == 0, result
    return result.data["records"]


def test_an_interrupted_run_refuses_other_runs_and_convert_resumes_it(cli, fake_root, snapshot):
    run_id = convert(cli, fake_root)
    set_state(fake_root, run_id, "running")  # the lock is free: nobody is running it
    [run] = journal_runs(cli, fake_root)
    assert (run["state"], run["interrupted_while"]) == ("interrupted", "running")
    assert "interrupted" in cli("journal", root=fake_root).out
    before = snapshot(fake_root, exclude=[STATE])
    account_text = accounts(fake_root)

    images = str(fake_root / "var/lib/libvirt/images")
    refused = [
        ["repair", "--from-uid", "109", "--from-gid", "114", images],
        ["repair", "--orphans"],
        ["convert", "--uid", "64056", "--gid", "64056"],
        ["convert", "--path", images],
        ["convert", "--no-restart"],
    ]
    for argv in refused:
        result = cli(*argv, root=fake_root, json=True)
        assert result.code == 4, (argv, result)
        assert result.data["error"]["code"] == "interrupted-run"
        assert result.data["error"]["run_id"] == run_id
        assert run_id in result.data["error"]["message"]
    human = cli("repair", "--from-uid", "109", "--from-gid", "114", images, root=fake_root)
    assert human.code == 4
    assert run_id in human.err
    assert snapshot(fake_root, exclude=[STATE]) == before
    assert accounts(fake_root) == account_text
    assert [r["run_id"] for r in journal_runs(cli, fake_root)] == [run_id]

    survey = cli("survey", root=fake_root, json=True)
    assert survey.code == 0

    dry = cli("convert", "--dry-run", root=fake_root, json=True)
    assert (dry.code, dry.data["status"], dry.data["run_id"]) == (0, "would-resume", run_id)

    resumed = cli("convert", root=fake_root, json=True)
    assert resumed.code == 0, resumed
    assert resumed.data["resumed"] is True
    assert resumed.data["run_id"] == run_id
    assert [(r["run_id"], r["state"]) for r in journal_runs(cli, fake_root)] == [
        (run_id, "complete")
    ]
    assert cli("repair", "--from-uid", "109", "--from-gid", "114", images, root=fake_root).code == 0


def test_resume_finishes_journaled_work_and_rollback_undoes_everything(cli, fake_root, snapshot):
    before = snapshot(fake_root, exclude=EXCLUDE)
    account_text = accounts(fake_root)
    run_id = convert(cli, fake_root)
    # Killed after journaling the group and two entries, before making those changes:
    subprocess.run(
        ["groupmod", "--prefix", str(fake_root), "-g", "114", "libvirt-qemu"], check=True
    )
    images = fake_root / "var/lib/libvirt/images"
    os.chown(images / "web.qcow2", 109, 114)
    os.chown(images / "mail.qcow2", 64055, 114)  # half done
    set_state(fake_root, run_id, "running")

    result = cli("convert", root=fake_root, json=True)
    assert result.code == 0, result
    assert result.data["resumed"] is True
    assert owner(images / "web.qcow2") == (64055, 64055)
    assert owner(images / "mail.qcow2") == (64055, 64055)
    assert "libvirt-qemu:x:64055:" in (fake_root / "etc/group").read_text()
    survey = cli("survey", root=fake_root, json=True).data
    assert survey["verdict"] == "static"

    back = cli("rollback", root=fake_root, json=True)
    assert back.code == 0, back
    assert snapshot(fake_root, exclude=EXCLUDE) == before
    assert accounts(fake_root) == account_text


def test_resume_checks_the_blockers_again(cli, fake_root, process_as, snapshot):
    """Killed right after the run was created, before usermod: a VM started since blocks."""
    run_id = convert(cli, fake_root)
    assert cli("rollback", root=fake_root).code == 0
    set_state(fake_root, run_id, "running")
    (run_dir(fake_root, run_id) / "journal.jsonl").write_bytes(b"")
    account_text = accounts(fake_root)
    before = snapshot(fake_root, exclude=[STATE])

    pid = process_as(109, 114)
    result = cli("convert", root=fake_root, json=True)
    assert result.code == 3, result
    assert [b["pids"] for b in result.data["error"]["blockers"]] == [[pid]]
    assert accounts(fake_root) == account_text
    assert snapshot(fake_root, exclude=[STATE]) == before

    process_as.stop(pid)
    result = cli("convert", root=fake_root, json=True)
    assert result.code == 0, result
    assert (result.data["resumed"], result.data["run_id"]) == (True, run_id)
    assert "libvirt-qemu:x:64055:106:" in (fake_root / "etc/passwd").read_text()


def test_a_run_whose_lock_is_held_is_running_not_interrupted(cli, fake_root):
    run_id = convert(cli, fake_root)
    set_state(fake_root, run_id, "running")
    fd = os.open(fake_root / "var/lib/libvirt-static-ids/lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        [run] = journal_runs(cli, fake_root)
        assert run["state"] == "running"
        assert "interrupted_while" not in run
        result = cli("convert", root=fake_root, json=True)
        assert result.code == 1, result
        assert result.data["error"]["code"] == "locked"
        assert str(os.getpid()) in result.data["error"]["message"]
    finally:
        os.close(fd)
    assert journal_runs(cli, fake_root)[0]["state"] == "interrupted"


def test_rollback_of_an_interrupted_run(cli, fake_root, snapshot):
    before = snapshot(fake_root, exclude=EXCLUDE)
    account_text = accounts(fake_root)
    run_id = convert(cli, fake_root)
    os.chown(fake_root / "var/lib/libvirt/images/web.qcow2", 109, 114)  # never got there
    set_state(fake_root, run_id, "running")
    result = cli("rollback", root=fake_root, json=True)
    assert result.code == 0, result
    assert result.data["run_id"] == run_id
    assert snapshot(fake_root, exclude=EXCLUDE) == before
    assert accounts(fake_root) == account_text
    assert journal_runs(cli, fake_root)[0]["state"] == "rolled back"


def test_an_interrupted_rollback_is_finished_by_rollback(cli, fake_root, snapshot):
    before = snapshot(fake_root, exclude=EXCLUDE)
    run_id = convert(cli, fake_root)
    os.chown(fake_root / "var/lib/libvirt/images/web.qcow2", 109, 114)  # already restored
    set_state(fake_root, run_id, "rolling back")
    [run] = journal_runs(cli, fake_root)
    assert (run["state"], run["interrupted_while"]) == ("interrupted", "rolling back")
    refused = cli("convert", root=fake_root, json=True)
    assert refused.code == 4, refused
    assert f"rollback {run_id}" in refused.data["error"]["message"]
    result = cli("rollback", run_id, root=fake_root, json=True)
    assert result.code == 0, result
    assert result.data["restored"] == 6
    assert snapshot(fake_root, exclude=EXCLUDE) == before


def test_journal_show_renders_the_records(cli, fake_root):
    run_id = convert(cli, fake_root)
    data = cli("journal", "show", run_id, root=fake_root, json=True).data
    assert data["run"]["state"] == "complete"
    by_path = {
        os.path.basename(r["path"]): r for r in data["records"] if r["op"] == "entry"
    }  # fmt: skip
    mail = by_path["mail.qcow2"]
    assert (mail["before"]["uid"], mail["after"]["uid"]) == (109, 64055)
    dac = "trusted.libvirt.security.dac"
    assert base64.b64decode(mail["before"]["xattrs"][dac]) == b"+109:+114"
    assert base64.b64decode(mail["after"]["xattrs"][dac]) == b"+64055:+64055"
    assert mail["ino"] == os.lstat(fake_root / "var/lib/libvirt/images/mail.qcow2").st_ino

    human = cli("journal", "show", run_id, root=fake_root)
    assert human.code == 0
    lines = human.out.splitlines()
    assert lines[0].startswith(f"run {run_id} (convert), complete, started ")
    assert "  from_uid: 109" in lines
    assert "  summary changed: 7" in lines
    assert "    user libvirt-qemu: 109 -> 64055" in lines
    assert "    group libvirt-qemu: 114 -> 64055" in lines
    assert any(
        line.endswith("images/mail.qcow2: 109:114 -> 64055:64055; xattrs dac") for line in lines
    )
    assert any(line.endswith("images/db.qcow2: xattrs posix_acl_access") for line in lines)

    odd = fake_root / "srv/odd"
    odd.mkdir(parents=True)
    name = os.path.join(os.fsencode(odd), b"x\n\xff")
    with open(name, "wb"):
        pass
    os.chown(name, 4242, 4242)
    repair = cli(
        "repair", "--from-uid", "4242", "--from-gid", "4242", str(odd), root=fake_root, json=True
    )
    human = cli("journal", "show", repair.data["run_id"], root=fake_root)
    assert human.code == 0, human
    assert "x\\n\\xff: 4242:4242 -> 64055:64055" in human.out
    shown = records(cli, fake_root, repair.data["run_id"])
    assert [os.fsencode(r["path"]) for r in shown] == [name]


def test_no_runs(cli, fake_root):
    assert journal_runs(cli, fake_root) == []
    result = cli("journal", root=fake_root)
    assert (result.code, result.out.strip()) == (0, "no runs recorded")


def test_a_torn_last_line_is_ignored(cli, fake_root, snapshot):
    before = snapshot(fake_root, exclude=EXCLUDE)
    account_text = accounts(fake_root)
    run_id = convert(cli, fake_root)
    journal = run_dir(fake_root, run_id) / "journal.jsonl"
    complete = records(cli, fake_root, run_id)
    torn = b'{"op":"entry","path":"/etc/passwd","dev":1,"ino":2,"before":{"uid":0'
    with open(journal, "ab") as handle:
        handle.write(torn)
    assert records(cli, fake_root, run_id) == complete
    assert journal_runs(cli, fake_root)[0]["state"] == "complete"

    # Killed while appending: resume appends after the torn record, rollback still works.
    set_state(fake_root, run_id, "running")
    late = fake_root / "var/lib/libvirt/images/late.qcow2"
    with open(late, "wb"):
        pass
    os.chown(late, 109, 114)
    result = cli("convert", root=fake_root, json=True)
    assert (result.code, result.data["resumed"]) == (0, True)
    assert owner(late) == (64055, 64055)
    shown = records(cli, fake_root, run_id)
    assert shown[: len(complete)] == complete
    assert [os.path.basename(r["path"]) for r in shown[len(complete) :]] == ["late.qcow2"]

    back = cli("rollback", root=fake_root, json=True)
    assert back.code == 0, back
    assert owner(late) == (109, 114)
    assert snapshot(fake_root, exclude=[*EXCLUDE, b"var/lib/libvirt/images/late.qcow2"]) == before
    assert accounts(fake_root) == account_text


def test_a_corrupt_record_inside_the_journal_is_an_error(cli, fake_root, snapshot):
    run_id = convert(cli, fake_root)
    journal = run_dir(fake_root, run_id) / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([lines[0], b"{not json\n", *lines[1:]]))
    converted = snapshot(fake_root, exclude=[STATE])
    result = cli("journal", "show", run_id, root=fake_root, json=True)
    assert result.code == 1, result
    assert result.data["error"]["code"] == "journal"
    assert "journal line 2: not JSON" in result.data["error"]["message"]
    back = cli("rollback", root=fake_root, json=True)
    assert back.code == 1, back
    assert snapshot(fake_root, exclude=[STATE]) == converted
