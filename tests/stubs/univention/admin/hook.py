# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.admin.hook`` (simpleHook and the hooks.d loader).

Mirrors management/univention-directory-manager-modules/modules/univention/admin/hook.py of
UCS 5.x: ``import_hook_files()`` executes every ``univention/admin/hooks.d/*.py`` found on
``sys.path`` inside this module's namespace (so a hook file's classes become attributes of
``univention.admin.hook``), and ``simpleHook`` (``type = 'simpleHook'``) has no-op methods,
the list hooks returning their list. The debug logging is left out.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any


def import_hook_files() -> None:
    for dir_ in sys.path:
        hooks_d = os.path.join(dir_, "univention/admin/hooks.d/")
        if os.path.isdir(hooks_d):
            hooks_files = (
                os.path.join(hooks_d, f) for f in os.listdir(hooks_d) if f.endswith(".py")
            )
            for fn in hooks_files:
                try:
                    with open(fn) as fd:
                        exec(fd.read(), sys.modules[__name__].__dict__)  # noqa: S102 - as UDM does
                except Exception:
                    traceback.print_exc()


class simpleHook:
    type = "simpleHook"

    def hook_open(self, obj: Any) -> None:
        pass

    def hook_ldap_pre_create(self, obj: Any) -> None:
        pass

    def hook_ldap_addlist(self, obj: Any, al: list[Any] = []) -> list[Any]:  # noqa: B006
        return al

    def hook_ldap_post_create(self, obj: Any) -> None:
        pass

    def hook_ldap_pre_modify(self, obj: Any) -> None:
        pass

    def hook_ldap_modlist(self, obj: Any, ml: list[Any] = []) -> list[Any]:  # noqa: B006
        return ml

    def hook_ldap_post_modify(self, obj: Any) -> None:
        pass

    def hook_ldap_pre_remove(self, obj: Any) -> None:
        pass

    def hook_ldap_post_remove(self, obj: Any) -> None:
        pass
