# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.admin.hook`` (simpleHook and the hooks.d loader).

Mirrors management/univention-directory-manager-modules/modules/univention/admin/hook.py of
UCS 5.2 (read at its newest): ``import_hook_files()`` compiles every
``univention/admin/hooks.d/*.py`` found on ``sys.path`` and executes it in a fresh namespace
holding only ``simpleHook`` and ``AttributeHook`` (no ``__name__``); of that namespace only the
classes derived from them (not they themselves) become attributes of this module. A file that
fails is logged as ``loading hook failed`` and skipped: UDM then treats its hook as absent.
``simpleHook`` (``type = 'simpleHook'``) has no-op methods, the list hooks returning their
list. Left out: ``map``/``unmap`` (5.2-6 mapping), AttributeHook's mapping methods, the
debug logging of each method (UDM's structured ``univention.admin.log``; here ``logging``).
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
from types import SimpleNamespace
from typing import Any

log = logging.getLogger("univention.admin.hook")


def import_hook_files() -> None:
    for dir_ in sys.path:
        hooks_d = os.path.join(dir_, "univention/admin/hooks.d/")
        if os.path.isdir(hooks_d):
            hooks_files = (
                os.path.join(hooks_d, f) for f in os.listdir(hooks_d) if f.endswith(".py")
            )
            for fn in hooks_files:
                try:
                    with open(fn, "rb") as fd:
                        env: dict[str, Any] = {
                            "simpleHook": simpleHook,
                            "AttributeHook": AttributeHook,
                        }
                        byte_code = compile(fd.read(), fn, "exec")
                        exec(byte_code, env)  # noqa: S102 - as UDM does
                        sys.modules[__name__].__dict__.update(
                            dict(
                                inspect.getmembers(
                                    SimpleNamespace(**env),
                                    lambda m: (
                                        inspect.isclass(m)
                                        and issubclass(m, (simpleHook, AttributeHook))
                                        and m not in (simpleHook, AttributeHook)
                                    ),
                                )
                            )
                        )
                    log.debug("importing hook %s", fn)
                except Exception:
                    log.exception("loading hook failed: %s", fn)


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


class AttributeHook(simpleHook):
    udm_attribute_name = None
    ldap_attribute_name = None
    version = 3
