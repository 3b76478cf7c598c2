# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The man page, written from the argument parser, so it says what ``--help`` says.

``python3 -m libvirt_static_ids.cli.manpage > libvirt-static-ids.1`` (debian/rules does it at
build time): every command with its description, synopsis, options (defaults included) and
exit codes, then every example and the exit codes of the tool. Only FILES and SEE ALSO are
written here; everything else comes from the parser.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
from collections.abc import Iterator

from libvirt_static_ids import __version__
from libvirt_static_ids.cli.main import build_parser
from libvirt_static_ids.cli.parser import PROG, SUMMARY, CommandParser

FILES = (
    ("/var/lib/libvirt-static-ids/", "Journals of runs and open bridges."),
    ("/etc/machine.secret", "The machine account's password, used for the directory on UCS."),
    ("/etc/passwd, /etc/group, /etc/shadow, /etc/gshadow", "The accounts that are renumbered."),
    (
        "/lib/systemd/system/libvirt-static-ids-record.timer",
        "Runs libvirt-static-ids record daily (package univention-libvirt-static-ids).",
    ),
)
SEE_ALSO = ("usermod(8)", "groupmod(8)", "setfacl(1)", "virsh(1)")


def escape(text: str) -> str:
    """Plain text as roff: backslashes and hyphens escaped, `words` in bold."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)


def _paragraph(text: str) -> str:
    """A text line roff will not take for a request (a leading dot or quote)."""
    return "\\&" + text if text[:1] in ".'" else text


def commands(parser: CommandParser, name: str = "") -> Iterator[tuple[str, CommandParser]]:
    """Every command and subcommand (``"bridge open"``) with its parser, in --help's order."""
    for sub_name, sub in parser.subcommands().items():
        full = f"{name} {sub_name}".strip()
        if sub.subcommands():
            yield full, sub
            yield from commands(sub, full)
        else:
            yield full, sub


def options(parser: CommandParser, skip: frozenset[str] = frozenset()) -> list[argparse.Action]:
    """The parser's own options and arguments: no --help, none of ``skip`` (global options)."""
    return [
        action
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        and not (set(action.option_strings) & skip)
    ]


def global_option_names(parser: CommandParser) -> frozenset[str]:
    return frozenset(s for action in options(parser) for s in action.option_strings)


def _argument(parser: CommandParser, action: argparse.Action, between: str = "|") -> str:
    """``--uid N`` or ``[PATH ...]`` in argparse's own words, as roff; the names of one option
    (``-q``, ``--quiet``) separated by ``between``."""
    formatter = parser._get_formatter()
    if not action.option_strings:
        return f"\\fI{escape(formatter._format_args(action, action.dest))}\\fR"
    name = f"\\fR{between}\\fB".join(escape(option) for option in action.option_strings)
    if action.nargs == 0:
        return f"\\fB{name}\\fR"
    metavar = formatter._format_args(action, action.dest.upper())
    return f"\\fB{name}\\fR \\fI{escape(metavar)}\\fR"


def _synopsis(parser: CommandParser, actions: list[argparse.Action], command: str) -> list[str]:
    items = []
    for action in actions:
        item = _argument(parser, action)
        if action.option_strings and not action.required:
            item = f"[{item}]"
        items.append(item)
    return [f".B {escape(f'{PROG} {command}'.rstrip())}", *items, ".br"]


def _option_entries(parser: CommandParser, actions: list[argparse.Action]) -> list[str]:
    lines = []
    for action in actions:
        entry = _argument(parser, action, ", ")
        lines += [".TP", entry, _paragraph(escape(parser.help_of(action)))]
    return lines


def _exit_codes(parser: CommandParser) -> list[str]:
    lines = []
    for code, meaning in parser.exit_codes.items():
        lines += [".TP", f".B {int(code)}", _paragraph(escape(meaning[:1].upper() + meaning[1:]))]
    return lines


def _date() -> str:
    """The build's date (SOURCE_DATE_EPOCH, for a reproducible page), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (
        datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
        if epoch
        else datetime.datetime.now(datetime.UTC)
    )
    return when.strftime("%B %Y")


def render(parser: CommandParser) -> str:
    skip = global_option_names(parser)
    top = options(parser)
    lines = [
        '.\\" SPDX-FileCopyrightText: 2026 libvirt-static-ids developers',
        '.\\" SPDX-License-Identifier: AGPL-3.0-only',
        '.\\" Generated from the argument parser by libvirt_static_ids.cli.manpage.',
        f'.TH {PROG.upper()} 1 "{_date()}" "{PROG} {__version__}" "User Commands"',
        ".SH NAME",
        f"{PROG} \\- {escape(SUMMARY)}",
        ".SH SYNOPSIS",
        *_synopsis(parser, top, "")[:-1],
        "\\fICOMMAND\\fR [\\fIoptions\\fR]",
        ".SH DESCRIPTION",
        _paragraph(escape(parser.description or "")),
        ".SH GLOBAL OPTIONS",
        "Given before or after the command.",
        *_option_entries(parser, top),
        ".SH COMMANDS",
    ]
    for name, command in commands(parser):
        own = options(command, skip)
        lines += [f'.SS "{escape(name)}"', *_synopsis(command, own, name)]
        lines += [".PP", _paragraph(escape(command.description or command.format_usage()))]
        lines += _option_entries(command, own)
        if command.exit_codes:
            lines += [".PP", "Exit status:", ".RS", *_exit_codes(command), ".RE"]
    lines.append(".SH EXAMPLES")
    for _, command in [("", parser), *commands(parser)]:
        for example, what in command.examples:
            lines += [".TP", f"\\fB{escape(example)}\\fR", _paragraph(escape(what))]
    lines += [".SH EXIT STATUS", *_exit_codes(parser), ".SH FILES"]
    for path, what in FILES:
        lines += [".TP", f"\\fI{escape(path)}\\fR", _paragraph(escape(what))]
    lines += [".SH SEE ALSO", ",\n".join(f".BR {page.replace('(', ' (')}" for page in SEE_ALSO)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(build_parser()))
