# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The one way the tests run the real command and check its ``--json`` output against the
JSON Schemas shipped in the package.

A module of its own, imported by name (``import cli_support``): ``conftest`` is ambiguous when
several test directories run together, and every suite needs the same runner.
"""

from __future__ import annotations

import functools
import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import pytest
import referencing

import libvirt_static_ids

SCHEMAS = Path(libvirt_static_ids.__file__).resolve().parent / "schemas"
CLI_OUTPUT = "cli-output.schema.json"
_CONSOLE_SCRIPT = Path(sys.executable).parent / "libvirt-static-ids"
# The installed command, or the module where no console script is installed.
COMMAND: list[str] = (
    [str(_CONSOLE_SCRIPT)]
    if _CONSOLE_SCRIPT.exists()
    else [sys.executable, "-m", "libvirt_static_ids"]
)


class CliResult(NamedTuple):
    code: int
    out: str
    err: str

    @property
    def data(self) -> Any:
        """The parsed ``--json`` output."""
        return json.loads(self.out)


@functools.cache
def _registry() -> referencing.Registry:
    """Every shipped schema by its ``$id``, so one may ``$ref`` another."""
    registry: referencing.Registry = referencing.Registry()
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(document)
        registry = registry.with_resource(
            document["$id"], referencing.Resource.from_contents(document)
        )
    return registry


@functools.cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    """The validator of one shipped schema (``"plan-output.schema.json"``), loaded once."""
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        schema,
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def check_json(result: CliResult, schema: str = CLI_OUTPUT) -> Any:
    """Parse and validate ``--json`` output; an error object must carry the real exit code."""
    try:
        data = result.data
    except ValueError as error:
        pytest.fail(f"--json output is not JSON ({error}): {result!r}")
    errors = sorted(validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        details = "\n".join(f"  at {list(e.absolute_path)}: {e.message}" for e in errors[:10])
        pytest.fail(f"--json output does not match {schema}:\n{details}\noutput: {result.out}")
    if isinstance(data, dict) and "error" in data:
        assert data["exit"] == result.code, f"error JSON says exit {data['exit']}: {result!r}"
    return data


Arg = str | int | os.PathLike[str] | bytes
Argv = list[str | bytes | os.PathLike[str]]


def _argv(args: Sequence[Arg], root: str | os.PathLike[str] | bytes | None, json: bool) -> Argv:
    argv: Argv = []
    if root is not None:
        argv += ["--root", root]
    if json:
        argv.append("--json")
    return argv + [a if isinstance(a, bytes | os.PathLike) else str(a) for a in args]


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    child_env = dict(os.environ if env is None else env)
    # A UTF-8 locale's strict stdout, as on a real host: undecodable names must be escaped.
    child_env.update(LC_ALL="C.UTF-8", PYTHONIOENCODING="utf-8:strict")
    return child_env


def run(
    *args: Arg,
    root: str | os.PathLike[str] | bytes | None = None,
    json: bool = False,
    schema: str = CLI_OUTPUT,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 120,
    wrapper: Sequence[str] = (),
) -> CliResult:
    """Run the command (``--root`` and ``--json`` first if given; ``wrapper`` in front of it,
    e.g. ``unshare -m sh -c ...``) in ``env`` (default: this process's environment).

    A traceback on stderr fails the test; ``--json`` output is checked against ``schema``.
    """
    argv: Argv = [*wrapper, *COMMAND, *_argv(args, root, json)]
    child_env = _env(env)
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        cwd=cwd,
        env=child_env,
        timeout=timeout,
        check=False,
    )
    result = CliResult(done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in result.err, result.err
    if json or "--json" in args:
        check_json(result, schema)
    return result


def run_into(
    reader: Sequence[str],
    *args: Arg,
    root: str | os.PathLike[str] | bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> CliResult:
    """The command's stdout piped into ``reader`` (``["head", "-n", "1"]``), as in a shell.

    ``code`` is the command's exit status, ``out`` what the reader printed, ``err`` the
    command's stderr; a traceback there fails the test.
    """
    command = subprocess.Popen(
        [*COMMAND, *_argv(args, root, False)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(env),
    )
    assert command.stdout is not None and command.stderr is not None
    try:
        read = subprocess.run(
            reader, stdin=command.stdout, capture_output=True, timeout=timeout, check=False
        )
        command.stdout.close()  # the reader has gone: only the command holds the pipe now
        err = command.stderr.read().decode("utf-8", "surrogateescape")
        code = command.wait(timeout=timeout)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    result = CliResult(code, read.stdout.decode("utf-8", "surrogateescape"), err)
    assert "Traceback" not in result.err, result.err
    return result


def run_at_terminal(
    *args: Arg,
    root: str | os.PathLike[str] | bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> CliResult:
    """The command with stdout and stderr each on a pseudo-terminal of its own, as at a
    login shell (but told apart); ``out`` and ``err`` are what each terminal received, with
    the terminal's own line ends (``\\r\\n``)."""
    masters, slaves = zip(*(pty.openpty() for _ in range(2)), strict=True)
    try:
        command = subprocess.Popen(
            [*COMMAND, *_argv(args, root, False)],
            stdin=subprocess.DEVNULL,
            stdout=slaves[0],
            stderr=slaves[1],
            env=_env(env),
        )
    finally:
        for slave in slaves:
            os.close(slave)
    received = {master: b"" for master in masters}
    try:
        open_masters = list(masters)
        while open_masters:
            ready, _, _ = select.select(open_masters, [], [], timeout)
            if not ready:
                raise TimeoutError(f"no output for {timeout} s: {received}")
            for master in ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the command closed its end
                    chunk = b""
                if chunk:
                    received[master] += chunk
                else:
                    open_masters.remove(master)
        code = command.wait(timeout=timeout)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
        for master in masters:
            os.close(master)
    out, err = (received[m].decode("utf-8", "surrogateescape") for m in masters)
    result = CliResult(code, out, err)
    assert "Traceback" not in result.err, result.err
    return result
