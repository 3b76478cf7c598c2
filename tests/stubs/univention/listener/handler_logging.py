# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.listener.handler_logging.get_logger``.

The original logs to /var/log/univention/listener_modules/<name>.log; here the logger is a
plain ``logging`` logger of the same name, so tests never write under /var/log.
"""

from __future__ import annotations

import logging


def get_logger(name: str, path: str | None = None) -> logging.Logger:
    return logging.getLogger(f"univention.listener.{name}")
