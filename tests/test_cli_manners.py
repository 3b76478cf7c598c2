# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The command at a terminal and in a pipe, as a new user meets it.

Proves: every command's help has a description, an example and its exit codes, every option
has help and shows its default; bad usage prints the command's usage line; output speaks
words, not Python values; piping any command into ``head`` (or into nothing) ends quietly;
progress is drawn on a timer from the scan even when nothing changes, at a terminal only (or
with ``--progress``), and its line is always ended with a closing summary; ``-q`` prints only
errors, ``-v`` lists every entry; colour only at a terminal and never with ``NO_COLOR``.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cli_support
import man_page
from libvirt_static_ids.cli import main as cli_main
from libvirt_static_ids.cli import manpage
from libvirt_static_ids.cli.main import build_parser
from libvirt_static_ids.cli.parser import CommandParser, shown_default, terminal_columns
from libvirt_static_ids.cli.progress import CLEAR_LINE, Meter
from libvirt_static_ids.files import repair
from libvirt_static_ids.files.idmap import IdMap

OLD = (109, 114)


def every_command(parser: CommandParser, name: str = "") -> list[tuple[str, CommandParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                full = f"{name} {sub_name}".strip()
                found += [(full, sub), *every_command(sub, full)]
    return found


def tree(top: Path, count: int, owner: tuple[int, int]) -> Path:
    """``count`` files in a few directories, all owned by ``owner``."""
    top.mkdir(parents=True)
    for number in range(count):
        directory = top / f"d{number % 10}"
        directory.mkdir(exist_ok=True)
        path = directory / f"f{number}"
        path.write_bytes(b"")
        os.chown(path, *owner)
    return top


# --- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for name, _ in every_command(build_parser())])
def test_every_command_has_a_description_an_example_and_its_exit_codes(name):
    command = dict(every_command(build_parser()))[name]
    text = command.format_help()
    assert command.description
    assert " ".join(command.description.split()[:4]) in " ".join(text.split())
    assert "\nexamples:\n  libvirt-static-ids " in text
    assert "\nexit status:\n  0 " in text


@pytest.mark.parametrize("name", ["", *[name for name, _ in every_command(build_parser())]])
def test_every_option_has_help_that_shows_its_default(name):
    parser = build_parser()
    command = dict(every_command(parser)).get(name, parser)
    text = " ".join(command.format_help().split())
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
        default = shown_default(action)
        if default is not None:
            assert f"(default: {default})" in text or "default" in action.help, action.help


def test_repair_help_explains_every_option_and_path(cli):
    """The options that had no help at all, and their defaults, through the real command."""
    result = cli_support.run("repair", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    for option in ("--from-uid N the old UID", "--from-gid N the old GID"):
        assert option in text
    assert "--to-uid N the UID it becomes (default: 64055)" in text
    assert "PATH a tree to repair" in text
    assert "exit status:" in result.out


def test_bad_usage_prints_the_commands_usage_line(cli, fake_root):
    bad = cli_support.run("repair", "--bogus")
    assert bad.code == 2
    assert bad.err.startswith("error: libvirt-static-ids repair: unrecognized arguments: --bogus")
    assert "\nusage: libvirt-static-ids repair [-h]" in bad.err
    assert "libvirt-static-ids repair --help" in bad.err
    # A usage error found after parsing says the same.
    images = str(fake_root / "var/lib/libvirt/images")
    missing = cli_support.run("repair", "--dry-run", images, root=fake_root)
    assert missing.code == 2
    assert missing.err.startswith("error: repair needs --from-uid and --from-gid")
    assert "\nusage: libvirt-static-ids repair [-h]" in missing.err


# --- words ---------------------------------------------------------------------------------


def test_journal_show_speaks_words_not_python_values(cli, fake_root):
    converted = cli("convert", "--no-restart", root=fake_root, json=True)
    assert converted.code == 0, converted
    run_id = converted.data["run_id"]
    shown = cli("journal", "show", run_id, root=fake_root)
    assert shown.code == 0
    params = shown.out.split("\n    ")[0]
    assert "restart: no" in params
    for python in ("True", "False", "None", "[", "{"):
        assert python not in params, shown.out


# --- pipes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["repair", "--help"],
        ["survey"],
        ["journal"],
        ["convert", "--dry-run"],
        ["repair", "--dry-run", "-v", "--from-uid", "109", "--from-gid", "114", "TREE"],
        ["bridge", "status"],
        ["nonsense"],
    ],
)
def test_piping_any_command_into_head_ends_quietly(fake_root, command):
    if "TREE" in command:
        images = tree(fake_root / "srv/images", 3000, OLD)
        command = [str(images) if word == "TREE" else word for word in command]
    argv = command
    result = cli_support.run_into(["head", "-n", "1"], *argv, root=fake_root)
    assert result.err == "" or result.err.startswith("error: "), result.err
    assert "BrokenPipe" not in result.err and "Exception ignored" not in result.err
    assert result.out.count("\n") <= 1
    # Into a reader that reads nothing at all.
    nothing = cli_support.run_into(["true"], *argv, root=fake_root)
    assert "BrokenPipe" not in nothing.err and "Exception ignored" not in nothing.err


def test_a_long_dry_run_into_head_exits_with_the_broken_pipe_status(fake_root):
    images = tree(fake_root / "srv/images", 3000, OLD)
    result = cli_support.run_into(
        ["head", "-n", "1"],
        "repair",
        "--dry-run",
        "-v",
        "--from-uid",
        "109",
        "--from-gid",
        "114",
        images,
        root=fake_root,
    )
    assert result.err == ""
    assert result.out.startswith("scanned 3,01")
    assert result.code == 128 + 13  # as a shell reports `yes | head`


# --- progress ------------------------------------------------------------------------------


def test_progress_is_drawn_from_the_scan_even_when_nothing_changes(tmp_path):
    """The C walk hands Python nothing here; the meter still follows its count."""
    top = tree(tmp_path / "t", 20000, (0, 0))
    stream = io.StringIO()
    meter = Meter(stream, redraw=True, dry_run=True, interval=0.001)
    stats = repair.RepairStats()
    idmap = IdMap.single(*OLD, 64055, 64055)
    try:
        changes = list(repair.plan([os.fsencode(top)], idmap, stats, progress=meter))
    finally:
        meter.close()
    assert changes == []
    text = stream.getvalue()
    lines = text.split(CLEAR_LINE)
    # Drawn while the walk ran (a count short of the end), not only when it was over.
    assert any(line.startswith("  scanned ") and "20,011" not in line for line in lines), text
    assert text.endswith("\n") and text.count("\n") == 1
    assert lines[-1].startswith("  scanned 20,011 entries (")
    assert "/s), in " in lines[-1] and "changed" not in text


def test_progress_at_a_terminal_ends_its_line_with_a_summary(fake_root):
    images = tree(fake_root / "srv/images", 5000, OLD)
    result = cli_support.run_at_terminal(
        "repair", "--from-uid", "109", "--from-gid", "114", images, root=fake_root
    )
    assert result.code == 0, result
    # The last thing on the terminal of stderr is the summary, its line ended.
    assert result.err.endswith("\r\n"), repr(result.err)
    summary = result.err.rsplit(CLEAR_LINE, 1)[-1]
    assert summary.startswith("  scanned 5,01") and ", changed 5,000, in " in summary, summary
    assert result.out.startswith("run ")
    assert "scanned 5,01" in result.out


def test_no_progress_when_piped_unless_asked(fake_root):
    images = tree(fake_root / "srv/images", 500, OLD)
    argv = ("repair", "--dry-run", "--from-uid", "109", "--from-gid", "114", str(images))
    piped = cli_support.run(*argv, root=fake_root)
    assert piped.code == 0 and piped.err == ""
    asked = cli_support.run("--progress", *argv, root=fake_root)
    assert asked.code == 0
    assert CLEAR_LINE not in asked.err  # not a terminal: lines, never redrawn
    assert asked.err.startswith("  scanned ") and asked.err.endswith("\n")
    assert ", in " in asked.err.splitlines()[-1]
    quiet_at_terminal = cli_support.run_at_terminal("-q", *argv, root=fake_root)
    assert quiet_at_terminal.code == 0
    assert quiet_at_terminal.out == quiet_at_terminal.err == ""


# --- loudness and colour -------------------------------------------------------------------


def test_quiet_prints_only_errors_and_verbose_lists_every_entry(fake_root):
    images = tree(fake_root / "srv/images", 250, OLD)
    argv = ("repair", "--dry-run", "--from-uid", "109", "--from-gid", "114", str(images))
    quiet = cli_support.run("-q", *argv, root=fake_root)
    assert quiet.code == 0 and quiet.out == ""
    normal = cli_support.run(*argv, root=fake_root)
    assert "... and 50 more (-v or --json for all)" in normal.out
    verbose = cli_support.run(*argv, "-v", root=fake_root)
    assert verbose.out.count(" -> 64055:64055") == 250
    both = cli_support.run("-q", "-v", *argv, root=fake_root)
    assert both.code == 2 and "not allowed with argument" in both.err


def test_colour_only_at_a_terminal_and_never_with_no_color(tmp_path):
    missing = tmp_path / "missing"
    at_terminal = cli_support.run_at_terminal("survey", root=missing)
    assert at_terminal.code == 2
    assert "\x1b[" in at_terminal.err and "error:" in at_terminal.err
    no_color = cli_support.run_at_terminal(
        "survey", root=missing, env={**os.environ, "NO_COLOR": "1"}
    )
    assert no_color.code == 2 and "error:" in no_color.err
    assert "\x1b[" not in no_color.err
    piped = cli_support.run("survey", root=missing)
    assert piped.code == 2 and "\x1b[" not in piped.err


# --- the man page ----------------------------------------------------------------------------


def test_the_generated_man_page_documents_every_command_and_option(tmp_path):
    page = tmp_path / "libvirt-static-ids.1"
    page.write_text(manpage.render(build_parser()), encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    documented = man_page.documented(text)
    sections = documented.pop("sections")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXAMPLES", "EXIT STATUS"):
        assert section in sections
    assert documented == man_page.parsed()
    shown = subprocess.run(
        ["man", "--warnings", "-l", "-E", "UTF-8", str(page)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MANWIDTH": "80", "PAGER": "cat"},
    )
    assert shown.returncode == 0 and not shown.stderr.strip(), shown.stderr
    flat = " ".join(shown.stdout.split())
    # Each command's own words, its defaults and exit codes, as --help has them.
    assert "--to-uid N the UID it becomes (default: 64055)" in flat
    assert "libvirt-static-ids repair --orphans leftovers of earlier runs" in flat
    assert "4 An interrupted run exists" in flat


def test_one_familys_parser_parses_as_the_whole_parser_and_doubt_takes_the_whole():
    """Start-up builds only the named family's commands: same result, or the whole parser."""
    whole = build_parser()
    for words in (
        ["--root", "/srv/host", "repair", "--from-uid", "109", "--from-gid", "114", "/srv/x"],
        ["survey", "--json"],
        ["rollback", "--dry-run", "-q"],
        ["plan"],
    ):
        parser, args = cli_main._parsed(words)
        assert vars(args) == vars(whole.parse_command_line(words)), words
        assert len(parser.subcommands()) < len(whole.subcommands()), words
    # "plan" is a PATH here, but names a command of another family too: the whole parser.
    doubt = ["repair", "--from-uid", "109", "--from-gid", "114", "plan"]
    parser, args = cli_main._parsed(doubt)
    assert parser.subcommands().keys() == whole.subcommands().keys()
    assert args.paths == ["plan"]


def test_each_family_adds_exactly_the_commands_the_table_names():
    """The start-up table (which module to import for which command) matches the modules."""
    listed = [command for commands in cli_main.FAMILIES.values() for command in commands]
    assert listed == list(build_parser().subcommands())
    for name, commands in cli_main.FAMILIES.items():
        assert tuple(build_parser([name]).subcommands()) == commands, name


@pytest.mark.parametrize(
    "words", [["--version"], ["--root", "/srv", "--version"], ["--version", "survey"]]
)
def test_version_without_any_family_prints_what_the_whole_parser_prints(words, capsys):
    def printed(parse) -> tuple[object, str]:
        with pytest.raises(SystemExit) as ended:
            parse()
        return ended.value.code, capsys.readouterr().out

    lazy = printed(lambda: cli_main._parsed(words))
    assert lazy == printed(lambda: build_parser().parse_command_line(words))
    assert lazy == (0, "0.1.0\n")


def test_version_imports_no_command_family():
    """``--version`` answers before any family's module (and what it imports) is loaded."""
    code = (
        "import sys\n"
        "from libvirt_static_ids.cli import main\n"
        "try:\n"
        "    main.main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in sys.modules if m.startswith('libvirt_static_ids.cli.')]\n"
        "print(sorted(loaded))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert shown[-1] == "['libvirt_static_ids.cli.main', 'libvirt_static_ids.cli.parser']"


@pytest.mark.parametrize("columns", [None, "100", "0", "wide", "-5"])
def test_help_is_as_wide_as_argparse_makes_it(columns, monkeypatch):
    """The width help is laid out to, found without importing shutil, is shutil's."""
    import shutil

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
