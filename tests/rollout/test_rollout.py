# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The whole rollout, end to end, on a simulated domain (see conftest.py)."""

from __future__ import annotations

from libvirt_static_ids_testbed.simulated import SimulatedHost

from .conftest import as_json, finish, logs

STATIC = SimulatedHost(uid=64055, gid=64055)


def small():
    return {
        "kvm01": (STATIC, 4096, [("a1", 1024)]),
        "kvm02": (SimulatedHost(uid=5002, gid=5102), 4096, [("b1", 768), ("b2", 768)]),
        "kvm03": (SimulatedHost(uid=5003, gid=5103), 4096, [("c1", 768)]),
    }


def test_smoke(domain):
    sim = domain(small())
    code, out, err = finish(sim.rollout())
    assert code == 0, (out, err, logs(sim))
    data = as_json(out)
    print(data)
