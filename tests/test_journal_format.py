# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The journal's format: runs written by 0.1.0 still roll back, newer formats are refused,
every record kind decodes to exactly what was encoded, and the decoder agrees with the
shipped JSON Schema; the run lifecycle keeps nested runs live and a crashed one resumable."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import libvirt_static_ids
from libvirt_static_ids.errors import InterruptedRunExists, JournalError
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal import records
from libvirt_static_ids.journal.records import (
    AccountKind,
    AccountRecord,
    DowntimeRecord,
    DowntimeStep,
    EntryRecord,
    EvacuationRecord,
    EvacuationStep,
    HostStep,
    StepRecord,
    TimerRecord,
)
from libvirt_static_ids.journal.runs import FORMAT, RunKind, RunState
from libvirt_static_ids.journal.store import Store
from treegen import differences

TESTS = Path(__file__).resolve().parent
FIXTURE = TESTS / "fixtures" / "journal-0.1.0"
FIXTURE_RUN = "20261201T203427Z-convert-4c4837"
SCHEMA_PATH = Path(libvirt_static_ids.__file__).parent / "schemas" / "journal.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text())

# The 0.1.0 journal names absolute paths under /mnt/host: the fixture is unpacked there, on a
# tmpfs in a private mount namespace, so nothing outside the test sees it. Its entries' device
# and inode numbers are then those of the unpacked files (journal_state.py says why).
_UNPACK_AND_ROLL_BACK = r"""
set -e
mount -t tmpfs tmpfs /mnt
tar -C /mnt --numeric-owner --xattrs --xattrs-include='*' --acls -xzf "$1"
journal=$(echo /mnt/host/var/lib/libvirt-static-ids/runs/*/journal.jsonl)
cp "$journal" "$3/journal.jsonl"
"$2" "$4/journal_state.py" relocate "$journal"
"$2" -m libvirt_static_ids --root /mnt/host --json journal > "$3/journal.json"
"$2" -m libvirt_static_ids --root /mnt/host --json rollback > "$3/rollback.json"
"$2" "$4/journal_state.py" state /mnt/host > "$3/after.txt"
"""


def _roll_back_fixture(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            _UNPACK_AND_ROLL_BACK,
            "sh",
            str(FIXTURE / "host-after-convert.tar.gz"),
            sys.executable,
            str(out),
            str(TESTS),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(TESTS)},
    )


def test_a_run_written_by_0_1_0_rolls_back_exactly(tmp_path):
    done = _roll_back_fixture(tmp_path)
    assert done.returncode == 0, done.stderr
    [run] = json.loads((tmp_path / "journal.json").read_text())["runs"]
    assert (run["run_id"], run["kind"], run["state"]) == (FIXTURE_RUN, "convert", "complete")
    rollback = json.loads((tmp_path / "rollback.json").read_text())
    assert rollback["status"] == "rolled-back" and rollback["restored"] == 7, rollback
    before = ast.literal_eval((FIXTURE / "before.txt").read_text())
    after = ast.literal_eval((tmp_path / "after.txt").read_text())
    assert after["accounts"] == before["accounts"]
    assert after["entries"] == before["entries"], differences(after["entries"], before["entries"])
    # The fixture really is 0.1.0's: no format field, and every record decodes.
    lines = (tmp_path / "journal.jsonl").read_bytes().splitlines()
    kinds = [type(records.decode(json.loads(line), "fixture")) for line in lines]
    assert kinds.count(AccountRecord) == 2 and kinds.count(EntryRecord) == 7


def _future_run(root: Path, *, fmt: object) -> Path:
    store = Store(HostRoot.open(str(root)))
    with store.locked(), store.run(RunKind.REPAIR, {"paths": []}) as journal:
        journal.set_state(RunState.COMPLETE)
    meta_path = Path(journal.directory) / "run.json"
    meta = json.loads(meta_path.read_text())
    meta["format"] = fmt
    meta_path.write_text(json.dumps(meta))
    return meta_path


@pytest.mark.parametrize("argv", [["rollback"], ["journal"], ["convert"], ["repair", "--orphans"]])
def test_a_run_of_a_newer_format_is_refused_not_misread(cli, fake_root, snapshot, argv):
    meta = _future_run(fake_root, fmt=FORMAT + 1)
    before = snapshot(fake_root)
    result = cli(*argv, root=fake_root, json=True)
    assert result.code == 2, result
    error = result.data["error"]
    assert error["code"] == "journal-format" and error["format"] == FORMAT + 1
    assert (
        f"journal format {FORMAT + 1}" in error["message"] and meta.parent.name in error["message"]
    )
    assert snapshot(fake_root) == before


def test_a_run_json_of_a_bad_format_value_is_a_journal_error(cli, fake_root):
    _future_run(fake_root, fmt="2")
    result = cli("journal", root=fake_root, json=True)
    assert result.code == 1 and result.data["error"]["code"] == "journal"
    assert "run.json is not valid (format" in result.data["error"]["message"]


def test_runs_carry_the_format_and_validate_against_the_shipped_schema(cli, fake_root):
    run_id = cli("convert", root=fake_root, json=True).data["run_id"]
    run_dir = fake_root / "var/lib/libvirt-static-ids/runs" / run_id
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["format"] == FORMAT
    for name, definition in (("run.json", "run"), ("state.json", "state")):
        _schema_validator(definition).validate(json.loads((run_dir / name).read_text()))
    for line in (run_dir / "journal.jsonl").read_bytes().splitlines():
        _schema_validator("record").validate(json.loads(line))


# -- records -------------------------------------------------------------------------------------

STATE = {"uid": 109, "gid": 114, "mode": 0o100600}
GOOD = [
    EntryRecord("/var/lib/libvirt/images/a", 64769, 12, STATE, {**STATE, "uid": 64055}),
    EntryRecord(
        "/srv/\udcff", 1 << 63, 1 << 40, {**STATE, "xattrs": {"user.x": "YQ=="}}, STATE, "acl"
    ),
    AccountRecord(AccountKind.USER, "libvirt-qemu", 109, 64055),
    AccountRecord(AccountKind.GROUP, "libvirt-qemu", 114, 64055),
    StepRecord(HostStep.RESTART_LIBVIRTD),
    DowntimeRecord(DowntimeStep.STOP, "vm1", "u-1", how="suspend", images=("/i/a",)),
    DowntimeRecord(DowntimeStep.START_FAILED, "vm1", "u-1", message="no"),
    DowntimeRecord(DowntimeStep.STARTED, "vm1", "u-1"),
    TimerRecord(("systemd-run", "--on-active=60")),
    EvacuationRecord(EvacuationStep.BRIDGE_OPEN, "vm1", "20260101T000000Z-bridge-abcdef"),
    EvacuationRecord(EvacuationStep.DONE, "vm1"),
]
BAD = [
    42,
    None,
    [],
    {},
    {"op": "entry"},
    {"op": "nonsense"},
    {"op": "account", "kind": "user", "name": "x", "old": 1},
    {"op": "account", "kind": "alien", "name": "x", "old": 1, "new": 2},
    {"op": "account", "kind": "user", "name": "x", "old": -1, "new": 2},
    {"op": "account", "kind": "user", "name": "x", "old": True, "new": 2},
    {"op": "account", "kind": "user", "name": "x", "old": 1, "new": 1 << 32},
    {"op": "account", "kind": "user", "name": 7, "old": 1, "new": 2},
    {"op": "account", "kind": "user", "name": "x", "old": 1, "new": 2, "extra": 1},
    {"op": "step", "name": "reboot"},
    {"op": "entry", "path": "/a", "dev": 1, "ino": 2, "before": STATE, "after": {"uid": 1}},
    {"op": "entry", "path": "/a", "dev": 1, "ino": 1 << 64, "before": STATE, "after": STATE},
    {"op": "entry", "path": "/a", "dev": 1, "ino": 2, "before": STATE, "after": [1, 2]},
    {
        "op": "entry",
        "path": "/a",
        "dev": 1,
        "ino": 2,
        "before": {**STATE, "xattrs": {"user.x": "not base64!"}},
        "after": STATE,
    },
    {"op": "entry", "path": "/a", "dev": 1, "ino": 2, "before": STATE, "after": {**STATE, "x": 1}},
    {"op": "domain", "step": "exploded", "name": "vm", "uuid": "u"},
    {"op": "domain", "step": "stop", "name": "vm", "uuid": "u", "images": "/a"},
    {"op": "timer", "argv": "systemd-run"},
    {"op": "vm", "step": "migrate", "name": "vm", "bridge": 5},
]


