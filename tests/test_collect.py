from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from feedserver import FeedServer, Reply, item_date, rss, rss_item, rss_range, send
from test_remote import BOMB

from feedmill.collector import collect_sources
from feedmill.fetch import Fetcher, FetchSettings
from feedmill.remote import parse_feed
from feedmill.sources import RemoteSource, parse_sources
from feedmill.store import DB_NAME, Store

CATEGORY = ("新媒体", "Example", "最新")
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def source(server: FeedServer, path: str, **kwargs: object) -> RemoteSource:
    return RemoteSource(url=server.url(path), category=CATEGORY, name=path.strip("/"), **kwargs)


def run(sources: list[RemoteSource], store: Store, fetcher: Fetcher):
    return collect_sources(sources, store, fetcher=fetcher, clock=lambda: NOW)


def test_scenario_three_windows_keep_all_forty_in_order(
    server: FeedServer, store: Store, fetcher: Fetcher
) -> None:
    feed = source(server, "/feed")
    counts = []
    for first, last in ((1, 20), (11, 30), (21, 40)):
        server.routes["/feed"] = Reply(rss_range(first, last))
        report = run([feed], store, fetcher)
        [outcome] = report.outcomes
        counts.append((outcome.status, outcome.new, outcome.updated, outcome.unchanged))
    assert counts == [("ok", 20, 0, 0), ("ok", 10, 0, 10), ("ok", 10, 0, 10)]
    articles = store.articles()
    assert [a.guid for a in articles] == [f"tag:example.org,2024:item-{n}" for n in range(40, 0, -1)]
    assert [a.published for a in articles] == [item_date(n) for n in range(40, 0, -1)]
    assert all(a.source == feed.url and a.categories == (CATEGORY,) for a in articles)


def test_edited_upstream_body_updates_but_keeps_guid_and_first_seen(
    server: FeedServer, store: Store, fetcher: Fetcher
) -> None:
    feed = source(server, "/feed")
    server.routes["/feed"] = Reply(rss(rss_item(1)))
    run([feed], store, fetcher)
    server.routes["/feed"] = Reply(rss(rss_item(1, "<p>fixed a typo</p>")))
    later = NOW + timedelta(hours=1)
    [outcome] = collect_sources([feed], store, fetcher=fetcher, clock=lambda: later).outcomes
    assert (outcome.new, outcome.updated) == (0, 1)
    [article] = store.articles()
    assert article.content == "<p>fixed a typo</p>"
    assert article.guid == "tag:example.org,2024:item-1"
    assert store.first_seen(feed.url, article.guid) == NOW


