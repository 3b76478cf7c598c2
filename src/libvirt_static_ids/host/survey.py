# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Survey of one host: libvirt-qemu's numbers, the verdict, and what blocks the fix."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from libvirt_static_ids.errors import StaticIdsError
from libvirt_static_ids.host import (
    account_database,
    accounts,
    libvirt_config,
    processes,
    scan_scope,
)
from libvirt_static_ids.host.account_database import AccountDatabase, DefectKind, Group, User
from libvirt_static_ids.host.number_holders import Database, holders
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.ids import ACCOUNT_NAME, IdPair, Verdict
from libvirt_static_ids.journal.runs import RunKind, RunState, interrupted_message
from libvirt_static_ids.journal.store import Store

# shadow < 4.7 chowns the home tree on ``usermod -u`` whoever owns the home directory.
_SHADOW_CHOWNS_ANY_HOME = (4, 7)


class BlockerCode(StrEnum):
    """What blocks converting a host (the ``code`` of a blocker, also in LDAP records)."""

    TARGET_UID_TAKEN = "target-uid-taken"
    TARGET_GID_TAKEN = "target-gid-taken"
    GROUP_MISSING = "group-missing"
    PROCESSES_RUNNING = "processes-running"
    QEMU_RUNS_AS_OTHER_USER = "qemu-runs-as-other-user"
    DAC_LABEL_PINNED = "dac-label-pinned"
    HOME_OWNED_BY_USER = "home-owned-by-user"
    SHADOW_CHOWNS_HOME = "shadow-chowns-home"
    RUN_INTERRUPTED = "run-interrupted"
    RUN_FAILED = "run-failed"
    HALF_CONVERTED = "half-converted"
    JOURNAL_UNREADABLE = "journal-unreadable"
    OLD_UID_TAKEN = "old-uid-taken"
    OLD_GID_TAKEN = "old-gid-taken"
    ACCOUNT_FILE_INVALID = "account-file-invalid"
    ACCOUNT_ENTRY_MALFORMED = "account-entry-malformed"
    ACCOUNT_ENTRY_DUPLICATE = "account-entry-duplicate"
    SCAN_PATH_UNRESOLVED = "scan-path-unresolved"


# Runs the survey reports that `convert` itself deals with: it resumes an interrupted run (or
# refuses naming it) and starts a new one after a failed one; they never refuse it as blockers.
HANDLED_BY_CONVERT = frozenset({BlockerCode.RUN_INTERRUPTED, BlockerCode.RUN_FAILED})


_DEFECT_CODES = {
    DefectKind.FILE: BlockerCode.ACCOUNT_FILE_INVALID,
    DefectKind.MALFORMED: BlockerCode.ACCOUNT_ENTRY_MALFORMED,
    DefectKind.DUPLICATE: BlockerCode.ACCOUNT_ENTRY_DUPLICATE,
}


@dataclass(frozen=True)
class Blocker:
    """Something that must be resolved before this host can be converted."""

    code: BlockerCode
    message: str
    pids: tuple[int, ...] = ()
    command: str | None = None  # the exact command that resolves it, where one does

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.pids:
            data["pids"] = list(self.pids)
        if self.command:
            data["command"] = self.command
        return data


@dataclass(frozen=True)
class HostSurvey:
    root: str
    target: IdPair
    user: User | None
    group: Group | None
    primary_group: Group | None
    verdict: Verdict
    blockers: tuple[Blocker, ...] = field(default=())

    @property
    def current(self) -> IdPair | None:
        if self.user is None or self.group is None:
            return None
        return IdPair(self.user.uid, self.group.gid)

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "account": ACCOUNT_NAME,
            "uid": self.user.uid if self.user else None,
            "gid": self.group.gid if self.group else None,
            "primary_gid": self.user.gid if self.user else None,
            "primary_group": self.primary_group.name if self.primary_group else None,
            "target": self.target.as_dict(),
            "verdict": str(self.verdict),
            "blockers": [blocker.as_dict() for blocker in self.blockers],
        }


