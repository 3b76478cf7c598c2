# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Random domains for the plan's property tests and benchmark: hosts, numbers, VMs, images.

Built from a seed (hypothesis draws the seed and the sizes, so domains of 500 VMs stay within
its data budget and still shrink). Hosts share a few dynamic number pairs, as real fleets do;
images are owned, grouped or world-shared as libvirt and admins leave them, every running
VM's images open for its host's numbers (the recorded state is a consistent one).
"""

from __future__ import annotations

import random
import stat

from libvirt_static_ids.files import acl
from libvirt_static_ids.files.metadata import Metadata
from libvirt_static_ids.ids import IdPair
from libvirt_static_ids.plan.model import Domain, Host, Image, Vm

TARGET = IdPair(64055, 64055)
CAPACITIES = (8192, 16384, 32768, 65536)
MEMORIES = (512, 1024, 2048, 4096, 8192)


def _meta(rng: random.Random, ids: IdPair, honours_acls: bool) -> tuple[Metadata, bool]:
    """(metadata, readonly) of one disk that opens for ``ids``; the owner bits always rw."""
    kind = rng.randrange(10)
    if kind == 0:
        return Metadata(0, 0, stat.S_IFREG | 0o644), True  # a read-only base image
    if kind == 1:
        return Metadata(0, ids.gid, stat.S_IFREG | 0o660), False
    if kind == 2:
        return Metadata(0, 0, stat.S_IFREG | 0o666), False
    if kind == 3 and honours_acls:  # a past ACL bridge, honoured by the server
        entries = [
            (acl.USER_OBJ, 6, acl.UNDEFINED_ID),
            (acl.USER, 6, ids.uid),
            (acl.GROUP_OBJ, 0, acl.UNDEFINED_ID),
            (acl.MASK, 6, acl.UNDEFINED_ID),
            (acl.OTHER, 0, acl.UNDEFINED_ID),
        ]
        return Metadata(0, 0, stat.S_IFREG | 0o660, ((acl.ACCESS, acl.encode(entries)),)), False
    mode = rng.choice((0o600, 0o640, 0o660, 0o644, 0o664))
    return Metadata(ids.uid, ids.gid, stat.S_IFREG | mode), False


def build(
    seed: int,
    hosts: int,
    vms: int,
    *,
    spare: bool = False,
    honours_acls: bool = False,
    dynamic_pairs: int = 4,
    static_share: float = 0.2,
    busy: float = 0.8,
) -> Domain:
    """A domain of ``hosts`` hosts and up to ``vms`` VMs.

    ``spare``: one more host, static and empty, with as much free memory as the busiest
    dynamic host runs: "spare capacity of one host".
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, no secrets
    pairs = [IdPair(100 + n, 200 + n) for n in range(dynamic_pairs)]
    counts = [0] * hosts
    for _ in range(vms):
        counts[rng.randrange(hosts)] += 1
    made = []
    for index, count in enumerate(counts):
        name = f"kvm{index:03d}"
        ids = TARGET if rng.random() < static_share else rng.choice(pairs)
        capacity = rng.choice(CAPACITIES)
        used = 0
        guests = []
        for number in range(count):
            memory = rng.choice(MEMORIES)
            running = rng.random() < busy and used + memory <= capacity
            used += memory if running else 0
            images = []
            for disk in range(rng.choice((1, 1, 2))):
                meta, readonly = _meta(rng, ids, honours_acls)
                images.append(Image(f"/images/{name}/vm{number}-{disk}.qcow2", meta, readonly))
            guests.append(Vm(f"{name}/vm{number}", f"vm{number}", memory, running, tuple(images)))
        made.append(Host(name, ids, capacity - used, tuple(guests)))
    if spare:
        busiest = max((h.used_mib for h in made if h.ids != TARGET), default=0)
        made.append(Host("spare", TARGET, max(busiest, 1)))
    return Domain(TARGET, tuple(made))
