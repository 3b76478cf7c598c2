# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Shared fixtures: fake host roots, the real CLI as a subprocess, metadata snapshots, and real
processes running as a given UID.

Fixture names are a contract other test files rely on (they import nothing from here):

- ``fake_root``      a simulated dynamic host (libvirt-qemu 109, group 114, kvm 106) in a temp
                     directory; a ``pathlib.Path``.
- ``make_root``      ``make_root(SimulatedHost(...), name="root")`` builds another one.
- ``cli``            ``cli(*args, root=PATH, json=False, cwd=None, wrapper=())`` runs the
                     installed command with ``--root PATH`` (``--json`` too if ``json``) and
                     returns ``CliResult(code, out, err)`` (a 3-tuple); ``result.data`` is the
                     parsed ``--json`` output. Every ``--json`` output is validated against the
                     JSON Schema shipped in the package; a traceback on stderr fails the test.
- ``snapshot``       ``snapshot(tree, exclude=())`` -> {relative bytes path: Entry(uid, gid, mode,
                     xattrs)}, xattrs including ``system.posix_acl_*``, symlinks not followed.
- ``testbed``        a started ``libvirt_static_ids_testbed.Testbed`` (throwaway slapd with our
                     schema and ACL); ended by PID at teardown, and checked to be gone.
- ``walk_path``      parametrized: every test using it runs twice, with the walk listing xattrs
                     by ``listxattrat`` and by the pre-6.13 fallback
                     (``LIBVIRT_STATIC_IDS_WALK=fallback``, inherited by the CLI's process).
- ``process_as``     ``process_as(uid, gid)`` starts ``setpriv ... sleep 300`` as that identity,
                     waits until /proc shows it, returns its PID; killed by PID at teardown
                     (or earlier with ``process_as.stop(pid)``).
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import cli_support
import pidns
from cli_support import CliResult
from libvirt_static_ids_testbed import simulated

STATE_DIR = b"var/lib/libvirt-static-ids"


def pytest_configure(config: pytest.Config) -> None:
    """Run alone (see tests/pidns.py): a plain ``pytest`` re-runs itself in its own PID
    namespace, so unrelated processes on this machine cannot fail the busy-process checks."""
    if not pidns.alone():
        pidns.exec_alone([sys.executable, "-m", "pytest", *config.invocation_params.args])


# --- the CLI -----------------------------------------------------------------------------------


def run_cli(
    *args: str | os.PathLike[str] | bytes,
    root: str | os.PathLike[str] | bytes,
    json: bool = False,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 120,
    wrapper: Sequence[str] = (),
) -> CliResult:
    """``cli_support.run`` with ``--root`` required: the tests never touch the real /."""
    if root is None:
        raise ValueError("always pass root=: the tests never touch the real /")
    return cli_support.run(*args, root=root, json=json, cwd=cwd, timeout=timeout, wrapper=wrapper)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return run_cli


# --- the walk's two ways of listing xattrs ---------------------------------------------------


@pytest.fixture(params=["listxattrat", "fallback"])
def walk_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """UCS 5.2's kernel (6.1) has no listxattrat: its fallback must pass every test too."""
    if request.param == "fallback":
        monkeypatch.setenv("LIBVIRT_STATIC_IDS_WALK", "fallback")
    else:
        monkeypatch.delenv("LIBVIRT_STATIC_IDS_WALK", raising=False)
    return str(request.param)


# --- fake roots --------------------------------------------------------------------------------


@pytest.fixture
def make_root(tmp_path: Path) -> Callable[..., Path]:
    def make(host: simulated.SimulatedHost | None = None, name: str = "root") -> Path:
        root = tmp_path / name
        root.mkdir()
        simulated.build(str(root), host)
        return root

    return make


@pytest.fixture
def fake_root(make_root: Callable[..., Path]) -> Path:
    """A simulated dynamic host: libvirt-qemu 109, group libvirt-qemu 114, kvm 106."""
    return make_root()


# --- snapshots ---------------------------------------------------------------------------------


class Entry(NamedTuple):
    uid: int
    gid: int
    mode: int
    xattrs: tuple[tuple[str, bytes], ...]


def _xattrs(path: bytes) -> tuple[tuple[str, bytes], ...]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as error:
        if error.errno in (errno.ENOTSUP, errno.EPERM):
            return ()
        raise
    values = []
    for name in sorted(names):
        try:
            values.append((name, os.getxattr(path, name, follow_symlinks=False)))
        except OSError as error:
            if error.errno != errno.ENODATA:
                raise
    return tuple(values)


def take_snapshot(
    tree: str | os.PathLike[str] | bytes, exclude: Iterable[bytes | str] = ()
) -> dict[bytes, Entry]:
    """Every entry under ``tree`` (itself included, as ``b"."``), symlinks never followed.

    ``exclude`` names relative paths whose entry and subtree are left out.
    """
    top = os.fsencode(tree)
    skipped = {os.fsencode(e).strip(b"/") for e in exclude}
    entries: dict[bytes, Entry] = {}

    def visit(path: bytes, relative: bytes) -> None:
        if relative in skipped:
            return
        st = os.lstat(path)
        entries[relative] = Entry(st.st_uid, st.st_gid, st.st_mode, _xattrs(path))
        if stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(path)):
                visit(
                    os.path.join(path, name), name if relative == b"." else relative + b"/" + name
                )

    visit(top, b".")
    return entries


@pytest.fixture
def snapshot() -> Callable[..., dict[bytes, Entry]]:
    return take_snapshot


# --- processes ---------------------------------------------------------------------------------


def _uids_of(pid: int) -> tuple[str, set[int]]:
    with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
        status = dict(line.split(":", 1) for line in handle if ":" in line)
    return status.get("Name", "").strip(), {int(u) for u in status.get("Uid", "").split()}


@pytest.fixture
def process_as() -> Iterable[Callable[[int, int], int]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(uid: int, gid: int) -> int:
        process = subprocess.Popen(
            ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "sleep", "300"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        deadline = time.monotonic() + 30
        while True:  # setpriv switches identity, then execs sleep: wait until it has
            if process.poll() is not None:
                pytest.fail(f"setpriv as {uid}:{gid} exited with {process.returncode}")
            name, uids = _uids_of(process.pid)
            if name == "sleep" and uids == {uid}:
                return process.pid
            if time.monotonic() > deadline:
                pytest.fail(f"setpriv did not become {uid}:{gid}")
            time.sleep(0.01)

    def stop(pid: int) -> None:
        """End one of them now (by PID) and reap it: a zombie still shows its UIDs in /proc."""
        for process in started:
            if process.pid == pid and process.poll() is None:
                os.kill(pid, signal.SIGKILL)
                process.wait()

    start.stop = stop  # type: ignore[attr-defined]
    yield start
    for process in started:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def testbed() -> Iterator[Any]:
    from libvirt_static_ids_testbed import Testbed

    bed = Testbed()
    bed.start()
    pid = bed.pid
    try:
        yield bed
    finally:
        bed.stop()
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # slapd is gone (stop() waited for it)
