"""WebSub: after a build, tell the hub which feeds changed so readers get them pushed.

The publish ping (`hub.mode=publish`, `hub.url=<feed URL>`) is the de-facto protocol of public
hubs (the WebSub spec leaves publishing to the hub). One request per changed feed, each with a
timeout and retries. A hub that is down, slow or failing costs a warning, never the build: the
feeds are already written and readers that poll still get them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import requests

from .config import Config
from .model import Problem
from .render import FORMATS


@dataclass
class HubResult:
    announced: list[str] = field(default_factory=list)
    """Feed URLs the hub accepted."""
    problems: list[Problem] = field(default_factory=list)


def changed_feed_urls(config: Config, written: Iterable[str]) -> list[str]:
    """Public URLs of the written files that are feeds (not the OPML, stylesheet or index)."""
    names = {FORMATS[fmt][0] for fmt in config.output.formats}
    return [config.output.url + relpath for relpath in written if relpath.rsplit("/", 1)[-1] in names]


def notify_hub(config: Config, written: Iterable[str]) -> HubResult:
    """Ping config.websub.hub for every changed feed; nothing to do without a hub."""
    result = HubResult()
    hub = config.websub.hub
    if not hub:
        return result
    urls = changed_feed_urls(config, written)
    with requests.Session() as session:
        for index, url in enumerate(urls):
            failure = ping(session, hub, url, timeout=config.websub.timeout, retries=config.websub.retries)
            if failure is None:
                result.announced.append(url)
                continue
            # The hub failed every retry: asking it about the remaining feeds would only
            # multiply the wait, so they are reported as not announced.
            left = len(urls) - index - 1
            rest = f"; {left} more changed feed(s) not announced" if left else ""
            result.problems.append(Problem(hub, f"WebSub hub did not accept {url}: {failure}{rest}"))
            break
    return result


def ping(session: requests.Session, hub: str, topic: str, *, timeout: float, retries: int,
         backoff: float = 1.0) -> str | None:
    """POST one publish notification; None when the hub accepted it (2xx), else the last error."""
    error = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * attempt)
        try:
            response = session.post(hub, data={"hub.mode": "publish", "hub.url": topic}, timeout=timeout)
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
            continue
        if 200 <= response.status_code < 300:  # hubs answer 202 or 204; a 3xx is not an acceptance
            return None
        error = f"HTTP {response.status_code} {response.reason}"
        if response.status_code < 500:
            break  # the hub refused this request; sending it again will not change that
    return f"{error} (after {attempt + 1} attempt(s))"
