"""Find dead images in written feeds: the engine behind `feedmill check-images`.

    urls = image_urls_in_feeds(Path("feeds"))
    report = check_images(urls, concurrency=8, timeout=10, total_timeout=120)
    print(report.format())

Each distinct URL gets a HEAD request; servers that refuse HEAD (405, 501, and the 400/403 some
CDNs answer HEAD with) get a one-byte ranged GET instead. A URL is alive when the final answer
(after redirects) is 2xx and not an HTML page: a dead proxy or a hotlink guard often answers
200 with an HTML error page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import requests
from lxml import etree

from feedmill.urls import parse_srcset

HEAD_REFUSED = frozenset({400, 403, 405, 501})
USER_AGENT = "feedmill-check-images/0.1 (+https://github.com/feedmill)"
FEED_SUFFIXES = (".xml", ".rss", ".atom")

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "media": "http://search.yahoo.com/mrss/",
    "xhtml": "http://www.w3.org/1999/xhtml",
}


@dataclass(frozen=True)
class ImageCheck:
    """The outcome for one URL. `status` is the final HTTP status, None when no answer came."""

    url: str
    ok: bool
    status: int | None = None
    method: str = "HEAD"
    error: str | None = None


@dataclass(frozen=True)
class ImageCheckReport:
    checked: int
    alive: int
    dead: dict[str, tuple[ImageCheck, ...]] = field(default_factory=dict)
    """Dead URLs grouped by host (`host[:port]`), hosts sorted, URLs sorted."""
    unchecked: tuple[str, ...] = ()
    """URLs not checked because the total time cap was reached."""
    elapsed: float = 0.0

    @property
    def dead_count(self) -> int:
        return sum(len(checks) for checks in self.dead.values())

    def format(self) -> str:
        """Human-readable summary: one block per host with dead images."""
        lines = [f"{self.checked} image URL(s) checked in {self.elapsed:.1f}s: {self.alive} alive, "
                 f"{self.dead_count} dead, {len(self.unchecked)} not checked (time cap)"]
        for host, checks in self.dead.items():
            lines.append(f"{host}: {len(checks)} dead")
            lines += [f"  {c.status if c.status is not None else '---'} {c.url}"
                      + (f"  ({c.error})" if c.error else "") for c in checks]
        return "\n".join(lines)


def check_images(urls: Iterable[str], *, concurrency: int = 8, timeout: float = 10.0,
                 total_timeout: float = 120.0, session: requests.Session | None = None) -> ImageCheckReport:
    """Check every distinct URL with at most `concurrency` requests in flight, each limited to
    `timeout` seconds, and stop waiting after `total_timeout` seconds overall."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    started = time.monotonic()
    distinct = list(dict.fromkeys(u.strip() for u in urls if u and u.strip()))
    own_session = session is None
    session = session or _session(concurrency)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="check-images")
    try:
        futures = {pool.submit(check_one, url, session, timeout): url for url in distinct}
        results = _collect(futures, started + total_timeout)
    finally:
        # Requests already running end within their own timeout; queued ones are cancelled.
        pool.shutdown(wait=False, cancel_futures=True)
        if own_session:
            session.close()
    return _report(distinct, results, time.monotonic() - started)


def _session(concurrency: int) -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=concurrency, pool_maxsize=concurrency)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def _collect(futures: dict[Future, str], deadline: float) -> dict[str, ImageCheck]:
    results: dict[str, ImageCheck] = {}
    pending = set(futures)
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
        for fut in done:
            results[futures[fut]] = fut.result()
    return results


def _report(urls: list[str], results: dict[str, ImageCheck], elapsed: float) -> ImageCheckReport:
    dead: dict[str, list[ImageCheck]] = {}
    for check in results.values():
        if not check.ok:
            dead.setdefault(urlsplit(check.url).netloc.lower() or "(no host)", []).append(check)
    return ImageCheckReport(
        checked=len(results),
        alive=sum(1 for c in results.values() if c.ok),
        dead={host: tuple(sorted(checks, key=lambda c: c.url)) for host, checks in sorted(dead.items())},
        unchecked=tuple(u for u in urls if u not in results),
        elapsed=elapsed,
    )


