# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The ``libvirt-static-ids`` command: parse, call the core, render, map errors to exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from libvirt_static_ids import __version__
from libvirt_static_ids.cli import directory as cli_directory
from libvirt_static_ids.cli import evacuate as cli_evacuate
from libvirt_static_ids.cli import host as cli_host
from libvirt_static_ids.cli import plan as cli_plan
from libvirt_static_ids.cli.render import human as render
from libvirt_static_ids.errors import ExitCode, StaticIdsError, UsageError

# Each family of commands offers COMMANDS, add_commands() and run(), and imports the modules
# that do the work only in run(): a command loads what it needs and starts fast.
_FAMILIES = (cli_host, cli_directory, cli_evacuate, cli_plan)


class _Parser(argparse.ArgumentParser):
    """argparse, but bad usage is a UsageError like every other bad input (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--root",
        default=default if default is not None else "/",
        metavar="DIR",
        help="host root under which every path resolves (default: /)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default if default is not None else False,
        help="machine-readable output (see the JSON Schemas shipped in the package)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="libvirt-static-ids",
        description="Move libvirt-qemu to one static UID/GID, journaled and undoable.",
        epilog="Exit codes: 0 done or nothing to do, 1 failed, 2 bad usage or input, "
        "3 refused by preflight (nothing changed), 4 an interrupted run exists.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    _global_options(parser, None)
    # Accept the global options after the command too.
    common = _Parser(add_help=False)
    _global_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    for family in _FAMILIES:
        family.add_commands(commands, common)
    return parser


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    """Carry out one command; return its JSON-able result and exit code."""
    for family in _FAMILIES:
        if args.command in family.COMMANDS:
            return family.run(args)
    raise UsageError(f"unknown command {args.command!r}")


def _json(data: Any) -> str:
    """Indented for a person at a terminal; compact (and several times faster) for programs."""
    return json.dumps(data, indent=2 if sys.stdout.isatty() else None)


def main(argv: Sequence[str] | None = None) -> int:
    json_output = "--json" in (argv if argv is not None else sys.argv[1:])
    try:
        args = build_parser().parse_args(argv)
        result, code = run(args)
    except StaticIdsError as error:
        if json_output:
            print(_json({"error": error.as_dict(), "exit": int(error.exit_code)}))
        else:
            print(render.error(error), file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume, or `rollback`", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    if json_output:
        print(_json(result))
    else:
        print(render.human(result))
    return int(code)
