"""check_images against a real HTTP server on 127.0.0.1, and image_urls_in_feeds on real files."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from feedmill.checkimages import ImageCheck, check_images, image_urls_in_feeds

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


class _Handler(BaseHTTPRequestHandler):
    """Routes by path; records (method, path, Range header) and the peak number of requests in flight."""

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_GET(self) -> None:
        self._serve("GET")

    def _serve(self, method: str) -> None:
        server = self.server
        with server.lock:
            server.log.append((method, self.path, self.headers.get("Range")))
            server.marks.append(self.headers.get("X-Test"))
            server.in_flight += 1
            server.peak = max(server.peak, server.in_flight)
        try:
            self._route(method)
        finally:
            with server.lock:
                server.in_flight -= 1

    def _route(self, method: str) -> None:
        path = self.path
        if path.startswith("/slow"):
            time.sleep(float(path.rsplit("/", 1)[1]))
        if path.startswith("/nohead") and method == "HEAD":
            return self._reply(405 if "405" in path else 501)
        if path == "/forbidden-head.png" and method == "HEAD":
            return self._reply(403)
        if path == "/moved.png":
            self.send_response(302)
            self.send_header("Location", "/ok.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if path.startswith(("/missing", "/nohead-dead")):
            return self._reply(404)
        if path == "/error-page.png":
            return self._reply(200, b"<html>quota exceeded</html>", "text/html; charset=utf-8")
        if method == "GET" and self.headers.get("Range") == "bytes=0-0":
            return self._reply(206, PNG[:1], "image/png")
        return self._reply(200, PNG, "image/png")

    def _reply(self, status: int, body: bytes = b"", ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.lock = threading.Lock()
    httpd.log, httpd.marks, httpd.in_flight, httpd.peak = [], [], 0, 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_alive_and_dead_images(server):
    b = server.base
    urls = [f"{b}/ok.png", f"{b}/ok.png", f"{b}/missing.png", f"{b}/moved.png", f"{b}/nohead-405.png",
            f"{b}/nohead-501.png", f"{b}/nohead-dead-405.png", f"{b}/forbidden-head.png", f"{b}/error-page.png",
            "data:image/png;base64,AA", "  "]
    report = check_images(urls, timeout=5)
    host = f"127.0.0.1:{server.server_address[1]}"
    assert report.checked == 9 and report.alive == 5 and report.unchecked == ()
    assert report.dead == {
        "(no host)": (ImageCheck("data:image/png;base64,AA", False, None, "-", "not an http(s) URL"),),
        host: (
            ImageCheck(f"{b}/error-page.png", False, 200, "HEAD", "served an HTML page, not an image"),
            ImageCheck(f"{b}/missing.png", False, 404, "HEAD", "Not Found"),
            ImageCheck(f"{b}/nohead-dead-405.png", False, 404, "GET", "Not Found"),
        ),
    }
    log = server.log
    assert log.count(("HEAD", "/ok.png", None)) == 2  # once checked, once as the redirect target
    assert ("GET", "/nohead-405.png", "bytes=0-0") in log
    assert ("GET", "/nohead-501.png", "bytes=0-0") in log
    assert ("GET", "/forbidden-head.png", "bytes=0-0") in log
    assert not [entry for entry in log if entry[0] == "GET" and entry[2] != "bytes=0-0"]
    text = report.format()
    assert ": 5 alive, 4 dead, 0 not checked (time cap)" in text.splitlines()[0]
    assert f"{host}: 3 dead\n  200 {b}/error-page.png  (served an HTML page, not an image)\n" in text
    assert "(no host): 1 dead\n  --- data:image/png;base64,AA  (not an http(s) URL)" in text


def test_dead_images_grouped_by_host(server):
    port = server.server_address[1]
    urls = [f"http://127.0.0.1:{port}/missing-a.png", f"http://localhost:{port}/missing-b.png",
            f"http://127.0.0.1:{port}/ok.png"]
    report = check_images(urls, timeout=5)
    assert list(report.dead) == [f"127.0.0.1:{port}", f"localhost:{port}"]
    assert [c.url for c in report.dead[f"localhost:{port}"]] == [urls[1]]
    text = report.format()
    assert text.splitlines()[0].startswith("3 image URL(s) checked in ")
    assert f"localhost:{port}: 1 dead\n  404 {urls[1]}  (Not Found)" in text


def test_concurrency_is_bounded(server):
    urls = [f"{server.base}/slow/{i}/0.3" for i in range(9)]
    report = check_images(urls, concurrency=3, timeout=5)
    assert report.alive == 9
    assert server.peak == 3


def test_per_request_timeout(server):
    report = check_images([f"{server.base}/slow/x/2"], timeout=0.3)
    (check,) = report.dead[f"127.0.0.1:{server.server_address[1]}"]
    assert (check.ok, check.status, check.error) == (False, None, "timed out")


def test_total_time_cap(server):
    urls = [f"{server.base}/slow/{i}/1.5" for i in range(6)]
    started = time.monotonic()
    report = check_images(urls, concurrency=2, timeout=5, total_timeout=0.5)
    assert time.monotonic() - started < 1.4
    assert report.checked == 0 and len(report.unchecked) == 6
    assert "6 not checked (time cap)" in report.format()


def test_connection_refused_is_dead():
    with ThreadingHTTPServer(("127.0.0.1", 0), _Handler) as closed:
        port = closed.server_address[1]
    report = check_images([f"http://127.0.0.1:{port}/x.png"], timeout=2)
    (check,) = report.dead[f"127.0.0.1:{port}"]
    assert check.method == "GET" and check.error.startswith("ConnectionError")


def test_uses_the_given_session(server):
    session = requests.Session()
    session.headers["X-Test"] = "1"
    report = check_images([f"{server.base}/ok.png"], session=session, timeout=5)
    assert report.alive == 1
    assert server.marks and set(server.marks) == {"1"}  # every request went through that session
    session.close()


def test_invalid_concurrency():
    with pytest.raises(ValueError):
        check_images([], concurrency=0)


# ----------------------------------------------------------------- image_urls_in_feeds

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>t</title><link>https://blog.example/</link><description>d</description>
<image><url>https://blog.example/logo.png</url><title>t</title><link>https://blog.example/</link></image>
<item><title>a</title><link>https://blog.example/a</link>
<description>&lt;p&gt;summary &lt;img src="https://img.example/desc.png"&gt;&lt;/p&gt;</description>
<content:encoded><![CDATA[<p><img src="https://img.example/1.jpg" srcset="https://img.example/1.jpg@s_2,w_820 2x, https://img.example/1-big.jpg 3x">
<picture><source srcset="https://img.example/1.webp"><img src="https://img.example/1b.jpg"></picture>
<video poster="https://img.example/poster.jpg"><source src="https://img.example/video.mp4"></video>
<img src="data:image/gif;base64,R0lGODlh"><img src="/relative.png"></p>]]></content:encoded>
<media:content url="https://img.example/media.jpg" medium="image"/>
<media:content url="https://img.example/clip.mp4" medium="video"/>
<media:thumbnail url="https://img.example/thumb.jpg"/>
<enclosure url="https://img.example/enc.png" type="image/png" length="10"/>
</item></channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<title>t</title><id>tag:x,2021:1</id><updated>2021-07-01T00:00:00Z</updated><logo>https://blog.example/atom-logo.png</logo>
<entry><title>a</title><id>tag:x,2021:a</id><updated>2021-07-01T00:00:00Z</updated>
<content type="html">&lt;img src="http://lain.bgm.tv/pic/a.jpg"&gt;</content>
<summary type="html">&lt;img srcset="https://img.example/sum.png 1x"&gt;</summary>
<media:thumbnail url="https://img.example/atom-thumb.jpg"/>
</entry>
<entry><title>b</title><id>tag:x,2021:b</id><updated>2021-07-01T00:00:00Z</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><img src="https://img.example/xhtml.png"/></div></content>
</entry></feed>"""


