# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.admin.uexceptions`` (the classes the hook uses).

Mirrors management/univention-directory-manager-modules/modules/univention/admin/
uexceptions.py of UCS 5.x: ``base(Exception)`` with a class attribute ``message``, and
``valueError(base)`` taking a ``property`` keyword. The translated messages are left out.
"""

from __future__ import annotations

from typing import Any


class base(Exception):
    message = ""


class valueError(base):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.property = kwargs.pop("property", None)
        super().__init__(*args, **kwargs)


class noObject(base):
    message = "No such object."
