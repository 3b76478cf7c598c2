# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The ``libvirt-static-ids`` command: parse, call the core, render, map errors to exit codes."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from libvirt_static_ids import __version__
from libvirt_static_ids.cli import directory as cli_directory
from libvirt_static_ids.cli import evacuate as cli_evacuate
from libvirt_static_ids.cli import host as cli_host
from libvirt_static_ids.cli import plan as cli_plan
from libvirt_static_ids.cli import rollout as cli_rollout
from libvirt_static_ids.cli.parser import EXIT_MEANINGS, PROG, SUMMARY, BadUsage, CommandParser
from libvirt_static_ids.cli.render import colour
from libvirt_static_ids.cli.render import human as render
from libvirt_static_ids.errors import ExitCode, StaticIdsError, UsageError

# Each family of commands offers COMMANDS, add_commands() and run(), and imports the modules
# that do the work only in run(): a command loads what it needs and starts fast.
_FAMILIES = (cli_host, cli_directory, cli_evacuate, cli_plan, cli_rollout)

# What a shell reports for a command ended by SIGPIPE (`... | head`): the reader went away.
BROKEN_PIPE = 128 + signal.SIGPIPE


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """The options every command takes, before or after its name (``default``: SUPPRESS after,
    so that an option given before the command is not reset)."""

    def given(value: Any) -> Any:
        return default if default is not None else value

    parser.add_argument(
        "--root",
        default=given("/"),
        metavar="DIR",
        help="host root under which every path resolves (default: /)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=given(False),
        help="machine-readable output (see the JSON Schemas shipped in the package)",
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=given(False),
        help="print only errors: no progress, no report (the exit status tells)",
    )
    loudness.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=given(False),
        help="list every changed entry, not only the first 200",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        default=given(False),
        help="show the scan's progress on stderr even when it is not a terminal "
        "(at a terminal it is shown anyway, unless --quiet or --json)",
    )


def build_parser(families: Sequence[Any] = _FAMILIES) -> CommandParser:
    """The whole command line; ``families`` only those commands (see ``_parsed``)."""
    parser = CommandParser(
        prog=PROG,
        description=f"{SUMMARY[:1].upper()}{SUMMARY[1:]}: survey, "
        "convert, repair and roll back one host; record, request, survey and plan the domain "
        "through the directory; bridge and live-migrate VMs off a host first. Every change is "
        "journaled before it is made, can be previewed with --dry-run, resumed after an "
        "interruption and rolled back exactly.",
        examples=[
            (f"{PROG} survey", "this host's libvirt-qemu numbers and what blocks a conversion"),
            (f"{PROG} convert --dry-run", "every step and file a conversion would change"),
            (f"{PROG} COMMAND --help", "every option of one command"),
        ],
        exit_codes={
            **EXIT_MEANINGS,
            BROKEN_PIPE: "the reader of the output went away (`... | head`); ended quietly",
        },
    )
    parser.add_argument("--version", action="version", version=__version__)
    _global_options(parser, None)
    # Accept the global options after the command too.
    common = CommandParser(add_help=False)
    _global_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=CommandParser
    )

    for family in families:
        family.add_commands(commands, common)
    return parser


def _parsed(words: list[str]) -> tuple[CommandParser, argparse.Namespace]:
    """The parser and the parsed words. Building every command's parser costs start-up time,
    so when the words name the commands of one family only, its parser alone is tried; any
    doubt (help, an error, another command chosen) takes the whole parser, which also makes
    every error message and help text the whole parser's."""
    named = [f for f in _FAMILIES if any(word in f.COMMANDS for word in words)]
    if len(named) == 1 and not {"-h", "--help", "--version"} & set(words):
        parser = build_parser(named)
        try:
            args = parser.parse_command_line(words)
        except BadUsage:
            pass
        else:
            if args.command in named[0].COMMANDS:
                return parser, args
    parser = build_parser()
    return parser, parser.parse_command_line(words)


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    """Carry out one command; return its JSON-able result and exit code."""
    for family in _FAMILIES:
        if args.command in family.COMMANDS:
            return family.run(args)
    raise UsageError(f"unknown command {args.command!r}")


def _json(data: Any) -> str:
    """Indented for a person at a terminal; compact (and several times faster) for programs."""
    return json.dumps(data, indent=2 if sys.stdout.isatty() else None)


def _shown(text: str, stream: Any) -> str:
    return colour.paint(text) if colour.wanted(stream) else text


def _error(error: StaticIdsError, command: CommandParser) -> str:
    """The error first; for bad usage then the command's usage line and where to read more."""
    text = render.error(error)
    if isinstance(error, BadUsage):
        text = f"{text}\n{error.usage}\n(see `{error.prog} --help`)"
    elif isinstance(error, UsageError):
        text = f"{text}\n{command.format_usage().strip()}\n(see `{command.prog} --help`)"
    return text


def _carry_out(argv: Sequence[str] | None) -> int:
    words = list(argv if argv is not None else sys.argv[1:])
    json_output = "--json" in words
    command: CommandParser | None = None
    try:
        parser, args = _parsed(words)
        command = parser.chosen(args)
        result, code = run(args)
    except StaticIdsError as error:
        if json_output:
            print(_json({"error": error.as_dict(), "exit": int(error.exit_code)}))
        else:
            print(_shown(_error(error, command or build_parser()), sys.stderr), file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume, or `rollback`", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    if json_output:
        print(_json(result))
    elif not args.quiet:
        print(_shown(render.human(result, every_entry=args.verbose), sys.stdout))
    sys.stdout.flush()
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _carry_out(argv)
    except BrokenPipeError:
        # The reader went away (`| head`): end quietly, as `cat` does. Later writes and the
        # interpreter's last flush go nowhere instead of failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE
