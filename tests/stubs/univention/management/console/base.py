# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.base`` (the module base class).

Real file (univention/univention-corporate-server):
management/univention-management-console/src/univention/management/console/base.py

Mirrors ``Base`` of UCS 5.0 (python-notifier era; 5.2 moved the transport to tornado, the
module-facing API stayed): ``Base(domain='univention-management-console')`` is a
``Translation``; the module server sets ``username``, ``user_dn``, ``password``,
``auth_type``, calls ``init()`` once and ``execute(method, request)`` per command.
``finished(id, response, message=None, success=True, status=None, mimetype=None,
headers=None, error=None)`` wraps the answer in a ``Response`` and hands it to ``result``,
which emits the "success" signal the module server listens to (``signal_connect``). An
exception in a command becomes an error answer: a ``UMC_Error`` with its status, message,
result and headers; anything else status 591 with the traceback and 'Internal server error
during "<command>".'. Left out: locales (``update_language``), the security checks (the
server does them), and the LDAP error translation of ``error_handling``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

from univention.lib.i18n import Translation
from univention.management.console.error import UMC_Error
from univention.management.console.protocol.definitions import (
    MODULE_ERR,
    MODULE_ERR_COMMAND_FAILED,
    SUCCESS,
)
from univention.management.console.protocol.message import MIMETYPE_JSON, Request, Response

__all__ = ["Base", "UMC_Error"]


class Base(Translation):
    """The base class for UMC modules of version 2 or higher."""

    def __init__(self, domain: str = "univention-management-console") -> None:
        self._signals: dict[str, list[Callable[..., Any]]] = {}
        self.signal_new("success")
        self._username: str | None = None
        self._user_dn: str | None = None
        self._password: str | None = None
        self.auth_type: str | None = None
        self.acls: Any = None
        self.__requests: dict[str, tuple[Request, str]] = {}
        Translation.__init__(self, domain)

    # python-notifier's signals.Provider, as far as the module server uses it
    def signal_new(self, name: str) -> None:
        self._signals.setdefault(name, [])

    def signal_connect(self, name: str, callback: Callable[..., Any]) -> None:
        self._signals[name].append(callback)

    def signal_emit(self, name: str, *args: Any) -> None:
        for callback in list(self._signals[name]):
            callback(*args)

    @property
    def username(self) -> str | None:
        return self._username

    @username.setter
    def username(self, username: str | None) -> None:
        self._username = username

    @property
    def user_dn(self) -> str | None:
        return self._user_dn

    @user_dn.setter
    def user_dn(self, user_dn: str | None) -> None:
        self._user_dn = user_dn

    @property
    def password(self) -> str | None:
        return self._password

    @password.setter
    def password(self, password: str | None) -> None:
        self._password = password

    def init(self) -> None:
        """Invoked once the module process knows its user, before the first command."""

    def destroy(self) -> None:
        """Invoked before the module process exits."""

    def execute(self, method: str, request: Request, *args: Any, **kwargs: Any) -> None:
        self.__requests[request.id] = (request, method)
        try:
            function = getattr(self, method)
        except AttributeError:
            message = self._("Method %(method)r (%(path)r) in %(module)r does not exist.") % {
                "method": method,
                "path": request.arguments,
                "module": self.__class__.__module__,
            }
            self.finished(request.id, None, message=message, status=500)
            return
        try:
            function.__func__(self, request, *args, **kwargs)
        except Exception:
            _etype, exc, etraceback = sys.exc_info()
            self.__error_handling(request, method, exc, traceback.format_tb(etraceback))

    def thread_finished_callback(self, thread: Any, result: Any, request: Request) -> None:
        if not isinstance(result, BaseException):
            self.finished(request.id, result)
            return
        method = "{}: {}".format(thread.name, " ".join(request.arguments))
        self.__error_handling(request, method, result, thread.trace or [])

    def __error_handling(
        self, request: Request, method: str, exc: BaseException | None, trace: list[str]
    ) -> None:
        headers = None
        result = None
        if isinstance(exc, UMC_Error):
            status = exc.status
            result = exc.result
            headers = exc.headers
            message = str(exc)
            if not exc.traceback and exc.include_traceback:
                exc.traceback = "".join(trace)
            error = {"command": method, "traceback": exc.traceback}
        else:
            status = MODULE_ERR_COMMAND_FAILED
            text = "".join(trace + traceback.format_exception_only(type(exc), exc))
            command = " ".join(request.arguments)
            if request.flavor:
                command += f" ({request.flavor})"
            error = {"command": command.strip(), "traceback": text}
            message = self._('Internal server error during "%(command)s".') % error
        self.finished(request.id, result, message, status=status, headers=headers, error=error)

    def _(self, message: str) -> str:
        return self.translate(message)

    def finished(  # noqa: PLR0917 - the original's signature
        self,
        id: str,
        response: Any,
        message: str | None = None,
        success: bool = True,
        status: int | None = None,
        mimetype: str | None = None,
        headers: dict[str, str] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        if id not in self.__requests:
            return
        request, _method = self.__requests[id]
        if isinstance(response, Response):
            res = response
        else:
            res = Response(request)
            if mimetype and mimetype != MIMETYPE_JSON:
                res.mimetype = mimetype
                res.body = response
            else:
                res.result = response
                res.message = message
                res.headers = dict(headers or {})
                res.error = error
        if not res.status:
            if status is not None:
                res.status = status
            else:
                res.status = SUCCESS if success else MODULE_ERR
        self.result(res)

    def result(self, response: Response) -> None:
        if response.id in self.__requests:
            self.signal_emit("success", response)
            del self.__requests[response.id]
