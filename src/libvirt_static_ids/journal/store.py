# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Write-ahead journal of runs: every change is on disk (fsynced) before it is made.

Layout under ``<root>/var/lib/libvirt-static-ids``::

    lock                       one run at a time per root (flock; holds the PID)
    runs/<RUN_ID>/run.json     format, sequence, kind, parameters, start (written once)
    runs/<RUN_ID>/state.json   current state, replaced atomically
    runs/<RUN_ID>/journal.jsonl  one record per line, appended and fsynced before acting

A record torn by a crash can only be the last line (no newline), and what it announced was
never done: it is passed over and cut off before the next append. Any other line that does
not decode refuses the whole journal, before anything in it is replayed or undone.
The formats: ``runs.py`` (run.json, state.json) and ``records.py`` (the records).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from libvirt_static_ids.errors import InterruptedRunExists, JournalError, LockHeld, UsageError
from libvirt_static_ids.hostroot import STATE_DIR, HostRoot
from libvirt_static_ids.journal.records import Record, decode, line
from libvirt_static_ids.journal.runs import (
    ACTIVE_STATES,
    FORMAT,
    RunInfo,
    RunKind,
    RunState,
    check_meta,
    check_state,
    interrupted_message,
)

_RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[a-z]+-[0-9a-f]{6}$")
_R = TypeVar("_R", bound=Record)
_JOURNAL = "journal.jsonl"
_PID_WIDTH = 20  # the holder's PID is written in one fixed-size pwrite: never seen half-written
_PID_WAIT = 1.0  # how long a locked-out run waits for a holder that has not written it yet


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _state(state: RunState, summary: dict[str, Any]) -> dict[str, Any]:
    """What state.json holds."""
    return {"state": str(state), "time": _now(), "summary": summary}


def _failed(error: OSError, doing: str, path: str) -> JournalError:
    """A file-system error of the journal, as a message an administrator can act on."""
    return JournalError(f"{doing} {path}: {error.strerror or error}", path=path)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs_durably(path: str) -> None:
    """``os.makedirs(path, 0o700)``, each directory it makes fsynced into its parent: on a
    host's first run a power loss must not take the state directory, and with it the journal
    of changes already made. Directories that exist cost nothing."""
    missing, leaf = [], path
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):  # as makedirs: the mode is the leaf's only
        with contextlib.suppress(FileExistsError):  # made meanwhile: synced below all the same
            os.mkdir(directory, 0o700 if directory == leaf else 0o777)
        _fsync_dir(os.path.dirname(directory))


