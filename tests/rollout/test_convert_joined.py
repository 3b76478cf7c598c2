# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``convert`` on a joined host: the domain's target from the settings object, the outcome
recorded at once in the host's own object (as its machine account); off the domain, as always.

Real slapd with our schema and ACL, a fake root joined to it (UCR, machine secret), the real
shadow tools; the command runs in its own process as an administrator on that host would.
"""

from __future__ import annotations

import os

import pytest

import cli_support
from libvirt_static_ids.directory import record
from libvirt_static_ids_testbed import add_simulated_host
from libvirt_static_ids_testbed.simulated import SimulatedHost

from .conftest import child_env

DYNAMIC = SimulatedHost(uid=5301, gid=5302)


def _joined(testbed, tmp_path, name="kvm1"):
    return add_simulated_host(testbed, name, str(tmp_path / "hosts"), DYNAMIC)


def _stored(testbed, host):
    import ldap

    found = testbed.admin.search_s(host.dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*"])
    return record.read(host.dn, host.name, found[0][1])


def _uid(root):
    with open(os.path.join(root, "etc/passwd"), encoding="utf-8") as passwd:
        return next(int(line.split(":")[2]) for line in passwd if line.startswith("libvirt-qemu:"))


def test_joined_convert_takes_the_domains_target_and_records_itself(testbed, tmp_path):
    testbed.set_target(64070, 64071)
    host = _joined(testbed, tmp_path)
    assert _stored(testbed, host).state is None
    env = child_env(testbed)
    result = cli_support.run("convert", root=host.root, json=True, env=env)
    assert result.code == 0, result
    assert result.data["directory"]["joined"] is True
    assert result.data["directory"]["recorded"] == "static"
    assert "64070:64071" in result.data["directory"]["note"]
    assert _uid(host.root) == 64070
    stored = _stored(testbed, host)
    assert (stored.state, stored.uid, stored.gid) == ("static", 64070, 64071)
    human = cli_support.run("convert", root=host.root, env=env)
    assert human.code == 0 and human.out.startswith("directory: joined"), human


def test_joined_convert_refuses_other_numbers_and_directory_holders(testbed, tmp_path):
    testbed.set_target(64070, 64071)
    host = _joined(testbed, tmp_path)
    env = child_env(testbed)
    other = cli_support.run("convert", "--uid", "64080", "--gid", "64080", root=host.root, env=env)
    assert other.code == 2 and "64080:64080" in other.err and "64070:64071" in other.err, other
    testbed.add_user("squatter", uid_number=64070)
    held = cli_support.run("convert", root=host.root, json=True, env=env)
    assert held.code == 3, held
    assert "squatter" in held.out
    assert _uid(host.root) == 5301, "nothing was changed"
    assert _stored(testbed, host).state is None, "a refusal records nothing"


def test_off_the_domain_convert_keeps_its_options_and_says_so(fake_root):
    result = cli_support.run("convert", root=fake_root, json=True)
    assert result.code == 0, result
    assert result.data["directory"] == {
        "joined": False,
        "settings": None,
        "host_dn": None,
        "recorded": None,
        "note": result.data["directory"]["note"],
    }
    assert "not joined" in result.data["directory"]["note"]
    assert _uid(fake_root) == 64055


NODE = """<node><memory>4194304</memory>
  <domain type='test'><name>web</name><memory>524288</memory><os><type>hvm</type></os>
    <devices><disk type='file' device='disk'><source file='{image}'/><target dev='vda'/></disk>
    </devices></domain>
</node>
"""


def test_joined_convert_with_downtime_records_the_host_with_its_vm_running(testbed, tmp_path):
    host = _joined(testbed, tmp_path)
    image = tmp_path / "web.qcow2"
    image.write_bytes(b"QFI\xfb web")
    os.chown(image, DYNAMIC.uid, DYNAMIC.gid)
    image.chmod(0o600)
    node = tmp_path / "node.xml"
    node.write_text(NODE.format(image=image))
    uri = f"test://{node}"
    env = child_env(testbed)
    done = cli_support.run(
        "convert", "--suspend-vms", "--connect", uri, root=host.root, json=True, env=env
    )
    assert done.code == 0, done
    assert [d["status"] for d in done.data["downtime"]["domains"]] == ["started"]
    assert done.data["directory"]["recorded"] == "static"
    stored = _stored(testbed, host)
    assert (stored.state, stored.uid) == ("static", 64055)
    assert '"name":"web"' in stored.inventory and '"running":true' in stored.inventory


def test_a_unit_that_crashes_echoes_its_request_failed(testbed, tmp_path, mocker):
    """Fault injection at the one point no real component fails on cue: the evacuation
    raising something unexpected. The echo must not stay "running" (a rollout would wait)."""
    from libvirt_static_ids.directory import client as directory
    from libvirt_static_ids.directory import request as requests
    from libvirt_static_ids.evacuation import evacuate
    from libvirt_static_ids.hostroot import HostRoot
    from libvirt_static_ids.plan import host_request

    host = _joined(testbed, tmp_path)
    conn = directory.connect(testbed.uri, host.dn, host.password)
    settings = directory.read_settings(conn, testbed.base)
    wanted = requests.parse("evacuate to=kvm2 uid=64055 gid=64055 mode=acl vm=web id=crash.1")
    mocker.patch.object(evacuate, "evacuate", side_effect=RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        host_request.carry_out(conn, host.dn, HostRoot.open(host.root), settings, wanted)
    echo = requests.echoed(_stored(testbed, host).detail)
    assert echo["id"] == "crash.1" and echo["state"] == "failed", echo
    assert "boom" in echo["message"]
    conn.unbind_s()
