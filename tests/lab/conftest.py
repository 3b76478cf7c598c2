# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Fixtures of the lab tests: two real libvirtd hosts and real QEMU guests (see
libvirt_static_ids_testbed.lab). Skipped where libvirtd, QEMU, FUSE or root are missing;
left out with ``pytest -m "not lab"``. Each scenario starts its own lab (3-8 s here).

- ``lab_machine``    skips (naming what is missing) where a lab cannot start here.
- ``lab``            a started Lab (hosta 109:114, hostb 64055:64055), closed afterwards.
- ``grows``          ``grows(host, name)``: the guest's counter, read twice, went up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from libvirt_static_ids_testbed.lab import Lab, LabHost, missing


@pytest.fixture
def lab_machine() -> None:
    reason = missing()
    if reason:
        pytest.skip(reason=reason)


@pytest.fixture
def lab(lab_machine: None) -> Iterator[Lab]:
    with Lab() as started:
        yield started


def counter_grows(host: LabHost, name: str, *, within: float = 10.0) -> bool:
    """True once the guest's counter moved past its first reading (it ticks ~18/s)."""
    first = host.counter(name)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if host.counter(name) > first:
            return True
    return False


@pytest.fixture
def grows() -> Callable[..., bool]:
    return counter_grows
