# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Recording fakes of ``systemd-run`` and ``systemctl show``, put first on PATH by tests.

This machine's PID 1 is not systemd (no /run/systemd/system) and a private ``systemd --user``
needs a user session bus, so no real systemd can run transient units here. The fakes keep
systemd's observable contract for what the core uses: each call's argv is appended to
``calls.jsonl``; a unit is "loaded" while ``units/NAME.service`` exists (its text is the
ActiveState, optionally followed by the Result); starting a loaded name fails with systemd's
own message; a name that is not loaded shows ``LoadState=not-found``. With ``no-systemd`` in
the state directory both fail as on a host not booted with systemd. A started unit's command
runs only with ``run-command`` in the state directory: detached, as systemd runs it, with the
``--setenv`` variables added to the caller's environment, its output in ``units/NAME.log``,
its PID in ``units/NAME.pid``; once that process has ended the unit is gone, as
``--collect`` makes systemd unload it. A command that cannot be executed fails the unit (its
log says 203/EXEC), not systemd-run, as with ``--no-block``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

NOT_BOOTED = "System has not been booted with systemd as init system (PID 1). Can't operate."


def _state() -> Path:
    return Path(os.environ["FAKE_SYSTEMD_STATE"])


def _record(program: str, argv: list[str]) -> None:
    with open(_state() / "calls.jsonl", "a") as log:
        log.write(json.dumps([program, *argv]) + "\n")


def systemd_run(argv: list[str]) -> int:
    _record("systemd-run", argv)
    if (_state() / "no-systemd").exists():
        print(NOT_BOOTED, file=sys.stderr)
        return 1
    name = next((a.removeprefix("--unit=") for a in argv if a.startswith("--unit=")), "run-u1")
    unit = _state() / "units" / f"{name}.service"
    if unit.exists() and not _collected(unit):
        print(
            f"Failed to start transient service unit: Unit {unit.name} was already loaded "
            "or has a fragment file.",
            file=sys.stderr,
        )
        return 1
    unit.write_text("active")
    if (_state() / "run-command").exists():
        command = argv[argv.index("--") + 1 :]
        options = argv[: argv.index("--")]
        settings = [a.removeprefix("--setenv=") for a in options if a.startswith("--setenv=")]
        # Its output goes to a log, as systemd's to the journal: never to systemd-run's
        # caller, who would otherwise wait on the pipe for as long as the unit runs.
        with open(_state() / "units" / f"{name}.log", "ab") as log:
            try:
                child = subprocess.Popen(
                    command,
                    start_new_session=True,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env={**os.environ, **dict(s.partition("=")[::2] for s in settings)},
                )
            except OSError as error:
                # systemd: the unit fails with status 203/EXEC; systemd-run --no-block does not.
                log.write(f"{name}.service: 203/EXEC {command[0]}: {error.strerror}\n".encode())
                unit.unlink()
                return 0
        (_state() / "units" / f"{name}.pid").write_text(str(child.pid))
    return 0


def _collected(unit: Path) -> bool:
    """``--collect``: a unit whose command ran and ended is unloaded (its name is free)."""
    pid_file = unit.with_suffix(".pid")
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            ended = stat_file.read().rpartition(")")[2].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while read (ESRCH)
        ended = True
    if ended:
        unit.unlink(missing_ok=True)
        pid_file.unlink(missing_ok=True)
    return ended


def systemctl(argv: list[str]) -> int:
    _record("systemctl", argv)
    if (_state() / "no-systemd").exists():
        print(NOT_BOOTED, file=sys.stderr)
        return 1
    if argv[:1] != ["show"]:
        print(f"fake systemctl knows only 'show', not {argv!r}", file=sys.stderr)
        return 1
    unit = _state() / "units" / argv[-1]
    if not unit.exists() or _collected(unit):
        print("LoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success")
        print("MainPID=0\nExecMainStatus=0")
        return 0
    state, _, result = unit.read_text().partition(" ")
    print(f"LoadState=loaded\nActiveState={state}\nSubState=running\nResult={result or 'success'}")
    print("MainPID=4242\nExecMainStatus=0")
    return 0


def install(bin_dir: Path, state: Path) -> None:
    """Write ``systemd-run`` and ``systemctl`` into ``bin_dir`` (to be put first on PATH)."""
    (state / "units").mkdir(parents=True, exist_ok=True)
    bin_dir.mkdir(parents=True, exist_ok=True)
    here = str(Path(__file__).parent)
    for program in ("systemd-run", "systemctl"):
        path = bin_dir / program
        path.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {here!r})\nimport fake_systemd\n"
            f"sys.exit(fake_systemd.{program.replace('-', '_')}(sys.argv[1:]))\n"
        )
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def calls(state: Path) -> list[list[str]]:
    log = state / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
