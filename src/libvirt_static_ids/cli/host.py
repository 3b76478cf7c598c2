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
from typing import Any

from libvirt_static_ids.cli import directory as cli_directory
from libvirt_static_ids.cli import downtime as cli_downtime
from libvirt_static_ids.errors import ExitCode, UsageError
from libvirt_static_ids.files.repair import ProgressCallback, RepairStats
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import DEFAULT_TARGET, IdPair, parse_id

COMMANDS = ("survey", "convert", "repair", "rollback", "journal")


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    survey = commands.add_parser(
        "survey", parents=[common], help="this host's numbers and blockers"
    )
    _target_options(survey)
    cli_directory.add_survey_options(survey)

    conv = commands.add_parser("convert", parents=[common], help="convert this host")
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
    cli_downtime.add_options(conv)

    rep = commands.add_parser("repair", parents=[common], help="remap file ownership")
    rep.add_argument(
        "--orphans", action="store_true", help="entries whose owner or group has no name"
    )
    rep.add_argument("--from-uid", metavar="N")
    rep.add_argument("--from-gid", metavar="N")
    rep.add_argument("--to-uid", metavar="N", default=str(DEFAULT_TARGET.uid))
    rep.add_argument("--to-gid", metavar="N", default=str(DEFAULT_TARGET.gid))
    rep.add_argument("--dry-run", action="store_true", help="list every change; change nothing")
    rep.add_argument("--cross-filesystems", action="store_true", help="descend into other mounts")
    rep.add_argument("paths", nargs="*", metavar="PATH")

    back = commands.add_parser("rollback", parents=[common], help="undo the last or the named run")
    back.add_argument("run_id", nargs="?", metavar="RUN_ID")
    back.add_argument("--no-restart", action="store_true", help="do not restart libvirtd")

    jour = commands.add_parser("journal", parents=[common], help="list runs, or show one")
    jour.add_argument("action", nargs="?", choices=["show"])
    jour.add_argument("run_id", nargs="?", metavar="RUN_ID")


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


def _progress(enabled: bool) -> ProgressCallback | None:
    if not enabled:
        return None

    def show(stats: RepairStats) -> None:
        print(f"\r  scanned {stats.scanned:,}, changed {stats.changed:,}", end="", file=sys.stderr)

    return show


def run(args: argparse.Namespace) -> tuple[dict[str, Any], ExitCode]:
    """Carry out one host command; return its JSON-able result and exit code."""
    if args.command == "survey" and args.domain:
        return cli_directory.run(args)
    root = HostRoot.open_system(args.root)
    progress = _progress(not args.json and sys.stderr.isatty())
    if args.command == "survey":
        from libvirt_static_ids.host import survey as host_survey

        return {
            "command": "survey",
            **host_survey.survey(root, _target(args)).as_dict(),
        }, ExitCode.OK
    if args.command == "convert":
        from libvirt_static_ids.host import convert

        target = _target(args)
        stopper = cli_downtime.stopper(args)
        try:
            report = convert.convert(
                root,
                target,
                args.path,
                restart=not args.no_restart,
                dry_run=args.dry_run,
                progress=progress,
                stopper=stopper,
            )
        finally:
            if stopper is not None:
                stopper.close()
        blockers = stopper.blocking(report.survey.blockers) if stopper else report.survey.blockers
        if report.dry_run and blockers:
            return report.as_dict(), ExitCode.REFUSED
        failed = report.status == convert.ConvertStatus.FAILED or (
            stopper is not None and stopper.failed
        )
        return report.as_dict(), ExitCode.FAILED if failed else ExitCode.OK
    if args.command == "repair":
        return _repair(root, args, progress)
    if args.command == "rollback":
        from libvirt_static_ids.host import rollback

        result = rollback.rollback(root, args.run_id, restart=not args.no_restart)
        return result.as_dict(), ExitCode.OK if result.clean else ExitCode.FAILED
    return _journal(root, args), ExitCode.OK


def _repair(
    root: HostRoot, args: argparse.Namespace, progress: Any
) -> tuple[dict[str, Any], ExitCode]:
    from libvirt_static_ids.files import repair_run
    from libvirt_static_ids.files.idmap import IdMap
    from libvirt_static_ids.host import orphans, scan_scope

    if args.orphans:
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
