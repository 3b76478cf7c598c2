# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The module in Chromium as UCS runs it: layout and selection as the real widgets have them,
"Convert" only where it applies, and a conversion that outlives the module.

Proves, in this order (one server, one domain, kvm-dyn1 the host the module runs on): the
stand-in Page lays out as UMC's (header and help in a nav column a third wide beside main,
unless fullWidth; then nav above main, ``umcPage--fullWidth``), and the module's pages are
fullWidth; a grid is at most 30em high (css/site/layout.styl); a filter clears the
selection as dgrid's refresh does in UMC (nothing is selected again), and "Request
conversion" acts on exactly the rows checked on screen; "Convert kvm-dyn1" is offered for
this dynamic host only: another dynamic host offers "Request conversion" and a link to its
own UMC, a static host neither; a conversion started in the browser runs on as a transient
unit while the module process ends and the page is reloaded: the new page shows its
progress again and then its outcome. On a static host the module offers no conversion.
The target numbers are checked, then changed, from the page.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .pages import dialog, refresh_until, row
from .umcsite import Site, umc_site


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with umc_site("kvm-dyn1", extra_files=2500, serve=True) as served:
        yield served


@pytest.fixture
def page(site: Site, open_page: Any) -> Any:
    return open_page(site.url)


PAGE_LAYOUT = """() => new Promise(resolve => require(
    ["umc/widgets/Page", "umc/widgets/Text"], function(Page, Text) {
    var made = {};
    [false, true].forEach(function(fullWidth) {
        var page = new Page({fullWidth: fullWidth, headerText: 'Header', helpText: 'Help'});
        page.addChild(new Text({content: 'main'}));
        page.placeAt(document.body);
        page.startup();
        var width = function(node) { return node.getBoundingClientRect().width; };
        made[fullWidth ? 'full' : 'split'] = {
            page: width(page.domNode), nav: width(page._nav.domNode),
            main: width(page._main.domNode),
            navTop: page._nav.domNode.getBoundingClientRect().top,
            mainTop: page._main.domNode.getBoundingClientRect().top,
            headerInNav: page._nav.domNode.contains(page._headerTextPane.domNode),
            helpInNav: page._nav.domNode.contains(page._helpTextPane.domNode),
            fullWidthClass: page.domNode.classList.contains('umcPage--fullWidth')
        };
        page.destroyRecursive();
    });
    resolve(made);
}))"""


def test_the_stand_in_page_lays_out_as_umc(page):
    made = page.evaluate(PAGE_LAYOUT)
    split, full = made["split"], made["full"]
    assert split["headerInNav"] and split["helpInNav"]
    assert split["nav"] == pytest.approx(split["page"] / 3, abs=2)
    assert split["main"] == pytest.approx(2 * split["page"] / 3, abs=2)
    assert split["navTop"] == split["mainTop"]  # side by side
    assert not split["fullWidthClass"]
    assert full["nav"] == pytest.approx(full["page"], abs=2)
    assert full["mainTop"] > full["navTop"]  # nav above main
    assert full["fullWidthClass"]
    # The module's own pages are fullWidth: the summary and search span the page.
    expect(page.locator(".umcPage").first).to_have_class(re.compile(r"\bumcPage--fullWidth\b"))
    assert page.problems == []


def test_a_grid_is_at_most_30em_high(page):
    grid = page.locator(".umcGrid .dgrid")
    font_size = float(grid.evaluate("node => getComputedStyle(node).fontSize")[:-2])
    assert grid.evaluate("node => getComputedStyle(node).maxHeight") == f"{30 * font_size:g}px"
    assert page.problems == []


def _checked(page: Any) -> list[str]:
    found = []
    for item in page.locator(".umcGrid .dgrid-row").all():
        if item.locator(".dgrid-selector input").is_checked():
            found.append(item.locator(".field-name").inner_text().split()[0])
    return found


def test_a_filter_clears_the_selection_and_requests_act_on_what_is_checked(page, shot):
    search = page.locator(".lsiSearch input[name=pattern]")
    context = page.locator(".umcGrid__contextActionsToolbar")
    expect(context).to_be_hidden()
    row(page, "kvm-dyn1").locator(".dgrid-selector input").check()
    row(page, "kvm-dyn2").locator(".dgrid-selector input").check()
    expect(context).to_be_visible()
    search.fill("dyn2")
    expect(page.locator(".umcGrid .dgrid-row")).to_have_count(1)
    # As in UMC: the refresh after a filter leaves nothing selected, visible or not.
    assert _checked(page) == []
    expect(context).to_be_hidden()
    expect(page.locator(".umcGridStatus")).to_have_text("0 entries of 1 selected")
    row(page, "kvm-dyn2").locator(".dgrid-selector input").check()
    search.fill("")
    expect(page.locator(".umcGrid .dgrid-row")).to_have_count(4)
    assert _checked(page) == []
    row(page, "kvm-dyn2").locator(".dgrid-selector input").check()
    assert _checked(page) == ["kvm-dyn2"]
    context.get_by_role("button", name="Request conversion").click()
    box = dialog(page, "Request conversion")
    assert box.locator(".lsiRequestHosts li").all_inner_texts() == ["kvm-dyn2"]
    shot(page, "request-what-is-checked")
    box.get_by_role("button", name="Cancel").click()
    expect(box).to_be_hidden()
    assert page.problems == []


