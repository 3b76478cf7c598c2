# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""A small stand-in UMC web server on 127.0.0.1: the page, the JavaScript, and the commands.

URLs follow an installed UCS: the frontend's JavaScript under ``/js/`` (``umc/`` are the
harness's stand-ins, ``umc/modules/`` the module's own files, Dojo and friends from npm),
and ``POST /univention/command/<module>/<verb>`` with UMC's checks: POST only (405), the
``X-Xsrf-Protection`` header equal to the ``UMCSessionId`` cookie (403), JSON (406).
"""

from __future__ import annotations

import contextlib
import http.cookies
import json
import mimetypes
import secrets
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import po
from .bridge import MODULE_ID, REPO, UMC, ModuleBridge

DEV = REPO / "umc-module" / "dev"
NODE_MODULES = DEV / "node_modules"
LOOPBACK = "127.0.0.1"
# AMD package -> directory; dstore is published on npm as dojo-dstore.
PACKAGES = {
    "dojo": NODE_MODULES / "dojo",
    "dijit": NODE_MODULES / "dijit",
    "dojox": NODE_MODULES / "dojox",
    "dgrid": NODE_MODULES / "dgrid",
    "dstore": NODE_MODULES / "dojo-dstore",
    "xstyle": NODE_MODULES / "xstyle",
    "put-selector": NODE_MODULES / "put-selector",
}
ICONS = "/js/dijit/themes/umc/icons/"
XSRF_MESSAGE = (
    'Cross Site Request Forgery attack detected. Please provide the "UMCSessionId" cookie '
    'value as HTTP request header "X-Xsrf-Protection".'
)


def _inside(base: Path, relative: str) -> Path | None:
    """``base/relative`` if it is a file below ``base`` (no way out with ``..``)."""
    path = (base / relative).resolve()
    if path.is_file() and path.is_relative_to(base.resolve()):
        return path
    return None


def static_file(url_path: str) -> Path | None:
    """The file a GET of ``url_path`` serves, or None."""
    if url_path in ("/", "/index.html"):
        return DEV / "index.html"
    if url_path.startswith("/dev/"):
        return _inside(DEV / "static", url_path.removeprefix("/dev/"))
    if url_path.startswith(ICONS):
        return _inside(UMC / "icons", url_path.removeprefix(ICONS))
    if not url_path.startswith("/js/"):
        return None
    rest = url_path.removeprefix("/js/")
    if rest.startswith("umc/modules/"):
        return _inside(UMC / "js", rest.removeprefix("umc/modules/"))
    if rest.startswith("umc/"):
        return _inside(DEV / "umc", rest.removeprefix("umc/"))
    package, _, inner = rest.partition("/")
    if package in PACKAGES:
        return _inside(PACKAGES[package], inner)
    return None


def module_info(language: str, username: str) -> dict[str, Any]:
    """What UMC's app knows of the module: its id and (translated) name, from the XML."""
    module = ET.parse(UMC / f"{MODULE_ID}.xml").getroot().find("module")  # noqa: S314 - ours
    name = module.findtext("name", MODULE_ID) if module is not None else MODULE_ID
    source = UMC / f"{language}.po"
    if source.is_file():
        name = po.umc_json(po.read(source)).get(name, name)
    return {"id": MODULE_ID, "name": name, "username": username}


def translation(url_path: str) -> dict[str, Any] | None:
    """The JSON catalogue of a ``.../i18n/<lang>/<scope>.json`` request, or None.

    The module's catalogue comes from its ``umc/js/<lang>.po``; the scopes of UMC itself
    (umc/app, umc/branding, which every module also loads) are empty here.
    """
    parts = url_path.split("/")
    if len(parts) < 4 or parts[-3] != "i18n" or not parts[-1].endswith(".json"):
        return None
    language, scope = parts[-2], parts[-1].removesuffix(".json")
    source = UMC / "js" / f"{language}.po"
    if scope == MODULE_ID and url_path.startswith("/js/umc/modules/") and source.is_file():
        return po.umc_json(po.read(source))
    return {}


class Handler(BaseHTTPRequestHandler):
    server: UmcDevServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any, **headers: str) -> None:
        body = json.dumps(data).encode()
        self._send(status, body, "application/json", **headers)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/dev/module.json":
            language = urllib.parse.parse_qs(query).get("lang", ["en"])[0]
            self._json(200, module_info(language, self.server.bridge.username))
            return
        if path.startswith("/univention/command/"):
            self._json(405, {"status": 405, "message": "Method not allowed"}, Allow="POST")
            return
        catalogue = translation(path)
        if catalogue is not None:
            self._json(200, catalogue)
            return
        file = static_file(path)
        if file is None:
            self._send(404, b"not found", "text/plain")
            return
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        headers = {}
        if file.name == "index.html":
            cookie = f"UMCSessionId={self.server.session_id}; Path=/; SameSite=Strict"
            headers["Set_Cookie"] = cookie
        self._send(200, file.read_bytes(), content_type, **headers)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        prefix = "/univention/command/"
        if not path.startswith(prefix):
            self._json(404, {"status": 404, "message": "Not found"})
            return
        cookies = http.cookies.SimpleCookie(self.headers.get("Cookie", ""))
        session = cookies["UMCSessionId"].value if "UMCSessionId" in cookies else None
        if session is None or self.headers.get("X-Xsrf-Protection") != session:
            self._json(403, {"status": 403, "message": XSRF_MESSAGE})
            return
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            message = "The requested Content-Type is not acceptable."
            self._json(406, {"status": 406, "message": message})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"status": 400, "message": "The request body is not JSON."})
            return
        if session != self.server.session_id:
            self._json(401, {"status": 401, "message": "The session has expired."})
            return
        answer = self.server.bridge.call(
            path.removeprefix(prefix),
            body.get("options", {}),
            body.get("flavor"),
            dict(self.headers.items()),
            {name: morsel.value for name, morsel in cookies.items()},
        )
        self._json(answer.status, answer.body)


class UmcDevServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, bridge: ModuleBridge, *, verbose: bool = False) -> None:
        super().__init__((LOOPBACK, port), Handler)
        self.bridge = bridge
        self.verbose = verbose
        self.session_id = secrets.token_urlsafe(24)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_port}/"

    def start(self) -> UmcDevServer:
        """Serve in a background thread (the tests); ``serve_forever`` blocks (umc-dev)."""
        self._thread = threading.Thread(target=self.serve_forever, name="umc-dev", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()
