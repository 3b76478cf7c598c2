# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Transient units: the exact systemd-run line, "already running?", status, refusals.

Against recording fakes of systemd-run/systemctl on PATH (tests/fake_systemd.py says why no
real systemd runs here).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import fake_systemd
from libvirt_static_ids.errors import OperationFailed, UnitRunning, UsageError
from libvirt_static_ids.host import transient_unit as tu


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "systemd"
    fake_systemd.install(tmp_path / "bin", state)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SYSTEMD_STATE", str(state))
    return state


UNIT = tu.TransientUnit(
    "libvirt-static-ids-convert",
    ("/usr/bin/libvirt-static-ids", "record", "--convert"),
    description="libvirt-static-ids: convert",
    properties={"Nice": "5"},
    environment={"LANG": "de_DE.UTF-8"},
)


def test_start_runs_systemd_run_with_exactly_this_line(systemd):
    tu.start(UNIT)
    assert fake_systemd.calls(systemd) == [
        [
            "systemd-run",
            "--unit=libvirt-static-ids-convert",
            "--description=libvirt-static-ids: convert",
            "--collect",
            "--no-block",
            "--quiet",
            "--property=Nice=5",
            "--setenv=LANG=de_DE.UTF-8",
            "--",
            "/usr/bin/libvirt-static-ids",
            "record",
            "--convert",
        ]
    ]
    assert tu.status(UNIT.name).running


def test_a_second_start_while_loaded_is_unit_running(systemd):
    tu.start(UNIT)
    with pytest.raises(UnitRunning, match=r"convert\.service is already running"):
        tu.start(UNIT)
    assert tu.is_running("libvirt-static-ids-convert.service")


def test_status_of_every_state(systemd):
    assert tu.status("nothing-here").state is tu.UnitState.MISSING
    assert not tu.is_running("nothing-here")
    (systemd / "units" / "x.service").write_text("failed exit-code")
    failed = tu.status("x")
    assert (failed.state, failed.result, failed.running) == (
        tu.UnitState.FAILED,
        "exit-code",
        False,
    )
    (systemd / "units" / "x.service").write_text("activating")
    assert tu.status("x").running
    (systemd / "units" / "x.service").write_text("active")
    assert tu.status("x").main_pid == 4242
    assert fake_systemd.calls(systemd)[-1] == [
        "systemctl",
        "show",
        "--property=LoadState,ActiveState,SubState,Result,MainPID,ExecMainStatus",
        "--",
        "x.service",
    ]


def test_an_unknown_active_state_is_refused_not_guessed():
    with pytest.raises(OperationFailed, match="unknown ActiveState 'maintenance'"):
        tu.parse_show("x", "LoadState=loaded\nActiveState=maintenance\n")


def test_without_systemd_start_and_status_fail_with_its_reason(systemd):
    (systemd / "no-systemd").touch()
    with pytest.raises(OperationFailed, match="has not been booted with systemd"):
        tu.start(UNIT)
    with pytest.raises(OperationFailed, match="has not been booted with systemd"):
        tu.status(UNIT.name)


def test_missing_systemd_run_is_operation_failed(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OperationFailed, match="systemd-run could not run"):
        tu.start(UNIT)


@pytest.mark.parametrize("name", ["", "a b", "x@y", "a/b", "é", "n" * 241])
def test_a_bad_name_names_the_value_and_runs_nothing(systemd, name):
    with pytest.raises(UsageError, match="invalid unit name"):
        tu.TransientUnit(name, ("true",), description="d")
    with pytest.raises(UsageError, match="invalid unit name"):
        tu.status(name)
    assert fake_systemd.calls(systemd) == []


def test_bad_settings_and_an_empty_command_are_refused(systemd):
    with pytest.raises(UsageError, match="has no command"):
        tu.TransientUnit("u", (), description="d")
    with pytest.raises(UsageError, match="invalid setting 'A=B'"):
        tu.TransientUnit("u", ("true",), description="d", properties={"A=B": "1"})
    with pytest.raises(UsageError, match="invalid setting 'X'"):
        tu.TransientUnit("u", ("true",), description="d", environment={"X": "1\n2"})
    assert fake_systemd.calls(systemd) == []
