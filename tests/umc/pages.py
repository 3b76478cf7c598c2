# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""How the browser tests read the module's page: rows, states, count tiles, dialogs."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect


def row(page: Any, name: str) -> Any:
    return page.locator(".umcGrid .dgrid-row", has_text=name)


def states(page: Any) -> dict[str, str]:
    found = {}
    for item in page.locator(".umcGrid .dgrid-row").all():
        name = item.locator(".field-name").inner_text().split()[0]
        found[name] = item.locator(".lsiState").inner_text()
    return found


def count(page: Any, tile: str) -> str:
    return page.locator(f'[data-count="{tile}"] .lsiCount').inner_text()


def dialog(page: Any, title: str, timeout: float = 5000) -> Any:
    box = page.locator(".umcConfirmDialog", has=page.locator(".dijitDialogTitle", has_text=title))
    expect(box).to_be_visible(timeout=timeout)
    expect(box).to_have_css("opacity", "1")  # faded in: what a person sees
    return box


def refresh_until(page: Any, name: str, state: str) -> None:
    """Refresh until the host's record says ``state`` (its listener works in the background)."""
    for _attempt in range(60):
        page.locator(".umcGrid__toolbar").get_by_role("button", name="Refresh").click()
        expect(page.locator(".umcStandby").first).to_be_hidden()
        if states(page).get(name) == state:
            return
        page.wait_for_timeout(250)
    pytest.fail(f"{name} never became {state}: {states(page)}")
