"""WebSub against a real stub hub on 127.0.0.1: exactly the changed feeds are announced, and a
hub that is down, slow or failing leaves the build green with a warning."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import feedparser
import pytest
import requests

from feedmill import ConfigError, build
from feedmill.websub import ping

FEEDS = "https://example.org/feeds/"


@dataclass
class Hub:
    url: str
    status: int = 204
    delay: float = 0.0
    requests: list[dict[str, list[str]]] = field(default_factory=list)


class _HubHandler(BaseHTTPRequestHandler):
    server: "_HubServer"

    def do_POST(self) -> None:  # noqa: N802
        hub = self.server.hub
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        hub.requests.append(parse_qs(body))
        time.sleep(hub.delay)
        self.send_response(hub.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _HubServer(ThreadingHTTPServer):
    daemon_threads = True
    hub: Hub


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = _HubServer(("127.0.0.1", 0), _HubHandler)
    server.hub = Hub(f"http://127.0.0.1:{server.server_port}/publish")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.hub
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/publish"  # nothing listens there any more


def site(project) -> None:
    project.post("one.md", title="One", categories="[A, B]", date="2021-07-29 08:00:00")
    project.post("two.md", title="Two", categories="[C]", date="2021-08-11 09:07:51")


def topics(hub: Hub) -> list[str]:
    for request in hub.requests:
        assert request["hub.mode"] == ["publish"] and len(request["hub.url"]) == 1
    return [request["hub.url"][0] for request in hub.requests]


def all_feed_urls(*folders: str) -> list[str]:
    return sorted(FEEDS + folder + name for folder in folders for name in ("rss.xml", "atom.xml", "feed.json"))


def test_feeds_declare_the_hub_and_themselves(project, hub):
    site(project)
    build(project.config(websub={"hub": hub.url}))
    for name in ("rss.xml", "atom.xml"):
        links = feedparser.parse((project.out / "a" / name).read_bytes()).feed.links
        assert {(link.rel, link.href) for link in links} >= {("hub", hub.url), ("self", FEEDS + "a/" + name)}
    assert f'<atom:link href="{hub.url}" rel="hub"/>' in (project.out / "a" / "rss.xml").read_text(encoding="utf-8")
    feed = json.loads((project.out / "a" / "feed.json").read_bytes())
    assert feed["hubs"] == [{"type": "WebSub", "url": hub.url}]


def test_without_a_hub_nothing_declares_one(project):
    site(project)
    build(project.config())
    assert b'rel="hub"' not in (project.out / "rss.xml").read_bytes()
    assert "hubs" not in json.loads((project.out / "feed.json").read_bytes())


def test_a_build_pings_exactly_the_changed_feeds(project, hub):
    site(project)
    config = project.config(websub={"hub": hub.url})
    first = build(config)
    expected = all_feed_urls("", "a/", "a/b/", "c/")
    assert sorted(topics(hub)) == expected and sorted(first.hub_notified) == expected
    hub.requests.clear()
    assert build(config).hub_notified == [] and hub.requests == []  # nothing changed, nothing sent
    project.post("two.md", title="Two, edited", categories="[C]", date="2021-08-11 09:07:51")
    third = build(config)
    assert sorted(topics(hub)) == all_feed_urls("", "c/") == sorted(third.hub_notified)
    assert third.warnings == []


def test_a_hub_that_is_down_is_a_warning(project, closed_port_url):
    site(project)
    report = build(project.config(websub={"hub": closed_port_url, "retries": 0}))
    assert (project.out / "rss.xml").is_file() and report.hub_notified == []
    [warning] = report.warnings
    assert warning.source == closed_port_url
    assert "ConnectionError" in warning.reason and "11 more changed feed(s) not announced" in warning.reason


def test_a_hub_answering_500_is_retried_then_a_warning(project, hub):
    site(project)
    hub.status = 500
    report = build(project.config(websub={"hub": hub.url, "retries": 1}))
    assert len(hub.requests) == 2 and len(set(topics(hub))) == 1  # the first feed, twice; then it stops
    [warning] = report.warnings
    assert "HTTP 500" in warning.reason and "after 2 attempt(s)" in warning.reason
    assert report.hub_notified == [] and report.feeds_written


def test_a_slow_hub_times_out_with_a_warning(project, hub):
    site(project)
    hub.delay = 3
    started = time.monotonic()
    report = build(project.config(websub={"hub": hub.url, "timeout": 1, "retries": 0}))
    assert time.monotonic() - started < 2.5
    [warning] = report.warnings
    assert "Timeout" in warning.reason and report.feeds_written


def test_ping_retries_server_errors_but_not_refusals(hub):
    with requests.Session() as session:
        hub.status = 503
        assert "HTTP 503" in ping(session, hub.url, FEEDS + "rss.xml", timeout=2, retries=2, backoff=0)
        assert len(hub.requests) == 3
        hub.requests.clear()
        hub.status = 400
        assert "after 1 attempt(s)" in ping(session, hub.url, FEEDS + "rss.xml", timeout=2, retries=2, backoff=0)
        assert len(hub.requests) == 1
        hub.status = 202
        assert ping(session, hub.url, FEEDS + "rss.xml", timeout=2, retries=2, backoff=0) is None


@pytest.mark.parametrize(("websub", "key"), [
    ({"hub": "pubsubhubbub.appspot.com"}, "websub.hub"),
    ({"hub": "https://hub.example/", "timeout": 0}, "websub.timeout"),
    ({"hub": "https://hub.example/", "retries": -1}, "websub.retries"),
    ({"hubs": "https://hub.example/"}, "websub.hubs"),
])
def test_bad_websub_settings_are_config_errors(project, websub, key):
    site(project)
    with pytest.raises(ConfigError) as caught:
        build(project.config(websub=websub))
    assert caught.value.key == key
