"""``kwx dashboard``: a small HTTP server on 127.0.0.1 (the standard library's, one thread per connection).

Routes: ``/`` the page; ``/static/*`` its script and style (offchain/dashboard/static); ``/vendor/chart.umd.js``
Chart.js from the project's node_modules (npm, package.json: no CDN); ``/panels/<mechanism>.js`` each
mechanism's panel script (its descriptor's ``Panel.script``); ``/api/snapshot`` the snapshot as JSON;
``/api/events`` the same as server-sent events, one each time the snapshot changes (and a comment every
KEEPALIVE seconds so proxies keep the stream open). A reader thread refreshes the
:class:`~offchain.dashboard.index.ChainIndex` every `poll` seconds.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import signal
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from offchain.chain import NetworkConfig
from offchain.chain.artifacts import project_root

from .index import ChainIndex

STATIC = Path(__file__).parent / "static"
#: Chart.js as npm installs it (package.json).
CHART_JS = Path("node_modules") / "chart.js" / "dist" / "chart.umd.js"
KEEPALIVE = 15.0

log = logging.getLogger("kwx.dashboard")


class Dashboard:
    """The server and its reader thread, on 127.0.0.1:`port` (0: a free port, see :attr:`port`). :meth:`start`
    returns at once; :meth:`stop` ends both and closes the socket."""

    def __init__(self, index: ChainIndex, *, port: int = 0, poll: float = 1.0) -> None:
        self.index = index
        self.poll = poll
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.index.refresh()
        for target, name in ((self._read_loop, "dashboard-reader"), (self.httpd.serve_forever, "dashboard-http")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _read_loop(self) -> None:
        while not self._stopping.wait(self.poll):
            try:
                changed = self.index.refresh()
            except Exception:  # the reader must outlive a bad read; the page keeps the last snapshot
                log.exception("refresh failed")
                continue
            if changed:
                with self._changed:
                    self._changed.notify_all()

    def wait_for_change(self, version: int, timeout: float) -> dict[str, Any]:
        """The snapshot once its version differs from `version`, or after `timeout` seconds (the same one)."""
        with self._changed:
            self._changed.wait_for(lambda: self.index.snapshot()["version"] != version or self._stopping.is_set(),
                                   timeout)
        return self.index.snapshot()


def _handler(dashboard: Dashboard) -> type[BaseHTTPRequestHandler]:
    panel_scripts = {f"/panels/{name}.js": panel.script for name, panel in dashboard.index.panels.items()}
    files = {"/": STATIC / "index.html", "/vendor/chart.umd.js": project_root() / CHART_JS,
             **{f"/static/{p.name}": p for p in STATIC.iterdir() if p.is_file()}, **panel_scripts}

    class Handler(BaseHTTPRequestHandler):
        server_version = "kwx-dashboard"

        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            path = self.path.split("?", 1)[0]
            if path == "/api/snapshot":
                self._send(HTTPStatus.OK, "application/json", json.dumps(dashboard.index.snapshot()).encode())
            elif path == "/api/panels":
                listing = [{"name": name, "script": f"/panels/{name}.js"} for name in dashboard.index.panels]
                self._send(HTTPStatus.OK, "application/json", json.dumps(listing).encode())
            elif path == "/api/events":
                self._stream()
            elif path in files and files[path].is_file():
                kind = mimetypes.guess_type(files[path].name)[0] or "application/octet-stream"
                self._send(HTTPStatus.OK, kind + ("; charset=utf-8" if kind.startswith(("text/", "application/j"))
                                                  else ""), files[path].read_bytes())
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", f"not found: {path}".encode())

        def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            version = None
            try:
                while not dashboard._stopping.is_set():
                    snapshot = dashboard.wait_for_change(version, KEEPALIVE) if version is not None \
                        else dashboard.index.snapshot()
                    if snapshot["version"] == version:
                        self.wfile.write(b": keepalive\n\n")
                    else:
                        version = snapshot["version"]
                        self.wfile.write(b"data: " + json.dumps(snapshot).encode() + b"\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the standard library's name)
            log.debug("%s " + format, self.address_string(), *args)

    return Handler


def serve(config: NetworkConfig, *, manifest_dir: Path, state_dir: Path, port: int, poll: float) -> None:
    """Serves the dashboard of `config`'s deployment until Ctrl-C or SIGTERM."""
    dashboard = Dashboard(ChainIndex(config, manifest_dir, state_dir), port=port, poll=poll)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        dashboard.start()
        print(f"kwx dashboard of {config.name} on {dashboard.url} (Ctrl-C stops it)", flush=True)
        stop.wait()
    finally:
        dashboard.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
