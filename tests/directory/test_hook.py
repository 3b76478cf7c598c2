# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The UDM hook as UDM gets it (assembled: the adapter with the core's rule inside), loaded
from hooks.d the way UDM 5.2 loads it, reading the real slapd.

Proves: it loads where libvirt_static_ids cannot be imported, and only its hook class is kept;
uidNumber equal to the target UID is refused for users/user and computers/*,
gidNumber equal to the target GID for groups/group, on create and on modify, both as a UDM
property and in the LDAP add/modify lists; the message names the number, why it is reserved
and the settings object; other numbers, unchanged holders and other modules pass; a target
set in LDAP replaces 64055; the settings are read at most once per TTL, and a changed
target is guarded once the TTL has passed.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import ldap
import pytest
import univention.admin.hook
import univention.admin.uexceptions
import univention.admin.uldap
import univention.uldap

from udm_hook import assemble, assembled_hook, install_hook

from .udm_object import UdmObject

RULE_FILE = Path(__file__).resolve().parents[2] / "src/libvirt_static_ids/directory/reservation.py"


class CountingAccess(univention.uldap.access):
    """A real connection that counts the reads the hook makes."""

    gets = 0

    def get(self, dn, attr=[], required=False):  # noqa: B006 - the original's signature
        type(self).gets += 1
        return super().get(dn, attr, required)


@pytest.fixture
def hook_class(tmp_path, monkeypatch):
    """Install the hook file in a hooks.d on sys.path and let UDM's loader import it."""
    install_hook(tmp_path / "python")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "python"), *sys.path])
    univention.admin.hook.import_hook_files()
    cls = univention.admin.hook.LibvirtStaticIdsReserve
    assert issubclass(cls, univention.admin.hook.simpleHook)
    assert cls.type == "LibvirtStaticIdsReserve"
    monkeypatch.setattr(cls, "_read", None)  # a fresh "process"
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


def test_target_from_ldap_read_once_per_ttl_and_again_after_a_change(
    testbed, hook_class, lo, monkeypatch
):
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
    # The admin changes the target; once the TTL has passed the same process guards the new pair.
    testbed.set_target(64070, 64071)
    monkeypatch.setattr(hook_class, "ttl", 0.0)
    hook.hook_ldap_pre_create(UdmObject("users/user", lo, info={"uidNumber": "64056"}))
    _refused(hook.hook_ldap_pre_create, UdmObject("users/user", lo, info={"uidNumber": "64070"}))
    assert CountingAccess.gets == 3


def test_an_unreadable_settings_object_keeps_the_last_target(
    testbed, hook_class, lo, mocker, monkeypatch
):
    testbed.set_target(64056, 64057)
    hook = hook_class()
    hook.hook_ldap_pre_create(UdmObject("users/user", lo, info={"uidNumber": "3000"}))
    monkeypatch.setattr(hook_class, "ttl", 0.0)
    mocker.patch.object(CountingAccess, "get", side_effect=ldap.SERVER_DOWN({"desc": "down"}))
    _refused(hook.hook_ldap_pre_create, UdmObject("users/user", lo, info={"uidNumber": "64056"}))
    hook.hook_ldap_pre_create(UdmObject("users/user", lo, info={"uidNumber": "64055"}))


LOADER = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class NoCore(importlib.abc.MetaPathFinder):
        # This UCS system lacks the app: the core package cannot be imported.
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("libvirt_static_ids", "libvirt_static_ids_testbed"):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NoCore())
    python_dir, stubs, port, base, binddn, password = sys.argv[1:]
    sys.path[:0] = [python_dir, stubs]
    import logging
    logging.basicConfig(level=logging.ERROR)
    import univention.admin.hook, univention.admin.uldap, univention.admin.uexceptions
    import univention.uldap
    before = set(vars(univention.admin.hook))
    univention.admin.hook.import_hook_files()
    added = sorted(set(vars(univention.admin.hook)) - before)
    cls = univention.admin.hook.LibvirtStaticIdsReserve

    class Obj:
        module = "users/user"
        info = {"uidNumber": "64058"}
        def __init__(self, lo):
            self.lo = lo

    lo = univention.admin.uldap.access(lo=univention.uldap.access(
        host="127.0.0.1", port=int(port), base=base, binddn=binddn, bindpw=password, start_tls=0))
    try:
        cls().hook_ldap_pre_create(Obj(lo))
        refused = None
    except univention.admin.uexceptions.valueError as error:
        refused = str(error)
    core = [m for m in sys.modules if m.startswith("libvirt_static_ids")]
    print(json.dumps({"added": added, "refused": refused, "core": core}))
    """
)


def test_loads_as_udm_loads_it_where_the_core_cannot_be_imported(testbed, tmp_path):
    """UDM 5.2's loader: a fresh namespace per file; only simpleHook subclasses are kept."""
    testbed.set_target(64058, 64059)
    install_hook(tmp_path / "python")
    from .conftest import STUBS, child_env

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            LOADER,
            str(tmp_path / "python"),
            str(STUBS),
            str(testbed.port),
            testbed.base,
            testbed.domain_admin.dn,
            testbed.domain_admin.password,
        ],
        capture_output=True,
        text=True,
        env=child_env(testbed),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "loading hook failed" not in result.stderr, result.stderr
    found = json.loads(result.stdout)
    assert found["added"] == ["LibvirtStaticIdsReserve"]
    assert found["core"] == []
    assert found["refused"] and "uidNumber 64058 is reserved" in found["refused"]


def test_a_hook_file_that_fails_to_import_is_absent(tmp_path, monkeypatch, caplog):
    """Why the hook must be self-contained: UDM skips a failing file and has no such hook."""
    hooks_d = tmp_path / "python" / "univention" / "admin" / "hooks.d"
    hooks_d.mkdir(parents=True)
    (hooks_d / "needs_core.py").write_text(
        "import libvirt_static_ids_not_here\nclass NeedsCore(simpleHook):\n    type = 'x'\n"
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path / "python"), *sys.path])
    univention.admin.hook.import_hook_files()
    assert not hasattr(univention.admin.hook, "NeedsCore")
    assert "loading hook failed" in caplog.text


def test_the_rule_imports_only_the_standard_library_and_the_hook_only_ldap_and_udm(tmp_path):
    """UDM loads the hook on every UCS system, also where the app (the core) is not installed."""
    from libvirt_static_ids.ids import DEFAULT_TARGET

    def imports(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        return {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }

    assert imports(RULE_FILE) <= {"__future__", "collections.abc", "typing"}
    hook = install_hook(tmp_path)
    allowed = ("__future__", "collections", "typing", "time", "ldap", "univention.admin")
    found = imports(hook)
    assert all(any(n == a or n.startswith(a + ".") for a in allowed) for n in found), found
    from libvirt_static_ids.directory import reservation

    assert {"uid": DEFAULT_TARGET.uid, "gid": DEFAULT_TARGET.gid} == reservation.DEFAULT_TARGET


def test_the_hook_file_carries_the_cores_rule_verbatim_and_imports_no_core():
    """The hook imports nothing of the core (UDM loads it where the core is not installed),
    so its copy of the rule must be the core's: run udm-hooks/assemble.py after a change."""
    shipped = assemble.ADAPTER.read_text()
    assert shipped == assembled_hook()
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(shipped))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name for name in imported if name.startswith("libvirt_static_ids")}
