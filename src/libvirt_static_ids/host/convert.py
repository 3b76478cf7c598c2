# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Convert one host: preflight, renumber, flush caches, restart libvirtd, repair, verify.

Every step is idempotent and journaled, so a run killed anywhere is finished by running
``convert`` again, or undone by ``rollback``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from libvirt_static_ids.errors import (
    InterruptedRunExists,
    OperationFailed,
    PreflightRefused,
    UsageError,
)
from libvirt_static_ids.files import repair, repair_run
from libvirt_static_ids.files.idmap import IdMap
from libvirt_static_ids.host import accounts, downtime, scan_scope, services
from libvirt_static_ids.host import survey as host_survey
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import ACCOUNT_NAME, IdPair, Verdict
from libvirt_static_ids.journal.records import AccountKind, AccountRecord, HostStep, StepRecord
from libvirt_static_ids.journal.runs import RunInfo, RunKind, RunState, interrupted_message
from libvirt_static_ids.journal.store import Journal, Store


class ConvertStatus(StrEnum):
    """What a conversion did, or would do (the report's ``status``)."""

    CONVERTED = "converted"
    ALREADY_STATIC = "already-static"
    ABSENT = "absent"
    WOULD_CONVERT = "would-convert"
    WOULD_RESUME = "would-resume"
    FAILED = "failed"


@dataclass
class ConvertReport:
    status: ConvertStatus
    survey: host_survey.HostSurvey
    dry_run: bool
    steps: list[str] = field(default_factory=list)
    run_id: str | None = None
    resumed: bool = False
    changes: list[repair.EntryChange] = field(default_factory=list)
    stats: repair.RepairStats = field(default_factory=repair.RepairStats)
    downtime: dict[str, Any] | None = None  # with --suspend-vms / --shutdown-vms

    def as_dict(self) -> dict[str, Any]:
        extra = {"downtime": self.downtime} if self.downtime is not None else {}
        return {
            "command": "convert",
            "status": self.status,
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "resumed": self.resumed,
            "survey": self.survey.as_dict(),
            "steps": self.steps,
            "changes": [change.as_dict() for change in self.changes],
            "repair": self.stats.as_dict(),
            **extra,
        }


def scope(root: HostRoot, extra_paths: Sequence[str]) -> list[bytes]:
    """The trees a conversion repairs: libvirt's own (resolved inside the root) plus every
    ``--path``."""
    # Absolute, as journaled: a rollback may run from another working directory.
    extra = [os.fsencode(os.path.abspath(p)) for p in extra_paths]
    return [*scan_scope.libvirt_trees(root).tops, *extra]


def _steps(
    root: HostRoot, source: IdPair, target: IdPair, tops: list[bytes], restart: bool
) -> list[str]:
    steps = list(scan_scope.libvirt_trees(root).notes)
    if source.uid != target.uid:
        steps.append(" ".join(accounts.renumber_user_command(root, ACCOUNT_NAME, target.uid)))
    if source.gid != target.gid:
        steps.append(" ".join(accounts.renumber_group_command(root, ACCOUNT_NAME, target.gid)))
    if root.is_live:
        steps.append("nscd -i passwd; nscd -i group (when nscd runs)")
    if restart and root.is_live:
        steps.append(" ".join(services.RESTART_LIBVIRTD))
    shown = ", ".join(os.fsdecode(t) for t in tops) or "(no paths exist)"
    steps.append(f"repair {source} -> {target} under {shown}")
    steps.append(f"verify {ACCOUNT_NAME} is {target}")
    return steps