def survey(root: HostRoot, target: IdPair, proc: str = "/proc") -> HostSurvey:
    """The verdict, and every blocker; a database that cannot be read in full blocks all."""
    db = account_database.read(root)
    found = database_blockers(db)
    user = db.find_user(ACCOUNT_NAME)
    group = db.find_group(ACCOUNT_NAME)
    primary = None
    if user is not None:
        primary = next((g for g in db.groups if g.gid == user.gid), None)
    if user is None:
        return HostSurvey(root.path, target, None, group, None, Verdict.ABSENT, tuple(found))
    found += _run_blockers(root, target, user, group)
    if group is not None and IdPair(user.uid, group.gid) == target:
        return HostSurvey(root.path, target, user, group, primary, Verdict.STATIC, tuple(found))
    found += _blockers(root, db, target=target, user=user, group=group, proc=proc)
    taken = {BlockerCode.TARGET_UID_TAKEN, BlockerCode.TARGET_GID_TAKEN} & {b.code for b in found}
    verdict = Verdict.CONFLICT if taken else Verdict.DYNAMIC
    return HostSurvey(root.path, target, user, group, primary, verdict, tuple(found))


def database_blockers(db: AccountDatabase) -> list[Blocker]:
    """Each defect of the account database: usermod/groupmod must never act on one."""
    return [Blocker(_DEFECT_CODES[defect.kind], defect.message) for defect in db.defects]


def old_number_blockers(
    root: HostRoot, db: AccountDatabase, uid: int | None, gid: int | None, purpose: str
) -> list[Blocker]:
    """Another account holding libvirt-qemu's old UID, another group its old GID.

    ``purpose`` says why that blocks: converting would move their files to libvirt-qemu,
    rolling back would hand libvirt-qemu's files to them.
    """
    found = []
    checks = (
        (uid, Database.USERS, BlockerCode.OLD_UID_TAKEN, "UID"),
        (gid, Database.GROUPS, BlockerCode.OLD_GID_TAKEN, "GID"),
    )
    for number, database, code, label in checks:
        if number is None:
            continue
        for holder in holders(root, db, database, number, besides=ACCOUNT_NAME):
            found.append(
                Blocker(
                    code,
                    f"old {label} {number} of {ACCOUNT_NAME} also belongs to {holder.where} "
                    f"{holder.name!r}: {purpose}",
                )
            )
    return found


def _blockers(
    root: HostRoot,
    db: AccountDatabase,
    *,
    target: IdPair,
    user: User,
    group: Group | None,
    proc: str,
) -> list[Blocker]:
    found: list[Blocker] = []
    found += _target_taken(root, db, target)
    found += old_number_blockers(
        root,
        db,
        user.uid,
        group.gid if group else None,
        "renumbering would move its files to libvirt-qemu too; give it a number of its own first",
    )
    if group is None:
        found.append(
            Blocker(
                BlockerCode.GROUP_MISSING,
                f"group {ACCOUNT_NAME} does not exist; QEMU's group is unknown",
            )
        )
    busy = processes.running_as(user.uid, proc)
    if busy:
        listed = ", ".join(f"{p.pid} ({p.name})" for p in busy)
        found.append(
            Blocker(
                BlockerCode.PROCESSES_RUNNING,
                f"{len(busy)} process(es) run as UID {user.uid}: {listed}; "
                "migrate, save or shut down the VMs first",
                tuple(p.pid for p in busy),
            )
        )
    for identity in libvirt_config.configured_identities(root):
        if libvirt_config.names_other_user(identity, ACCOUNT_NAME, user.uid):
            found.append(
                Blocker(
                    BlockerCode.QEMU_RUNS_AS_OTHER_USER,
                    f"{identity.source} runs QEMU as user {identity.user!r}, not {ACCOUNT_NAME}: "
                    "renumbering libvirt-qemu would not change what QEMU runs as",
                )
            )
    old = {user.uid} | ({group.gid} if group else set())
    for pinned in libvirt_config.pinned_dac_labels(root):
        if set(libvirt_config.label_numbers(pinned.label)) & old:
            found.append(
                Blocker(
                    BlockerCode.DAC_LABEL_PINNED,
                    f"VM {pinned.domain!r} pins QEMU to {pinned.label} with a static DAC "
                    "seclabel; change the label to the target numbers first",
                )
            )
    found += [
        Blocker(BlockerCode.SCAN_PATH_UNRESOLVED, f"{message}: its files cannot be repaired")
        for message in scan_scope.libvirt_trees(root).unresolved
    ]
    found += _home_trap(root, user)
    return found


