# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Run a function as another numeric identity in a forked child; the parent stays root.

NFS (``sec=sys``) decides by the numbers the caller carries, and root_squash turns root into
nobody: asking "can UID N open this?" or "change this as its owner" needs a process that *is*
that identity. The child drops supplementary groups, then the GID, then the UID (in that
order: after setresuid it could no longer change the others), runs the function and sends its
JSON-able result back through a pipe.
"""

from __future__ import annotations

import errno
import json
import os
import traceback
from collections.abc import Callable
from typing import Any

from libvirt_static_ids.errors import OperationFailed
from libvirt_static_ids.ids import Identity

_CHILD_FAILED = 70  # EX_SOFTWARE


def switch_to(identity: Identity) -> None:
    """Become ``identity`` for good (real, effective and saved IDs): call only in a child."""
    os.setgroups(list(identity.groups) or [identity.gid])
    os.setresgid(identity.gid, identity.gid, identity.gid)
    os.setresuid(identity.uid, identity.uid, identity.uid)


def run_as(identity: Identity, function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a child that switched to ``identity``; its result, via JSON.

    An exception in the child comes back as OperationFailed carrying its message.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 0
        try:
            os.close(read_end)
            try:
                switch_to(identity)
                payload = {"result": function(*args)}
            except Exception as error:  # everything goes back to the parent
                payload = {"error": f"{type(error).__name__}: {error}"}
                if not isinstance(error, OSError):
                    payload["traceback"] = traceback.format_exc()
            data = json.dumps(payload).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
        except BaseException:  # the child must not unwind into the caller
            code = _CHILD_FAILED
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as pipe:
        while chunk := pipe.read(65536):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if not chunks or os.waitstatus_to_exitcode(status) != 0:
        raise OperationFailed(
            f"child process as {identity} ended with status {os.waitstatus_to_exitcode(status)}"
        )
    payload = json.loads(b"".join(chunks))
    if "error" in payload:
        raise OperationFailed(f"as {identity}: {payload['error']}", identity=identity.as_dict())
    return payload["result"]


def errno_name(number: int) -> str:
    """``EACCES`` for 13: what a verdict shows next to its message."""
    return errno.errorcode.get(number, f"E{number}")
