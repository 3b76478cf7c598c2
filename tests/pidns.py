# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Run a command alone: in a PID namespace of its own, with its own /proc.

The host engine's busy check reads /proc (as it must on a real host), so on a shared machine
any unrelated process running as 109, 64055 or a test UID would fail the tests. Under
``python tests/pidns.py COMMAND...`` the command sees only its own processes.

The script starts ``unshare --pid --fork --mount-proc`` running itself again, as PID 1 of the
new namespace. PID 1 has duties a plain command there would not fulfil: the kernel delivers it
only signals it handles (``kill`` of a pytest that is PID 1 would be lost), and every orphan
becomes its child. So PID 1 starts the command as its child, reaps every child, and exits with
the command's status; outside, the first process passes SIGTERM, SIGHUP and SIGQUIT on to PID
1, which passes them on to the command. SIGINT is not passed on: Ctrl-C signals the whole
foreground process group, the command included, which must see it once. When PID 1 exits, the
kernel kills whatever is left in the namespace; a SIGKILL of the first process reaches PID 1
too. Nothing outlives the run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

_FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_SCRIPT = os.path.abspath(__file__)


def alone() -> bool:
    """True when this process runs under this script's PID 1, with the namespace's own /proc."""
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            init = handle.read().split(b"\0")
        own_proc = os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False
    return own_proc and os.fsencode(_SCRIPT) in init


def exec_alone(command: Sequence[str]) -> None:
    """Replace this process by this script running ``command`` alone (never returns)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, _SCRIPT, *command])  # noqa: S606 - no shell wanted


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:  # it has just ended
        return []


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _outside(command: Sequence[str]) -> int:
    """Start ``unshare`` and this script as PID 1 in the new namespace; pass signals on to it.

    ``unshare`` itself ignores SIGTERM; a SIGKILL of this process kills ``unshare`` (parent
    death signal), which kills PID 1 (``--kill-child``), which ends the namespace.
    """
    unshare = subprocess.Popen(
        [
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child",
            sys.executable,
            _SCRIPT,
            *command,
        ],
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - single-threaded here
    )

    def forward(signum: int, _frame: object) -> None:
        targets = _children(unshare.pid)
        if not targets:  # no PID 1 (yet) to pass it to: end the namespace outright
            targets, signum = [unshare.pid], signal.SIGKILL
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    _handle_signals(forward)
    return _exit_code(unshare.wait())


def _handle_signals(forward: Callable[[int, object], None]) -> None:
    for signum in _FORWARDED:
        signal.signal(signum, forward)
    # A handler that does nothing (not SIG_IGN, which children would inherit).
    signal.signal(signal.SIGINT, lambda _signum, _frame: None)


def _exit_code(code: int) -> int:
    """A shell's exit code: 128 + N for death by signal N."""
    return 128 - code if code < 0 else code


def _init(command: Sequence[str]) -> int:
    """PID 1: start ``command``, forward signals to it, reap everything, return its status."""
    child = 0

    def forward(signum: int, _frame: object) -> None:
        if child:
            with contextlib.suppress(ProcessLookupError):  # it has just ended
                os.kill(child, signum)

    _handle_signals(forward)
    child = os.fork()
    if child == 0:
        try:
            os.execvp(command[0], list(command))  # noqa: S606 - no shell wanted
        except OSError as error:
            print(f"pidns.py: {command[0]}: {error.strerror}", file=sys.stderr)
        os._exit(127)
    while True:
        pid, status = os.wait()
        if pid == child:
            return _exit_code(os.waitstatus_to_exitcode(status))


def main(argv: Sequence[str]) -> int:
    if not argv:
        print("usage: pidns.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    return _init(argv) if os.getpid() == 1 else _outside(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
