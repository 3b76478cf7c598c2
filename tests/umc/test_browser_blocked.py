# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The module in Chromium on a host with a blocker: kvm-blocked, whose local account
"backup" holds the target UID 64055.

Proves: the grid shows the host's blocker; "Convert kvm-blocked" shows the blockers in the
dry run, each code with its sentence, and offers only Close (nothing to confirm); a
conversion requested anyway (through LDAP, carried out by the host's simulated listener) is
refused: the grid says "refused", not "failed", the details say why and list the blockers,
and the host's files and accounts are exactly as before; in German the blockers' sentences
are German. Screenshots in artifacts/umc/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ldap
import pytest
from playwright.sync_api import expect

from .hoststate import host_state
from .pages import dialog, refresh_until, row
from .umcsite import Site, umc_site


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with umc_site("kvm-blocked", serve=True) as served:
        yield served


def test_blocked_host_shows_its_blockers_and_its_conversion_changes_nothing(
    site, open_page, snapshot, shot
):
    testbed = site.demo.testbed
    dn = site.demo.local.dn
    before = host_state(snapshot, site.demo.local.root)
    page: Any = open_page(site.url)
    mine = row(page, "kvm-blocked")
    expect(mine).to_contain_text("(this host)")
    expect(mine.locator(".lsiBlockerCode")).to_have_text("target-uid-taken")

    page.locator(".lsiConvertHere").get_by_role("button", name="Convert kvm-blocked").click()
    dialog(page, "Convert kvm-blocked").get_by_role("button", name="Dry run").click()
    dry = dialog(page, "Dry run on kvm-blocked")
    warning = dry.locator(".lsiWarning")
    expect(warning).to_contain_text("the conversion cannot start until it is removed")
    expect(warning).to_contain_text("The target UID belongs to another account.")
    expect(warning).to_contain_text("target UID 64055 belongs to local account 'backup'")
    # Nothing to confirm: the only button closes.
    expect(dry.get_by_role("button")).to_have_count(1)
    expect(dry.get_by_role("button", name="Close")).to_be_visible()
    shot(page, "blocked-dry-run")
    dry.get_by_role("button", name="Close").click()
    expect(dry).to_be_hidden()
    assert host_state(snapshot, site.demo.local.root) == before

    # Requested anyway, the host's listener tries, and is refused.
    row(page, "kvm-blocked").locator(".dgrid-selector input").check()
    toolbar = page.locator(".umcGrid__contextActionsToolbar")
    toolbar.get_by_role("button", name="Request conversion").click()
    dialog(page, "Request conversion").get_by_role("button", name="Request conversion").click()
    refresh_until(page, "kvm-blocked", "refused")
    row(page, "kvm-blocked").locator(".umcGridDefaultAction").click()
    failure = page.locator(".lsiFailure")
    expect(failure).to_contain_text("The last conversion was refused; nothing was changed")
    expect(page.locator(".lsiDetails .lsiBlockers")).to_contain_text("local account 'backup'")
    shot(page, "refused")
    assert host_state(snapshot, site.demo.local.root) == before
    stored = testbed.admin.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*"])[0][1]
    assert stored["libvirtStaticIdsState"] == [b"failed"]  # as the agent records it
    assert page.problems == []


def test_german_blockers(site, open_page, shot):
    page: Any = open_page(site.url + "?lang=de")
    page.locator(".lsiConvertHere").get_by_role("button", name="kvm-blocked umstellen").click()
    dialog(page, "kvm-blocked umstellen").get_by_role("button", name="Probelauf").click()
    dry = dialog(page, "Probelauf auf kvm-blocked")
    expect(dry.locator(".lsiWarning")).to_contain_text("Die Ziel-UID gehört einem anderen Konto.")
    expect(dry.locator(".lsiWarning")).to_contain_text("Dieses Hindernis steht im Weg")
    expect(dry.get_by_role("button", name="Schließen")).to_be_visible()
    shot(page, "blocked-dry-run-german")
    assert page.problems == []
