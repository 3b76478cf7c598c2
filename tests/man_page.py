# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""What a man page and the argument parser each say the commands and options are.

Imported by name (``import man_page``) by the test of the generated page and by the packaging
test of the shipped one; both compare ``documented(page)`` with ``parsed()``.
"""

from __future__ import annotations

import argparse
import re

from libvirt_static_ids.cli.main import build_parser

_BOLD = re.compile(r"\\fB(\\-[^\\]*(?:\\-[^\\]*)*)\\fR")


def _unescape(text: str) -> str:
    return text.replace("\\-", "-").replace("\\e", "\\")


def documented(page: str) -> dict[str, set[str]]:
    """{command ("" for the global options, "bridge open"): its option names} from the
    GLOBAL OPTIONS and COMMANDS sections; every section's headings under "sections"."""
    found: dict[str, set[str]] = {"sections": set()}
    current: str | None = None
    lines = page.splitlines()
    for number, line in enumerate(lines):
        if line.startswith(".SH "):
            name = line[4:].strip('"')
            found["sections"].add(name)
            current = "" if name == "GLOBAL OPTIONS" else None
            if current is not None:
                found[current] = set()
        elif line.startswith(".SS ") and "COMMANDS" in found["sections"]:
            current = _unescape(line[4:].strip('"'))
            found[current] = set()
        elif current is not None and number and lines[number - 1] == ".TP":
            found[current] |= {_unescape(name) for name in _BOLD.findall(line)}
    return found


def _commands(
    parser: argparse.ArgumentParser, name: str = ""
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                full = f"{name} {sub_name}".strip()
                found += [(full, sub), *_commands(sub, full)]
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {
        option
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction)
        for option in action.option_strings
    }


def parsed() -> dict[str, set[str]]:
    """{command ("" for the global options): the option names it has beyond the global ones}."""
    parser = build_parser()
    global_options = _options(parser)
    found = {"": global_options}
    for name, command in _commands(parser):
        found[name] = _options(command) - global_options
    return found
