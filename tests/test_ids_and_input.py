# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Bad input: exit 2, the message names the offending value, and the fake root is unchanged."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

BAD_IDS = ["0", "65534", "65535", "4294967295", "-1", "abc", "", " 64055", "64055 ", "64055\n"]
# Not plain ASCII decimal: "²" and "٣" pass str.isdigit(); int() takes "٣" and chokes on "²".
ODD_IDS = ["²", "٣", "1.5", "+5"]

# (option, argv builder): the bad value goes in one option, every other argument is valid.
ID_OPTIONS = {
    "convert --uid": ("--uid", lambda v, p: ["convert", "--uid", v]),
    "convert --gid": ("--gid", lambda v, p: ["convert", "--gid", v]),
    "repair --from-uid": (
        "--from-uid",
        lambda v, p: ["repair", "--from-uid", v, "--from-gid", "114", p],
    ),
    "repair --from-gid": (
        "--from-gid",
        lambda v, p: ["repair", "--from-uid", "109", "--from-gid", v, p],
    ),
    "repair --to-uid": (
        "--to-uid",
        lambda v, p: ["repair", "--from-uid", "109", "--from-gid", "114", "--to-uid", v, p],
    ),
    "repair --to-gid": (
        "--to-gid",
        lambda v, p: ["repair", "--from-uid", "109", "--from-gid", "114", "--to-gid", v, p],
    ),
}


def _contents(root: Path) -> dict[bytes, str]:
    """A digest of every regular file's bytes and every symlink's target."""
    found = {}
    for directory, _dirs, files in os.walk(os.fsencode(root)):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                found[path] = "-> " + os.fsdecode(os.readlink(path))
            else:
                with open(path, "rb") as handle:
                    found[path] = hashlib.sha256(handle.read()).hexdigest()
    return found


@pytest.fixture
def untouched(fake_root, snapshot):
    """Asserts, after the test, that nothing under the fake root changed at all."""
    before = (snapshot(fake_root), _contents(fake_root))
    accounts = {
        name: (fake_root / "etc" / name).read_bytes()
        for name in ("passwd", "group", "shadow", "gshadow")
    }
    yield fake_root
    assert snapshot(fake_root) == before[0]
    assert _contents(fake_root) == before[1]
    for name, text in accounts.items():
        assert (fake_root / "etc" / name).read_bytes() == text, name
    assert not (fake_root / "var/lib/libvirt-static-ids").exists()


def _names(message: str, option: str, value: str) -> bool:
    return f"{option} {value!r}" in message or (value != "" and f"{option} {value} " in message)


def _refused(cli, root, option, argv, value):
    result = cli(*argv, root=root, json=True)
    assert result.code == 2, result
    error = result.data["error"]
    assert error["code"] == "bad-input"
    assert _names(error["message"], option, value), error["message"]


@pytest.mark.parametrize("value", BAD_IDS)
@pytest.mark.parametrize("case", list(ID_OPTIONS))
def test_bad_id_is_refused_with_exit_2_and_changes_nothing(cli, untouched, case, value):
    option, argv = ID_OPTIONS[case]
    _refused(cli, untouched, option, argv(value, str(untouched / "var/lib/libvirt")), value)


@pytest.mark.parametrize("value", ODD_IDS)
def test_non_decimal_id_is_refused(cli, untouched, value):
    _refused(cli, untouched, "--uid", ["convert", "--uid", value], value)


@pytest.mark.parametrize(
    ("option", "argv"),
    [
        ("--uid", ["survey", "--uid", "65534"]),
        ("--gid", ["survey", "--gid", "0"]),
        ("--gid", ["convert", "--dry-run", "--gid", "4294967295"]),
    ],
)
def test_bad_id_is_refused_by_survey_and_dry_runs(cli, untouched, option, argv):
    _refused(cli, untouched, option, argv, argv[argv.index(option) + 1])


@pytest.mark.parametrize("value", ["0", ""])
def test_bad_id_human_message_on_stderr(cli, untouched, value):
    result = cli("convert", "--gid", value, root=untouched)
    assert result.code == 2, result
    assert result.out == ""
    assert result.err.startswith("error: ")
    assert _names(result.err, "--gid", value), result.err


