# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``plan --from FILE`` (offline, from a saved ``survey --domain --json``) and ``--html``.

The survey file is made by the survey's own code (domain_survey.build on host records with
inventories the host's own encoder wrote), so it is what the command prints. Proves: the
installed command plans from it with no directory: steps, check, schedule (makespan, its
lower bound, waves), --json validated against the shipped schema; holders of the target
block the plan, naming their DNs (exit 3, no steps); a file that is not a survey, not JSON,
or missing is exit 2, naming the file and what is wrong; bad timing options are exit 2; the
defaults are the ACL bridge mode evacuate uses and a non-zero reserve. ``--html`` writes a
page that real Chromium renders with no request to anywhere: a timeline whose bars are laid
out (a conversion after the migrations off its host, rows per host), the step list, and a
screenshot that is not blank.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import cli_support
from libvirt_static_ids.directory import domain_survey
from libvirt_static_ids.directory.client import Holder, Settings
from libvirt_static_ids.directory.record import StoredRecord
from libvirt_static_ids.host import inventory
from libvirt_static_ids.ids import IdPair

TARGET = IdPair(64055, 64055)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHROMIUM = "/usr/bin/chromium"


def _disk(path: str, ids: IdPair) -> dict[str, Any]:
    return {"path": path, "readonly": False, "uid": ids.uid, "gid": ids.gid, "mode": 0o100600}


def _record(name: str, ids: IdPair, free_mib: int, vms: list[tuple[str, int]]) -> StoredRecord:
    taken = {
        "version": 1,
        "free_mib": free_mib,
        "total_mib": free_mib + sum(m for _, m in vms),
        "vms": [
            {
                "name": vm,
                "uuid": f"uuid-{name}-{vm}",
                "memory_mib": memory,
                "running": True,
                "disks": [_disk(f"/srv/images/{name}-{vm}.qcow2", ids)],
            }
            for vm, memory in vms
        ],
    }
    state = "static" if ids == TARGET else "dynamic"
    return StoredRecord(
        dn=f"cn={name},cn=computers,dc=example,dc=test",
        name=name,
        has_class=True,
        state=state,
        uid=ids.uid,
        gid=ids.gid,
        checked=NOW,
        blockers=(),
        detail={},
        request=None,
        problems=(),
        inventory=inventory.encode(taken),
    )


def _survey(tmp_path: Path, holders: tuple[Holder, ...] = ()) -> Path:
    """The issue's example: two static hosts half full, a dynamic one whose VM fits on
    neither until one static host's VM moves to the other (plus a reserve of 1 GiB)."""
    records = [
        _record("static1", TARGET, 6144, [("app", 5120)]),
        _record("static2", TARGET, 6144, [("db", 5120)]),
        _record("kvm1", IdPair(5109, 5114), 1024, [("web", 8192)]),
    ]
    settings = Settings("cn=libvirt-static-ids,cn=univention,dc=example,dc=test", True, TARGET)
    survey = domain_survey.build("dc=example,dc=test", settings, records, holders, NOW)
    data = survey.as_dict()
    cli_support.validator("domain-survey.schema.json").validate(data)
    path = tmp_path / "domain.json"
    path.write_text(json.dumps(data))
    return path


def _plan(*args: str) -> cli_support.CliResult:
    return cli_support.run("plan", *args, schema="plan-output.schema.json")


def test_plan_from_a_saved_survey(tmp_path):
    source = _survey(tmp_path)
    result = _plan("--json", "--from", str(source), "--reserve-mib", "1024")
    assert result.code == 0, result
    data = result.data
    assert data["status"] == "complete" and data["check"]["ok"]
    assert data["base"] == "dc=example,dc=test"
    moves = [(s["name"], s["host"], s["to"]) for s in data["steps"] if s["op"] == "migrate"]
    assert len(moves) == 2 and moves[1][0] == "web"  # room is made first, nothing suspended
    assert data["suspend"] == [] and data["stats"]["lower_bound"] == 1
    assert data["options"]["bridge_mode"] == "acl"  # evacuate's default
    timed = data["schedule"]
    assert 0 < timed["lower_bound_s"] <= timed["makespan_s"] <= timed["serial_s"]
    kinds = [(t["kind"], t["host"]) for t in timed["tasks"]]
    assert kinds[-1] == ("convert", "kvm1")
    convert = timed["tasks"][-1]
    assert convert["start"] >= max(
        t["end"] for t in timed["tasks"] if t["host"] == "kvm1" and t["kind"] == "migrate"
    )
    # The defaults: a reserve that leaves room for the host itself, so the same survey with
    # the default reserve (2 GiB) is short of memory and says so.
    default = _plan("--json", "--from", str(source))
    assert default.data["options"]["reserve_mib"] == 2048
    assert default.data["status"] == "needs-downtime"
    human = _plan("--from", str(source), "--reserve-mib", "1024")
    assert "a plan for every KVM host, no VM stops" in human.out
    assert "takes about" in human.out and "waves (lower bound" in human.out


