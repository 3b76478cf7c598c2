# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The shipped join and unjoin scripts, run under bash against recording stand-ins.

Proves: the join script from the .deb registers the schema and ACL (the very files
tests/directory loads into the real slapd) and, separately with a UCS 5 version range, the
UDM hook, with UNIVENTION_APP_IDENTIFIER set; it creates the read-only record attributes on
the computer modules, attaches the hook to users/user, groups/group and computers/*, creates
the settings object (64055:64055) and permanent allocator locks for the target UID and GID,
the UMC operation set appended to default-umc-all, and marks the host as running the service;
it passes the join's credentials ("$@") to every udm and ucs_registerLDAPExtension call; a
forced second run changes nothing and an unforced one stops at the VERSION gate; an existing
settings object is kept and its target is the one locked; the unjoin script removes the
service, attributes, hook and operation set and keeps schema, ACL, settings and locks.

The stand-ins (tests/packaging/standins/) take the place of /usr/share/univention-join and
/usr/share/univention-lib through an overlay mount in a private mount namespace (unshare), so
the script runs unchanged from its installed path and nothing on the real system changes.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from libvirt_static_ids_testbed import ldapfiles
from udm_hook import assembled_hook

REPO = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).resolve().parent / "standins"
UCS = "univention-libvirt-static-ids"
JOIN = "usr/lib/univention-install/50libvirt-static-ids.inst"
UNJOIN = "usr/lib/univention-uninstall/50libvirt-static-ids.uinst"
SHARE = "/usr/share/univention-libvirt-static-ids"
BASE = "dc=kvm,dc=test"
BINDDN = f"uid=Administrator,cn=users,{BASE}"
ATTRIBUTES = f"cn=custom attributes,cn=univention,{BASE}"
OPSET = f"cn=libvirt-static-ids-all,cn=operations,cn=UMC,cn=univention,{BASE}"
POLICY = f"cn=default-umc-all,cn=UMC,cn=policies,{BASE}"
SETTINGS = f"cn=libvirt-static-ids,cn=univention,{BASE}"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="the overlay mount needs root and unshare",
)


class Join:
    """The unpacked package's scripts with their own stand-in state directory."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.state = tmp / "state"
        self.state.mkdir()
        (self.state / "ucr.json").write_text(
            json.dumps(
                {
                    "ldap/base": BASE,
                    "ldap/master": "primary.kvm.test",
                    "server/role": "domaincontroller_master",
                }
            )
        )
        self.pwfile = tmp / "bindpw"
        self.pwfile.write_text("secret\n")
        self.bin = tmp / "bin"
        self.bin.mkdir()
        self.standin = self.bin / "standin"
        self.standin.write_text(
            f'#!/bin/sh\nexec /usr/bin/python3 {STANDINS / "standin.py"} "$@"\n'
        )
        self.standin.chmod(0o755)
        for command in ("udm", "ucr", "ldapsearch", "ldapadd"):
            wrapper = self.bin / command
            wrapper.write_text(f'#!/bin/sh\nexec {self.standin} {command} "$@"\n')
            wrapper.chmod(0o755)

    def run(self, script: str, force: bool = False) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": f"{self.bin}:/usr/sbin:/usr/bin:/sbin:/bin",
            "STANDIN_STATE": str(self.state),
            "STANDIN": str(self.standin),
            "LANG": "C.UTF-8",
        }
        if force:
            env["JOIN_FORCE"] = "1"
        mount = (
            'mount -t overlay overlay -o "lowerdir=$1:$2:/usr/share" /usr/share '
            '&& shift 2 && exec /bin/bash "$@"'
        )
        return subprocess.run(
            [
                "unshare", "--mount", "--propagation", "private", "--",
                "/bin/sh", "-c", mount, "sh", str(STANDINS), str(self.root / "usr/share"),
                str(self.root / script), "--binddn", BINDDN, "--bindpwdfile", str(self.pwfile),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip

    def calls(self) -> list[list[Any]]:
        path = self.state / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def snapshot(self) -> dict[str, Any]:
        status = self.state / "status"
        return {
            "state": json.loads((self.state / "state.json").read_text()),
            "status": status.read_text() if status.exists() else "",
        }


@pytest.fixture
def join(unpacked: dict[str, Path], tmp_path: Path) -> Join:
    return Join(unpacked[UCS], tmp_path)


def _sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_join_registers_everything(join):
    proc = join.run(JOIN)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = join.snapshot()["state"]

    # Schema and ACL: the files tests/directory loads into slapd; the hook with a UCS 5 range.
    extensions = state["extensions"]
    assert extensions["schema"]["libvirt-static-ids"]["sha256"] == _sha(ldapfiles.schema_file())
    assert extensions["schema"]["libvirt-static-ids"]["sha256"] == _sha(
        REPO / "ldap/libvirt-static-ids.schema"
    )
    assert extensions["acl"]["66libvirt-static-ids"]["sha256"] == _sha(ldapfiles.acl_file())
    hook = extensions["udm_hook"]["libvirt_static_ids_reserve"]
    assert hook["path"] == f"{SHARE}/hooks.d/libvirt_static_ids_reserve.py"
    assert hook["sha256"] == hashlib.sha256(assembled_hook().encode()).hexdigest()
    # The hook is deployed from the UCS release the app requires, not before.
    app = configparser.ConfigParser()
    app.read(REPO / "app" / "libvirt-static-ids.ini")
    assert hook["ucsversionstart"] == app["Application"]["RequiredUCSVersion"] == "5.2-0"
    assert hook["ucsversionend"].startswith("5.")
    # Every registration names the app as ldap_extension.unregister looks it up: appid_version.
    identifier = f"{app['Application']['ID']}_{app['Application']['Version']}"
    for kind in extensions.values():
        for registered in kind.values():
            assert registered["app"] == identifier

    # Extended attributes: the record read-only on the computer modules; the hook everywhere.
    udm = state["udm"]
    record = udm[f"cn=libvirtStaticIdsState,{ATTRIBUTES}"]["values"]
    assert "computers/memberserver" in record["module"]
    assert all(module.startswith("computers/") for module in record["module"])
    assert record["hook"] == ["LibvirtStaticIdsReserve"]
    for name in ("State", "Uid", "Gid", "Checked"):
        values = udm[f"cn=libvirtStaticIds{name},{ATTRIBUTES}"]["values"]
        assert values["ldapMapping"] == [f"libvirtStaticIds{name}"]
        assert values["mayChange"] == ["0"] and values["notEditable"] == ["1"]
        assert values["objectClass"] == ["libvirtStaticIdsHost"]
    reserve = udm[f"cn=libvirtStaticIdsReserve,{ATTRIBUTES}"]["values"]
    assert sorted(reserve["module"]) == ["groups/group", "users/user"]
    assert reserve["hook"] == ["LibvirtStaticIdsReserve"]
    assert reserve["disableUDMWeb"] == ["1"] and reserve["notEditable"] == ["1"]
    hooked = {m for v in udm.values() if "hook" in v["values"] for m in v["values"]["module"]}
    assert {"users/user", "groups/group", "computers/memberserver"} <= hooked

    # Settings, and permanent allocator locks for the target numbers.
    ldap_entries = state["ldap"]
    assert ldap_entries[SETTINGS]["libvirtStaticIdsTargetUid"] == ["64055"]
    assert ldap_entries[SETTINGS]["libvirtStaticIdsTargetGid"] == ["64055"]
    for kind in ("uidNumber", "gidNumber"):
        lock = ldap_entries[f"cn=64055,cn={kind},cn=temporary,cn=univention,{BASE}"]
        assert lock["lockTime"] == ["0"]
        assert "lock" in lock["objectClass"]

    # UMC access for Domain Admins, and this host runs the service.
    assert udm[OPSET]["values"]["operation"] == ["libvirt-static-ids/*"]
    assert OPSET in udm[POLICY]["values"]["allow"]
    assert state["services"] == ["libvirt-static-ids"]
    assert "libvirt-static-ids v1 successful" in join.snapshot()["status"]


def test_every_udm_and_registration_call_gets_the_credentials(join):
    assert join.run(JOIN).returncode == 0
    calls = [c for c in join.calls() if c[0] in ("udm", "ucs_registerLDAPExtension", "ldapadd")]
    assert len([c for c in calls if c[0] == "udm"]) == 6
    assert len([c for c in calls if c[0] == "ucs_registerLDAPExtension"]) == 2
    for call in calls:
        if call[0] == "ldapadd":
            assert call[call.index("-D") + 1] == BINDDN
            assert call[-1] == {"password": "secret"}  # the file's trailing newline dropped
        else:
            assert call[call.index("--binddn") + 1] == BINDDN, call
            assert call[call.index("--bindpwdfile") + 1] == str(join.pwfile), call
    services = [c for c in join.calls() if c[0] == "ucs_addServiceToLocalhost"]
    assert services and "--binddn" in services[0]


def test_second_run_changes_nothing(join):
    assert join.run(JOIN).returncode == 0
    first = join.snapshot()
    forced = join.run(JOIN, force=True)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert join.snapshot() == first
    # Without JOIN_FORCE, the VERSION gate stops the script before it does anything.
    before = len(join.calls())
    gated = join.run(JOIN)
    assert gated.returncode == 1
    assert [c[0] for c in join.calls()[before:]] == ["joinscript_init"]
    assert join.snapshot() == first


def test_existing_settings_are_kept_and_their_target_locked(join):
    state = {
        "udm": {},
        "ldap": {
            SETTINGS: {
                "objectClass": ["top", "libvirtStaticIdsSettings"],
                "cn": ["libvirt-static-ids"],
                "libvirtStaticIdsTargetUid": ["4242"],
                "libvirtStaticIdsTargetGid": ["4343"],
            }
        },
        "extensions": {},
        "services": [],
    }
    (join.state / "state.json").write_text(json.dumps(state))
    assert join.run(JOIN).returncode == 0
    entries = join.snapshot()["state"]["ldap"]
    assert entries[SETTINGS]["libvirtStaticIdsTargetUid"] == ["4242"]
    assert f"cn=4242,cn=uidNumber,cn=temporary,cn=univention,{BASE}" in entries
    assert f"cn=4343,cn=gidNumber,cn=temporary,cn=univention,{BASE}" in entries
    assert not [dn for dn in entries if dn.startswith("cn=64055,")]


def test_unjoin_removes_what_is_safe_and_keeps_the_data(join):
    assert join.run(JOIN).returncode == 0
    proc = join.run(UNJOIN)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    snapshot = join.snapshot()
    state = snapshot["state"]
    assert state["services"] == []
    assert not [dn for dn in state["udm"] if dn.endswith(ATTRIBUTES)]
    assert OPSET not in state["udm"]
    assert OPSET not in state["udm"][POLICY]["values"]["allow"]
    assert "udm_hook" not in state["extensions"] or not state["extensions"]["udm_hook"]
    # Kept: schema and ACL, the settings, the locks (the reservation outlives the app).
    assert "libvirt-static-ids" in state["extensions"]["schema"]
    assert "66libvirt-static-ids" in state["extensions"]["acl"]
    assert SETTINGS in state["ldap"]
    assert f"cn=64055,cn=uidNumber,cn=temporary,cn=univention,{BASE}" in state["ldap"]
    assert "libvirt-static-ids v" not in snapshot["status"]
    for call in join.calls():
        if call[0] in ("udm", "ucs_unregisterLDAPExtension"):
            assert "--binddn" in call
