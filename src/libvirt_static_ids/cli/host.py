# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The host engine's commands: ``survey``, ``convert``, ``repair``, ``rollback``, ``journal``.

Modules that do the work are imported inside ``run``, so that every command starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from libvirt_static_ids.cli import directory as cli_directory
from libvirt_static_ids.cli import downtime as cli_downtime
from libvirt_static_ids.cli.parser import PROG, exits
from libvirt_static_ids.errors import ExitCode, UsageError
from libvirt_static_ids.ids import DEFAULT_TARGET, IdPair, parse_id

if TYPE_CHECKING:
    from libvirt_static_ids.cli.progress import Meter
    from libvirt_static_ids.hostroot import HostRoot


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    survey = commands.add_parser(
        "survey",
        parents=[common],
        help="this host's numbers and blockers",
        description="Show this host's libvirt-qemu UID, group GID and primary group, the "
        "target, the verdict (static, dynamic, absent or conflict) and every blocker with a "
        "stable code. Changes nothing.",
        examples=[
            (f"{PROG} survey", "this host against the default target"),
            (f"{PROG} survey --domain", "every KVM host recorded in the directory"),
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.USAGE),
    )
    _target_options(survey)
    cli_directory.add_survey_options(survey)

    conv = commands.add_parser(
        "convert",
        parents=[common],
        help="convert this host",
        description="Convert this host to the target numbers: preflight, renumber "
        "libvirt-qemu with usermod/groupmod, restart libvirtd, repair file ownership under "
        "libvirt's directories and every --path, verify. Every change is journaled first; "
        "an interrupted conversion is resumed by running convert again, or undone by rollback.",
        examples=[
            (f"{PROG} convert --dry-run", "every step and file it would change"),
            (f"{PROG} convert --path /srv/images", "convert, repairing /srv/images too"),
            (f"{PROG} convert --suspend-vms", "with downtime: suspend the running VMs meanwhile"),
        ],
        exit_codes=exits(
            ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.REFUSED, ExitCode.INTERRUPTED
        ),
    )
    _target_options(conv)
    conv.add_argument(
        "--dry-run", action="store_true", help="show every step and file; change nothing"
    )
    conv.add_argument(
        "--path",
        action="append",
        default=[],
        metavar="DIR",
        help="also repair this tree (repeatable)",
    )
    conv.add_argument("--no-restart", action="store_true", help="do not restart libvirtd")
    conv.add_argument(
        "--resume",
        action="store_true",
        help="resume the interrupted convert run with its own target, paths and settings",
    )
    cli_downtime.add_options(conv)

    rep = commands.add_parser(
        "repair",
        parents=[common],
        help="remap file ownership",
        description="Remap owner and group (independently), POSIX ACL entries and libvirt's "
        "remembered-owner xattrs from the old to the new numbers under each PATH, never "
        "following a symbolic link, as a journaled run that rollback undoes. With --orphans: "
        "entries whose owner or group has no name, remapped where this host's journal knows "
        "the number as its old one, listed otherwise.",
        examples=[
            (
                f"{PROG} repair --from-uid 109 --from-gid 114 --dry-run /srv/images",
                "list what would change under /srv/images",
            ),
            (f"{PROG} repair --orphans", "leftovers of earlier runs, under libvirt's directories"),
        ],
        exit_codes=exits(
            ExitCode.OK,
            ExitCode.USAGE,
            ExitCode.INTERRUPTED,
            FAILED="some entries could not be changed (each is listed)",
        ),
    )
    rep.add_argument(
        "--orphans", action="store_true", help="entries whose owner or group has no name"
    )
    rep.add_argument(
        "--from-uid", metavar="N", help="the old UID to remap (needed without --orphans)"
    )
    rep.add_argument(
        "--from-gid", metavar="N", help="the old GID to remap (needed without --orphans)"
    )
    rep.add_argument(
        "--to-uid", metavar="N", default=str(DEFAULT_TARGET.uid), help="the UID it becomes"
    )
    rep.add_argument(
        "--to-gid", metavar="N", default=str(DEFAULT_TARGET.gid), help="the GID it becomes"
    )
    rep.add_argument("--dry-run", action="store_true", help="list every change; change nothing")
    rep.add_argument("--cross-filesystems", action="store_true", help="descend into other mounts")
    rep.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="a tree to repair (at least one without --orphans; with it, the default is "
        "libvirt's directories)",
    )

    back = commands.add_parser(
        "rollback",
        parents=[common],
        help="undo the last convert run, or the named run",
        description="Undo a journaled run exactly: accounts renumbered back, every entry "
        "restored to what the journal holds. Entries someone else changed since are listed "
        "and left as they are. Without RUN_ID: the last convert run; when a later run changed "
        "files too, or no convert run is left, the runs to name are listed (exit 2). Runs "
        "that changed nothing are never offered; with nothing left to undo, exit 0.",
        examples=[
            (f"{PROG} rollback --dry-run", "list what undoing the last convert run restores"),
            (f"{PROG} rollback", "undo the last convert run"),
            (f"{PROG} journal", "list the runs, with the RUN_ID each can be named by"),
        ],
        exit_codes=exits(
            ExitCode.OK,
            ExitCode.USAGE,
            FAILED="some entries or accounts could not be restored (each is listed)",
        ),
    )
    back.add_argument("run_id", nargs="?", metavar="RUN_ID", help="the run to undo (see `journal`)")
    back.add_argument("--no-restart", action="store_true", help="do not restart libvirtd")
    back.add_argument(
        "--dry-run", action="store_true", help="list exactly what would be restored; change nothing"
    )

    jour = commands.add_parser(
        "journal",
        parents=[common],
        help="list runs, or show one",
        description="List the journaled runs of this root with their kind and state, or "
        "show one run: its parameters, summary and every record.",
        examples=[
            (f"{PROG} journal", "every run, oldest first"),
            (f"{PROG} journal show RUN_ID", "one run's records"),
        ],
        exit_codes=exits(ExitCode.OK, ExitCode.USAGE),
    )
    jour.add_argument("action", nargs="?", choices=["show"], help="show one run")
    jour.add_argument("run_id", nargs="?", metavar="RUN_ID", help="the run to show")


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--uid", metavar="N", default=str(DEFAULT_TARGET.uid), help="target UID")
    parser.add_argument("--gid", metavar="N", default=str(DEFAULT_TARGET.gid), help="target GID")


