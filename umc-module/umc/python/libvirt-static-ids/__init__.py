# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""UMC backend of libvirt-static-ids: the domain survey, this host, its conversion, requests.

Thin over the core (``libvirt_static_ids``), which makes every decision. This module only
validates options, picks the connection — the logged-in user's for reading the domain and
writing requests (admin actions run as the admin, not as root's machine account), this
host's machine account for the host's own record, as its listener does — and leaves the
translation of the core's typed errors to ``umc_errors``.
"""

from __future__ import annotations

from typing import Any

from univention.lib.i18n import Translation
from univention.management.console.error import Forbidden, ServiceUnavailable
from univention.management.console.modules import Base
from univention.management.console.modules.decorators import sanitize, simple_response, threaded
from univention.management.console.modules.mixins import Progress, ProgressMixin
from univention.management.console.modules.sanitizers import (
    BooleanSanitizer,
    ChoicesSanitizer,
    ListSanitizer,
    StringSanitizer,
)

from libvirt_static_ids.directory import agent, connection, domain_survey, ucr
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.directory.record import Request as HostRequest
from libvirt_static_ids.errors import PreflightRefused
from libvirt_static_ids.files.repair import RepairStats
from libvirt_static_ids.host import convert
from libvirt_static_ids.host import survey as host_survey
from libvirt_static_ids.hostroot import HostRoot

from . import rollout_page
from .umc_errors import umc_errors

_ = Translation("univention-management-console-module-libvirt-static-ids").translate

# A dry run may plan thousands of changes; the browser is shown this many, and the count.
CHANGES_SHOWN = 100
PATHS = ListSanitizer(
    StringSanitizer(regex_pattern=r"^/", minimum=1, maximum=4096),
    max_elements=64,
    default=[],
)
RESTART = BooleanSanitizer(default=True)


def _shown(report: dict[str, Any]) -> dict[str, Any]:
    """A convert report for the browser: every field, but only the first planned changes."""
    changes = report.get("changes", [])
    shown = {**report, "changes": changes[:CHANGES_SHOWN]}
    if report.get("dry_run"):
        shown["change_count"] = len(changes)
    return shown


class Instance(Base, ProgressMixin):
    #: The root of the host this module runs on: "/" on UCS; the development harness and
    #: the tests point it at a simulated host.
    host_root = "/"
    proc = "/proc"

    # -- connections ------------------------------------------------------------------------

    def _user_directory(
        self, request: Any, write: bool = False
    ) -> tuple[directory.LdapConnection, str]:
        """The logged-in user's python-ldap connection and the LDAP base."""
        lo = request.get_user_ldap_connection(write=write)
        if lo is None:
            if not request.user_dn:
                raise Forbidden(
                    _("Log in with a domain account: the local user %s has no directory access.")
                    % (request.username,)
                )
            raise ServiceUnavailable(
                _("The directory cannot be reached as %s.") % (request.user_dn,)
            )
        return lo.lo.lo, lo.base

    def _root(self) -> HostRoot:
        return HostRoot.open(self.host_root)

    def _this_host(self) -> dict[str, str | None]:
        values = ucr.load(self._root())
        return {"name": values.get("hostname"), "dn": values.get("ldap/hostdn")}

    def new_progress(self, title: str | None = None, total: float = 0) -> Progress:
        """A conversion's progress (the only long command), titled before the work starts."""
        return super().new_progress(title or _("Converting libvirt-qemu to the static IDs"), total)

    # -- commands ---------------------------------------------------------------------------

    @threaded
    def survey(self, request: Any) -> dict[str, Any]:
        """The domain survey (``survey --domain``), read as the logged-in user."""
        with umc_errors():
            conn, base = self._user_directory(request)
            result = domain_survey.collect(conn, base).as_dict()
            result["this_host"] = self._this_host()
        return result

    @threaded
    def host(self, request: Any) -> dict[str, Any]:
        """The live survey of this host against the domain's target."""
        with umc_errors():
            conn, base = self._user_directory(request)
            settings = directory.read_settings(conn, base)
            root = self._root()
            here = host_survey.survey(root, settings.target, self.proc)
            held = agent.directory_blockers(conn, base, settings, root)
            return {
                "host": self._this_host(),
                "settings": settings.as_dict(),
                "survey": here.as_dict(),
                "directory_blockers": [blocker.as_dict() for blocker in held],
            }

    @sanitize(paths=PATHS, restart=RESTART)
    @threaded
    def dry_run(self, request: Any) -> dict[str, Any]:
        """What ``convert`` would do on this host; changes nothing."""
        with umc_errors():
            conn, base = self._user_directory(request)
            settings = directory.read_settings(conn, base)
            root = self._root()
            report = convert.convert(
                root,
                settings.target,
                request.options["paths"],
                restart=request.options["restart"],
                dry_run=True,
                proc=self.proc,
            )
            result = _shown(report.as_dict())
            held = agent.directory_blockers(conn, base, settings, root)
            result["directory_blockers"] = [blocker.as_dict() for blocker in held]
            result["host"] = self._this_host()
            return result

    @sanitize(paths=PATHS, restart=RESTART)
    @simple_response(with_progress=True, with_request=True)
    def convert(
        self, request: Any, paths: list[str], restart: bool, progress: Progress
    ) -> dict[str, Any]:
        """Convert this host, then record the outcome as the host itself.

        A refusal is an answer, not an error: nothing changed, and the blockers are listed.
        """
        root = self._root()
        with umc_errors():
            conn, base = self._user_directory(request)
            settings = directory.read_settings(conn, base)
            params = connection.resolve(root)
            machine = directory.connect(
                params.uri, params.binddn, params.password, starttls=params.starttls
            )
            try:
                return self._convert(
                    root, conn, machine, params, settings, paths, restart, progress
                )
            finally:
                machine.unbind_s()

    def _convert(  # noqa: PLR0917 - one call site
        self,
        root: HostRoot,
        conn: directory.LdapConnection,
        machine: directory.LdapConnection,
        params: connection.ConnectionParams,
        settings: directory.Settings,
        paths: list[str],
        restart: bool,
        progress: Progress,
    ) -> dict[str, Any]:
        host_dn = params.host_dn or params.binddn
        name = self._this_host()["name"] or host_dn
        # Sizes the progress bar: the dry run plans exactly the changes the run will make.
        plan = convert.convert(
            root, settings.target, paths, restart=restart, dry_run=True, proc=self.proc
        )
        total = len(plan.changes)
        progress.title = _("Converting libvirt-qemu on %s") % (name,)
        progress.total = max(total, 1)
        progress.message = _("Renumbering libvirt-qemu")

        def repaired(stats: RepairStats) -> None:
            progress.current = min(stats.changed, progress.total)
            progress.message = _("%(changed)d of %(total)d entries repaired") % {
                "changed": stats.changed,
                "total": total,
            }

        try:
            report, after = agent.convert_here(
                conn,
                machine,
                host_dn,
                root,
                settings,
                paths=paths,
                restart=restart,
                progress=repaired,
                proc=self.proc,
            )
        except PreflightRefused as refused:
            return {
                "status": "refused",
                "message": refused.message,
                "blockers": refused.details.get("blockers", []),
                "host": self._this_host(),
            }
        progress.current = progress.total
        result = _shown(report.as_dict())
        result["record"] = after.as_dict()
        result["host"] = self._this_host()
        return result

    @sanitize(
        hosts=ListSanitizer(
            StringSanitizer(minimum=1, maximum=1024), min_elements=1, required=True
        ),
        action=ChoicesSanitizer([request.value for request in HostRequest], required=True),
    )
    @threaded
    def request_hosts(self, request: Any) -> dict[str, Any]:
        """Ask hosts (names or DNs) to refresh their record or to convert, through LDAP."""
        with umc_errors():
            conn, base = self._user_directory(request, write=True)
            wanted = HostRequest(request.options["action"])
            hosts = directory.request_hosts(conn, base, request.options["hosts"], wanted)
        return {"request": wanted.value, "hosts": hosts}

    @threaded
    def rollout_status(self, request: Any) -> dict[str, Any]:
        """``rollout status`` with the plan's timeline, read as the logged-in user."""
        with umc_errors():
            conn, base = self._user_directory(request)
            return rollout_page.status(conn, base)
