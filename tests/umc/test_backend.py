# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The UMC backend's ``Instance``, called as UMC calls it, on the demo domain (real slapd).

Proves: each command answers what the core computed (domain survey as the logged-in user,
this host's live survey, the dry run, requests written to LDAP); every option is validated
and a bad one is a 422 whose result names it in a sentence, also when only the core can
tell (a path that does not exist, an unknown host) and nothing is changed then; the core's
typed errors become readable UMC errors (403, 503, 400; a busy host 409), never a traceback
(591); ``convert`` starts the conversion as a transient unit (a real detached process, the
fakes of systemd-run/systemctl in front) and answers at once with a progress id, its polls
— read from the run's journal — rise to 100 % and end with the result, the host ends static
in the directory; the conversion outlives the module instance that started it, and a new
instance finds it running and then finished; a refused conversion is an ordinary answer
listing the blockers, starts nothing, and leaves the host's files, accounts and record
exactly as they were.
"""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Iterator
from pathlib import Path

import ldap
import ldap.ldapobject
import pytest

from libvirt_static_ids.directory import record
from libvirt_static_ids.hostroot import HostRoot
from libvirt_static_ids.journal.store import Store

from .hoststate import host_state
from .umcsite import Site, fake_systemd, umc_site


@pytest.fixture
def dyn() -> Iterator[Site]:
    with umc_site("kvm-dyn1") as site:
        yield site


@pytest.fixture
def dyn_many() -> Iterator[Site]:
    """kvm-dyn1 with 2500 more images: more than one batch to repair, so real progress."""
    with umc_site("kvm-dyn1", extra_files=2500) as site:
        yield site


@pytest.fixture
def blocked() -> Iterator[Site]:
    with umc_site("kvm-blocked") as site:
        yield site


def _record(site: Site, name: str) -> dict[str, list[bytes]]:
    dn = site.demo.hosts[name].dn
    return site.demo.testbed.admin.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*"])[0][1]


def _no_traceback(body: dict) -> None:
    assert body["status"] != 591, body
    assert not body.get("traceback"), body


def test_survey_is_the_domain_as_the_user_sees_it(dyn):
    answer = dyn.call("survey")
    assert answer.status == 200
    result = answer.body["result"]
    states = {host["name"]: host["state"] for host in result["hosts"]}
    assert states == {
        "kvm-static": "static",
        "kvm-dyn1": "dynamic",
        "kvm-dyn2": "dynamic",
        "kvm-blocked": "conflict",
    }
    assert result["this_host"] == {
        "name": "kvm-dyn1",
        "dn": dyn.demo.local.dn,
        "domainname": "kvm.test",
        "conversion": None,
    }
    assert result["summary"]["states"] == {"conflict": 1, "dynamic": 2, "static": 1}
    assert [holder["name"] for holder in result["holders"]] == ["legacy-app"]
    assert result["settings"]["target"] == {"uid": 64055, "gid": 64055}


def test_host_is_the_live_survey_of_this_host(dyn):
    answer = dyn.call("host")
    assert answer.status == 200
    survey = answer.body["result"]["survey"]
    assert (survey["uid"], survey["gid"], survey["verdict"]) == (109, 114, "dynamic")
    assert answer.body["result"]["host"]["name"] == "kvm-dyn1"
    assert answer.body["result"]["directory_blockers"] == []


def test_dry_run_plans_and_changes_nothing(dyn_many, snapshot):
    dyn = dyn_many
    before = host_state(snapshot, dyn.demo.local.root)
    answer = dyn.call("dry_run", {"restart": False})
    assert answer.status == 200
    result = answer.body["result"]
    assert result["status"] == "would-convert"
    assert result["dry_run"] is True
    assert result["change_count"] > 2500
    assert len(result["changes"]) == 100  # the browser gets the first ones and the count
    assert any(step.startswith("usermod") for step in result["steps"])
    assert result["directory_blockers"] == []
    assert host_state(snapshot, dyn.demo.local.root) == before


@pytest.mark.parametrize(
    ("verb", "options", "expected"),
    [
        (
            "dry_run",
            {"paths": "/var/lib/libvirt"},
            {"paths": "Give the paths as a list, not as str."},
        ),
        (
            "dry_run",
            {"paths": ["/srv/images", "relative/path"]},
            {
                "paths": "'relative/path' is not an absolute path: "
                "give the whole path, starting with /."
            },
        ),
        ("dry_run", {"paths": [42]}, {"paths": "42 is not a path: give text."}),
        ("convert", {"paths": "/var"}, {"paths": "Give the paths as a list, not as str."}),
        (
            "convert",
            {"paths": ["images"]},
            {"paths": "'images' is not an absolute path: give the whole path, starting with /."},
        ),
        ("request", {"action": "refresh"}, {"hosts": "Argument required"}),
        (
            "request",
            {"hosts": [], "action": "refresh"},
            {"hosts": "Must have at least 1 element(s)"},
        ),
        (
            "request",
            {"hosts": ["kvm-dyn2"], "action": "reboot"},
            {"action": "Value has to be one of ['refresh', 'convert']"},
        ),
        ("progress", {}, {"progress_id": "Argument required"}),
    ],
)
def test_a_bad_option_is_a_422_naming_it(dyn, verb, options, expected):
    answer = dyn.call(verb, options)
    assert answer.status == 422, answer.body
    result = {
        k: ({str(i): v for i, v in m.items()} if isinstance(m, dict) else m)
        for k, m in answer.body["result"].items()
    }
    assert result == expected
    _no_traceback(answer.body)


def test_options_must_be_an_object(dyn):
    answer = dyn.call("dry_run", ["/var/lib/libvirt"])
    assert answer.status == 422
    assert answer.body["result"] == {"request.options": 'Not a "dict"'}


def test_a_path_that_does_not_exist_is_a_422_naming_paths(dyn, snapshot):
    before = host_state(snapshot, dyn.demo.local.root)
    for verb in ("dry_run", "convert"):
        answer = dyn.call(verb, {"paths": ["/no/such/images"]})
        assert answer.status == 422, answer.body
        assert list(answer.body["result"]) == ["paths"]
        assert "/no/such/images" in answer.body["result"]["paths"]
        _no_traceback(answer.body)
    assert host_state(snapshot, dyn.demo.local.root) == before
    assert fake_systemd.calls(dyn.systemd.state) == []  # no unit was started


def test_an_unknown_host_is_a_422_and_no_request_is_written(dyn):
    answer = dyn.call("request", {"hosts": ["kvm-dyn2", "kvm-nowhere"], "action": "convert"})
    assert answer.status == 422
    assert list(answer.body["result"]) == ["hosts"]
    assert "kvm-nowhere" in answer.body["result"]["hosts"]
    assert record.REQUEST not in _record(dyn, "kvm-dyn2")


def test_request_writes_the_request_as_the_admin(dyn):
    dn = dyn.demo.hosts["kvm-dyn2"].dn
    answer = dyn.call("request", {"hosts": ["kvm-dyn2", dn], "action": "convert"})
    assert answer.status == 200
    assert [h["status"] for h in answer.body["result"]["hosts"]] == ["requested", "pending"]
    assert _record(dyn, "kvm-dyn2")[record.REQUEST] == [b"convert"]


def test_a_user_who_may_not_request_gets_a_403_and_nothing_is_written(dyn):
    user = dyn.demo.testbed.add_user("helpdesk")
    dyn.bridge._session = ("helpdesk", user.dn, user.password)
    answer = dyn.call("request", {"hosts": ["kvm-dyn2"], "action": "convert"})
    assert answer.status == 403, answer.body
    assert "insufficient access" in answer.body["message"]
    _no_traceback(answer.body)
    assert record.REQUEST not in _record(dyn, "kvm-dyn2")


def test_a_local_user_is_told_to_log_in_with_a_domain_account(dyn):
    dyn.bridge._session = ("root", None, None)
    answer = dyn.call("survey")
    assert answer.status == 403
    assert "domain account" in answer.body["message"]


class _Impatient(ldap.ldapobject.ReconnectLDAPObject):
    """UCS's connection retries a lost server 11 times a second apart; a test need not."""

    def __init__(self, uri: str, **kwargs: object) -> None:
        kwargs.update(retry_max=1, retry_delay=0)
        super().__init__(uri, **kwargs)


def test_an_unreachable_directory_is_a_503(monkeypatch):
    monkeypatch.setattr(ldap.ldapobject, "ReconnectLDAPObject", _Impatient)
    with umc_site("kvm-dyn1") as site:
        site.demo.testbed.stop()
        answer = site.call("survey")
    assert answer.status == 503, answer.body
    assert "cannot be reached" in answer.body["message"]
    _no_traceback(answer.body)


def test_a_host_busy_with_another_run_is_a_409_naming_it(dyn):
    store = Store(HostRoot(dyn.demo.local.root))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.locked():
            held.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    try:
        answer = dyn.call("convert", {"restart": False})
    finally:
        release.set()
        holder.join()
    assert answer.status == 409, answer.body
    assert answer.body["message"].startswith("This host is busy: another run (PID ")
    assert f"PID {os.getpid()}" in answer.body["message"]
    _no_traceback(answer.body)
    assert fake_systemd.calls(dyn.systemd.state) == []
    assert _record(dyn, "kvm-dyn1")[record.STATE] == [b"dynamic"]


def test_a_second_conversion_while_one_runs_is_a_409(dyn_many, tmp_path):
    dyn = dyn_many
    go = _gated(dyn, tmp_path)
    first = dyn.call("convert", {"restart": False})
    assert first.status == 200, first.body
    second = dyn.call("convert", {"restart": False})
    go.touch()
    assert second.status == 409, second.body
    assert "libvirt-static-ids-convert.service is already running" in second.body["message"]
    _no_traceback(second.body)
    assert dyn.poll(first.body["result"]["id"])[-1]["result"]["result"]["status"] == "converted"


def _gated(site: Site, directory: Path) -> Path:
    """The unit's command waits for a file before it execs the real command (same PID):
    the conversion is running, for as long as the test needs, until the file exists."""
    go = directory / "go"
    gate = directory / "gated-libvirt-static-ids"
    gate.write_text(
        f"#!/bin/sh\nwhile [ ! -e {shlex.quote(str(go))} ]; do sleep 0.05; done\n"
        f'exec {shlex.quote(site.bridge.instance.executable)} "$@"\n'
    )
    gate.chmod(0o755)
    site.bridge.instance.executable = str(gate)
    return go


def test_the_conversion_outlives_its_module_instance(dyn_many, tmp_path):
    """UMC ends an idle module process: a new one finds the conversion, running, then ended."""
    dyn = dyn_many
    go = _gated(dyn, tmp_path)
    started = dyn.call("convert", {"restart": False}).body["result"]
    unit = dyn.systemd.unit_pid("libvirt-static-ids-convert")
    assert unit is not None
    dyn.new_instance()  # the old Instance is destroyed; the unit runs on
    try:
        here = dyn.call("survey").body["result"]["this_host"]
        assert here["conversion"] == {
            "id": started["id"],
            "title": "Converting libvirt-qemu on kvm-dyn1",
        }
        attached = dyn.call("attach")
        assert attached.status == 200
        assert attached.body["result"] == here["conversion"]
        running = dyn.call("progress", {"progress_id": started["id"]}).body["result"]
        assert running["finished"] is False
        assert running["percentage"] < 100
        os.kill(unit, 0)  # the unit's process is still there
    finally:
        go.touch()
    dyn.new_instance()
    replies = dyn.poll(started["id"])
    result = replies[-1]["result"]
    assert result["finished"] is True
    assert result["result"]["status"] == "converted"
    assert result["result"]["record"]["state"] == "static"
    assert _record(dyn, "kvm-dyn1")[record.STATE] == [b"static"]
    # Shown once: then the module opens on the overview, and the id is unknown.
    assert dyn.call("survey").body["result"]["this_host"]["conversion"] is None
    assert dyn.call("progress", {"progress_id": started["id"]}).status == 400
    assert dyn.call("attach").status == 400


def test_an_unknown_progress_id_is_a_400(dyn):
    answer = dyn.call("progress", {"progress_id": "conversion-12345"})
    assert answer.status == 400
    assert answer.body["message"] == "Invalid progress ID"


def test_convert_reports_progress_and_ends_static(dyn_many):
    dyn = dyn_many
    answer = dyn.call("convert", {"restart": False})
    assert answer.status == 200
    started = answer.body["result"]
    assert set(started) == {"id", "title"}
    replies = dyn.poll(started["id"])
    assert all(reply["status"] == 200 for reply in replies)
    polls = [reply["result"] for reply in replies]
    assert polls[-1]["finished"] is True
    numbers = [p["percentage"] for p in polls if p["percentage"] != "Infinity"]
    assert numbers == sorted(numbers)
    assert numbers[-1] == 100
    assert polls[-1]["title"] == "Converting libvirt-qemu on kvm-dyn1"
    result = polls[-1]["result"]
    assert result["status"] == "converted"
    assert result["record"]["state"] == "static"
    assert result["repair"]["changed"] > 2500
    assert "change_count" not in result
    assert _record(dyn, "kvm-dyn1")[record.STATE] == [b"static"]
    # The unit ran the conversion, as a transient unit of its own name.
    calls = fake_systemd.calls(dyn.systemd.state)
    run = next(call for call in calls if call[0] == "systemd-run")
    assert "--unit=libvirt-static-ids-convert" in run
    assert run[run.index("--") + 1 :][-3:] == ["record", "--convert", "--no-restart"]
    states = {h["name"]: h["state"] for h in dyn.call("survey").body["result"]["hosts"]}
    assert states["kvm-dyn1"] == "static"
    image = os.path.join(dyn.demo.local.root, "var/lib/libvirt/images/web.qcow2")
    assert (os.stat(image).st_uid, os.stat(image).st_gid) == (64055, 64055)
    # The finished progress is forgotten.
    assert dyn.call("progress", {"progress_id": started["id"]}).status == 400


def test_a_refused_conversion_lists_the_blockers_and_changes_nothing(blocked, snapshot):
    before = host_state(snapshot, blocked.demo.local.root)
    stored = _record(blocked, "kvm-blocked")
    dry = blocked.call("dry_run", {"restart": False}).body["result"]
    assert [b["code"] for b in dry["survey"]["blockers"]] == ["target-uid-taken"]
    answer = blocked.call("convert", {"restart": False})
    assert answer.status == 200
    replies = blocked.poll(answer.body["result"]["id"])
    assert replies[-1]["status"] == 200, replies[-1]
    result = replies[-1]["result"]["result"]
    assert result["status"] == "refused"
    assert "nothing was changed" in result["message"]
    assert fake_systemd.calls(blocked.systemd.state) == []  # a refusal starts no unit
    assert [b["code"] for b in result["blockers"]] == ["target-uid-taken"]
    assert "backup" in result["blockers"][0]["message"]
    assert host_state(snapshot, blocked.demo.local.root) == before
    assert _record(blocked, "kvm-blocked") == stored


def test_a_directory_user_holding_the_target_uid_refuses_the_conversion(dyn, snapshot):
    """Off a live root NSS is not asked, so the directory is (as the core's agent does)."""
    holder = dyn.demo.testbed.add_user("old-kvm-admin", 64055)
    before = host_state(snapshot, dyn.demo.local.root)
    stored = _record(dyn, "kvm-dyn1")
    dry = dyn.call("dry_run", {}).body["result"]
    assert [b["code"] for b in dry["directory_blockers"]] == ["target-uid-taken"]
    assert holder.dn in dry["directory_blockers"][0]["message"]
    answer = dyn.call("convert", {})
    result = dyn.poll(answer.body["result"]["id"])[-1]["result"]["result"]
    assert result["status"] == "refused"
    assert [b["code"] for b in result["blockers"]] == ["target-uid-taken"]
    assert host_state(snapshot, dyn.demo.local.root) == before
    assert _record(dyn, "kvm-dyn1") == stored


def test_settings_show_the_target_and_its_locks(dyn):
    answer = dyn.call("settings")
    assert answer.status == 200, answer.body
    result = answer.body["result"]
    assert result["target"] == {"uid": 64055, "gid": 64055}
    assert result["exists"] is True
    assert isinstance(result["locks"], list)


def test_settings_set_checks_first_then_moves_the_target(dyn):
    dry = dyn.call("settings_set", {"uid": "64060", "gid": "64060"})  # dry run by default
    assert dry.status == 200, dry.body
    assert dry.body["result"]["status"] == "checked"
    assert dry.body["result"]["new"] == {"uid": 64060, "gid": 64060}
    assert dyn.call("settings").body["result"]["target"] == {"uid": 64055, "gid": 64055}
    done = dyn.call("settings_set", {"uid": "64060", "gid": "64060", "dry_run": False})
    assert done.status == 200, done.body
    assert done.body["result"]["status"] == "set"
    assert dyn.call("settings").body["result"]["target"] == {"uid": 64060, "gid": 64060}
    assert dyn.call("survey").body["result"]["settings"]["target"] == {"uid": 64060, "gid": 64060}


def test_settings_set_refuses_a_pair_someone_holds_and_changes_nothing(dyn):
    dyn.demo.testbed.add_user("holder", 64070)
    answer = dyn.call("settings_set", {"uid": "64070", "gid": "64070", "dry_run": False})
    assert answer.status == 200, answer.body
    result = answer.body["result"]
    assert result["status"] == "refused"
    assert result["blockers"]
    assert any("64070" in blocker["message"] for blocker in result["blockers"])
    assert dyn.call("settings").body["result"]["target"] == {"uid": 64055, "gid": 64055}


@pytest.mark.parametrize(
    ("options", "option"),
    [({"uid": "abc", "gid": "64060"}, "uid"), ({"uid": "64060", "gid": "0"}, "gid")],
)
def test_settings_set_names_a_bad_number(dyn, options, option):
    answer = dyn.call("settings_set", options)
    assert answer.status == 422, answer.body
    assert list(answer.body["result"]) == [option]
    assert options[option] in answer.body["result"][option]
    _no_traceback(answer.body)


def test_a_host_without_systemd_says_so_and_keeps_nothing_to_find(dyn):
    (dyn.systemd.state / "no-systemd").touch()
    answer = dyn.call("convert", {"restart": False})
    assert answer.status == 500, answer.body
    assert "System has not been booted with systemd" in answer.body["message"]
    _no_traceback(answer.body)
    assert dyn.call("survey").body["result"]["this_host"]["conversion"] is None
    assert _record(dyn, "kvm-dyn1")[record.STATE] == [b"dynamic"]