def _write_durably(path: str, data: dict[str, Any]) -> None:
    """Write a new file and fsync its data (its name is made durable by the caller)."""
    try:
        with open(path, "x", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise _failed(error, "cannot write", path) from error


def _write_atomically(path: str, data: dict[str, Any]) -> None:
    temporary = path + ".new"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_dir(os.path.dirname(path))
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _failed(error, "cannot write", path) from error


def _drop_torn_tail(fd: int) -> None:
    """Cut a record torn by a crash off the journal's end before appending to it.

    The torn record was never acted upon; left in place, the next record appended would
    merge with it into one corrupt line in the middle of the journal.
    """
    end = size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    chunk = 65536
    while end > 0:
        start = max(0, end - chunk)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    os.ftruncate(fd, end)
    os.fsync(fd)


def _remove_tree(path: str) -> None:
    """``shutil.rmtree``, errors ignored; imported only here, as its compressors slow start-up."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _remove_staging_leftovers(runs_dir: str) -> None:
    """Remove runs a kill left half-made (only ever created under the lock, so none is live)."""
    try:
        names = os.listdir(runs_dir)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith(".") and name.endswith(".new"):
            _remove_tree(os.path.join(runs_dir, name))


class Journal:
    """One run's files: its metadata, its state and its records."""

    def __init__(self, directory: str, *, resumed: bool = False) -> None:
        self.directory = directory
        self.run_id = os.path.basename(directory)
        self.resumed = resumed
        self._fd: int | None = None
        self._meta: dict[str, Any] | None = None
        self._verified_size = -1

    @property
    def _journal_path(self) -> str:
        return os.path.join(self.directory, _JOURNAL)

    def _read(self, name: str) -> object:
        try:
            with open(os.path.join(self.directory, name), encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError) as error:
            raise JournalError(f"run {self.run_id}: {name} unreadable: {error}") from error

    def meta(self) -> dict[str, Any]:
        """``run.json``, checked once (it is written once)."""
        if self._meta is None:
            self._meta = check_meta(self._read("run.json"), f"run {self.run_id}: run.json")
        return self._meta

    def stored_state(self) -> dict[str, Any]:
        return check_state(self._read("state.json"), f"run {self.run_id}: state.json")

    def set_state(self, state: RunState, **summary: Any) -> None:
        _write_atomically(os.path.join(self.directory, "state.json"), _state(state, summary))

    def record(self, record: Record) -> None:
        self.record_many([record])

    def record_many(self, batch: Iterable[Record]) -> None:
        """Append records and fsync them: only then may the changes they announce be made."""
        data = b"".join(line(record) for record in batch)
        if not data:
            return
        try:
            if self._fd is None:
                flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                self._fd = os.open(self._journal_path, flags, 0o600)
                _drop_torn_tail(self._fd)
            view = memoryview(data)
            while view:  # a short write must not leave records unjournaled
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as error:
            raise _failed(error, "cannot journal to", self._journal_path) from error

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def records(self) -> Iterator[Record]:
        """Every record, in order, once the whole journal has been checked.

        One line that does not decode refuses the journal before any record is handed out,
        so nothing is replayed or undone from a journal that cannot be read to its end.
        """
        self.verify()
        return self._decoded()

    def records_of(self, kind: type[_R]) -> Iterator[_R]:
        """The records of one kind, in order."""
        return (record for record in self.records() if isinstance(record, kind))

    def verify(self) -> None:
        """Decode every record; JournalError names the first line that does not decode."""
        size = self._size()
        if size != self._verified_size:
            for _ in self._decoded():
                pass
            self._verified_size = size

    def _size(self) -> int:
        try:
            return os.stat(self._journal_path).st_size
        except FileNotFoundError:
            return -2
        except OSError as error:
            raise _failed(error, "cannot read", self._journal_path) from error

    def _missing_is_empty(self) -> bool:
        """0.1.0 made the journal with the first record: none of a run that did nothing."""
        if "format" in self.meta():
            return False  # made with the run since format 1
        summary = self.stored_state()["summary"]
        return summary.get("changed", summary.get("migrated")) == 0

    def _decoded(self) -> Iterator[Record]:
        try:
            handle = open(self._journal_path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            if self._missing_is_empty():
                return
            raise JournalError(
                f"run {self.run_id}: {self._journal_path} is missing: what the run changed "
                "cannot be known, so nothing is replayed or undone from it"
            ) from None
        except OSError as error:
            raise _failed(error, "cannot read", self._journal_path) from error
        with handle:
            for number, text in enumerate(handle, 1):
                if not text.endswith(b"\n"):
                    return  # torn by a crash: never acted upon
                where = f"run {self.run_id}: journal line {number}"
                try:
                    data = json.loads(text)
                except ValueError:
                    raise JournalError(f"{where}: not JSON ({text[:60]!r})") from None
                yield decode(data, where)


class Store:
    """All runs under one root, the root's run lock, and the runs this process carries out."""

    def __init__(self, root: HostRoot) -> None:
        self.root = root
        self.base = root.join(STATE_DIR)
        self.runs_dir = os.path.join(self.base, "runs")
        self.lock_path = os.path.join(self.base, "lock")
        self._lock_fd: int | None = None
        self._live: set[str] = set()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the root's lock; a second run gets LockHeld naming the holder's PID."""
        try:
            _make_dirs_durably(self.base)
        except OSError as error:
            raise _failed(error, "cannot make the state directory", self.base) from error
        fd = self._open_lock(os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder(fd)
            os.close(fd)
            raise LockHeld(
                f"another run (PID {holder or 'unknown'}) holds {self.lock_path}", pid=holder
            ) from None
        try:
            os.pwrite(fd, f"{os.getpid():<{_PID_WIDTH}}\n".encode(), 0)
        except OSError as error:
            os.close(fd)
            raise _failed(error, "cannot write", self.lock_path) from error
        self._lock_fd = fd
        try:
            yield
        finally:
            self._lock_fd = None
            with contextlib.suppress(OSError):  # a full disk must not hide the real outcome
                os.ftruncate(fd, 0)
            os.close(fd)

    def _open_lock(self, flags: int) -> int:
        """The lock file itself, never through a symlink, and only a regular file."""
        try:
            fd = os.open(self.lock_path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise _failed(error, "cannot open the lock", self.lock_path) from error
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise JournalError(f"{self.lock_path} is not a regular file", path=self.lock_path)
        return fd

    @staticmethod
    def _holder(fd: int) -> int | None:
        """The holder's PID; a holder that has just taken the lock writes it at once."""
        deadline = time.monotonic() + _PID_WAIT
        while True:
            text = os.pread(fd, 64, 0).decode(errors="replace").strip()
            if text.isdigit() or time.monotonic() >= deadline:
                return int(text) if text.isdigit() else None
            time.sleep(0.02)

    def _someone_holds_lock(self) -> bool:
        if self._lock_fd is not None:
            return False
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise _failed(error, "cannot open the lock", self.lock_path) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    @contextlib.contextmanager
    def run(
        self, kind: RunKind, params: dict[str, Any], *, resume: bool = True
    ) -> Iterator[Journal]:
        """Carry out a run: a new one, or (``resume``) the interrupted one of the same command.

        An interrupted run with other parameters refuses every new one until it is resumed or
        rolled back. Inside the block the run is live (nested runs and listings never take it
        for interrupted); leaving the block closes its journal. A run left without a final
        ``set_state`` stays "running", which after the lock is gone reads as interrupted:
        exactly what a crash leaves, so the same command resumes it.
        """
        self._require_lock()
        journal = self._resume_or_create(kind, params) if resume else self._create(kind, params)
        with self._carried_out(journal):
            yield journal

    @contextlib.contextmanager
    def taken_up(self, run_id: str, state: RunState, **summary: Any) -> Iterator[Journal]:
        """Carry an existing run on (rollback, closing a bridge): its state is set first."""
        self._require_lock()
        journal = self.open(run_id)
        journal.verify()
        journal.set_state(state, **summary)
        with self._carried_out(journal):
            yield journal

    @contextlib.contextmanager
    def _carried_out(self, journal: Journal) -> Iterator[None]:
        self._live.add(journal.run_id)
        try:
            yield
        finally:
            self._live.discard(journal.run_id)
            journal.close()

    def _require_lock(self) -> None:
        if self._lock_fd is None:
            raise RuntimeError("carry out a run only while holding the lock")

    def _resume_or_create(self, kind: RunKind, params: dict[str, Any]) -> Journal:
        interrupted = self.interrupted()
        if interrupted is None:
            return self._create(kind, params)
        resumable = (
            interrupted.kind == kind
            and interrupted.params == params
            and interrupted.interrupted_while == RunState.RUNNING
        )
        if not resumable:
            raise InterruptedRunExists(interrupted_message(interrupted), run_id=interrupted.run_id)
        journal = Journal(self.open(interrupted.run_id).directory, resumed=True)
        journal.verify()  # a journal that cannot be read to its end is not resumed
        journal.set_state(RunState.RUNNING)
        return journal

    def _create(self, kind: RunKind, params: dict[str, Any]) -> Journal:
        sequence = max((run.sequence for run in self.runs()), default=0) + 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        run_id = f"{stamp}-{kind}-{os.urandom(3).hex()}"
        directory = os.path.join(self.runs_dir, run_id)
        # Make the run under a name runs() ignores, then rename it into place: a kill leaves
        # no run or a whole one (run.json, state.json, journal), never one that every command
        # trips on.
        staging = os.path.join(self.runs_dir, f".{run_id}.new")
        try:
            _remove_staging_leftovers(self.runs_dir)
            _make_dirs_durably(self.runs_dir)
            os.mkdir(staging, 0o700)
            os.close(os.open(os.path.join(staging, _JOURNAL), os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as error:
            _remove_tree(staging)
            raise _failed(error, "cannot make a run in", self.runs_dir) from error
        meta = {
            "format": FORMAT,
            "sequence": sequence,
            "run_id": run_id,
            "kind": str(kind),
            "params": params,
            "started": _now(),
            "pid": os.getpid(),
        }
        # Nobody reads the staging directory, and a kill leaves it to be removed: its files
        # need no atomic replacement, only their data and names on disk before it is renamed
        # into place (one fsync of the directory for all of its names).
        try:
            _write_durably(os.path.join(staging, "run.json"), meta)
            _write_durably(os.path.join(staging, "state.json"), _state(RunState.RUNNING, {}))
            _fsync_dir(staging)
            os.rename(staging, directory)
            _fsync_dir(self.runs_dir)
        except (OSError, JournalError) as error:
            _remove_tree(staging)
            if isinstance(error, JournalError):
                raise
            raise _failed(error, "cannot make a run in", self.runs_dir) from error
        return Journal(directory)

    def open(self, run_id: str) -> Journal:
        if not _RUN_ID.match(run_id):
            raise UsageError(f"run ID {run_id!r} is not of the form 20260101T000000Z-kind-abcdef")
        directory = os.path.join(self.runs_dir, run_id)
        if not os.path.isdir(directory) or os.path.islink(directory):
            raise UsageError(f"no run {run_id!r} in {self.runs_dir}")
        return Journal(directory)

    def info(self, journal: Journal) -> RunInfo:
        meta, stored = journal.meta(), journal.stored_state()
        state = RunState(stored["state"])
        interrupted_while = None
        if state in ACTIVE_STATES and journal.run_id not in self._live:
            live = self._lock_fd is None and self._someone_holds_lock()
            if not live:
                state, interrupted_while = RunState.INTERRUPTED, state
        return RunInfo(
            journal.run_id,
            RunKind(meta["kind"]),
            meta["params"],
            meta["started"],
            state,
            interrupted_while,
            stored["summary"],
            meta.get("sequence", 0),
        )

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first: by sequence (0.1.0's runs, which have none, come first)."""
        try:
            names = os.listdir(self.runs_dir)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise _failed(error, "cannot list the runs in", self.runs_dir) from error
        found = [self.info(self.open(name)) for name in names if _RUN_ID.match(name)]
        return sorted(found, key=lambda run: (run.sequence, run.run_id))

    def interrupted(self) -> RunInfo | None:
        return next((r for r in reversed(self.runs()) if r.state == RunState.INTERRUPTED), None)
