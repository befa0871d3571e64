from __future__ import annotations

import gzip
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

from feedserver import FeedServer, Reply, rss_range, send

from feedmill.fetch import Fetcher, FetchSettings, Validators

FEED = rss_range(1, 3)


def closed_port() -> int:
    # Bound then closed: nothing listens there, so connecting is refused at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fetches_body_with_user_agent_gzip_and_validators(server: FeedServer, fetcher: Fetcher) -> None:
    server.routes["/feed"] = Reply(
        gzip.compress(FEED),
        headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip",
                 "ETag": '"v1"', "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
    )
    result = fetcher.fetch(server.url("/feed"))
    assert result.problem is None
    assert result.body == FEED
    assert result.validators == Validators('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT")
    [headers] = server.hits("/feed")
    assert headers["User-Agent"].startswith("feedmill/")
    assert "gzip" in headers["Accept-Encoding"]


def test_conditional_get_returns_not_modified(server: FeedServer, fetcher: Fetcher) -> None:
    def conditional(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            send(handler, Reply(status=304, headers={"ETag": '"v1"'}))
        else:
            send(handler, Reply(FEED, headers={"ETag": '"v1"'}))

    server.routes["/feed"] = conditional
    first = fetcher.fetch(server.url("/feed"))
    second = fetcher.fetch(server.url("/feed"), first.validators)
    assert first.body == FEED and not first.not_modified
    assert second.not_modified and second.body is None and second.problem is None
    assert second.validators == first.validators
    assert server.hits("/feed")[1]["If-None-Match"] == '"v1"'


def test_follows_a_few_redirects_and_reports_the_final_url(server: FeedServer, fetcher: Fetcher) -> None:
    server.routes["/old"] = Reply(status=301, headers={"Location": "/new"})
    server.routes["/new"] = Reply(FEED)
    result = fetcher.fetch(server.url("/old"))
    assert result.body == FEED
    assert result.final_url == server.url("/new")
    assert result.url == server.url("/old")


def test_endless_redirect_is_a_clear_error(server: FeedServer, fetcher: Fetcher) -> None:
    server.routes["/loop"] = Reply(status=302, headers={"Location": "/loop"})
    result = fetcher.fetch(server.url("/loop"))
    assert result.problem is not None
    assert result.problem.source == server.url("/loop")
    assert result.problem.reason == "too many redirects (more than 3)"
    assert len(server.hits("/loop")) == 4


def test_http_errors_name_the_status(server: FeedServer, fetcher: Fetcher, sleeps: list[float]) -> None:
    server.routes["/gone"] = Reply(b"gone", 410, {})
    assert fetcher.fetch(server.url("/gone")).problem.reason == "HTTP 410 Gone (the feed was removed upstream)"
    assert fetcher.fetch(server.url("/missing")).problem.reason == "HTTP 404 Not Found"
    assert sleeps == []  # client errors are not retried
    assert len(server.hits("/missing")) == 1


def test_server_errors_are_retried_with_backoff(server: FeedServer, fetcher: Fetcher, sleeps: list[float]) -> None:
    server.routes["/broken"] = Reply(b"oops", 500, {})
    result = fetcher.fetch(server.url("/broken"))
    assert result.problem.reason == "HTTP 500 Internal Server Error (after 3 attempts)"
    assert len(server.hits("/broken")) == 3
    assert sleeps == [0.01, 0.02]


def test_retry_after_is_honoured_then_the_fetch_succeeds(
    server: FeedServer, fetcher: Fetcher, sleeps: list[float]
) -> None:
    calls = []

    def busy_once(handler: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 1:
            send(handler, Reply(b"slow down", 429, {"Retry-After": "1"}))
        else:
            send(handler, Reply(FEED))

    server.routes["/feed"] = busy_once
    result = fetcher.fetch(server.url("/feed"))
    assert result.body == FEED
    assert sleeps == [1.0]


def test_a_retry_after_beyond_the_limit_is_not_waited_for(
    server: FeedServer, fetcher: Fetcher, sleeps: list[float]
) -> None:
    server.routes["/feed"] = Reply(b"later", 503, {"Retry-After": "3600"})
    result = fetcher.fetch(server.url("/feed"))
    assert result.problem.reason == "HTTP 503 Service Unavailable (asked to retry after 3600 s; the limit is 1 s)"
    assert sleeps == []


def test_slow_server_times_out(server: FeedServer, fetcher: Fetcher) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(2)
        send(handler, Reply(FEED))

    server.routes["/slow"] = slow
    started = time.monotonic()
    result = fetcher.fetch(server.url("/slow"))
    assert result.problem.reason == "timed out waiting for the server (read timeout 0.5 s)"
    assert time.monotonic() - started < 1.5


def test_trickling_server_hits_the_total_timeout(server: FeedServer, settings: FetchSettings) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        for _ in range(50):
            handler.wfile.write(b" " * 10)
            handler.wfile.flush()
            time.sleep(0.1)

    server.routes["/trickle"] = trickle
    quick = FetchSettings(**{**settings.__dict__, "total_timeout": 0.5})
    with Fetcher(quick) as fetcher:
        result = fetcher.fetch(server.url("/trickle"))
    assert result.problem.reason == "timed out: response took longer than 0.5 s"


def endless(handler: BaseHTTPRequestHandler, *, declare: bool) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    if declare:
        handler.send_header("Content-Length", str(2 * 1024**3))
    handler.end_headers()
    chunk = b"<!-- padding -->" * 4096
    try:
        while True:  # as good as 2 GB: stops only when the client hangs up
            handler.wfile.write(chunk)
    except OSError:
        pass


def test_declared_huge_response_is_not_downloaded(server: FeedServer, fetcher: Fetcher) -> None:
    server.routes["/huge"] = lambda h: endless(h, declare=True)
    result = fetcher.fetch(server.url("/huge"))
    assert result.problem.reason == (
        f"response too large ({2 * 1024**3} bytes, limit {256 * 1024}); not downloaded"
    )


def test_undeclared_huge_response_is_aborted_at_the_cap(server: FeedServer, fetcher: Fetcher) -> None:
    server.routes["/huge"] = lambda h: endless(h, declare=False)
    started = time.monotonic()
    result = fetcher.fetch(server.url("/huge"))
    assert result.problem.reason == f"response too large (over {256 * 1024} bytes); download aborted"
    assert time.monotonic() - started < 2


def test_gzip_bomb_is_capped_on_decompressed_size(server: FeedServer, fetcher: Fetcher) -> None:
    bomb = gzip.compress(b"\0" * (4 * 1024 * 1024))  # ~4 KB on the wire
    server.routes["/bomb"] = Reply(bomb, headers={"Content-Encoding": "gzip"})
    result = fetcher.fetch(server.url("/bomb"))
    assert result.problem.reason == f"response too large (over {256 * 1024} bytes); download aborted"


def test_refused_connection_is_retried_then_reported(fetcher: Fetcher, sleeps: list[float]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/feed"
    result = fetcher.fetch(url)
    assert result.problem.source == url
    assert result.problem.reason == "connection refused (after 3 attempts)"
    assert len(sleeps) == 2


def test_dns_failure_is_reported_without_retrying(fetcher: Fetcher, sleeps: list[float]) -> None:
    result = fetcher.fetch("http://feedmill-test.invalid/feed")
    assert result.problem.reason == "DNS lookup failed for feedmill-test.invalid"
    assert sleeps == []


def test_tls_error_is_reported(server: FeedServer, fetcher: Fetcher) -> None:
    # Speaking TLS to a plain HTTP server fails the handshake, like a broken certificate setup.
    result = fetcher.fetch(f"https://127.0.0.1:{server.port}/feed")
    assert result.problem.reason.startswith("TLS error: ")


def test_fetch_many_is_concurrent_but_bounded_per_host(server: FeedServer, settings: FetchSettings) -> None:
    lock = threading.Lock()
    active = [0]
    peak = [0]

    def counted(handler: BaseHTTPRequestHandler) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.15)
        with lock:
            active[0] -= 1
        send(handler, Reply(FEED))

    for n in range(6):
        server.routes[f"/f{n}"] = counted
    limited = FetchSettings(**{**settings.__dict__, "workers": 6, "per_host": 2})
    with Fetcher(limited) as fetcher:
        results = list(fetcher.fetch_many((server.url(f"/f{n}"), Validators()) for n in range(6)))
    assert sorted(r.url for r in results) == sorted(server.url(f"/f{n}") for n in range(6))
    assert all(r.body == FEED for r in results)
    assert peak[0] == 2
