# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The System Diagnostic plugin against the real slapd testbed.

Proves: run() reads the domain survey with the host's own machine account (UCR and
machine.secret of a simulated, joined host) and raises nothing when every host is static and
nothing else holds the target; it raises a Warning that names the hosts, points to the
libvirt-static-ids UMC module and lists the problem when hosts have different numbers, when a
record is stale or missing, or when a user holds the target UID; an unreachable directory is a
Warning too, not a traceback. The plugin file loads as UCS loads it (the diagnostic stub
mirrors univention.management.console.modules.diagnostic).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import ldap
import pytest

from libvirt_static_ids.directory import agent, record
from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed import SimHost, Testbed
from libvirt_static_ids_testbed.domain import add_simulated_host
from libvirt_static_ids_testbed.simulated import SimulatedHost

REPO = Path(__file__).resolve().parents[2]
STUBS = REPO / "tests" / "stubs"
PLUGIN = REPO / "diagnostic" / "plugins" / "75_libvirt_static_ids.py"

if str(STUBS) not in sys.path:
    sys.path.insert(0, str(STUBS))

from univention.management.console.modules.diagnostic import Warning  # noqa: E402


@pytest.fixture(scope="module")
def plugin() -> ModuleType:
    name = "univention.management.console.modules.diagnostic.plugins.75_libvirt_static_ids"
    spec = importlib.util.spec_from_file_location(name, PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def testbed(testbed: Testbed) -> Iterator[Testbed]:
    """The shared testbed, with python-ldap told to trust its CA (the plugin uses StartTLS)."""
    old_ca = ldap.get_option(ldap.OPT_X_TLS_CACERTFILE)
    ldap.set_option(ldap.OPT_X_TLS_CACERTFILE, testbed.ca_file)
    try:
        yield testbed
    finally:
        ldap.set_option(ldap.OPT_X_TLS_CACERTFILE, old_ca or "")


def _domain(testbed: Testbed, tmp_path: Path, hosts: dict[str, SimulatedHost]) -> list[SimHost]:
    """The first host is a Directory Node (the check runs there), the others member servers."""
    made = [
        add_simulated_host(
            testbed, name, str(tmp_path / "hosts"), host, container="memberserver" if n else "dc"
        )
        for n, (name, host) in enumerate(hosts.items())
    ]
    for host in made:
        conn = testbed.connect(host.dn, host.password)
        settings = directory.read_settings(conn, testbed.base)
        agent.record_host(conn, host.dn, HostRoot(host.root), settings)
        conn.unbind_s()
    return made


def _run(plugin: ModuleType, host: SimHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugin, "HOST_ROOT", host.root)
    plugin.run(None)


def test_plugin_contract(plugin):
    assert plugin.title and plugin.description
    assert "{libvirt-static-ids}" in plugin.description
    assert plugin.umc_modules[0]["module"] == "libvirt-static-ids"
    assert callable(plugin.run)


def test_converged_domain_is_fine(plugin, testbed, tmp_path, monkeypatch):
    hosts = _domain(testbed, tmp_path, {"kvm1": SimulatedHost(64055, 64055)})
    _run(plugin, hosts[0], monkeypatch)  # raises nothing


def test_problems_are_warned_about(plugin, testbed, tmp_path, monkeypatch):
    hosts = _domain(
        testbed,
        tmp_path,
        {
            "kvm1": SimulatedHost(64055, 64055),
            "kvm2": SimulatedHost(4109, 4114),
            "kvm3": SimulatedHost(4110, 4115),
        },
    )
    kvm4, _ = testbed.add_host("kvm4")  # has the app, never recorded
    testbed.admin.modify_s(kvm4, [(ldap.MOD_ADD, "objectClass", [b"libvirtStaticIdsHost"])])
    old = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y%m%d%H%M%SZ")
    testbed.admin.modify_s(hosts[2].dn, [(ldap.MOD_REPLACE, record.CHECKED, [old.encode()])])
    testbed.add_user("squatter", 64055)
    with pytest.raises(Warning) as caught:
        _run(plugin, hosts[0], monkeypatch)
    text = caught.value.kwargs["description"]
    assert caught.value.kwargs["type"] == "warning"
    assert caught.value.kwargs["umc_modules"][0]["module"] == "libvirt-static-ids"
    assert "different numbers" in text and "kvm2" in text
    assert "more than 7 days: kvm3" in text
    assert "no libvirt-static-ids record yet: kvm4" in text
    assert "squatter" in text
    assert "{libvirt-static-ids}" in text


def test_on_a_member_server_the_check_has_nothing_to_say(plugin, testbed, tmp_path, monkeypatch):
    """A member server's account cannot read the other hosts' records (the ACL): no verdict."""
    hosts = _domain(
        testbed, tmp_path, {"dc1": SimulatedHost(64055, 64055), "kvm2": SimulatedHost(4109, 4114)}
    )
    assert ",cn=dc,cn=computers," in hosts[0].dn
    with pytest.raises(Warning):
        _run(plugin, hosts[0], monkeypatch)
    _run(plugin, hosts[1], monkeypatch)  # raises nothing: not a Directory Node


def test_unreachable_directory_is_a_warning(plugin, testbed, tmp_path, monkeypatch):
    hosts = _domain(testbed, tmp_path, {"kvm1": SimulatedHost(64055, 64055)})
    testbed.stop()
    with pytest.raises(Warning) as caught:
        _run(plugin, hosts[0], monkeypatch)
    assert "cannot be read" in caught.value.kwargs["description"]