def test_image_urls_in_feeds(tmp_path: Path):
    (tmp_path / "rss.xml").write_text(RSS, encoding="utf-8")
    (tmp_path / "cat" / "sub").mkdir(parents=True)
    (tmp_path / "cat" / "sub" / "atom.xml").write_text(ATOM, encoding="utf-8")
    (tmp_path / "broken.xml").write_text("<rss><channel>", encoding="utf-8")
    (tmp_path / "feed.json").write_text('{"items": [{"image": "https://img.example/json.png"}]}', encoding="utf-8")
    assert image_urls_in_feeds(tmp_path) == {
        "https://blog.example/logo.png", "https://img.example/desc.png", "https://img.example/1.jpg",
        "https://img.example/1.jpg@s_2,w_820", "https://img.example/1-big.jpg", "https://img.example/1.webp",
        "https://img.example/1b.jpg", "https://img.example/media.jpg", "https://img.example/thumb.jpg",
        "https://img.example/enc.png", "https://blog.example/atom-logo.png", "http://lain.bgm.tv/pic/a.jpg",
        "https://img.example/sum.png", "https://img.example/atom-thumb.jpg", "https://img.example/xhtml.png",
        "https://img.example/json.png",
    }


def test_feed_urls_feed_the_checker(tmp_path: Path, server):
    b = server.base
    (tmp_path / "rss.xml").write_text(
        RSS.replace("https://img.example/1.jpg", f"{b}/ok.png").replace("https://img.example/thumb.jpg", f"{b}/missing.png"),
        encoding="utf-8")
    urls = {u for u in image_urls_in_feeds(tmp_path) if u.startswith(b)}
    assert urls == {f"{b}/ok.png", f"{b}/ok.png@s_2,w_820", f"{b}/missing.png"}
    report = check_images(urls, timeout=5)
    assert report.alive == 2
    assert [c.url for checks in report.dead.values() for c in checks] == [f"{b}/missing.png"]


def test_json_feed_images_are_found(tmp_path):
    import json

    (tmp_path / "feed.json").write_text(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "t",
        "items": [{"id": "1", "image": "https://img.example/lead.jpg",
                   "content_html": '<p><img src="https://img.example/in-body.png"></p>'}],
    }))
    assert image_urls_in_feeds(tmp_path) == {"https://img.example/lead.jpg", "https://img.example/in-body.png"}
