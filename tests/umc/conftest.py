# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Fixtures of the UMC module's browser tests (the site under test is in umcsite.py).

- ``chromium``   one Debian Chromium for the session (Playwright, a fresh user-data-dir);
                 checks at the end that none of its processes is left.
- ``open_page(site_url)`` a new page that has loaded the module's overview; it collects
  console messages and page errors in ``page.problems``.
- ``shot(page, name)`` saves ``artifacts/umc/<name>.png``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .umcsite import REPO

ARTIFACTS = REPO / "artifacts" / "umc"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _processes_using(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if marker.encode() in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install --no-install-recommends chromium")
    from playwright import sync_api

    profile = tempfile.mkdtemp(prefix="libvirt-static-ids-chromium-")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
            locale="en-US",
        )
        try:
            yield context
        finally:
            context.close()
    deadline = time.monotonic() + 10
    while _processes_using(profile) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_using(profile), "Chromium processes were left running"
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    pages = []

    def open_(url: str) -> Any:
        page = chromium.new_page()
        page.problems = []
        page.on(
            "console",
            lambda message: (
                page.problems.append(f"console {message.type}: {message.text}")
                if message.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
        page.goto(url)
        page.locator(".dgrid-row").first.wait_for()
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