def _target(args: argparse.Namespace) -> IdPair:
    return IdPair(parse_id(args.uid, "--uid"), parse_id(args.gid, "--gid"))


def _existing_paths(root: HostRoot, paths: Sequence[str], option: str) -> list[bytes]:
    for path in paths:
        if not os.path.lexists(path):
            raise UsageError(f"{option} {path!r} does not exist", option=option)
        root.inside(path, option)
    return [os.fsencode(os.path.abspath(path)) for path in paths]


def _meter(args: argparse.Namespace) -> Meter | None:
    """Progress at a terminal (not with --quiet or --json), elsewhere only with --progress."""
    from libvirt_static_ids.cli.progress import Meter

    at_terminal = sys.stderr.isatty()
    if args.progress or (at_terminal and not args.quiet and not args.json):
        return Meter(sys.stderr, redraw=at_terminal, dry_run=getattr(args, "dry_run", False))
    return None


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    """Carry out one host command; return its JSON-able result and exit code."""
    if args.command == "survey" and args.domain:
        return cli_directory.run(args)
    meter = _meter(args)
    try:
        return _run(args, meter)
    finally:
        if meter is not None:
            meter.close()


def _run(args: argparse.Namespace, progress: Meter | None) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.hostroot import HostRoot

    root = HostRoot.open_system(args.root)
    if args.command in ("convert", "repair", "rollback"):
        from libvirt_static_ids.files import walk

        walk.listxattrat_allowed()  # a bad LIBVIRT_STATIC_IDS_WALK is refused before any run
    if args.command == "survey":
        from libvirt_static_ids.host import survey as host_survey

        return {
            "command": "survey",
            **host_survey.survey(root, _target(args)).as_dict(),
        }, ExitCode.OK
    if args.command == "convert":
        from libvirt_static_ids.cli import joined as cli_joined
        from libvirt_static_ids.host import convert

        target, paths, restart = _target(args), args.path, not args.no_restart
        if args.resume:
            if args.path or args.no_restart or target != DEFAULT_TARGET:
                raise UsageError(
                    "--resume takes the interrupted run's own parameters: "
                    "give it without --uid, --gid, --path or --no-restart",
                    option="--resume",
                )
            target, paths, restart = convert.resume_request(root)
        joined = cli_joined.JoinedHost.find(root)
        try:
            if not args.resume:
                target = joined.target(target, root)
            stopper = cli_downtime.stopper(args)
            try:
                report = convert.convert(
                    root,
                    target,
                    paths,
                    restart=restart,
                    dry_run=args.dry_run,
                    progress=progress,
                    stopper=stopper,
                )
            finally:
                if stopper is not None:
                    stopper.close()
                if not args.dry_run:
                    joined.record(root, args.connect)
        finally:
            joined.close()
        data = {**report.as_dict(), "directory": joined.as_dict()}
        blockers = convert.blocking(report.survey, stopper)
        if report.dry_run and blockers:
            return data, ExitCode.REFUSED
        failed = report.status == convert.ConvertStatus.FAILED or (
            stopper is not None and stopper.failed
        )
        return data, ExitCode.FAILED if failed else ExitCode.OK
    if args.command == "repair":
        return _repair(root, args, progress)
    if args.command == "rollback":
        from libvirt_static_ids.host import rollback

        result = rollback.rollback(
            root, args.run_id, restart=not args.no_restart, dry_run=args.dry_run
        )
        return result.as_dict(), ExitCode.OK if result.clean else ExitCode.FAILED
    return _journal(root, args), ExitCode.OK


