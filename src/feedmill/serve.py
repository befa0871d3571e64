"""`feedmill serve`: a preview server for the output folder, on 127.0.0.1 only.

It answers with the media type of each format, an ETag and Last-Modified, and 304 to a
conditional request, so a local feed reader can subscribe while posts are being edited. It is
not a production server: publish the folder with any static host or CDN.

Chromium shows a document served as application/rss+xml or application/atom+xml as plain text,
without applying its stylesheet; served as application/xml it applies feed.xsl. So a request
that asks for HTML and not for a feed type (a browser opening the feed) gets application/xml,
like most static hosts send for .xml, and a feed reader gets the feed's own type.
"""

from __future__ import annotations

import hashlib
from email.message import Message
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .browser import INDEX
from .opml import FILE_NAME as OPML_FILE
from .render import FORMATS, STYLESHEET

HOST = "127.0.0.1"
# Feed files are known by name; anything else by extension.
TYPES_BY_NAME = {name: mime for name, mime in FORMATS.values()} | {
    OPML_FILE: "text/x-opml", STYLESHEET: "text/xsl",
}
_XML_FEED_TYPES = (FORMATS["rss"][1], FORMATS["atom"][1])
TYPES_BY_SUFFIX = {
    ".xml": "application/xml", ".json": "application/json", ".opml": "text/x-opml", ".xsl": "text/xsl",
    ".html": "text/html; charset=utf-8", ".css": "text/css", ".txt": "text/plain; charset=utf-8",
}


class NotServed(Exception):
    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = root.resolve()
        super().__init__((HOST, port), _Handler)


def make_server(root: Path, port: int = 0) -> PreviewServer:
    """A server for `root` on 127.0.0.1:`port` (0: any free port); call serve_forever() on it."""
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder: {root}")
    return PreviewServer(root, port)


def content_type(path: Path, accept: str = "") -> str:
    """The media type to send for `path` to a client whose Accept header is `accept`."""
    mime = TYPES_BY_NAME.get(path.name) or TYPES_BY_SUFFIX.get(path.suffix.lower(), "application/octet-stream")
    if mime in _XML_FEED_TYPES and _is_browser(accept):
        return "application/xml"
    return mime


def _is_browser(accept: str) -> bool:
    return "text/html" in accept and not any(feed_type in accept for feed_type in _XML_FEED_TYPES)


def resolve_request(root: Path, request_path: str) -> Path:
    """The file under `root` a request path names; NotServed for anything outside it or missing.

    `..` is refused after percent-decoding (`%2e%2e`), and the resolved path (symlinks followed)
    must still lie inside root, so a symlink cannot lead out of the folder either.
    """
    path = unquote(urlsplit(request_path).path)
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    if any(segment == ".." or "\\" in segment or "\0" in segment for segment in segments):
        raise NotServed(HTTPStatus.FORBIDDEN)
    target = root.joinpath(*segments).resolve()
    if not target.is_relative_to(root):
        raise NotServed(HTTPStatus.FORBIDDEN)
    if target.is_dir():
        target = target / INDEX
    if not target.is_file():
        raise NotServed(HTTPStatus.NOT_FOUND)
    return target


def etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def is_not_modified(headers: Message, tag: str, mtime: float) -> bool:
    """RFC 9110: If-None-Match decides when present; If-Modified-Since only otherwise."""
    none_match = headers.get("If-None-Match")
    if none_match is not None:
        candidates = {value.strip().removeprefix("W/") for value in none_match.split(",")}
        return "*" in candidates or tag in candidates
    since = headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        return int(mtime) <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False  # an unreadable date: answer in full


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "feedmill-preview"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._respond(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(with_body=False)

    def _respond(self, *, with_body: bool) -> None:
        try:
            path = resolve_request(self.server.root, self.path)
        except NotServed as refused:
            self.send_error(refused.status)
            return
        data = path.read_bytes()
        tag, mtime = etag(data), path.stat().st_mtime
        status = HTTPStatus.NOT_MODIFIED if is_not_modified(self.headers, tag, mtime) else HTTPStatus.OK
        self.send_response(status)
        self.send_header("ETag", tag)
        self.send_header("Last-Modified", formatdate(mtime, usegmt=True))
        self.send_header("Cache-Control", "no-cache")  # revalidate every time: files change while editing
        self.send_header("Vary", "Accept")
        if status is HTTPStatus.OK:
            self.send_header("Content-Type", content_type(path, self.headers.get("Accept", "")))
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if with_body and status is HTTPStatus.OK:
            self.wfile.write(data)
