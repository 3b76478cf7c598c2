# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The module in Debian's Chromium: the dev server, the stand-ins for UMC's JavaScript API,
the real backend, the demo domain with kvm-dyn1 as the host the module runs on.

Proves, in this order (the tests share one server and one domain): the overview loads
without console errors, with the counts and the directory's holders of the target numbers
as a warning; the grid lists every host with UID, GID, state, last check and blockers, can
be searched and sorted; Refresh shows what hosts recorded since; a host's detail view,
and for this host a live check (the ``host`` command);
"Request conversion" on a selected host writes the request, which that host's (simulated)
listener carries out, and the host ends static; a path that does not exist is a readable
validation error naming the option, and nothing changes; "Convert this host" shows the dry
run first, then converts with a visible progress bar polled from libvirt-static-ids/progress,
and the host ends static in the grid; German works. Each state's screenshot is kept in
artifacts/umc/ (UMC_UPDATE_DOCS=1 also refreshes docs/umc-overview.png).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from umcdev.demo import record

from libvirt_static_ids_testbed import add_simulated_host
from libvirt_static_ids_testbed.simulated import SimulatedHost

from .conftest import ARTIFACTS
from .hoststate import host_state
from .pages import count, dialog, refresh_until, row, states
from .umcsite import REPO, Site, umc_site


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with umc_site("kvm-dyn1", extra_files=2500, serve=True) as served:
        yield served


@pytest.fixture
def page(site: Site, open_page: Any) -> Any:
    return open_page(site.url)


def test_overview_loads_without_console_errors(page, shot):
    expect(page.locator(".lsiTiles")).to_be_visible()
    assert [count(page, t) for t in ("static", "dynamic", "conflict", "stale")] == [
        "1",
        "2",
        "1",
        "0",
    ]
    holders = page.locator(".lsiHolders")
    expect(holders).to_be_visible()
    expect(holders).to_contain_text("legacy-app")
    expect(holders).to_contain_text("gidNumber 64055")
    expect(page.locator(".lsiTarget")).to_contain_text("Target: UID 64055, GID 64055")
    shot(page, "overview")
    if os.environ.get("UMC_UPDATE_DOCS"):  # the README's picture: the module, no harness
        page.locator("#module").screenshot(path=str(REPO / "docs" / "umc-overview.png"))
    assert page.problems == []


def test_grid_shows_every_host_and_its_state(page):
    assert states(page) == {
        "kvm-blocked": "conflict",
        "kvm-dyn1": "dynamic",
        "kvm-dyn2": "dynamic",
        "kvm-static": "static",
    }
    mine = row(page, "kvm-dyn1")
    expect(mine).to_contain_text("(this host)")
    expect(mine.locator(".field-uid")).to_have_text("109")
    expect(mine.locator(".field-gid")).to_have_text("114")
    expect(mine.locator(".field-checked")).not_to_be_empty()
    blocked = row(page, "kvm-blocked")
    expect(blocked.locator(".lsiBlockerCode")).to_have_text("target-uid-taken")
    assert "backup" in blocked.locator(".lsiBlockerCode").get_attribute("title")
    assert page.problems == []


def test_search_and_sort(page, shot):
    page.locator(".lsiSearch input[name=pattern]").fill("dyn")
    expect(page.locator(".umcGrid .dgrid-row")).to_have_count(2)
    shot(page, "search")
    page.locator(".lsiSearch input[name=pattern]").fill("")
    expect(page.locator(".umcGrid .dgrid-row")).to_have_count(4)
    page.locator(".dgrid-header .field-uid").click()
    assert list(states(page)) == ["kvm-dyn1", "kvm-dyn2", "kvm-blocked", "kvm-static"]
    page.locator(".dgrid-header .field-uid").click()
    assert list(states(page)) == ["kvm-static", "kvm-blocked", "kvm-dyn2", "kvm-dyn1"]
    assert page.problems == []


def test_refresh_shows_what_hosts_recorded_since(page, site, shot):
    late = add_simulated_host(
        site.demo.testbed,
        "kvm-late",
        os.path.join(site.demo.workdir, "hosts"),
        SimulatedHost(uid=112, gid=117),
    )
    record(site.demo.testbed, late)
    expect(row(page, "kvm-late")).to_have_count(0)
    page.locator(".umcGrid__toolbar").get_by_role("button", name="Refresh").click()
    expect(row(page, "kvm-late")).to_have_count(1)
    expect(row(page, "kvm-late").locator(".lsiState")).to_have_text("dynamic")
    assert count(page, "dynamic") == "3"
    shot(page, "refreshed")
    assert page.problems == []


def test_details_view_and_live_check_of_this_host(page, shot):
    row(page, "kvm-blocked").locator(".umcGridDefaultAction").click()
    details = page.locator(".lsiDetails")
    expect(details).to_be_visible()
    expect(details).to_contain_text("cn=kvm-blocked,cn=memberserver,cn=computers")
    expect(details).to_contain_text("target-uid-taken")
    expect(details).to_contain_text("local account 'backup'")
    expect(page.locator(".umcModuleTitle")).to_contain_text("kvm-blocked")
    shot(page, "details")
    page.get_by_role("button", name="Back to overview").click()
    expect(page.locator(".umcGrid")).to_be_visible()
    row(page, "kvm-dyn1").locator(".umcGridDefaultAction").click()
    page.get_by_role("button", name="Check this host now").click()
    expect(page.locator(".lsiLive")).to_contain_text("libvirt-qemu is UID 109, GID 114: dynamic.")
    shot(page, "details-live")
    page.get_by_role("button", name="Back to overview").click()
    assert page.problems == []


