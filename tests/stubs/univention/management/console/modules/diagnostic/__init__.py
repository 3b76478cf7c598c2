# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.modules.diagnostic`` (System Diagnostic).

Mirrors management/univention-management-console-module-diagnostic/umc/python/diagnostic/
__init__.py of UCS 5.x for what a plugin uses: the exceptions ``Problem(description="",
**kwargs)`` (``kwargs`` gains ``type`` = the class name in lower case and ``description``) and
its subclasses ``Success``, ``Conflict``, ``Warning``, ``Critical``, ``ProblemFixed``; and
``MODULE``, which the original imports from ``univention.management.console.log`` (a logger
with ``process``, ``info``, ``warn``, ``error``). ``Instance`` and ``Plugin`` (the UMC module
that loads and runs plugins) are left out.
"""

from __future__ import annotations

import logging
from typing import Any


class _Logger:
    """The parts of UMC's ``MODULE`` logger a plugin calls."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def process(self, message: str) -> None:
        self._logger.info(message)

    def info(self, message: str) -> None:
        self._logger.info(message)

    def warn(self, message: str) -> None:
        self._logger.warning(message)

    def error(self, message: str) -> None:
        self._logger.error(message)


MODULE = _Logger("MODULE")


class Problem(Exception):
    def __init__(self, description: str = "", **kwargs: Any) -> None:
        super().__init__(description)
        self.kwargs = kwargs
        kwargs["type"] = self.__class__.__name__.lower()
        if description:
            kwargs["description"] = description


class Success(Problem):
    pass


class Conflict(Problem):
    pass


class Warning(Problem):
    pass


class Critical(Problem):
    pass


class ProblemFixed(Problem):
    pass
