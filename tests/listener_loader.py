# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The listener module loaded as UCS's listener daemon loads it, for the processes that play
a host's listener (tests/directory/listener_host.py, tests/hostd.py): the file imported
under its own name, configured as the handler's metaclass configures files under
/usr/lib/univention-directory-listener, then wrapped in the adapter that gives the daemon
its globals. tests/stubs must be on sys.path.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from typing import Any

MODULE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "listener",
                           "libvirt-static-ids.py")  # fmt: skip


def load(
    log: logging.Handler, level: int, module_file: str = MODULE_FILE
) -> tuple[dict[str, Any], Any]:
    """(the daemon's globals of the module, its handler object); the module's log goes to
    ``log`` from ``level`` up."""
    from univention.listener import ListenerModuleAdapter
    from univention.listener.handler_logging import ROOT_LOGGER

    logging.getLogger(ROOT_LOGGER).addHandler(log)
    logging.getLogger(ROOT_LOGGER).setLevel(level)
    spec = importlib.util.spec_from_file_location("libvirt-static-ids", module_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["libvirt-static-ids"] = module
    spec.loader.exec_module(module)
    handler_class = module.LibvirtStaticIds
    handler_class.config = handler_class._get_configuration("libvirt-static-ids")
    adapter = ListenerModuleAdapter(handler_class.config)
    return adapter.get_globals(), adapter._module_handler
