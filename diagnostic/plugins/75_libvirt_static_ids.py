# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""System Diagnostic check: do all KVM hosts run libvirt-qemu with the same, static numbers?

Installed as univention/management/console/modules/diagnostic/plugins/75_libvirt_static_ids.py.
Thin: the domain survey (``libvirt-static-ids survey --domain``) decides; this only reads it
with the host's machine account and turns what it found into a warning that points to the
libvirt-static-ids UMC module. The host records are readable only by each host itself, the
admins and the Directory Nodes (the ACL), so the check runs on Directory Nodes; elsewhere it
has nothing to say.
"""

from __future__ import annotations

from typing import Any

from univention.lib.i18n import Translation
from univention.management.console.modules.diagnostic import MODULE, Warning

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory import connection, domain_survey, ucr
from libvirt_static_ids.errors import StaticIdsError
from libvirt_static_ids.hostroot import HostRoot

_ = Translation("univention-libvirt-static-ids").translate

title = _("libvirt IDs of KVM hosts")
description = _(
    "All KVM hosts should run libvirt-qemu with the same static UID and GID, and no other "
    "directory object may hold them; otherwise live migration of VMs on NFS fails. "
    "Open {libvirt-static-ids} to see and convert the hosts."
)
umc_modules: list[dict[str, Any]] = [{"module": "libvirt-static-ids", "flavor": None, "props": {}}]
run_descr = [_("Reading the libvirt-static-ids records of all KVM hosts")]

#: The root of the host the check runs on (tests point it at a simulated host).
HOST_ROOT = "/"


def read_survey(root: str = HOST_ROOT) -> dict[str, Any]:
    """The domain survey, read with this host's machine account (as the daily timer does)."""
    params = connection.resolve(HostRoot.open(root))
    conn = directory.connect(params.uri, params.binddn, params.password, starttls=params.starttls)
    try:
        return domain_survey.collect(conn, params.base).as_dict()
    finally:
        conn.unbind_s()


def findings(survey: dict[str, Any]) -> list[str]:
    """One sentence per problem the survey shows; none when the domain has converged."""
    found: list[str] = []
    classes = survey["classes"]
    if len(classes) > 1:
        groups = "; ".join(
            "%s: %s" % (cls["id"], ", ".join(cls["hosts"]))  # noqa: UP031 - gettext style
            for cls in classes
        )
        found.append(
            _("KVM hosts run libvirt-qemu with different numbers; VMs cannot migrate between: %s.")
            % (groups,)
        )
    dynamic = [cls["id"] for cls in classes if not cls["static"]]
    if len(classes) == 1 and dynamic:
        found.append(_("All KVM hosts share %s, which is not the static target.") % (dynamic[0],))
    if survey["stale"]:
        found.append(
            _("These hosts have not confirmed their record for more than 7 days: %s.")
            % (", ".join(survey["stale"]),)
        )
    if survey["missing"]:
        found.append(
            _("These hosts have no libvirt-static-ids record yet: %s.")
            % (", ".join(survey["missing"]),)
        )
    if survey["holders"]:
        holders = ", ".join(
            "%s (%s)" % (holder["name"], holder["kind"])  # noqa: UP031 - gettext style
            for holder in survey["holders"]
        )
        found.append(
            _("These directory objects hold the static UID or GID and block it: %s.") % (holders,)
        )
    return found


#: The server roles whose machine account reads every host record (the shipped ACL).
DIRECTORY_NODES = frozenset(
    {"domaincontroller_master", "domaincontroller_backup", "domaincontroller_slave"}
)


def run(_umc_instance: Any) -> None:
    role = ucr.load(HostRoot.open(HOST_ROOT)).get("server/role", "")
    if role not in DIRECTORY_NODES:
        MODULE.process("libvirt-static-ids: checked on Directory Nodes only, not on %s" % role)  # noqa: UP031
        return
    try:
        survey = read_survey(HOST_ROOT)
    except StaticIdsError as error:
        MODULE.error("libvirt-static-ids: reading the survey failed: %s" % (error,))  # noqa: UP031
        raise Warning(
            _("The libvirt-static-ids records cannot be read: %s") % (error,),
            umc_modules=umc_modules,
        ) from error
    problems = findings(survey)
    if problems:
        MODULE.process("libvirt-static-ids: %d problem(s) found" % (len(problems),))  # noqa: UP031
        raise Warning(
            "\n".join([*problems, description]),
            umc_modules=umc_modules,
        )
