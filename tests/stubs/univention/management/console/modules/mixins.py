# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.modules.mixins`` (progress of long work).

Real file (univention/univention-corporate-server):
management/univention-management-console/src/univention/management/console/modules/mixins.py

Mirrors the UCS 5.x module: ``Progress(progress_id, title, total)`` counts ``progress(detail,
message)`` calls against ``total``; ``poll()`` returns title, finished, the intermediate
details since the last poll, message, ``retry_after`` (ms, 200) and ``percentage`` (current /
total * 100, or the string "Infinity" when total is 0), plus ``result`` after
``finish_with_result``; an exception stored with ``exception(exc_info)`` is re-raised by the
next poll. ``ProgressMixin.new_progress(title=None, total=0)`` registers a progress under a
random increasing id; its ``progress`` command (``progress_id``) polls it, forgets it once
finished, and answers an unknown id with BadRequest "Invalid progress ID".
"""

from __future__ import annotations

import random
from typing import Any

from univention.lib.i18n import Translation
from univention.management.console.error import BadRequest
from univention.management.console.modules.decorators import simple_response

_ = Translation("univention-management-console").translate


class Progress:
    def __init__(self, progress_id: int, title: str, total: float) -> None:
        self.id = progress_id
        self.title = title
        self.message = ""
        self.current = 0.0
        self.total = total
        self.intermediate: list[Any] = []
        self.finished = False
        self.exc_info: Any = None
        self.retry_after = 200
        self.location: str | None = None

    def progress(self, detail: Any = None, message: str | None = None) -> None:
        self.current += 1
        self.intermediate.append(detail)
        if message is not None:
            self.message = message

    def finish(self) -> bool:
        if self.finished:
            return False
        self.finished = True
        return True

    def finish_with_result(self, result: Any) -> None:
        if self.finish():
            self.result = result

    def initialised(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title}

    def exception(self, exc_info: Any) -> None:
        self.exc_info = exc_info

    def poll(self) -> dict[str, Any]:
        if self.exc_info:
            self.finish()
            raise self.exc_info[1].with_traceback(self.exc_info[2])
        ret: dict[str, Any] = {
            "title": self.title,
            "finished": self.finished,
            "intermediate": self.intermediate[:],
            "message": self.message,
            "retry_after": self.retry_after,
        }
        try:
            ret["percentage"] = self.current / self.total * 100
        except ZeroDivisionError:
            ret["percentage"] = "Infinity"
        if self.location is not None:
            ret["location"] = self.location
        if hasattr(self, "result"):
            ret["result"] = self.result
        del self.intermediate[:]
        return ret


class ProgressMixin:
    def new_progress(self, title: str | None = None, total: float = 0) -> Progress:
        if not hasattr(self, "_progress_id"):
            self._progress_id = 0
        if not hasattr(self, "_progress_objs"):
            self._progress_objs: dict[int, Progress] = {}
        if title is None:
            title = _("Please wait for operation to finish")
        self._progress_id += random.randint(1, 100000)  # noqa: S311 - an id, not a secret
        self._progress_objs[self._progress_id] = progress = Progress(
            self._progress_id, title, total
        )
        return progress

    @simple_response
    def progress(self, progress_id: int) -> dict[str, Any]:
        if not hasattr(self, "_progress_objs"):
            self._progress_objs = {}
        try:
            progress_obj = self._progress_objs[progress_id]
        except KeyError:
            raise BadRequest(_("Invalid progress ID")) from None
        ret = progress_obj.poll()
        if ret["finished"]:
            del self._progress_objs[progress_id]
        return ret
