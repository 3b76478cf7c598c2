# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Helpers for the 0.1.0 journal fixture, run inside its private mount namespace.

``python tests/journal_state.py state ROOT`` prints {"entries": snapshot, "accounts": files}
of the scope a convert remaps and of the account files, as a Python literal.

``python tests/journal_state.py relocate JOURNAL`` rewrites each entry record's ``dev`` and
``ino`` to those of its path now. A journal pins every entry to the device and inode it was
made on, and an unpacked copy of a tree has new ones (which rollback rightly refuses as
"replaced"); these two numbers are the only bytes of 0.1.0's files the test changes.
"""

from __future__ import annotations

import os
import re
import sys

import treegen

PARTS = ("var/lib/libvirt", "var/cache/libvirt", "var/log/libvirt")
_PLACE = re.compile(rb'"path":("(?:[^"\\]|\\.)*"),"dev":\d+,"ino":\d+')


def state(root: str) -> dict[str, object]:
    return {"entries": treegen.snapshot(root, PARTS), "accounts": treegen.accounts(root)}


def relocate(journal: str) -> None:
    def here(match: re.Match[bytes]) -> bytes:
        path = match.group(1).decode()[1:-1]
        st = os.lstat(path)
        return b'"path":%s,"dev":%d,"ino":%d' % (match.group(1), st.st_dev, st.st_ino)

    with open(journal, "rb") as handle:
        text = handle.read()
    with open(journal, "wb") as handle:
        handle.write(_PLACE.sub(here, text))


if __name__ == "__main__":
    if sys.argv[1] == "state":
        print(repr(state(sys.argv[2])))
    else:
        relocate(sys.argv[2])
