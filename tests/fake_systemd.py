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
runs only with ``run-command`` in the state directory: in a new session, apart from the
caller, as systemd runs it (the caller's environment is inherited, which systemd would not
do: the tests' hosts need their UCR file named). Its runner's PID is in ``units/NAME.pid``,
its output in ``units/NAME.out`` and ``.err``, its exit status in ``units/NAME.rc``; then
the unit is unloaded, as ``--collect`` does.
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
    if unit.exists():
        print(
            f"Failed to start transient service unit: Unit {unit.name} was already loaded "
            "or has a fragment file.",
            file=sys.stderr,
        )
        return 1
    unit.write_text("active")
    if (_state() / "run-command").exists():
        command = argv[argv.index("--") + 1 :]
        runner = subprocess.Popen(
            [sys.executable, __file__, name, *command],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (_state() / "units" / f"{name}.pid").write_text(str(runner.pid))
    return 0


def run_unit(name: str, command: list[str]) -> None:
    """The unit's life: run the command, keep its output and exit status, unload the unit."""
    units = _state() / "units"
    with open(units / f"{name}.out", "wb") as out, open(units / f"{name}.err", "wb") as err:
        try:
            status = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, check=False
            ).returncode
        except OSError as error:  # systemd: status 203/EXEC
            err.write(f"{command[0]}: {error.strerror}\n".encode())
            status = 203
    (units / f"{name}.rc.tmp").write_text(str(status))
    (units / f"{name}.service").unlink()
    os.rename(units / f"{name}.rc.tmp", units / f"{name}.rc")


def systemctl(argv: list[str]) -> int:
    _record("systemctl", argv)
    if (_state() / "no-systemd").exists():
        print(NOT_BOOTED, file=sys.stderr)
        return 1
    if argv[:1] != ["show"]:
        print(f"fake systemctl knows only 'show', not {argv!r}", file=sys.stderr)
        return 1
    unit = _state() / "units" / argv[-1]
    if not unit.exists():
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


if __name__ == "__main__":
    run_unit(sys.argv[1], sys.argv[2:])