def test_request_conversion_on_a_selected_host(page, site, shot):
    row(page, "kvm-dyn2").locator(".dgrid-selector input").check()
    page.locator(".umcGrid__contextActionsToolbar").get_by_role(
        "button", name="Request conversion"
    ).click()
    box = dialog(page, "Request conversion")
    expect(box).to_contain_text("kvm-dyn2")
    box.get_by_role("button", name="Request conversion").click()
    expect(page.locator(".umcSnackbar")).to_contain_text("Request sent to 1 host.")
    shot(page, "requested")
    refresh_until(page, "kvm-dyn2", "static")
    expect(row(page, "kvm-dyn2").locator(".field-uid")).to_have_text("64055")
    assert page.problems == []


@pytest.mark.parametrize(
    ("paths", "said"),
    [
        ("/no/such/images", "paths: --path '/no/such/images' does not exist"),
        (
            "images",
            "paths: 'images' is not an absolute path: give the whole path, starting with /.",
        ),
    ],
    ids=["missing", "relative"],
)
def test_a_bad_option_shows_a_readable_error(page, site, snapshot, shot, paths, said):  # noqa: PLR0917
    before = host_state(snapshot, site.demo.local.root)
    page.locator(".lsiConvertHere").get_by_role("button", name="Convert kvm-dyn1").click()
    form = dialog(page, "Convert kvm-dyn1")
    form.locator("input[name=paths]").fill(paths)
    form.get_by_role("button", name="Dry run").click()
    error = dialog(page, "Validation error")
    expect(error).to_contain_text(said)
    expect(error).not_to_contain_text("Value is invalid")
    shot(page, f"bad-option-{paths.strip('/').replace('/', '-')}")
    error.get_by_role("button", name="Ok").click()
    expect(error).to_be_hidden()
    assert host_state(snapshot, site.demo.local.root) == before
    assert states(page)["kvm-dyn1"] == "dynamic"
    # The browser logs the 422 answer itself; nothing else went wrong.
    assert page.problems == [
        "console error: Failed to load resource: the server responded with a status of 422 "
        "(Unprocessable Entity)"
    ]


def test_convert_this_host_shows_the_dry_run_then_progress_and_ends_static(page, shot):
    polls: list[dict[str, Any]] = []
    seen: dict[str, Any] = {}

    def watch(route: Any) -> None:
        """Hold the last poll until the progress bar on screen has been looked at."""
        response = route.fetch()
        body = response.json()
        polls.append(body)
        if body["result"]["finished"] and "bar" not in seen:
            bar = page.locator(".umcProgressBar")
            seen["bar"] = bar.is_visible()
            seen["text"] = bar.inner_text()
            shot(page, "progress")
        route.fulfill(response=response)

    page.route("**/univention/command/libvirt-static-ids/progress", watch)
    page.locator(".lsiConvertHere").get_by_role("button", name="Convert kvm-dyn1").click()
    dialog(page, "Convert kvm-dyn1").get_by_role("button", name="Dry run").click()
    dry = dialog(page, "Dry run on kvm-dyn1")
    expect(dry).to_contain_text(
        "libvirt-qemu is UID 109, GID 114 and would become UID 64055, GID 64055."
    )
    expect(dry.locator(".lsiChangeCount")).to_contain_text("files and directories would change")
    expect(dry.locator(".lsiSteps li").first).to_contain_text("usermod")
    expect(dry.locator(".lsiWarning")).to_have_count(0)
    shot(page, "dry-run")
    dry.get_by_role("button", name="Convert").click()
    done = dialog(page, "Conversion of kvm-dyn1", timeout=60_000)  # a unit of its own
    expect(done).to_contain_text("libvirt-qemu on kvm-dyn1 now has UID 64055, GID 64055.")
    shot(page, "converted")
    assert seen["bar"] is True
    assert "Converting libvirt-qemu" in seen["text"]
    results = [poll["result"] for poll in polls]
    numbers = [r["percentage"] for r in results if r["percentage"] != "Infinity"]
    assert numbers == sorted(numbers) and numbers[-1] == 100
    assert results[-1]["result"]["status"] == "converted"
    done.get_by_role("button", name="Ok").click()
    refresh_until(page, "kvm-dyn1", "static")
    assert count(page, "static") == "3"
    shot(page, "overview-after")
    assert page.problems == []


def test_german(site, open_page, shot):
    page = open_page(site.url + "?lang=de")
    expect(page.locator(".lsiConvertHere")).to_contain_text("kvm-dyn1 umstellen")
    expect(page.locator('[data-count="static"] .lsiLabel')).to_have_text("statisch")
    expect(page.locator(".umcModuleTitle")).to_have_text("libvirt-IDs der KVM-Hosts")
    shot(page, "german")
    assert page.problems == []


def teardown_module() -> None:
    """Screenshots are artifacts: say where they are."""
    if ARTIFACTS.is_dir() and shutil.which("true"):
        print(f"\nscreenshots in {ARTIFACTS}")