def _target_taken(root: HostRoot, db: AccountDatabase, target: IdPair) -> list[Blocker]:
    """The target held by any other entry: local, NIS ``+`` line, or (live) NSS, which
    usermod/groupmod ask too and refuse on."""
    found = []
    for holder in holders(root, db, Database.USERS, target.uid, besides=ACCOUNT_NAME):
        found.append(
            Blocker(
                BlockerCode.TARGET_UID_TAKEN,
                f"target UID {target.uid} belongs to {holder.where} {holder.name!r}",
            )
        )
    for holder in holders(root, db, Database.GROUPS, target.gid, besides=ACCOUNT_NAME):
        found.append(
            Blocker(
                BlockerCode.TARGET_GID_TAKEN,
                f"target GID {target.gid} belongs to {holder.where} {holder.name!r}",
            )
        )
    return found


def _home_trap(root: HostRoot, user: User) -> list[Blocker]:
    """``usermod -u`` chowns the home tree by itself, unjournaled, maybe across NFS.

    It stats the home following symlinks, so a relocated home's target counts, as does
    the link itself.
    """
    home = root.join(user.home)
    owners = set()
    for follow in (False, True):
        try:
            owners.add(os.stat(home, follow_symlinks=follow).st_uid)
        except OSError:
            continue
    if not owners:
        return []
    if user.uid in owners:
        return [
            Blocker(
                BlockerCode.HOME_OWNED_BY_USER,
                f"home {user.home} is owned by UID {user.uid}, so usermod would chown the whole "
                "tree itself, unjournaled (also into NFS-mounted images); "
                f"chown root {user.home} first, this tool then repairs the tree",
            )
        ]
    version = accounts.installed_version(root, "passwd")
    if version and _shadow_tuple(version) < _SHADOW_CHOWNS_ANY_HOME:
        return [
            Blocker(
                BlockerCode.SHADOW_CHOWNS_HOME,
                f"shadow {version} (< 4.7) makes usermod chown the home tree {user.home} "
                "whoever owns it; upgrade passwd first",
            )
        ]
    return []


def _shadow_tuple(version: str) -> tuple[int, int]:
    upstream = version.split(":", 1)[-1].split("-", 1)[0].split("+", 1)[0]
    major, minor, *_ = [*(int(p) for p in upstream.split(".")[:2] if p.isdigit()), 0, 0]
    return major, minor


def _run_blockers(
    root: HostRoot, target: IdPair, user: accounts.User, group: accounts.Group | None
) -> list[Blocker]:
    """An interrupted or failed run, or a half-done conversion no journal knows of."""
    tool = "libvirt-static-ids" + ("" if root.is_live else f" --root {root.path}")
    try:
        runs = Store(root).runs()
    except StaticIdsError as error:
        return [Blocker(BlockerCode.JOURNAL_UNREADABLE, f"this host's journal: {error.message}")]
    interrupted = next((r for r in reversed(runs) if r.state == RunState.INTERRUPTED), None)
    if interrupted is not None:
        if interrupted.interrupted_while == RunState.ROLLING_BACK:
            command = f"{tool} rollback {interrupted.run_id}"
        elif interrupted.kind == RunKind.CONVERT:
            command = f"{tool} convert --resume"
        else:
            command = f"{tool} rollback {interrupted.run_id}"
        return [
            Blocker(
                BlockerCode.RUN_INTERRUPTED,
                f"{interrupted_message(interrupted)}; to go on: {command}",
                command=command,
            )
        ]
    converts = [r for r in runs if r.kind == RunKind.CONVERT and r.state != RunState.ROLLED_BACK]
    if converts and converts[-1].state == RunState.FAILED:
        failed = converts[-1]
        command = f"{tool} journal show {failed.run_id}"
        return [
            Blocker(
                BlockerCode.RUN_FAILED,
                f"convert run {failed.run_id} failed: its problems are listed by `{command}`; "
                f"fix them and repair what is left, or undo it: {tool} rollback {failed.run_id}",
                command=command,
            )
        ]
    half = group is not None and (user.uid == target.uid) != (group.gid == target.gid)
    if half and not converts:
        current = f"{user.uid}:{group.gid if group else '-'}"
        return [
            Blocker(
                BlockerCode.HALF_CONVERTED,
                f"{ACCOUNT_NAME} is {current}, half converted to {target}, and no journal on "
                "this host records it (its run directory under "
                f"{root.join('var/lib/libvirt-static-ids/runs')} is lost?): which files still "
                "carry the old number cannot be known; restore that directory and run "
                f"`{tool} convert --resume`, or give the files their owner with `{tool} repair "
                "--from-uid OLD --from-gid OLD PATH...` and the account its number by hand",
            )
        ]
    return []