def test_convert_is_offered_only_for_this_dynamic_host(page, site):
    expect(
        page.locator(".lsiConvertHere").get_by_role("button", name="Convert kvm-dyn1")
    ).to_be_visible()
    row(page, "kvm-dyn2").locator(".umcGridDefaultAction").click()
    expect(page.locator(".lsiDetails")).to_be_visible()
    expect(page.get_by_role("button", name="Convert kvm-dyn2")).to_have_count(0)
    expect(page.get_by_role("button", name="Request conversion")).to_be_visible()
    link = page.locator(".lsiOtherUmcLink")
    expect(link).to_have_text("Open this module in the UMC of kvm-dyn2")
    expect(link).to_have_attribute(
        "href", "https://kvm-dyn2.kvm.test/univention/management/#module=libvirt-static-ids::0:"
    )
    page.get_by_role("button", name="Back to overview").click()
    row(page, "kvm-static").locator(".umcGridDefaultAction").click()
    expect(page.locator(".lsiDetails")).to_contain_text("cn=kvm-static")
    expect(page.get_by_role("button", name="Request conversion")).to_be_hidden()
    expect(page.locator(".lsiOtherUmc")).to_be_hidden()
    page.get_by_role("button", name="Back to overview").click()
    row(page, "kvm-dyn1").locator(".umcGridDefaultAction").click()
    expect(page.get_by_role("button", name="Convert kvm-dyn1")).to_be_visible()
    expect(page.locator(".lsiOtherUmc")).to_be_hidden()
    page.get_by_role("button", name="Back to overview").click()
    assert page.problems == []


def _gated(site: Site, directory: Path) -> Path:
    """The unit's command waits for a file, then execs the real command (same PID)."""
    go = directory / "go"
    gate = directory / "gated-libvirt-static-ids"
    gate.write_text(
        f"#!/bin/sh\nwhile [ ! -e {shlex.quote(str(go))} ]; do sleep 0.05; done\n"
        f'exec {shlex.quote(site.bridge.instance.executable)} "$@"\n'
    )
    gate.chmod(0o755)
    site.bridge.instance.executable = str(gate)
    return go


def test_a_reloaded_module_finds_the_running_conversion(page, site, tmp_path, shot):
    go = _gated(site, tmp_path)
    page.locator(".lsiConvertHere").get_by_role("button", name="Convert kvm-dyn1").click()
    dialog(page, "Convert kvm-dyn1").get_by_role("button", name="Dry run").click()
    dialog(page, "Dry run on kvm-dyn1").get_by_role("button", name="Convert").click()
    expect(page.locator(".umcProgressBar")).to_contain_text("Converting libvirt-qemu on kvm-dyn1")
    # UMC ends the module process (timeout, logout); the admin opens the module again.
    site.new_instance()
    page.reload()
    bar = page.locator(".umcProgressBar")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("Converting libvirt-qemu on kvm-dyn1")
    shot(page, "reattached")
    go.touch()
    done = dialog(page, "Conversion of kvm-dyn1", timeout=60_000)  # a unit of its own
    expect(done).to_contain_text("libvirt-qemu on kvm-dyn1 now has UID 64055, GID 64055.")
    done.get_by_role("button", name="Ok").click()
    refresh_until(page, "kvm-dyn1", "static")
    expect(page.locator(".lsiConvertHere")).to_be_hidden()
    # Shown once: opened again, the module shows the overview.
    page.reload()
    page.locator(".dgrid-row").first.wait_for()
    expect(page.locator(".umcProgressBar")).to_be_hidden()
    assert page.problems == []


def test_a_static_host_offers_no_conversion(open_page):
    with umc_site("kvm-static", serve=True) as static:
        page = open_page(static.url)
        expect(row(page, "kvm-static")).to_contain_text("(this host)")
        expect(page.locator(".lsiConvertHere")).to_be_hidden()
        row(page, "kvm-static").locator(".umcGridDefaultAction").click()
        expect(page.get_by_role("button", name="Convert kvm-static")).to_be_hidden()
        assert page.problems == []


def test_the_target_numbers_are_checked_then_changed(open_page, shot):
    with umc_site("kvm-dyn1", serve=True) as other:
        page = open_page(other.url)
        page.get_by_role("button", name="Target numbers").click()
        form = dialog(page, "Target numbers")
        expect(form.locator("input[name=uid]")).to_have_value("64055")
        form.locator("input[name=uid]").fill("64060")
        form.locator("input[name=gid]").fill("64060")
        form.get_by_role("button", name="Check").click()
        checked = dialog(page, "New target numbers")
        expect(checked).to_contain_text("UID 64060, GID 64060 is free and can become the target.")
        expect(checked).to_contain_text("hosts will be asked to record themselves again.")
        shot(page, "target-checked")
        checked.get_by_role("button", name="Change the target").click()
        expect(page.locator(".umcSnackbar")).to_contain_text(
            "The target is now UID 64060, GID 64060."
        )
        expect(page.locator(".lsiTarget")).to_contain_text("Target: UID 64060, GID 64060.")
        assert page.problems == []
