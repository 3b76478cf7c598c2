# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The module in Chromium on a host with a blocker: kvm-blocked, whose local account
"backup" holds the target UID 64055.

Proves: the grid shows the host's blocker; "Convert this host" shows the blockers in the
dry run; converting anyway is refused with the blockers listed, as an ordinary answer (no
error dialog, no console error), and the host's files, accounts and directory record are
exactly as before. Screenshots in artifacts/umc/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ldap
import pytest
from playwright.sync_api import expect

from .hoststate import host_state
from .pages import dialog, row, states
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
    stored = testbed.admin.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*"])
    page: Any = open_page(site.url)
    mine = row(page, "kvm-blocked")
    expect(mine).to_contain_text("(this host)")
    expect(mine.locator(".lsiBlockerCode")).to_have_text("target-uid-taken")

    page.locator(".umcGrid__toolbar").get_by_role("button", name="Convert this host").click()
    dialog(page, "Convert kvm-blocked").get_by_role("button", name="Dry run").click()
    dry = dialog(page, "Dry run on kvm-blocked")
    warning = dry.locator(".lsiWarning")
    expect(warning).to_contain_text("the conversion will be refused and change nothing")
    expect(warning).to_contain_text("target UID 64055 belongs to local account 'backup'")
    shot(page, "blocked-dry-run")

    dry.get_by_role("button", name="Convert").click()
    refused = dialog(page, "Conversion of kvm-blocked refused")
    expect(refused).to_contain_text("The conversion was refused; nothing was changed.")
    expect(refused.locator(".lsiBlockers")).to_contain_text("target-uid-taken")
    expect(refused.locator(".lsiBlockers")).to_contain_text("local account 'backup'")
    shot(page, "refused")
    refused.get_by_role("button", name="Ok").click()
    expect(refused).to_be_hidden()

    assert states(page)["kvm-blocked"] == "conflict"
    assert host_state(snapshot, site.demo.local.root) == before
    assert testbed.admin.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*"]) == stored
    assert page.problems == []
