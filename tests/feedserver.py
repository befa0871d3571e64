"""A real HTTP server on 127.0.0.1 for collector tests, plus feed builders.

Routes map a path to a `Reply` or to a function that writes the response itself
(for slow, endless and stateful cases).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/rss+xml; charset=utf-8"})


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Reply | Handler] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # A client that aborts a huge or slow reply is expected, not an error to print.
        self._httpd.handle_error = lambda request, address: None
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [headers for p, headers in self.requests if p == path]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with server._lock:
                    server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path)
                if route is None:
                    route = Reply(b"not here", 404, {"Content-Type": "text/plain"})
                if isinstance(route, Reply):
                    send(self, route)
                else:
                    route(self)

            def log_message(self, *args: object) -> None:
                pass

        return _Handler


def send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    handler.send_response(reply.status)
    for name, value in reply.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(reply.body)))
    handler.end_headers()
    handler.wfile.write(reply.body)


BASE_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)


def item_date(n: int) -> datetime:
    return BASE_DATE + timedelta(hours=n)


def rss_item(n: int, body: str | None = None) -> str:
    return (
        f"<item><title>Item {n}</title><link>https://example.org/posts/{n}</link>"
        f"<guid isPermaLink=\"false\">tag:example.org,2024:item-{n}</guid>"
        f"<pubDate>{format_datetime(item_date(n), usegmt=True)}</pubDate>"
        f"<description>{escape(body or f'<p>Body of item {n}</p>')}</description></item>"
    )


def rss(items: str, *, title: str = "Example", encoding: str = "utf-8", prolog: str = "") -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>{prolog}<rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link>{items}</channel></rss>"
    )
    return text.encode(encoding)


def rss_range(first: int, last: int) -> bytes:
    """Items first..last, newest (highest number) first, as upstream feeds list them."""
    return rss("".join(rss_item(n) for n in range(last, first - 1, -1)))
