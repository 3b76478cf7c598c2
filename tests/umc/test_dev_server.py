# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The dev server speaks UMC's HTTP protocol and serves only what it should.

Proves: a command needs POST (405), the X-Xsrf-Protection header equal to the UMCSessionId
cookie (403 otherwise, also with a wrong value) and JSON (406); the answer is UMC's
{status, message, result}; an unknown command is a 404; the JavaScript comes from npm, the
stand-ins and the module, the German catalogue from the .po; nothing outside those
directories can be fetched; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from .umcsite import Site, umc_site


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with umc_site("kvm-dyn1", serve=True) as served:
        yield served


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    """GET (or POST ``data``) without any normalisation of the path: ".." arrives as sent."""
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def session(site: Site) -> str:
    status, _body, headers = fetch(site.url)
    assert status == 200
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("UMCSessionId=")
    return cookie.split(";", 1)[0].split("=", 1)[1]


def command(site: Site, verb: str, options: Any, **headers: str) -> tuple[int, dict]:
    status, body, _ = fetch(
        f"{site.url}univention/command/libvirt-static-ids/{verb}",
        json.dumps({"options": options}).encode(),
        headers,
    )
    return status, json.loads(body)


def test_commands_need_the_xsrf_header(site):
    sid = session(site)
    status, body = command(site, "survey", {}, **{"Content-Type": "application/json"})
    assert status == 403
    assert "Cross Site Request Forgery" in body["message"]
    status, _ = command(
        site,
        "survey",
        {},
        **{
            "Content-Type": "application/json",
            "Cookie": f"UMCSessionId={sid}",
            "X-Xsrf-Protection": "forged",
        },
    )
    assert status == 403
    good = {
        "Content-Type": "application/json",
        "Cookie": f"UMCSessionId={sid}",
        "X-Xsrf-Protection": sid,
    }
    status, body = command(site, "survey", {}, **good)
    assert status == 200
    assert set(body) == {"status", "message", "result"}
    assert body["result"]["command"] == "domain-survey"
    status, body = command(site, "reboot", {}, **good)
    assert status == 404
    status, _ = command(site, "survey", {}, **{**good, "Content-Type": "text/plain"})
    assert status == 406


def test_commands_need_post(site):
    status, _body, headers = fetch(f"{site.url}univention/command/libvirt-static-ids/survey")
    assert status == 405
    assert headers["Allow"] == "POST"


@pytest.mark.parametrize(
    "path",
    [
        "js/dojo/dojo.js",
        "js/dgrid/OnDemandGrid.js",
        "js/dstore/Memory.js",
        "js/umc/widgets/Grid.js",
        "js/umc/modules/libvirt-static-ids.js",
        "js/umc/modules/libvirt-static-ids.css",
        "js/dijit/themes/umc/icons/scalable/libvirt-static-ids.svg",
        "dev/app.js",
    ],
)
def test_serves_the_javascript(site, path):
    assert fetch(site.url + path)[0] == 200


def test_serves_the_german_catalogue(site):
    status, body, _ = fetch(f"{site.url}js/umc/modules/i18n/de/libvirt-static-ids.json")
    assert status == 200
    assert json.loads(body)["Refresh"] == "Aktualisieren"


@pytest.mark.parametrize(
    "path",
    [
        "js/umc/../umcdev/server.py",
        "js/dojo/../../umcdev/server.py",
        "js/umc/modules/../python/libvirt-static-ids/__init__.py",
        "dev/../umcdev/demo.py",
        "dev/../../../../etc/passwd",
        "etc/passwd",
    ],
)
def test_serves_nothing_else(site, path):
    assert fetch(site.url + path)[0] == 404


def test_listens_on_loopback_only(site):
    assert site.server is not None
    assert site.server.server_address[0] == "127.0.0.1"