def convert(
    root: HostRoot,
    target: IdPair,
    extra_paths: Sequence[str] = (),
    *,
    restart: bool = True,
    dry_run: bool = False,
    progress: repair.ProgressCallback | None = None,
    proc: str = "/proc",
    stopper: downtime.Stopper | None = None,
) -> ConvertReport:
    """``stopper``: stop the running VMs first and start them again after (downtime.py)."""
    for path in extra_paths:
        if not os.path.lexists(path):
            raise UsageError(f"--path {path!r} does not exist", option="--path")
        root.inside(path, "--path")
    store = Store(root)
    survey = host_survey.survey(root, target, proc)
    tops = scope(root, extra_paths)
    if dry_run:
        return _dry_run(
            root,
            store=store,
            survey=survey,
            target=target,
            tops=tops,
            extra_paths=extra_paths,
            restart=restart,
            stopper=stopper,
            progress=progress,
        )
    with store.locked():
        interrupted = store.interrupted()
        if interrupted is not None:
            params = _resumable(interrupted, target, extra_paths, restart)
            stopper = stopper or downtime.Stopper.from_params(params.get("downtime"))
            # A VM may have started (or the target been taken) since the run was killed, and
            # usermod/groupmod --prefix skip their own checks: the preflight holds for resumes.
            if blocking(survey, stopper):
                raise PreflightRefused(
                    f"{len(listed(survey))} blocker(s) before resuming run "
                    f"{interrupted.run_id}: nothing was changed",
                    blockers=[b.as_dict() for b in listed(survey)],
                    run_id=interrupted.run_id,
                )
        else:
            # Before the verdict: an account database read only in part cannot say "absent".
            if blocking(survey, stopper):
                raise PreflightRefused(
                    f"{len(listed(survey))} blocker(s): nothing was changed",
                    blockers=[b.as_dict() for b in listed(survey)],
                )
            if survey.verdict in (Verdict.STATIC, Verdict.ABSENT):
                status = (
                    ConvertStatus.ALREADY_STATIC
                    if survey.verdict == Verdict.STATIC
                    else ConvertStatus.ABSENT
                )
                return ConvertReport(status, survey, dry_run=False)
            params = _params(survey, target, extra_paths, restart)
            if stopper is not None:
                params["downtime"] = stopper.params()
        with store.run(RunKind.CONVERT, params) as journal:
            source = IdPair(params["from_uid"], params["from_gid"])
            if stopper is not None:
                stopper.stop(journal, source, proc)
            report = ConvertReport(
                ConvertStatus.CONVERTED,
                survey,
                dry_run=False,
                steps=_steps(root, source, target, tops, restart),
                run_id=journal.run_id,
                resumed=journal.resumed,
            )
            try:
                _renumber(root, journal, source, target)
                accounts.flush_name_caches(root)
                problems = []
                if restart and root.is_live:
                    journal.record(StepRecord(HostStep.RESTART_LIBVIRTD))
                    failure = services.restart_libvirtd()
                    if failure:
                        problems.append(repair.Problem(b"libvirtd", failure))
                idmap = IdMap.single(source.uid, source.gid, target.uid, target.gid)
                report.stats = repair_run.remap_paths(
                    journal, tops, idmap, resumed=journal.resumed, progress=progress
                )
                report.stats.problems += problems + _verify(root, target)
            except OperationFailed as error:
                report.stats.problems.append(repair.Problem(b"accounts", error.message))
            if stopper is not None:
                stopper.finish(journal, root, source, target, report.stats)
                report.steps, report.downtime = stopper.steps(report.steps), stopper.report()
            state = repair_run.finish(journal, report.stats, source=str(source), target=str(target))
            report.status = (
                ConvertStatus.CONVERTED if state == RunState.COMPLETE else ConvertStatus.FAILED
            )
            return report


def listed(survey: host_survey.HostSurvey) -> list[host_survey.Blocker]:
    """The survey's blockers that concern a conversion.

    An interrupted or failed run is convert's own business (resumed, or refused by name).
    """
    return [b for b in survey.blockers if b.code not in host_survey.HANDLED_BY_CONVERT]


def blocking(
    survey: host_survey.HostSurvey, stopper: downtime.Stopper | None
) -> list[host_survey.Blocker]:
    """Those of them that refuse it: less what the stopper resolves by stopping the VMs."""
    found = listed(survey)
    return stopper.blocking(found) if stopper else found


def _params(
    survey: host_survey.HostSurvey, target: IdPair, extra_paths: Sequence[str], restart: bool
) -> dict[str, Any]:
    assert survey.current is not None
    return {
        "from_uid": survey.current.uid,
        "from_gid": survey.current.gid,
        "to_uid": target.uid,
        "to_gid": target.gid,
        "paths": [os.path.abspath(p) for p in extra_paths],
        "restart": restart,
    }


class ResumeRequest(NamedTuple):
    """What ``convert --resume`` converts: the interrupted run's own parameters."""

    target: IdPair
    paths: list[str]
    restart: bool


def resume_request(root: HostRoot) -> ResumeRequest:
    """The parameters of the interrupted convert run, to resume it without repeating them."""
    interrupted = Store(root).interrupted()
    if interrupted is None or interrupted.kind != RunKind.CONVERT:
        what = f"run {interrupted.run_id} ({interrupted.kind})" if interrupted else "none"
        raise UsageError(
            f"--resume: no interrupted convert run under {root.path} (interrupted: {what})",
            option="--resume",
        )
    if interrupted.interrupted_while == RunState.ROLLING_BACK:
        raise UsageError(f"--resume: {interrupted_message(interrupted)}", option="--resume")
    params = interrupted.params
    return ResumeRequest(
        IdPair(params["to_uid"], params["to_gid"]), list(params["paths"]), params["restart"]
    )