def check_one(url: str, session: requests.Session, timeout: float) -> ImageCheck:
    """HEAD `url`, falling back to a ranged GET when HEAD is refused. Never raises."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return ImageCheck(url, False, None, "-", "not an http(s) URL")
    try:
        response = session.head(url, timeout=timeout, allow_redirects=True)
    except requests.ConnectionError:
        # Some servers drop the connection on HEAD instead of answering 405.
        return _ranged_get(url, session, timeout)
    except requests.RequestException as e:
        return ImageCheck(url, False, None, "HEAD", _describe(e))
    if response.status_code in HEAD_REFUSED:
        return _ranged_get(url, session, timeout)
    return _judge(url, "HEAD", response)


def _ranged_get(url: str, session: requests.Session, timeout: float) -> ImageCheck:
    try:
        with session.get(url, timeout=timeout, allow_redirects=True, stream=True,
                         headers={"Range": "bytes=0-0"}) as response:
            return _judge(url, "GET", response)
    except requests.RequestException as e:
        return ImageCheck(url, False, None, "GET", _describe(e))


def _judge(url: str, method: str, response: requests.Response) -> ImageCheck:
    status = response.status_code
    if not 200 <= status < 300:
        return ImageCheck(url, False, status, method, response.reason or None)
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "text/html":
        return ImageCheck(url, False, status, method, "served an HTML page, not an image")
    return ImageCheck(url, True, status, method)


def _describe(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    return f"{type(error).__name__}: {str(error)[:200]}"


# ----------------------------------------------------------------- URLs in written feeds


def image_urls_in_feeds(feed_dir: Path) -> set[str]:
    """Every absolute http(s) image URL in the RSS, Atom and JSON Feed files under `feed_dir`:
    img src and srcset in item HTML, media:content and media:thumbnail, image enclosures, feed
    logos, JSON Feed item images.
    Files that are not RSS or Atom (OPML, broken XML) are skipped."""
    urls: set[str] = set()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    for path in sorted(p for p in Path(feed_dir).rglob("*") if p.suffix.lower() in FEED_SUFFIXES and p.is_file()):
        try:
            root = etree.parse(str(path), parser).getroot()
        except etree.XMLSyntaxError:
            continue
        urls |= _feed_image_urls(root)
    for path in sorted(Path(feed_dir).rglob("*.json")):
        urls |= _json_feed_image_urls(path)
    return {u for u in urls if urlsplit(u).scheme.lower() in ("http", "https")}


def _json_feed_image_urls(path: Path) -> set[str]:
    """Images of a JSON Feed: items' `image` and `banner_image`, and img tags in `content_html`."""
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return set()
    items = document.get("items") if isinstance(document, dict) else None
    urls: set[str] = set()
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        urls |= {item[key] for key in ("image", "banner_image") if isinstance(item.get(key), str)}
        if isinstance(item.get("content_html"), str):
            urls |= _html_image_urls(item["content_html"])
    return urls


def _feed_image_urls(root: etree._Element) -> set[str]:
    urls: set[str] = set()
    for html in root.xpath("//content:encoded/text() | //item/description/text()"
                           " | //atom:content[@type='html']/text() | //atom:summary[@type='html']/text()",
                           namespaces=NS):
        urls |= _html_image_urls(html)
    for img in root.xpath("//atom:content[@type='xhtml']//xhtml:img | //atom:content[@type='xhtml']//xhtml:source",
                          namespaces=NS):
        urls |= _element_image_urls(img)
    urls |= set(root.xpath("//media:thumbnail/@url", namespaces=NS))
    urls |= set(root.xpath("//media:content[not(@medium) or @medium='image'][not(@type) or starts-with(@type, 'image/')]/@url",
                           namespaces=NS))
    urls |= set(root.xpath("//enclosure[starts-with(@type, 'image/')]/@url"
                           " | //atom:link[@rel='enclosure'][starts-with(@type, 'image/')]/@href"
                           " | /rss/channel/image/url/text() | /atom:feed/atom:logo/text() | /atom:feed/atom:icon/text()",
                           namespaces=NS))
    return {str(u).strip() for u in urls}


def _html_image_urls(fragment: str) -> set[str]:
    if not fragment.strip():
        return set()
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return set()
    urls: set[str] = set()
    for el in root.iter("img", "source"):
        urls |= _element_image_urls(el)
    return urls


def _element_image_urls(el: etree._Element) -> set[str]:
    # `source src` is a video or audio file; only `img` has an image in `src`.
    is_img = etree.QName(el).localname == "img"
    urls = {el.get("src")} if is_img and el.get("src") else set()
    urls |= {url for url, _ in parse_srcset(el.get("srcset") or "")}
    return urls
