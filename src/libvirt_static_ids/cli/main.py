# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The ``libvirt-static-ids`` command: parse, call the core, render, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from libvirt_static_ids import __version__
from libvirt_static_ids.cli.parser import EXIT_MEANINGS, PROG, SUMMARY, BadUsage, CommandParser
from libvirt_static_ids.errors import ExitCode, StaticIdsError, UsageError

# Each family of commands is a module offering add_commands() and run(), with the commands it
# adds, in the order --help lists them. A module is imported only when its commands are named
# (or the whole parser is needed), and imports the modules that do the work only in run():
# a command loads what it needs and starts fast.
FAMILIES: dict[str, tuple[str, ...]] = {
    "host": ("survey", "convert", "repair", "rollback", "journal"),
    "directory": ("record", "request", "settings"),
    "evacuate": ("probe-access", "bridge", "evacuate"),
    "plan": ("plan",),
    "rollout": ("rollout",),
}

# What a shell reports for a command ended by SIGPIPE (`... | head`): the reader went away.
BROKEN_PIPE = 128 + signal.SIGPIPE


def family(name: str) -> ModuleType:
    """The module of the family ``name`` (a key of FAMILIES), imported on first use."""
    return importlib.import_module(f"libvirt_static_ids.cli.{name}")


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


def build_parser(families: Sequence[str] = tuple(FAMILIES)) -> CommandParser:
    """The whole command line; ``families`` (names) only those commands (see ``_parsed``)."""
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

    for name in families:
        family(name).add_commands(commands, common)
    return parser


def _parsed(words: list[str]) -> tuple[CommandParser, argparse.Namespace]:
    """The parser and the parsed words. Building every command's parser costs start-up time,
    so when the words name the commands of at most one family, its parser alone (or none, for
    ``--version``, which argparse answers the same way whatever the commands) is tried; any
    doubt (help, an error, another command chosen) takes the whole parser, which also makes
    every error message and help text the whole parser's."""
    named = [name for name, commands in FAMILIES.items() if set(commands) & set(words)]
    if len(named) <= 1 and not {"-h", "--help"} & set(words):
        parser = build_parser(named)
        try:
            args = parser.parse_command_line(words)
        except BadUsage:
            pass
        else:
            if named and args.command in FAMILIES[named[0]]:
                return parser, args
    parser = build_parser()
    return parser, parser.parse_command_line(words)


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    """Carry out one command; return its JSON-able result and exit code."""
    for name, commands in FAMILIES.items():
        if args.command in commands:
            return family(name).run(args)
    raise UsageError(f"unknown command {args.command!r}")


def _json(data: Any) -> str:
    """Indented for a person at a terminal; compact (and several times faster) for programs."""
    import json

    return json.dumps(data, indent=2 if sys.stdout.isatty() else None)


def _shown(text: str, stream: Any) -> str:
    from libvirt_static_ids.cli.render import colour

    return colour.paint(text) if colour.wanted(stream) else text


def _error(error: StaticIdsError, command: CommandParser) -> str:
    """The error first; for bad usage then the command's usage line and where to read more."""
    from libvirt_static_ids.cli.render import human as render

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
        from libvirt_static_ids.cli.render import human as render

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