def _schema_validator(definition: str) -> jsonschema.protocols.Validator:
    part = {**SCHEMA["$defs"][definition], "$defs": SCHEMA["$defs"]}
    return jsonschema.Draft202012Validator(part)


@pytest.mark.parametrize("record", GOOD, ids=lambda r: type(r).__name__)
def test_every_record_kind_decodes_to_what_was_encoded(record):
    data = json.loads(records.line(record))
    assert records.decode(data, "here") == record
    _schema_validator("record").validate(data)


@pytest.mark.parametrize("data", BAD, ids=repr)
def test_a_bad_record_is_refused_by_the_decoder_and_the_schema_alike(data):
    with pytest.raises(JournalError, match=r"^here: not a valid record \("):
        records.decode(data, "here")
    assert not _schema_validator("record").is_valid(data)


def test_every_record_kind_has_its_op_in_the_schema():
    """The ops are the schema's constants (test_schema_enums.py checks its enums)."""
    defs = SCHEMA["$defs"]
    ops = [
        defs[ref["$ref"].rsplit("/", 1)[1]]["properties"]["op"]["const"]
        for ref in defs["record"]["oneOf"]
    ]
    assert ops == [op.value for op in records.Op]


def test_a_bad_record_in_the_journal_names_its_line(tmp_path):
    store = Store(HostRoot.open(str(tmp_path)))
    with store.locked(), store.run(RunKind.REPAIR, {}) as journal:
        journal.record(StepRecord(HostStep.RESTART_LIBVIRTD))
    with open(Path(journal.directory) / "journal.jsonl", "ab") as handle:
        handle.write(b'{"op":"step","name":"reboot"}\n')
    with pytest.raises(JournalError, match=r"journal line 2: not a valid record \(name 'reboot'"):
        list(journal.records())


# -- the run lifecycle ---------------------------------------------------------------------------


def test_nested_runs_are_live_and_a_run_left_by_an_exception_resumes(tmp_path):
    store = Store(HostRoot.open(str(tmp_path)))
    params = {"host": "kvm1"}
    with store.locked():
        with pytest.raises(KeyboardInterrupt), store.run(RunKind.EVACUATE, params) as outer:
            with store.run(RunKind.BRIDGE, {"files": []}, resume=False) as inner:
                states = {run.run_id: run.state for run in store.runs()}
                assert states == {outer.run_id: RunState.RUNNING, inner.run_id: RunState.RUNNING}
                inner.set_state(RunState.COMPLETE)
            assert store.info(outer).state == RunState.RUNNING  # still live after the inner one
            raise KeyboardInterrupt
        # Left without an end state, as by a crash: interrupted, and only the same command
        # with the same parameters resumes it.
        assert store.interrupted() is not None
        assert store.interrupted().run_id == outer.run_id
        with pytest.raises(InterruptedRunExists), store.run(RunKind.EVACUATE, {"host": "kvm2"}):
            pass
        with store.run(RunKind.EVACUATE, params) as resumed:
            assert (resumed.run_id, resumed.resumed) == (outer.run_id, True)
            resumed.set_state(RunState.COMPLETE)
    assert [run.state for run in store.runs()] == [RunState.COMPLETE, RunState.COMPLETE]


def test_a_run_needs_the_lock(tmp_path):
    store = Store(HostRoot.open(str(tmp_path)))
    with pytest.raises(RuntimeError, match="holding the lock"), store.run(RunKind.REPAIR, {}):
        pass
