"""HTTP fetching of upstream feeds: bounded in time, size, redirects and concurrency.

Every failure comes back as a `FetchResult` whose `problem` names the URL and the reason,
never as an exception, so one bad source cannot stop the others.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from .model import Problem

_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_CHUNK = 64 * 1024


def _user_agent() -> str:
    try:
        return f"feedmill/{version('feedmill')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "feedmill"


@dataclass(frozen=True)
class FetchSettings:
    """Limits for one collect run. Defaults suit a cron job; tests shrink them."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    """Longest wait for any single read from the server."""
    total_timeout: float = 120.0
    """Longest time for one whole response, so a server trickling bytes cannot hold us."""
    max_bytes: int = 20 * 1024 * 1024
    """Largest (decompressed) body; larger responses are aborted unread."""
    max_redirects: int = 5
    retries: int = 2
    """Extra attempts after connection errors, 429 and 5xx."""
    backoff: float = 2.0
    """Delay before the first retry in seconds; doubled for each further one."""
    max_retry_after: float = 120.0
    """A `Retry-After` longer than this is not waited for: the source fails this run."""
    workers: int = 8
    per_host: int = 2
    """At most this many requests to one host at a time (RSSHub instances are shared)."""
    user_agent: str = field(default_factory=_user_agent)


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators remembered from the last successful fetch of a source."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching one URL: a body, "not modified", or a problem."""

    url: str
    body: bytes | None = None
    content_type: str | None = None
    final_url: str | None = None
    """Where the body came from after redirects; the base for relative links."""
    validators: Validators = Validators()
    not_modified: bool = False
    problem: Problem | None = None


