# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The testbed the demo, the benchmarks and the UMC harness reuse: its small API keeps its word.

Proves: start/stop by PID (the process is gone, its files removed), the context manager,
a UCS-like tree (containers, Domain Admins with Administrator), loopback only, host machine
accounts that can bind, simulated hosts whose roots carry UCR and machine.secret, bulk
preloading, and a failed start leaving nothing behind.
"""

from __future__ import annotations

import os
import stat

import ldap
import pytest

from libvirt_static_ids.directory import ucr
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed import Testbed, build_domain
from libvirt_static_ids_testbed.simulated import SimulatedHost


def test_start_stop_by_pid_and_cleanup():
    with Testbed() as bed:
        pid = bed.pid
        workdir = bed.workdir
        assert pid and os.path.isdir(workdir)
        assert bed.uri.startswith("ldap://127.0.0.1:")
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            assert b"slapd" in handle.read()
        names = {dn for dn, _ in bed.admin.search_s(bed.base, ldap.SCOPE_SUBTREE, attrlist=["1.1"])}
        for rdn in (
            "cn=users",
            "cn=groups",
            "cn=computers",
            "cn=memberserver,cn=computers",
            "cn=univention",
            "uid=Administrator,cn=users",
            "cn=Domain Admins,cn=groups",
        ):
            assert f"{rdn},{bed.base}" in names
        admins = bed.admin.search_s(f"cn=Domain Admins,cn=groups,{bed.base}", ldap.SCOPE_BASE)
        assert admins[0][1]["uniqueMember"] == [bed.domain_admin.dn.encode()]
    assert bed.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not os.path.exists(workdir)
    bed.stop()  # twice is fine


def test_hosts_and_simulated_domain(testbed, tmp_path):
    dn, password = testbed.add_host("kvm9")
    assert testbed.connect(dn, password).whoami_s() == f"dn:{dn}"
    made = build_domain(testbed, str(tmp_path), {"a": SimulatedHost(uid=109, gid=114), "b": None})
    assert [h.name for h in made] == ["a", "b"]
    values = ucr.load(HostRoot(made[0].root))
    assert values["ldap/hostdn"] == made[0].dn
    assert values["ldap/master/port"] == str(testbed.port)
    assert stat.S_IMODE(os.stat(made[0].secret_file).st_mode) == 0o600
    with open(os.path.join(made[0].root, "etc/passwd"), encoding="utf-8") as handle:
        assert "libvirt-qemu:x:109:" in handle.read()
    three = build_domain(testbed, str(tmp_path / "more"), 3)
    assert [h.name for h in three] == ["kvm01", "kvm02", "kvm03"]


def test_preload_and_failed_start_leave_nothing(tmp_path):
    preload = "".join(
        f"dn: uid=u{n},cn=users,dc=kvm,dc=test\nobjectClass: account\nuid: u{n}\n\n"
        for n in range(50)
    )
    with Testbed(preload_ldif=preload) as bed:
        found = bed.admin.search_s(f"cn=users,{bed.base}", ldap.SCOPE_ONELEVEL, "(uid=u*)")
        assert len(found) == 50
    broken = Testbed(preload_ldif="dn: cn=x,dc=elsewhere\nobjectClass: device\ncn: x\n\n")
    with pytest.raises(RuntimeError):
        broken.start()
    assert broken.pid is None and not os.path.exists(broken.workdir)
