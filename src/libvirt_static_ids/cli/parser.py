# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The argument parser every command is built with.

Bad usage is a UsageError that carries the usage line; every option's help shows its default;
every command carries its examples and exit codes, which ``--help`` prints and from which the
man page is generated (manpage.py), so help, man page and parser cannot drift apart.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from libvirt_static_ids.errors import ExitCode, UsageError

PROG = "libvirt-static-ids"
SUMMARY = "move libvirt-qemu to one static UID/GID on every KVM host"

# What each exit code means for most commands; a command may say it more exactly.
EXIT_MEANINGS: dict[int, str] = {
    ExitCode.OK: "done, or nothing to do",
    ExitCode.FAILED: "failed (the report lists every problem)",
    ExitCode.USAGE: "bad usage or input; nothing was changed",
    ExitCode.REFUSED: "refused by preflight; nothing was changed, every blocker is listed",
    ExitCode.INTERRUPTED: "an interrupted run exists: resume it or roll it back first",
}


def exits(*codes: ExitCode, **special: str) -> dict[int, str]:
    """The exit codes a command can end with: the usual meanings, or ``NAME="what it means"``."""
    chosen: dict[int, str] = {code: EXIT_MEANINGS[code] for code in codes}
    chosen.update({ExitCode[name]: text for name, text in special.items()})
    return dict(sorted(chosen.items()))


class BadUsage(UsageError):
    """A command line argparse rejects: shown with the command's usage line."""

    def __init__(self, prog: str, message: str, usage: str) -> None:
        super().__init__(f"{prog}: {message}")
        self.prog = prog
        self.usage = usage


def shown_default(action: argparse.Action) -> str | None:
    """The default worth showing in help: None for flags, unset values and empty lists."""
    default = action.default
    if default is None or default is argparse.SUPPRESS or isinstance(default, bool):
        return None
    if isinstance(default, list | tuple) and not default:
        return None
    return str(default)


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, which argparse asks for whenever an option is
    added, without importing shutil (with its compressors, a tenth of ``--version``'s time)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    if sys.__stdout__ is None:
        return 80
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (ValueError, OSError):
        return 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's layout, with "(default: X)" after every option that has a default."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = terminal_columns() - 2  # as argparse does
        super().__init__(prog, indent_increment, max_help_position, width)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = shown_default(action)
        if default is None or "default" in text:
            return text
        return f"{text} (default: {default.replace('%', '%%')})"


class CommandParser(argparse.ArgumentParser):
    """A parser that knows its examples and exit codes, and raises BadUsage on bad usage."""

    def __init__(
        self,
        *args: Any,
        examples: Sequence[tuple[str, str]] = (),
        exit_codes: Mapping[int, str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.examples = list(examples)
        self.exit_codes = dict(exit_codes or {})

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadUsage(self.prog, message, self.format_usage().strip())

    def format_help(self) -> str:
        text = super().format_help()
        if self.examples:
            text += "\nexamples:\n"
            for command, what in self.examples:
                text += f"  {command}\n      {what}\n"
        if self.exit_codes:
            text += "\nexit status:\n"
            text += "".join(f"  {code:<3}  {what}\n" for code, what in self.exit_codes.items())
        return text

    def subcommands(self) -> dict[str, CommandParser]:
        """The parsers of this parser's subcommands, by name (none for a plain command)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    def parse_command_line(self, argv: Sequence[str]) -> argparse.Namespace:
        """parse_args, but an unknown option is the chosen command's error, with its usage."""
        args, extra = self.parse_known_args(argv)
        if extra:
            self.chosen(args).error(f"unrecognized arguments: {' '.join(extra)}")
        return args

    def chosen(self, args: argparse.Namespace) -> CommandParser:
        """The parser of the (sub)command ``args`` name."""
        parser = self
        while True:
            dest = next(
                (a.dest for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                None,
            )
            name = getattr(args, dest, None) if dest else None
            if name is None:
                return parser
            parser = parser.subcommands()[name]

    def help_of(self, action: argparse.Action) -> str:
        """One option's help as ``--help`` prints it, default included."""
        formatter = self._get_formatter()
        return formatter._expand_help(action) if action.help else ""
