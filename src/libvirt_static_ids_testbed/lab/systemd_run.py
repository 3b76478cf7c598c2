# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``systemd-run --unit=NAME ... -- ARGV`` inside a lab host, which has no systemd.

What the tool's transient units need of systemd (host/transient_unit.py): the command runs
detached from the caller, in systemd's environment (the host's PATH, the unit's ``--setenv``;
nothing else of the caller's), and a second start of a name whose command still runs is
refused with systemd's own message. Its output goes to /run/lab/units/NAME.log, as systemd's
to the journal; the host's PID 1 (init.py) reaps it, as ``--collect`` unloads a finished
unit. The package's /usr/bin/libvirt-static-ids is this environment's entry point here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

UNITS = "/run/lab/units"
EXECUTABLE = "/usr/bin/libvirt-static-ids"


def _alive(pid_file: str) -> bool:
    try:
        with open(pid_file, encoding="ascii") as handle:
            pid = int(handle.read())
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (FileNotFoundError, ValueError):
        return False


def main(argv: Sequence[str]) -> int:
    if "--" not in argv:
        print("lab systemd-run: only 'systemd-run [OPTIONS] -- COMMAND'", file=sys.stderr)
        return 1
    options, command = argv[: argv.index("--")], list(argv[argv.index("--") + 1 :])
    name = next((o.removeprefix("--unit=") for o in options if o.startswith("--unit=")), "run-u1")
    os.makedirs(UNITS, exist_ok=True)
    pid_file = os.path.join(UNITS, f"{name}.pid")
    if _alive(pid_file):
        print(f"Failed to start transient service unit: Unit {name}.service was already "
              "loaded or has a fragment file.", file=sys.stderr)  # fmt: skip
        return 1
    if command and command[0] == EXECUTABLE and not os.path.exists(EXECUTABLE):
        command[0] = os.path.join(os.path.dirname(sys.executable), "libvirt-static-ids")
    settings = [o.removeprefix("--setenv=") for o in options if o.startswith("--setenv=")]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
    env |= dict(s.partition("=")[::2] for s in settings)
    with open(os.path.join(UNITS, f"{name}.log"), "ab") as log:
        try:
            child = subprocess.Popen(
                command, start_new_session=True, stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, env=env,
            )  # fmt: skip
        except OSError as error:  # systemd: the unit fails 203/EXEC, systemd-run does not
            log.write(f"{name}.service: 203/EXEC {command[0]}: {error.strerror}\n".encode())
            return 0
    with open(pid_file, "w", encoding="ascii") as handle:
        handle.write(str(child.pid))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
