"""The session's app served over real HTTP on loopback, for clients that cannot take a WSGI app.

The generated client and the fuzzer speak HTTP (httpx, requests); a real socket also exercises what the test
client skips: headers on the wire, content-length, keep-alive. One server per session, bound to 127.0.0.1 on
a free port, in a daemon thread so a crashed session cannot hang on it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request: a fuzz run makes thousands, and the app logs its own errors."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class LiveServer:
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_live_server(app: Flask) -> LiveServer:
    """Serve ``app`` threaded on 127.0.0.1 (port chosen by the OS, so parallel sessions never collide)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="grc-live-server", daemon=True)
    thread.start()
    return LiveServer(server, thread)