class _Failure(Exception):
    def __init__(self, reason: str, *, retryable: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class Fetcher:
    """Fetches feeds through one `requests.Session`; use as a context manager or call close()."""

    def __init__(
        self, settings: FetchSettings | None = None, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings or FetchSettings()
        self._sleep = sleep
        self._session = _new_session(self.settings)
        self._host_slots: dict[str, threading.Semaphore] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def fetch(self, url: str, validators: Validators = Validators()) -> FetchResult:
        """Fetch one URL, retrying transient failures; never raises for network or HTTP errors."""
        attempt = 0
        while True:
            try:
                with self._host_slot(url):
                    return self._fetch_once(url, validators)
            except _Failure as failure:
                delay = self._retry_delay(failure, attempt)
                if delay is None:
                    return FetchResult(url, problem=Problem(url, self._final_reason(failure, attempt)))
            # Waited out without the host's slot: a Retry-After must not stall its other sources.
            self._sleep(delay)
            attempt += 1

    def fetch_many(self, jobs: Iterable[tuple[str, Validators]]) -> Iterator[FetchResult]:
        """Fetch concurrently on a bounded pool; results arrive in completion order."""
        with ThreadPoolExecutor(self.settings.workers, thread_name_prefix="feedmill-fetch") as pool:
            futures = [pool.submit(self.fetch, url, validators) for url, validators in jobs]
            for future in as_completed(futures):
                yield future.result()

    @contextmanager
    def _host_slot(self, url: str) -> Iterator[None]:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            slot = self._host_slots.setdefault(host, threading.Semaphore(self.settings.per_host))
        with slot:
            yield

    def _retry_delay(self, failure: _Failure, attempt: int) -> float | None:
        if not failure.retryable or attempt >= self.settings.retries:
            return None
        if failure.retry_after is None:
            return self.settings.backoff * 2**attempt
        if failure.retry_after > self.settings.max_retry_after:
            return None
        return failure.retry_after

    def _final_reason(self, failure: _Failure, attempt: int) -> str:
        limit = self.settings.max_retry_after
        if failure.retryable and failure.retry_after is not None and failure.retry_after > limit:
            return f"{failure.reason} (asked to retry after {failure.retry_after:g} s; the limit is {limit:g} s)"
        return failure.reason + (f" (after {attempt + 1} attempts)" if attempt else "")

    def _fetch_once(self, url: str, validators: Validators) -> FetchResult:
        settings = self.settings
        try:
            with self._session.get(
                url,
                headers=validators.request_headers(),
                timeout=(settings.connect_timeout, settings.read_timeout),
                stream=True,
            ) as response:
                return self._read(url, response, validators)
        except requests.TooManyRedirects:
            raise _Failure(f"too many redirects (more than {settings.max_redirects})") from None
        except requests.RequestException as exc:
            raise _classify(exc, url, settings) from None

    def _read(self, url: str, response: requests.Response, validators: Validators) -> FetchResult:
        if response.status_code == 304:
            return FetchResult(url, not_modified=True, validators=validators)
        if not 200 <= response.status_code < 300:
            raise _status_failure(response)
        body = _read_capped(response, self.settings)
        return FetchResult(
            url,
            body=body,
            content_type=response.headers.get("Content-Type"),
            final_url=response.url,
            validators=Validators(response.headers.get("ETag"), response.headers.get("Last-Modified")),
        )


def _new_session(settings: FetchSettings) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = settings.user_agent
    session.headers["Accept"] = _ACCEPT
    session.max_redirects = settings.max_redirects
    # Retries are ours (with Retry-After); the pool must fit every worker thread.
    adapter = HTTPAdapter(pool_connections=settings.workers, pool_maxsize=settings.workers, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _read_capped(response: requests.Response, settings: FetchSettings) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > settings.max_bytes:
        raise _Failure(f"response too large ({declared} bytes, limit {settings.max_bytes}); not downloaded")
    # The read timeout bounds each read, not the whole body: a server trickling bytes would hold
    # us for ever. A watchdog shuts the socket when the total time is up.
    expired = threading.Event()
    watchdog = threading.Timer(settings.total_timeout, _expire, (response, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        body = _read_body(response, settings.max_bytes)
    except requests.RequestException:
        if not expired.is_set():
            raise
    finally:
        watchdog.cancel()
    if expired.is_set():
        raise _Failure(f"timed out: response took longer than {settings.total_timeout:g} s")
    return body


def _read_body(response: requests.Response, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    # iter_content yields decompressed bytes, so the cap also stops gzip bombs.
    for chunk in response.iter_content(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise _Failure(f"response too large (over {max_bytes} bytes); download aborted")
        chunks.append(chunk)
    return b"".join(chunks)


def _expire(response: requests.Response, expired: threading.Event) -> None:
    expired.set()
    try:
        # http.client may already have dropped its reference to the socket, but the
        # response's file number stays valid while it is open. Shutting a duplicate
        # shuts the shared socket and wakes the reading thread.
        with socket.socket(fileno=os.dup(response.raw.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass  # already closed: the reader is finishing anyway


def _status_failure(response: requests.Response) -> _Failure:
    code = response.status_code
    reason = f"HTTP {code} {response.reason or ''}".rstrip()
    if code == 410:
        reason += " (the feed was removed upstream)"
    transient = code == 429 or code >= 500
    retry_after = _parse_retry_after(response.headers.get("Retry-After")) if transient else None
    return _Failure(reason, retryable=transient, retry_after=retry_after)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _classify(exc: requests.RequestException, url: str, settings: FetchSettings) -> _Failure:
    """Turn a requests exception into a reason a cron user can act on."""
    if isinstance(exc, requests.exceptions.SSLError):
        return _Failure(f"TLS error: {_innermost(exc)}")
    if isinstance(exc, requests.ConnectTimeout):
        return _Failure(f"connect timed out after {settings.connect_timeout:g} s", retryable=True)
    causes = list(_chain(exc))
    if isinstance(exc, requests.ReadTimeout) or any(_is_read_timeout(c) for c in causes):
        # A slow server is not retried: waiting again would multiply the run time.
        return _Failure(f"timed out waiting for the server (read timeout {settings.read_timeout:g} s)")
    if any(isinstance(c, socket.gaierror) or type(c).__name__ == "NameResolutionError" for c in causes):
        return _Failure(f"DNS lookup failed for {urlsplit(url).hostname}")
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return _Failure("connection refused", retryable=True)
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return _Failure(f"connection failed: {_innermost(exc)}", retryable=True)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return _Failure(f"bad compressed response: {_innermost(exc)}")
    return _Failure(f"request failed: {_innermost(exc)}")


def _is_read_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (socket.timeout, TimeoutError)) or type(exc).__name__ == "ReadTimeoutError"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Every exception wrapped inside `exc`: requests and urllib3 nest them several levels deep."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args)
        stack.extend(e for e in nested if isinstance(e, BaseException))


def _innermost(exc: BaseException) -> str:
    return str(list(_chain(exc))[-1])