def _repair(
    root: HostRoot, args: argparse.Namespace, progress: Any
) -> tuple[dict[str, Any], ExitCode]:
    if args.orphans:
        from libvirt_static_ids.host import orphans, scan_scope

        if args.from_uid or args.from_gid:
            raise UsageError("--orphans takes its old numbers from the journal, not --from-*")
        tops = _existing_paths(root, args.paths, "PATH") or list(
            scan_scope.libvirt_trees(root).tops
        )
        report: Any = orphans.repair_orphans(
            root,
            tops,
            dry_run=args.dry_run,
            cross_filesystems=args.cross_filesystems,
            progress=progress,
        )
    else:
        if args.from_uid is None or args.from_gid is None:
            raise UsageError("repair needs --from-uid and --from-gid (or --orphans)")
        if not args.paths:
            raise UsageError("repair needs at least one PATH")
        from libvirt_static_ids.files import repair_run
        from libvirt_static_ids.files.idmap import IdMap

        idmap = IdMap.single(
            parse_id(args.from_uid, "--from-uid"),
            parse_id(args.from_gid, "--from-gid"),
            parse_id(args.to_uid, "--to-uid"),
            parse_id(args.to_gid, "--to-gid"),
        )
        report = repair_run.run_repair(
            root,
            _existing_paths(root, args.paths, "PATH"),
            idmap,
            dry_run=args.dry_run,
            cross_filesystems=args.cross_filesystems,
            progress=progress,
        )
    return report.as_dict(), ExitCode.FAILED if report.stats.problems else ExitCode.OK


def _journal(root: HostRoot, args: argparse.Namespace) -> dict[str, Any]:
    from libvirt_static_ids.journal import store as journal

    store = journal.Store(root)
    if args.action == "show":
        if not args.run_id:
            raise UsageError("journal show needs a RUN_ID")
        run_journal = store.open(args.run_id)
        info = store.info(run_journal)
        return {
            "command": "journal",
            "run": info.as_dict(),
            "records": [record.encode() for record in run_journal.records()],
        }
    if args.run_id:
        raise UsageError(f"unexpected {args.run_id!r}: did you mean `journal show {args.run_id}`?")
    return {"command": "journal", "runs": [run.as_dict() for run in store.runs()]}
