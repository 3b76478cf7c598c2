# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.listener.handler_logging.get_logger``.

The real file (repository univention/univention-corporate-server):
management/univention-directory-listener/python/univention/listener/handler_logging.py

As there, the logger of module ``name`` is ``listener module.<name>`` (dots in the name
replaced by ``_``, one logger per name): a child of the root logger ``listener module``,
whose handler feeds UCS's listener.log. Left out: the per-module file handler (UCS writes
/var/log/univention/listener_modules/<name>.log, chowned to listener:adm, rotated weekly)
and the levels from UCR ``listener/debug/level`` and ``listener/module/<name>/debug/level``;
a test attaches its own handler and level to the root logger, so nothing is written under
/var/log.
"""

from __future__ import annotations

import logging

ROOT_LOGGER = "listener module"


def get_logger(name: str, path: str | None = None) -> logging.Logger:
    return logging.getLogger(f"{ROOT_LOGGER}.{name.replace('.', '_')}")