@pytest.mark.parametrize("value", ["1", "4294967294"])
def test_edge_ids_are_accepted(cli, fake_root, value):
    result = cli("survey", "--uid", value, "--gid", value, root=fake_root, json=True)
    assert result.code == 0, result
    assert result.data["target"] == {"uid": int(value), "gid": int(value)}


def test_missing_root_is_exit_2(cli, tmp_path):
    missing = tmp_path / "no-such-root"
    for argv in (["survey"], ["convert"], ["journal"], ["rollback"]):
        result = cli(*argv, root=missing, json=True)
        assert result.code == 2, result
        assert str(missing) in result.data["error"]["message"]
        assert not missing.exists()
    result = cli("survey", root=missing)
    assert result.code == 2
    assert str(missing) in result.err


def test_root_that_is_a_file_is_exit_2(cli, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a directory\n")
    result = cli("survey", root=afile, json=True)
    assert result.code == 2, result
    assert str(afile) in result.data["error"]["message"]


def test_missing_repair_path_is_exit_2(cli, untouched):
    missing = str(untouched / "srv/no-such-images")
    existing = str(untouched / "var/lib/libvirt")
    result = cli(
        "repair", "--from-uid", "109", "--from-gid", "114", existing, missing,
        root=untouched, json=True,
    )  # fmt: skip
    assert result.code == 2, result
    assert missing in result.data["error"]["message"]


def test_missing_orphans_path_is_exit_2(cli, untouched):
    missing = str(untouched / "srv/gone")
    result = cli("repair", "--orphans", missing, root=untouched, json=True)
    assert result.code == 2, result
    assert missing in result.data["error"]["message"]


def test_missing_convert_path_is_exit_2(cli, untouched):
    missing = str(untouched / "srv/gone")
    for argv in (["convert", "--path", missing], ["convert", "--dry-run", "--path", missing]):
        result = cli(*argv, root=untouched, json=True)
        assert result.code == 2, result
        assert missing in result.data["error"]["message"]


def test_repair_without_numbers_or_paths_is_exit_2(cli, untouched):
    images = str(untouched / "var/lib/libvirt")
    for argv in (
        ["repair", images],
        ["repair", "--from-uid", "109", images],
        ["repair", "--from-uid", "109", "--from-gid", "114"],
        ["repair", "--orphans", "--from-uid", "109", images],
        ["frobnicate"],
        ["convert", "--no-such-option"],
    ):
        result = cli(*argv, root=untouched, json=True)
        assert result.code == 2, (argv, result)


@pytest.mark.parametrize(
    "run_id",
    [
        "../../../../etc",
        "20260101T000000Z-convert-ABCDEF",
        "20260101T000000Z-convert-abcdef/..",
        "",
    ],
)
def test_journal_show_malformed_run_id_is_exit_2(cli, untouched, run_id):
    result = cli("journal", "show", run_id, root=untouched, json=True)
    assert result.code == 2, result
    if run_id:
        assert repr(run_id) in result.data["error"]["message"]


def test_journal_show_unknown_run_id_is_exit_2(cli, untouched):
    run_id = "20260101T000000Z-convert-abcdef"
    result = cli("journal", "show", run_id, root=untouched, json=True)
    assert result.code == 2, result
    assert run_id in result.data["error"]["message"]
    result = cli("journal", "show", run_id, root=untouched)
    assert result.code == 2
    assert run_id in result.err


def test_rollback_malformed_or_unknown_run_id_is_exit_2(cli, fake_root, snapshot):
    before = snapshot(fake_root, exclude=[b"var/lib/libvirt-static-ids"])
    for run_id in ("../x", "20260101T000000Z-convert-abcdef"):
        result = cli("rollback", run_id, root=fake_root, json=True)
        assert result.code == 2, result
        assert run_id in result.data["error"]["message"]
    assert snapshot(fake_root, exclude=[b"var/lib/libvirt-static-ids"]) == before
