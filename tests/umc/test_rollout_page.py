# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The module's rollout page in Debian's Chromium, over the real backend and a real slapd.

The domain is the rollouts' simulated one (tests/rollout/conftest.py): one static host with
room and two dynamic hosts with running VMs, each recorded by its real listener module; the
hosts' daemon is then stopped and an evacuation requested on kvm-b, so it stays pending: the
step under way. Proves: ``rollout_status`` answers what ``rollout status`` says, with the
schedule's tasks and exactly that evacuation's first migration marked running; the page
opens from the overview without console errors, shows the waves, hosts and the estimate,
draws one bar per task on its host's row in time order, highlights the running bar (and
only it), and its screenshot is not blank; the page in German; which task counts as under
way for each kind of pending or echoed request (none for a refresh or an unreadable one);
on the demo domain, whose target a directory user holds, the page lists that refusal and
draws no timeline.
"""

from __future__ import annotations

import base64
import os
import signal
from collections.abc import Iterator
from typing import Any

import ldap
import pytest
from playwright.sync_api import expect
from umcdev.bridge import ModuleBridge
from umcdev.server import NODE_MODULES, UmcDevServer

from libvirt_static_ids.directory import client as directory
from libvirt_static_ids.plan import rollout
from libvirt_static_ids_testbed.simulated import SimulatedHost
from rollout.conftest import domain  # noqa: F401 - the simulated domain, as a fixture

from .umcsite import Site, _point_stubs_at, umc_site

# Pixels of a PNG drawn in the page: any ink, and the running bar's outline (#e53e3e).
COUNT_PIXELS = """async (png) => {
  const image = new Image();
  image.src = 'data:image/png;base64,' + png;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.width; canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height).data;
  let ink = 0, running = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i] < 240 || pixels[i + 1] < 240 || pixels[i + 2] < 240) ink++;
    if (Math.abs(pixels[i] - 0xe5) < 10 && Math.abs(pixels[i + 1] - 0x3e) < 10
        && Math.abs(pixels[i + 2] - 0x3e) < 10) running++;
  }
  return {ink, running, total: pixels.length / 4};
}"""
STATIC = SimulatedHost(uid=64055, gid=64055)
SPEC = {
    "kvm-a": (STATIC, 16384, [("vm-a1", 512)]),
    "kvm-b": (SimulatedHost(uid=109, gid=114), 8192, [("vm-b1", 1024), ("vm-b2", 512)]),
    "kvm-c": (SimulatedHost(uid=110, gid=115), 8192, [("vm-c1", 768)]),
}


@pytest.fixture
def site(domain: Any) -> Iterator[tuple[Site, dict[str, Any]]]:  # noqa: F811
    if not (NODE_MODULES / "dojo" / "dojo.js").is_file():
        pytest.fail(f"Dojo is missing: run `npm ci` in {NODE_MODULES.parent} (make umc-deps)")
    sim = domain(SPEC)
    assert sim.daemon is not None
    os.kill(sim.daemon.pid, signal.SIGTERM)  # no listener takes the request up
    sim.daemon.wait(timeout=60)
    testbed = sim.testbed
    ldap.set_option(ldap.OPT_X_TLS_CACERTFILE, testbed.ca_file)
    planned = rollout.status(testbed.admin, testbed.base, _options())
    first = next(a for a in planned["actions"] if a["host"] == "kvm-b")
    assert first["kind"] == "evacuate", planned["actions"]
    assert directory.set_request(testbed.admin, sim.hosts["kvm-b"].dn, first["request"])
    saved = os.environ.get("UNIVENTION_BASECONF")
    local = sim.hosts["kvm-a"]
    _point_stubs_at(local.ucr_file)
    admin = testbed.domain_admin
    bridge = ModuleBridge(admin.dn, "Administrator", admin.password, local.root)
    # No demo domain and no systemd stand-in: the page only reads the directory.
    served = Site(None, bridge, None, UmcDevServer(0, bridge).start())  # type: ignore[arg-type]
    try:
        yield served, first
    finally:
        assert served.server is not None
        served.server.stop()
        if saved is None:
            os.environ.pop("UNIVENTION_BASECONF", None)
        else:
            os.environ["UNIVENTION_BASECONF"] = saved


def _options() -> Any:
    import importlib

    page = importlib.import_module("univention.management.console.modules.libvirt-static-ids")
    return page.rollout_page.default_options()


def test_rollout_page_draws_the_schedule_and_highlights_the_running_step(site, open_page, shot):
    served, first = site
    answer = served.call("rollout_status")
    assert answer.status == 200, answer.body
    result = answer.body["result"]
    assert result["command"] == "rollout-status" and result["status"] == "planned"
    assert [item["host"] for item in result["in_flight"]] == ["kvm-b"]
    tasks = result["timeline"]["tasks"]
    assert {t["kind"] for t in tasks} == {"migrate", "convert"}
    running = [t for t in tasks if t["running"]]
    assert len(running) == 1, tasks
    assert running[0]["host"] == "kvm-b" and running[0]["kind"] == "migrate"
    assert running[0]["name"] in first["vms"]
    assert result["eta_seconds"] > 0 and result["timeline"]["makespan_s"] > 0

    page = open_page(served.url)
    page.locator(".umcGrid__toolbar").get_by_role("button", name="Domain rollout").click()
    chart = page.locator("svg.lsiChart")
    expect(chart).to_be_visible()
    expect(page.locator(".lsiRolloutState")).to_contain_text("waves")
    expect(page.locator(".lsiUnderWay")).to_have_text(
        f"Under way on kvm-b: live-migrate {', '.join(first['vms'])} to {first['to']} (pending)"
    )
    expect(page.locator(".lsiRolloutWaves")).to_contain_text("Wave 1 of")
    expect(page.locator(".lsiRolloutHosts")).to_contain_text("vm-b1")
    box = chart.bounding_box()
    assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"], "clipped"
    bars = page.locator("svg.lsiChart rect.lsiBar")
    expect(bars).to_have_count(len(tasks))
    boxes = [bar.bounding_box() for bar in bars.all()]
    assert all(box and box["width"] >= 1 and box["height"] > 0 for box in boxes)
    # Bars lie on their host's row and start in the order of the schedule's start times.
    hosts = [bar.get_attribute("data-host") for bar in bars.all()]
    assert hosts == [t["host"] for t in tasks]
    # Laid out from the SVG's own coordinates (the highlight's outline widens its box).
    ys = [float(bar.get_attribute("y") or "nan") for bar in bars.all()]
    xs = [float(bar.get_attribute("x") or "nan") for bar in bars.all()]
    row_of = dict(zip(hosts, ys, strict=False))
    assert all(row_of[h] == y for h, y in zip(hosts, ys, strict=True)), "one row per host"
    assert len(set(row_of.values())) == len(row_of), "each host its own row"
    by_start = sorted(range(len(tasks)), key=lambda i: tasks[i]["start"])
    assert [xs[i] for i in by_start] == sorted(xs) and max(xs) > min(xs)
    converts = [i for i, t in enumerate(tasks) if t["kind"] == "convert" and t["host"] == "kvm-b"]
    moves = [i for i, t in enumerate(tasks) if t["kind"] == "migrate" and t["host"] == "kvm-b"]
    assert converts and moves
    widths = [float(bar.get_attribute("width") or "nan") for bar in bars.all()]
    assert xs[converts[0]] >= max(xs[i] + widths[i] for i in moves) - 0.2, "kvm-b empty first"
    highlighted = page.locator("svg.lsiChart rect.lsiRunning")
    expect(highlighted).to_have_count(1)
    assert highlighted.get_attribute("data-host") == "kvm-b"
    assert highlighted.get_attribute("stroke") == "#e53e3e"
    shot(page, "rollout-page")
    assert page.problems == []
    png = chart.screenshot()
    counted = page.evaluate(COUNT_PIXELS, base64.b64encode(png).decode())
    assert counted["ink"] > counted["total"] * 0.01, counted  # not blank
    assert counted["running"] > 20, counted  # the highlight is drawn


def test_the_page_in_german(site, open_page):
    served, _first = site
    page = open_page(served.url + "?lang=de")
    page.locator(".umcGrid__toolbar").get_by_role("button", name="Umstellung der Domäne").click()
    expect(page.locator("svg.lsiChart rect.lsiRunning")).to_have_count(1)
    expect(page.locator(".lsiRolloutState")).to_contain_text("Wellen")
    expect(page.locator(".lsiRolloutWaves")).to_contain_text("Welle 1 von")
    expect(page.locator(".lsiUnderWay")).to_contain_text("Läuft auf kvm-b")
    assert page.problems == []


EVACUATE = "evacuate to=kvm-a uid=64055 gid=64055 mode=acl vm=vm-b1 id=r1.1"


@pytest.mark.parametrize(
    ("under_way", "kind", "marked"),
    [
        ({"pending": None, "echo": {"kind": "convert", "state": "running"}}, "convert", 3),
        ({"pending": EVACUATE, "echo": None}, "evacuate", 1),
        ({"pending": "evacuate to=kvm-a", "echo": None}, None, None),  # incomplete: not run
        ({"pending": "refresh id=r1.refresh.2", "echo": None}, "refresh", None),
        ({"pending": "frobnicate", "echo": None}, None, None),
        ({"pending": None, "echo": {"kind": "unknown", "state": "running"}}, None, None),
    ],
    ids=[
        "echoed-running-convert",
        "pending-evacuate",
        "incomplete",
        "refresh",
        "unreadable",
        "unknown-echo",
    ],
)
def test_the_running_task_is_the_hosts_first_of_its_kind(under_way, kind, marked):
    import importlib

    page = importlib.import_module("univention.management.console.modules.libvirt-static-ids")
    tasks = [
        {"host": "kvm-c", "kind": "migrate"},
        {"host": "kvm-b", "kind": "migrate"},
        {"host": "kvm-b", "kind": "migrate"},
        {"host": "kvm-b", "kind": "convert"},
    ]
    item = {"host": "kvm-b", **under_way}
    page.rollout_page._mark_running(tasks, [item])
    assert [i for i, t in enumerate(tasks) if t["running"]] == ([] if marked is None else [marked])
    assert item["kind"] == kind
    if kind == "evacuate":
        assert (item["vms"], item["to"]) == (("vm-b1",), "kvm-a")


def test_a_domain_that_cannot_roll_out_shows_its_refusals_and_no_timeline(open_page):
    with umc_site("kvm-dyn1", serve=True) as demo:  # legacy-app holds the target GID
        answer = demo.call("rollout_status")
        assert answer.status == 200, answer.body
        result = answer.body["result"]
        assert result["status"] == "planned" and result["actions"] == []
        assert any("legacy-app" in reason for reason in result["refusals"]), result["refusals"]
        assert result["timeline"]["tasks"] == [] and result["timeline"]["hosts"] == []
        page = open_page(demo.url)
        page.locator(".umcGrid__toolbar").get_by_role("button", name="Domain rollout").click()
        expect(page.locator(".lsiNoTimeline")).to_have_text("Nothing to schedule.")
        expect(page.locator(".lsiRefusals")).to_contain_text("legacy-app")
        expect(page.locator("svg.lsiChart")).to_have_count(0)
        assert page.problems == []
