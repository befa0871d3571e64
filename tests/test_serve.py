"""`feedmill serve` against the real server: types, validators, 304s, and nothing outside the folder."""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedmill import build
from feedmill.cli import main
from feedmill.serve import PreviewServer, make_server

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def site(project) -> Path:
    project.post("one.md", title="One", categories="[A, B]")
    build(project.config())
    return project.out


@pytest.fixture
def server(site) -> Iterator[PreviewServer]:
    server = make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def get(server: PreviewServer, path: str, method: str = "GET", **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
    # http.client sends the path exactly as given, so '..' and '%2e%2e' reach the server.
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_server_listens_on_loopback_only(server):
    assert server.server_address[0] == "127.0.0.1"


@pytest.mark.parametrize(("path", "mime"), [
    ("/rss.xml", "application/rss+xml"),
    ("/a/b/atom.xml", "application/atom+xml"),
    ("/a/feed.json", "application/feed+json"),
    ("/feeds.opml", "text/x-opml"),
    ("/feed.xsl", "text/xsl"),
    ("/index.html", "text/html; charset=utf-8"),
])
def test_each_format_gets_its_media_type_and_the_file_bytes(server, site, path, mime):
    response, body = get(server, path, Accept="application/rss+xml, application/atom+xml, */*;q=0.1")
    assert response.status == 200 and response.getheader("Content-Type") == mime
    assert body == (site / path.lstrip("/")).read_bytes()
    assert response.getheader("Content-Length") == str(len(body))


def test_a_browser_gets_feeds_as_application_xml_so_it_applies_the_stylesheet(server):
    response, _ = get(server, "/a/rss.xml", Accept=BROWSER_ACCEPT)
    assert response.getheader("Content-Type") == "application/xml"
    assert response.getheader("Vary") == "Accept"
    response, _ = get(server, "/a/feed.json", Accept=BROWSER_ACCEPT)
    assert response.getheader("Content-Type") == "application/feed+json"


def test_folder_serves_its_index_and_head_sends_no_body(server, site):
    response, body = get(server, "/")
    assert response.status == 200 and body == (site / "index.html").read_bytes()
    response, body = get(server, "/rss.xml", method="HEAD")
    assert response.status == 200 and body == b"" and int(response.getheader("Content-Length")) > 0


def test_etag_and_last_modified_answer_conditional_requests_with_304(server, site):
    first, _ = get(server, "/rss.xml")
    tag, modified = first.getheader("ETag"), first.getheader("Last-Modified")
    assert tag.startswith('"') and modified.endswith("GMT")
    assert modified == formatdate((site / "rss.xml").stat().st_mtime, usegmt=True)
    for headers in ({"If-None-Match": tag}, {"If-None-Match": f'"other", W/{tag}'}, {"If-Modified-Since": modified}):
        response, body = get(server, "/rss.xml", **headers)
        assert (response.status, body) == (304, b""), headers
        assert response.getheader("ETag") == tag
    # If-None-Match decides when present, even when the date alone would match.
    response, body = get(server, "/rss.xml", **{"If-None-Match": '"stale"', "If-Modified-Since": modified})
    assert response.status == 200 and body
    response, _ = get(server, "/rss.xml", **{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert response.status == 200
    response, _ = get(server, "/rss.xml", **{"If-Modified-Since": "not a date"})
    assert response.status == 200


def test_a_changed_file_gets_a_new_etag(server, site):
    before, _ = get(server, "/rss.xml")
    (site / "rss.xml").write_bytes(b"<rss/>")
    response, body = get(server, "/rss.xml", **{"If-None-Match": before.getheader("ETag")})
    assert response.status == 200 and body == b"<rss/>"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/a/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
    "/a/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/..%5csecret.txt",
])
def test_paths_outside_the_folder_are_refused(server, site, path):
    (site.parent / "secret.txt").write_text("secret", encoding="utf-8")
    response, body = get(server, path)
    assert response.status == 403 and b"secret" not in body


def test_symlinks_out_of_the_folder_are_refused(server, site):
    (site.parent / "outside").mkdir()
    (site.parent / "outside" / "secret.txt").write_text("secret", encoding="utf-8")
    os.symlink(site.parent / "outside" / "secret.txt", site / "link.txt")
    os.symlink(site.parent / "outside", site / "linkdir")
    os.symlink(site / "rss.xml", site / "inside.xml")
    assert get(server, "/link.txt")[0].status == 403
    assert get(server, "/linkdir/secret.txt")[0].status == 403
    assert get(server, "/inside.xml")[0].status == 200  # a link that stays inside is fine


def test_missing_files_are_404(server):
    assert get(server, "/nope.xml")[0].status == 404
    assert get(server, "/a/nope/")[0].status == 404


def test_cli_serve_refuses_a_missing_folder(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "does not exist" in result.output