def test_not_modified_uses_remembered_validators(server: FeedServer, store: Store, fetcher: Fetcher) -> None:
    def conditional(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-Modified-Since") == "Mon, 01 Jan 2024 00:00:00 GMT":
            send(handler, Reply(status=304))
        else:
            send(handler, Reply(rss_range(1, 3), headers={"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}))

    server.routes["/feed"] = conditional
    feed = source(server, "/feed")
    assert run([feed], store, fetcher).outcomes[0].new == 3
    [outcome] = run([feed], store, fetcher).outcomes
    assert outcome.status == "not-modified" and outcome.problem is None
    assert len(store.articles()) == 3


def test_limit_and_disabled_sources(server: FeedServer, store: Store, fetcher: Fetcher) -> None:
    server.routes["/feed"] = Reply(rss_range(1, 10))
    server.routes["/off"] = Reply(rss_range(1, 10))
    report = run([source(server, "/feed", limit=3), source(server, "/off", enabled=False)], store, fetcher)
    assert [o.source.name for o in report.outcomes] == ["feed"]
    assert [a.title for a in store.articles()] == ["Item 10", "Item 9", "Item 8"]
    assert server.hits("/off") == []


def test_relative_routes_from_config_are_fetched(server: FeedServer, store: Store, fetcher: Fetcher) -> None:
    server.routes["/rsshub/woshipm/latest"] = Reply(rss_range(1, 2))
    sources = parse_sources(
        {
            "base": server.url("/rsshub"),
            "feeds": [{"url": "/woshipm/latest", "category": ["新媒体", "人人都是产品经理"]}],
        }
    )
    report = run(sources, store, fetcher)
    assert report.failed == [] and report.outcomes[0].new == 2
    assert store.articles()[0].categories == (("新媒体", "人人都是产品经理"),)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slow(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(2)
    send(handler, Reply(rss_range(1, 1)))


def huge(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.end_headers()
    try:
        while True:
            handler.wfile.write(b"<!-- padding -->" * 4096)
    except OSError:
        pass


# Each bad case: how the server answers the second run, and the exact reason reported.
BAD_CASES = {
    "refused": (None, "connection refused (after 3 attempts)"),
    "dns": (None, "DNS lookup failed for feedmill-test.invalid"),
    "tls": (None, "TLS error: "),
    "timeout": (slow, "timed out waiting for the server (read timeout 0.5 s)"),
    "404": (Reply(b"", 404, {}), "HTTP 404 Not Found"),
    "410": (Reply(b"", 410, {}), "HTTP 410 Gone (the feed was removed upstream)"),
    "500": (Reply(b"", 500, {}), "HTTP 500 Internal Server Error (after 3 attempts)"),
    "redirect-loop": (Reply(status=302, headers={"Location": "/feed"}), "too many redirects (more than 3)"),
    "huge": (huge, f"response too large (over {256 * 1024} bytes); download aborted"),
    "html": (Reply(b"<!doctype html><html><body>Moved</body></html>", headers={"Content-Type": "text/html"}),
             "got an HTML page, not a feed"),
    "broken-xml": (Reply(rss_range(1, 5)[:-30]), "broken XML: "),
    "entity-bomb": (Reply(BOMB), "XML declares entities in its DOCTYPE (entity bomb / XXE risk); refused"),
    "xxe": (
        Reply(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
              b'<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>'),
        "XML declares entities in its DOCTYPE (entity bomb / XXE risk); refused",
    ),
    "broken-json": (
        Reply(b'{"version": "https://jsonfeed.org/version/1", "items": [',
              headers={"Content-Type": "application/feed+json"}),
        "broken JSON: ",
    ),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_a_bad_source_fails_alone_and_keeps_its_articles(
    case: str, server: FeedServer, store: Store, fetcher: Fetcher
) -> None:
    answer, reason = BAD_CASES[case]
    bad = RemoteSource(url=_bad_url(case, server), category=CATEGORY, name=case)
    good = source(server, "/good")
    # Articles stored by earlier, successful runs.
    earlier = parse_feed(rss_range(1, 5), url=bad.url, category=CATEGORY, now=NOW)
    store.save(bad.url, earlier.entries, seen=NOW)
    before = store.articles(bad.url)
    server.routes["/good"] = Reply(rss_range(1, 3))
    if answer is not None:
        server.routes["/feed"] = answer

    started = time.monotonic()
    report = run([bad, good], store, fetcher)

    assert time.monotonic() - started < 3
    [failed] = report.failed
    assert failed.source == bad and failed.status == "failed"
    assert failed.problem.source == bad.url
    if reason.endswith(": "):  # the rest is the underlying library's wording
        assert failed.problem.reason.startswith(reason)
    else:
        assert failed.problem.reason == reason
    assert report.problems == [failed.problem]
    assert store.articles(bad.url) == before and len(before) == 5
    assert (report.outcomes[1].status, report.outcomes[1].new) == ("ok", 3)


def _bad_url(case: str, server: FeedServer) -> str:
    unreachable = {
        "refused": f"http://127.0.0.1:{closed_port()}/feed",
        "dns": "http://feedmill-test.invalid/feed",
        # Speaking TLS to a plain HTTP server fails the handshake.
        "tls": f"https://127.0.0.1:{server.port}/feed",
    }
    return unreachable.get(case, server.url("/feed"))


def test_odd_entries_are_warnings_not_failures(server: FeedServer, store: Store, fetcher: Fetcher) -> None:
    items = (
        rss_item(2) + rss_item(2)
        + "<item><title>Undated</title><guid>urn:x:u</guid></item>"
        + "<item><title>Future</title><guid>urn:x:f</guid><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
        + "<item><title>Epoch</title><guid>urn:x:e</guid><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>"
        + "<item><description>no id, link or title</description></item>"
        + "<item></item>"
    )
    server.routes["/feed"] = Reply(rss(items))
    feed = source(server, "/feed")
    report = run([feed], store, fetcher)
    assert report.failed == []
    [outcome] = report.outcomes
    assert (outcome.status, outcome.new) == ("ok", 5)  # 2, undated, future, epoch, untitled
    assert [w.reason for w in report.problems] == [
        "1 entry with duplicate id; later copies ignored: tag:example.org,2024:item-2",
        "2 entries with no date; using the time first seen: urn:x:u, #6",
        "1 entry with an implausible date (2100-01-01); using the time first seen: urn:x:f",
        "1 entry with an implausible date (1970-01-01); using the time first seen: urn:x:e",
        "1 entry with no link; linked to the feed's page: #6",
        "1 entry with no title; made one from the text: #6",
        "1 entry with no id, link, title or text; skipped: #7",
    ]
    assert {w.source for w in report.problems} == {feed.url}
    by_title = {a.title: a for a in store.articles()}
    assert {by_title[t].published for t in ("Undated", "Future", "Epoch")} == {NOW}


def test_gbk_and_json_feeds_through_http(server: FeedServer, store: Store, fetcher: Fetcher) -> None:
    server.routes["/gbk"] = Reply(
        rss(rss_item(1).replace("Item 1", "国标码"), encoding="gbk"), headers={"Content-Type": "text/xml; charset=GBK"}
    )
    server.routes["/json"] = Reply(
        json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [
            {"id": "j1", "url": "https://j.example/1", "title": "杰森", "date_published": "2024-01-05T00:00:00Z"}
        ]}).encode(),
        headers={"Content-Type": "application/feed+json"},
    )
    report = run([source(server, "/gbk"), source(server, "/json")], store, fetcher)
    assert report.failed == []
    assert sorted(a.title for a in store.articles()) == ["国标码", "杰森"]


COLLECTOR = """
import sys
from feedmill.collector import collect_sources
from feedmill.fetch import FetchSettings
from feedmill.sources import RemoteSource
from feedmill.store import Store

folder, *urls = sys.argv[1:]
sources = [RemoteSource(url=url, category=("x",), name=url) for url in urls]
with Store.open(folder) as store:
    while True:  # until killed
        collect_sources(sources, store, settings=FetchSettings(retries=0, workers=4, per_host=4))
"""


def test_kill_mid_collect_leaves_the_store_readable(server: FeedServer, tmp_path: Path) -> None:
    requests = itertools.count(1)
    served = [0]

    def changing(handler: BaseHTTPRequestHandler) -> None:
        # A new body on every request, so every run rewrites every article.
        served[0] = version = next(requests)
        send(handler, Reply(rss("".join(rss_item(n, f"<p>version {version}</p>") for n in range(100, 0, -1)))))

    urls = [server.url(f"/f{n}") for n in range(6)]
    for n in range(6):
        server.routes[f"/f{n}"] = changing
    folder = tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", COLLECTOR, str(folder), *urls], env=env)
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and served[0] < 9:  # killed during the second run
            time.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(5)
    assert child.returncode == -signal.SIGKILL
    assert served[0] >= 9

    db = sqlite3.connect(folder / DB_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counts = {count for (count,) in db.execute("SELECT COUNT(*) FROM articles GROUP BY source")}
    db.close()
    assert counts == {100}  # every source saved whole or not at all
    with Store.open(folder) as store:
        assert len(store.articles()) % 100 == 0 and store.articles()
        report = collect_sources([RemoteSource(url=url, category=("x",), name=url) for url in urls], store,
                         settings=FetchSettings(retries=0))
        assert report.failed == []
        assert len(store.articles()) == 6 * 100