def _resumable(
    interrupted: RunInfo, target: IdPair, extra_paths: Sequence[str], restart: bool
) -> dict[str, Any]:
    """The interrupted run's parameters, if this request is the same conversion."""
    requested = {
        "to_uid": target.uid,
        "to_gid": target.gid,
        "paths": [os.path.abspath(p) for p in extra_paths],
        "restart": restart,
    }
    params = interrupted.params
    if interrupted.kind != RunKind.CONVERT or any(params.get(k) != v for k, v in requested.items()):
        raise InterruptedRunExists(interrupted_message(interrupted), run_id=interrupted.run_id)
    return params


def _renumber(root: HostRoot, journal: Journal, source: IdPair, target: IdPair) -> None:
    """Renumber user then group, each journaled first; a step already done is skipped."""
    user = accounts.find_user(root, ACCOUNT_NAME)
    if user is None:
        raise OperationFailed(f"user {ACCOUNT_NAME} vanished from {root.join('etc/passwd')}")
    if user.uid == source.uid and source.uid != target.uid:
        journal.record(AccountRecord(AccountKind.USER, ACCOUNT_NAME, source.uid, target.uid))
        accounts.renumber_user(root, ACCOUNT_NAME, target.uid)
    elif user.uid != target.uid:
        raise OperationFailed(
            f"{ACCOUNT_NAME} has UID {user.uid}, neither {source.uid} nor {target.uid}"
        )
    group = accounts.find_group(root, ACCOUNT_NAME)
    if group is None:
        raise OperationFailed(f"group {ACCOUNT_NAME} vanished from {root.join('etc/group')}")
    if group.gid == source.gid and source.gid != target.gid:
        journal.record(AccountRecord(AccountKind.GROUP, ACCOUNT_NAME, source.gid, target.gid))
        accounts.renumber_group(root, ACCOUNT_NAME, target.gid)
    elif group.gid != target.gid:
        raise OperationFailed(
            f"group {ACCOUNT_NAME} has GID {group.gid}, neither {source.gid} nor {target.gid}"
        )


def _verify(root: HostRoot, target: IdPair) -> list[repair.Problem]:
    user = accounts.find_user(root, ACCOUNT_NAME)
    group = accounts.find_group(root, ACCOUNT_NAME)
    if user and group and IdPair(user.uid, group.gid) == target:
        return []
    found = f"{user.uid if user else '-'}:{group.gid if group else '-'}"
    return [
        repair.Problem(b"accounts", f"{ACCOUNT_NAME} is {found} after conversion, not {target}")
    ]


def _dry_run(
    root: HostRoot,
    *,
    store: Store,
    survey: host_survey.HostSurvey,
    target: IdPair,
    tops: list[bytes],
    extra_paths: Sequence[str],
    restart: bool,
    stopper: downtime.Stopper | None,
    progress: repair.ProgressCallback | None,
) -> ConvertReport:
    interrupted = store.interrupted()
    if interrupted is not None:
        params = _resumable(interrupted, target, extra_paths, restart)
        source, status = IdPair(params["from_uid"], params["from_gid"]), ConvertStatus.WOULD_RESUME
    elif survey.verdict in (Verdict.STATIC, Verdict.ABSENT):
        status = (
            ConvertStatus.ALREADY_STATIC
            if survey.verdict == Verdict.STATIC
            else ConvertStatus.ABSENT
        )
        return ConvertReport(status, survey, dry_run=True)
    elif survey.current is None:  # no libvirt-qemu group: nothing to plan, the blockers say why
        return ConvertReport(ConvertStatus.WOULD_CONVERT, survey, dry_run=True)
    else:
        source, status = survey.current, ConvertStatus.WOULD_CONVERT
    report = ConvertReport(
        status,
        survey,
        dry_run=True,
        steps=_steps(root, source, target, tops, restart),
        run_id=interrupted.run_id if interrupted else None,
    )
    idmap = IdMap.single(source.uid, source.gid, target.uid, target.gid)
    report.changes = list(repair.plan(tops, idmap, report.stats, progress=progress))
    if stopper is not None:
        stopper.preview()
        report.steps, report.downtime = stopper.steps(report.steps), stopper.report()
    return report
