# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The directory commands' edges: options, UCS defaults, bad input (exit 2, nothing changed),
directory failures (exit 1, named), and the human and --json output of record and request.
"""

from __future__ import annotations

import os

import ldap
import pytest

from libvirt_static_ids.directory import connection, ucr
from libvirt_static_ids.errors import UsageError
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids_testbed.simulated import SimulatedHost


def _host_args(testbed, host, tmp_path):
    secret = tmp_path / f"{host.name}.secret"
    secret.write_text(host.password + "\n")
    return [
        "--ldap-uri",
        testbed.uri,
        "--base",
        testbed.base,
        "--binddn",
        host.dn,
        "--bindpwdfile",
        str(secret),
    ]


def test_record_with_options_then_unchanged(lab):
    (kvm1,) = lab.hosts({"kvm1": SimulatedHost(uid=4109, gid=4114)})
    args = [
        "record",
        "--root",
        kvm1.root,
        "--host-dn",
        kvm1.dn,
        *_host_args(lab.testbed, kvm1, lab.tmp),
    ]
    first = lab.cli(*args, "--json")
    assert first.code == 0, first
    assert first.data["state"] == "dynamic" and first.data["writes"] == 1
    again = lab.cli(*args, "--json")
    assert again.data["written"] == [] and again.data["writes"] == 0
    human = lab.cli(*args)
    assert human.code == 0
    assert f"{kvm1.dn}: libvirt-qemu 4109:4114, dynamic (target 64055:64055)" in human.out
    assert "record unchanged: nothing written" in human.out


def test_record_with_ucs_defaults_uses_starttls_and_machine_account(lab):
    (kvm1,) = lab.hosts({"kvm1": None})
    result = lab.cli("record", "--root", kvm1.root, "--json")
    assert result.code == 0, result
    assert result.data["dn"] == kvm1.dn
    # Without the CA, StartTLS (required for the UCR default) must fail, not fall back.
    from .conftest import child_env

    env = child_env(None)
    failed = lab.cli("record", "--root", kvm1.root, "--json", env=env)
    assert failed.code == 1
    assert failed.data["error"]["code"] == "directory"


def test_a_host_cannot_record_for_another_or_request(lab):
    kvm1, kvm2 = lab.hosts({"kvm1": None, "kvm2": None})
    as_kvm1 = _host_args(lab.testbed, kvm1, lab.tmp)
    result = lab.cli("record", "--root", kvm1.root, "--host-dn", kvm2.dn, *as_kvm1, "--json")
    assert result.code == 1
    assert result.data["error"]["reason"] == "insufficient-access"
    assert kvm2.dn in result.data["error"]["message"]
    result = lab.cli("request", "convert", "kvm2", *as_kvm1, "--json")
    assert result.code == 1
    assert "insufficient access" in result.data["error"]["message"]
    assert "libvirtStaticIdsRequest" not in lab.entry(kvm2.dn)


def test_request_resolves_every_host_before_changing_any(lab):
    (kvm1,) = lab.hosts({"kvm1": None})
    result = lab.cli("request", "convert", "kvm1", "nosuchhost", *lab.admin_args, "--json")
    assert result.code == 2
    assert "'nosuchhost'" in result.data["error"]["message"]
    assert "libvirtStaticIdsRequest" not in lab.entry(kvm1.dn)
    first = lab.cli("request", "refresh", "kvm1", kvm1.dn, *lab.admin_args, "--json")
    assert [h["status"] for h in first.data["hosts"]] == ["requested", "pending"]
    human = lab.cli("request", "refresh", "kvm1", *lab.admin_args)
    assert human.out.strip() == f"kvm1: refresh already pending ({kvm1.dn})"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--base", "not a dn"], "--base 'not a dn'"),
        (["--ldap-uri", "http://127.0.0.1/"], "--ldap-uri 'http://127.0.0.1/'"),
        (["--binddn", "uid=x,dc=kvm,dc=test"], "--bindpwdfile"),
        (
            ["--binddn", "uid=x,dc=kvm,dc=test", "--bindpwdfile", "/nonexistent/pw"],
            "'/nonexistent/pw'",
        ),
        (["--binddn", "garbage"], "--binddn 'garbage'"),
    ],
)
def test_bad_options_exit_2_naming_the_value(lab, options, named):
    base = ["--ldap-uri", lab.testbed.uri, "--base", lab.testbed.base]
    merged = dict(zip(base[::2], base[1::2], strict=True))
    merged.update(dict(zip(options[::2], options[1::2], strict=True)))
    args = [item for pair in merged.items() for item in pair]
    result = lab.cli("survey", "--domain", *args, "--json")
    assert result.code == 2, result
    assert named in result.data["error"]["message"]


def test_record_needs_a_host_dn_off_ucs(lab):
    result = lab.cli("record", *lab.admin_args, "--json")
    assert result.code == 2
    assert "--host-dn" in result.data["error"]["message"]


def test_directory_failures_exit_1_and_say_what(lab, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password")
    result = lab.cli(
        "survey",
        "--domain",
        "--ldap-uri",
        lab.testbed.uri,
        "--base",
        lab.testbed.base,
        "--binddn",
        lab.testbed.domain_admin.dn,
        "--bindpwdfile",
        str(wrong),
        "--json",
    )
    assert result.code == 1
    assert result.data["error"]["reason"] == "invalid-credentials"
    result = lab.cli(
        "survey",
        "--domain",
        "--ldap-uri",
        "ldap://127.0.0.1:1",
        "--base",
        lab.testbed.base,
        "--binddn",
        lab.testbed.domain_admin.dn,
        "--bindpwdfile",
        str(wrong),
        "--json",
    )
    assert result.code == 1
    assert result.data["error"]["reason"] == "unreachable"
    assert "ldap://127.0.0.1:1" in result.data["error"]["message"]


def test_ucr_layers(tmp_path, monkeypatch):
    monkeypatch.delenv("UNIVENTION_BASECONF", raising=False)
    etc = tmp_path / "etc" / "univention"
    etc.mkdir(parents=True)
    (etc / "base.conf").write_text(
        "# univention_ base.conf\n\nldap/base: dc=a\nx: normal\n# a comment: ignored\nweird line\n"
    )
    (etc / "base-forced.conf").write_text("# univention_ base.conf\n\nx: forced\n")
    (etc / "base-defaults.conf").write_text("# univention_ base.conf\n\ny: default\n")
    values = ucr.load(HostRoot(str(tmp_path)))
    assert values == {"ldap/base": "dc=a", "x": "forced", "y": "default"}
    # A torn base.conf: UCR falls back to its backup.
    (etc / "base.conf").write_text("")
    (etc / "base.conf.bak").write_text("# univention_ base.conf\n\nldap/base: dc=b\n")
    assert ucr.load(HostRoot(str(tmp_path)))["ldap/base"] == "dc=b"
    custom = tmp_path / "custom.conf"
    custom.write_text("# univention_ base.conf\n\nonly: this\n")
    monkeypatch.setenv("UNIVENTION_BASECONF", str(custom))
    assert ucr.load(HostRoot(str(tmp_path))) == {"only": "this"}


def test_connection_defaults_from_ucr(tmp_path, monkeypatch):
    monkeypatch.delenv("UNIVENTION_BASECONF", raising=False)
    root = HostRoot(str(tmp_path))
    with pytest.raises(UsageError, match="ldap/master"):
        connection.resolve(root)
    etc = tmp_path / "etc"
    (etc / "univention").mkdir(parents=True)
    (etc / "univention" / "base.conf").write_text(
        "# univention_ base.conf\n\nldap/master: primary.kvm.test\nldap/base: dc=kvm,dc=test\n"
        "ldap/hostdn: cn=kvm1,cn=computers,dc=kvm,dc=test\n"
    )
    (etc / "machine.secret").write_text("s3cret\n")
    params = connection.resolve(root)
    assert params.uri == "ldap://primary.kvm.test:7389" and params.starttls
    assert (params.binddn, params.password) == ("cn=kvm1,cn=computers,dc=kvm,dc=test", "s3cret")
    explicit = connection.resolve(root, uri="ldapi:///", base="dc=other")
    assert explicit.uri == "ldapi:///" and not explicit.starttls and explicit.base == "dc=other"
    os.unlink(etc / "machine.secret")
    with pytest.raises(UsageError, match=r"machine\.secret"):
        connection.resolve(root)


def test_testbed_entry_reads_operational_attributes(lab):
    (kvm1,) = lab.hosts({"kvm1": None})
    assert "entryCSN" in lab.entry(kvm1.dn)
    assert lab.testbed.admin.whoami_s().startswith("dn:cn=admin,")
    assert ldap.dn.is_dn(lab.testbed.settings_dn)
