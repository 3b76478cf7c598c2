# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The UDM hook, loaded from hooks.d the way UDM loads it, reading the real slapd.

Proves: uidNumber equal to the target UID is refused for users/user and computers/*,
gidNumber equal to the target GID for groups/group, on create and on modify, both as a UDM
property and in the LDAP add/modify lists; the message names the number, why it is reserved
and the settings object; other numbers, unchanged holders and other modules pass; a target
set in LDAP replaces 64055; the settings are read from LDAP once per process.
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import pytest
import univention.admin.hook
import univention.admin.uexceptions
import univention.admin.uldap
import univention.uldap

from .udm_object import UdmObject

HOOK_FILE = Path(__file__).resolve().parents[2] / "udm-hooks" / "libvirt_static_ids_reserve.py"


class CountingAccess(univention.uldap.access):
    """A real connection that counts the reads the hook makes."""

    gets = 0

    def get(self, dn, attr=[], required=False):  # noqa: B006 - the original's signature
        type(self).gets += 1
        return super().get(dn, attr, required)


@pytest.fixture
def hook_class(tmp_path, monkeypatch):
    """Install the hook file in a hooks.d on sys.path and let UDM's loader import it."""
    hooks_d = tmp_path / "python" / "univention" / "admin" / "hooks.d"
    hooks_d.mkdir(parents=True)
    shutil.copy(HOOK_FILE, hooks_d)
    monkeypatch.setattr(sys, "path", [str(tmp_path / "python"), *sys.path])
    univention.admin.hook.import_hook_files()
    cls = univention.admin.hook.LibvirtStaticIdsReserve
    assert issubclass(cls, univention.admin.hook.simpleHook)
    assert cls.type == "LibvirtStaticIdsReserve"
    monkeypatch.setattr(cls, "_target_read", None)  # a fresh "process"
    CountingAccess.gets = 0
    return cls


@pytest.fixture
def lo(testbed):
    """What UDM's obj.lo is: univention.admin.uldap.access over univention.uldap.access."""
    inner = CountingAccess(
        host="127.0.0.1",
        port=testbed.port,
        base=testbed.base,
        binddn=testbed.domain_admin.dn,
        bindpw=testbed.domain_admin.password,
        start_tls=0,
    )
    return univention.admin.uldap.access(lo=inner)


def _refused(call, *args):
    with pytest.raises(univention.admin.uexceptions.valueError) as caught:
        call(*args)
    return str(caught.value), caught.value.property


def test_user_with_target_uid_refused_on_create(testbed, hook_class, lo):
    hook = hook_class()
    user = UdmObject("users/user", lo, info={"username": "mallory", "uidNumber": "64055"})
    message, prop = _refused(hook.hook_ldap_pre_create, user)
    assert prop == "uidNumber"
    assert "uidNumber 64055 is reserved" in message
    assert "libvirt-qemu on every KVM host" in message
    assert f"cn=libvirt-static-ids,cn=univention,{testbed.base}" in message
    hook.hook_ldap_pre_create(UdmObject("users/user", lo, info={"uidNumber": "2001"}))
    # The LDAP add list is checked too (numbers UDM fills in late).
    _refused(
        hook.hook_ldap_addlist,
        UdmObject("users/user", lo),
        [("uidNumber", [b"64055"]), ("uid", [b"mallory"])],
    )


def test_modify_refused_only_when_changing_to_the_target(hook_class, lo):
    hook = hook_class()
    moving = UdmObject(
        "users/user", lo, "uid=bob", info={"uidNumber": "64055"}, oldinfo={"uidNumber": "2001"}
    )
    _refused(hook.hook_ldap_pre_modify, moving)
    _refused(hook.hook_ldap_modlist, moving, [("uidNumber", [b"2001"], [b"64055"])])
    # A legacy holder may still be edited otherwise: the survey reports it instead.
    legacy = UdmObject(
        "users/user",
        lo,
        "uid=old",
        info={"uidNumber": "64055", "phone": "1"},
        oldinfo={"uidNumber": "64055"},
    )
    hook.hook_ldap_pre_modify(legacy)
    assert hook.hook_ldap_modlist(legacy, [("telephoneNumber", [], [b"1"])]) == [
        ("telephoneNumber", [], [b"1"])
    ]


def test_groups_and_computers(hook_class, lo):
    hook = hook_class()
    group = UdmObject("groups/group", lo, info={"name": "kvm", "gidNumber": "64055"})
    message, prop = _refused(hook.hook_ldap_pre_create, group)
    assert prop == "gidNumber"
    assert "gidNumber 64055 is reserved: it is the static GID of the libvirt-qemu group" in message
    _refused(
        hook.hook_ldap_modlist,
        UdmObject("groups/group", lo),
        [("gidNumber", [b"5005"], [b"64055"])],
    )
    # A user's primary gidNumber is not this rule's business; a group's uidNumber neither.
    hook.hook_ldap_pre_create(
        UdmObject("users/user", lo, info={"uidNumber": "2002", "gidNumber": "64055"})
    )
    hook.hook_ldap_addlist(UdmObject("groups/group", lo), [("uidNumber", [b"64055"])])
    for module in ("computers/memberserver", "computers/domaincontroller_slave", "computers/linux"):
        _refused(hook.hook_ldap_addlist, UdmObject(module, lo), [("uidNumber", [b"64055"])])
        hook.hook_ldap_addlist(UdmObject(module, lo), [("uidNumber", [b"3005"])])
    hook.hook_ldap_addlist(UdmObject("shares/share", lo), [("uidNumber", [b"64055"])])


def test_target_from_ldap_read_once_per_process(testbed, hook_class, lo):
    testbed.set_target(64056, 64057)
    hook = hook_class()
    message, _ = _refused(
        hook.hook_ldap_pre_create, UdmObject("users/user", lo, info={"uidNumber": "64056"})
    )
    assert "uidNumber 64056" in message
    _refused(hook.hook_ldap_pre_create, UdmObject("groups/group", lo, info={"gidNumber": "64057"}))
    hook.hook_ldap_pre_create(UdmObject("users/user", lo, info={"uidNumber": "64055"}))
    for number in range(200):
        other = hook_class()  # UDM makes a new hook object per module/object
        other.hook_ldap_pre_create(
            UdmObject("users/user", lo, info={"uidNumber": str(3000 + number)})
        )
    assert CountingAccess.gets == 1


def test_the_hook_imports_nothing_of_the_core_and_names_what_the_core_names(hook_class):
    """UDM loads the hook on every UCS system, also where the app (the core) is not installed."""
    from libvirt_static_ids.directory import client
    from libvirt_static_ids.ids import DEFAULT_TARGET

    tree = ast.parse(HOOK_FILE.read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    allowed = ("__future__", "collections", "typing", "ldap", "univention.admin")
    assert all(
        name == top or name.startswith(top + ".")
        for name in imported
        for top in [next((t for t in allowed if name.startswith(t)), "")]
    ), imported
    assert not [name for name in imported if name.startswith("libvirt_static_ids")]
    hook = sys.modules[hook_class.__module__]
    assert hook.TARGET_ATTRIBUTES == {"uid": client.TARGET_UID, "gid": client.TARGET_GID}
    assert hook.SETTINGS_NAME == client.SETTINGS_NAME
    assert {"uid": DEFAULT_TARGET.uid, "gid": DEFAULT_TARGET.gid} == hook.DEFAULT_TARGET