def test_holders_of_the_target_block_the_plan(tmp_path):
    holder = Holder(
        "uid=alice,cn=users,dc=example,dc=test", "alice", "users/user", 64055, None, ("uid",)
    )
    source = _survey(tmp_path, (holder,))
    result = _plan("--json", "--from", str(source), "--reserve-mib", "1024")
    assert result.code == 3, result
    assert result.data["status"] == "blocked"
    assert result.data["holders"] == ["uid=alice,cn=users,dc=example,dc=test"]
    assert result.data["steps"] == []
    human = _plan("--from", str(source))
    assert human.code == 3
    assert "target held by uid=alice,cn=users,dc=example,dc=test" in human.out


def test_a_file_that_is_no_survey_is_exit_2(tmp_path):
    source = _survey(tmp_path)
    data = json.loads(source.read_text())
    del data["hosts"][0]["inventory"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    result = _plan("--json", "--from", str(broken))
    assert result.code == 2
    message = result.data["error"]["message"]
    assert f"--from {str(broken)!r} is not the output of `survey --domain --json`" in message
    assert "hosts/0" in message and "inventory" in message
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{nope")
    assert "is not JSON" in _plan("--json", "--from", str(garbage)).data["error"]["message"]
    missing = _plan("--json", "--from", str(tmp_path / "none.json"))
    assert missing.code == 2 and "No such file" in missing.data["error"]["message"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-parallel-hosts", "0", "--max-parallel-hosts '0' is not a number in 1..100000"),
        ("--link-mib-s", "fast", "--link-mib-s 'fast' is not a number in 1.."),
        ("--migrations-per-host", "65", "--migrations-per-host '65' is not a number in 1..64"),
        ("--root-squash", "srv", "--root-squash 'srv' is not an absolute path"),
    ],
)
def test_bad_options_are_exit_2(tmp_path, option, value, message):
    result = _plan("--json", "--from", str(_survey(tmp_path)), option, value)
    assert result.code == 2
    assert message in result.data["error"]["message"]


@pytest.fixture
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install --no-install-recommends chromium")
    from playwright import sync_api

    profile = tempfile.mkdtemp(prefix="plan-html-chromium-")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


_COUNT_PIXELS = """async (png) => {
  const image = new Image();
  image.src = 'data:image/png;base64,' + png;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.width; canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height).data;
  let ink = 0, convert = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i] < 240 || pixels[i + 1] < 240 || pixels[i + 2] < 240) ink++;
    if (Math.abs(pixels[i] - 0xdd) < 8 && Math.abs(pixels[i + 1] - 0x6b) < 8
        && Math.abs(pixels[i + 2] - 0x20) < 8) convert++;
  }
  return {ink, convert, total: pixels.length / 4};
}"""


def test_the_html_report_renders_its_timeline(tmp_path, browser):
    report = tmp_path / "plan.html"
    result = _plan(
        "--json", "--from", str(_survey(tmp_path)), "--reserve-mib", "1024", "--html", str(report)
    )
    assert result.code == 0, result
    assert result.data["html"] == str(report)
    text = report.read_text()
    assert "<script" not in text and "http://" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report.as_uri())
    assert requests == [report.as_uri()]  # nothing fetched: self-contained
    bars = page.locator("rect.bar")
    assert bars.count() == len(result.data["schedule"]["tasks"]) == 3
    boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
    assert all(box is not None and box["width"] >= 1 and box["height"] > 0 for box in boxes)
    first, second, convert = boxes
    assert first["y"] != second["y"]  # the static host's move and kvm1's: their own rows
    assert convert["y"] == second["y"]  # kvm1's conversion on kvm1's row ...
    assert convert["x"] >= second["x"] + second["width"] - 1  # ... after its VM left
    assert page.locator("ol.steps li").count() == len(result.data["steps"])
    assert "Rolling conversion to 64055:64055" in page.locator("h1").inner_text()
    png = page.locator("svg").screenshot()
    counted = page.evaluate(_COUNT_PIXELS, base64.b64encode(png).decode())
    assert counted["ink"] > counted["total"] * 0.01, counted  # not blank
    assert counted["convert"] > 50, counted  # the conversion's bar is drawn
    page.close()
