"""Parsing fetched feed bytes (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.x) into normalized articles.

Policies, decided here once:

* Identity: an entry's id is its GUID / Atom id / JSON `id`, else its link, else a hash of
  title + date. Later entries repeating an id already seen in the same feed are dropped.
* Dates: a missing date, a date more than a day in the future, or one before 1990 (epoch
  placeholders such as 1970-01-01; readers call such dates implausible) is not trusted. The entry gets the fetch time instead and is
  marked `dated=False`, so the store keeps the time it was first seen rather than moving it.
* Entries without a link point at the feed's page (with a fragment, to stay unique); entries
  without a title take one from their text; entries with no id, link, title or body are dropped.
  Each of these yields one warning per feed, not one per entry, so cron mail stays readable.
* Safety: a document whose DOCTYPE declares entities is refused before parsing (entity bombs,
  XXE). feedparser is only ever given bytes in a stream, never a string it could take for a URL
  or file name, and it sanitizes entry HTML.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import io
import json
import re
import xml.sax
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris
from requests.utils import requote_uri

from .model import Article, CategoryPath, Problem
from .normalize import EARLIEST_DATE, fold_space, html_to_text, parse_date
from .sanitize import strip_xml_illegal

# Earlier dates are implausible to readers and the W3C validator (as for posts).
_EARLIEST_TRUSTED = EARLIEST_DATE
_FUTURE_SLACK = timedelta(days=1)
_JSON_FEED_VERSION = "https://jsonfeed.org/version/1"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class FeedError(Exception):
    """The body is not a usable feed; the message is the reason."""


@dataclass(frozen=True)
class RemoteEntry:
    """One normalized entry. `article.guid` is its key within the source."""

    article: Article
    dated: bool
    """False when `article.published` is the fetch time standing in for a missing or bad date."""


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: list[RemoteEntry]
    """Upstream order (normally newest first), duplicates removed."""
    warnings: list[Problem]


@dataclass
class _Raw:
    """An entry as read from either format, before the policies above are applied."""

    id: str = ""
    link: str = ""
    title: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    author: str = ""
    summary_html: str = ""
    content_html: str = ""
    tags: tuple[str, ...] = ()
    image: str = ""


def _xml_safe_raw(raw: _Raw) -> _Raw:
    """Drop characters XML cannot carry (control characters, lone surrogates) from every text
    field: upstream feeds have them, and one in a stored id would break every later build."""
    return replace(
        raw,
        **{name: strip_xml_illegal(getattr(raw, name))
           for name in ("id", "link", "title", "author", "summary_html", "content_html", "image")},
        tags=tuple(strip_xml_illegal(tag) for tag in raw.tags),
    )


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    base_url: str | None = None,
    category: CategoryPath = (),
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse one fetched body; raise FeedError if it is not a feed we can trust.

    `url` names the source in articles and warnings; `base_url` (default `url`, normally the
    URL after redirects) resolves relative links.
    """
    if not body.strip():
        raise FeedError("empty response")
    base = base_url or url
    if _looks_like_json(body, content_type):
        title, link, raws = _read_json_feed(body, base)
    else:
        title, link, raws = _read_xml_feed(body, content_type, base)
    context = _Context(url, urljoin(base, link) if link else base, category, now or datetime.now(timezone.utc))
    entries = context.normalize_all(raws)
    return ParsedFeed(title, entries, context.warnings())


# --- XML (feedparser) ---------------------------------------------------------------------


def _read_xml_feed(body: bytes, content_type: str | None, base: str) -> tuple[str, str, list[_Raw]]:
    if _declares_entities(body):
        raise FeedError("XML declares entities in its DOCTYPE (entity bomb / XXE risk); refused")
    headers = {"content-location": base}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    error = parsed.get("bozo_exception")
    if not parsed.get("version"):
        if _looks_like_html(body, content_type):
            raise FeedError("got an HTML page, not a feed")
        if isinstance(error, xml.sax.SAXException):
            raise FeedError(f"broken XML: {error}")
        raise FeedError("not a feed: no RSS, Atom or JSON Feed document found")
    if isinstance(error, xml.sax.SAXException):
        # feedparser would fall back to guessing; a half-read feed must not overwrite good articles.
        raise FeedError(f"broken XML: {error}")
    feed = parsed.feed
    return feed.get("title", ""), feed.get("link", ""), [_raw_from_feedparser(e) for e in parsed.entries]


def _declares_entities(body: bytes) -> bool:
    """True if the prolog (before the root element) contains an ENTITY declaration."""
    # Markup is ASCII in every ASCII-compatible charset (UTF-8, GBK, ...), so latin-1 is enough.
    text = body.decode("utf-16", "replace") if body.startswith(_UTF16_BOMS) else body.decode("latin-1")
    root = re.search(r"<[^!?]", text)
    return "<!ENTITY" in (text[: root.start()] if root else text)


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    if content_type and "html" in content_type.lower() and "xhtml" not in content_type.lower():
        return True
    return re.search(rb"<(!doctype\s+html|html)[\s>]", body[:4096].lower()) is not None


def _raw_from_feedparser(entry: dict[str, Any]) -> _Raw:
    return _Raw(
        id=(entry.get("id") or "").strip(),
        link=(entry.get("link") or "").strip(),
        title=(entry.get("title") or "").strip(),
        # dict.get skips FeedParserDict's deprecated updated->published aliasing (and its warning).
        published=_from_struct(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")),
        updated=_from_struct(dict.get(entry, "updated_parsed")),
        author=(entry.get("author") or "").strip(),
        summary_html=entry.get("summary") or "",
        content_html=_feedparser_content(entry),
        tags=tuple(t["term"].strip() for t in entry.get("tags") or () if (t.get("term") or "").strip()),
        image=_feedparser_image(entry),
    )


def _feedparser_content(entry: Mapping[str, Any]) -> str:
    contents = entry.get("content") or ()
    html = [c.get("value", "") for c in contents if "html" in (c.get("type") or "")]
    text = [escape(c.get("value", "")) for c in contents if "html" not in (c.get("type") or "")]
    return (html or text or [""])[0]


def _feedparser_image(entry: Mapping[str, Any]) -> str:
    for enclosure in entry.get("enclosures") or ():
        if (enclosure.get("type") or "").startswith("image/") and enclosure.get("href"):
            return enclosure["href"]
    for thumbnail in entry.get("media_thumbnail") or ():
        if thumbnail.get("url"):
            return thumbnail["url"]
    for media in entry.get("media_content") or ():
        is_image = media.get("medium") == "image" or (media.get("type") or "").startswith("image/")
        if is_image and media.get("url"):
            return media["url"]
    return ""


def _from_struct(value: Any) -> datetime | None:
    # feedparser hands back UTC time tuples.
    return datetime.fromtimestamp(calendar.timegm(value), timezone.utc) if value else None


# --- JSON Feed -----------------------------------------------------------------------------


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _read_json_feed(body: bytes, base: str) -> tuple[str, str, list[_Raw]]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"broken JSON: {exc}") from None
    except RecursionError:
        raise FeedError("broken JSON: nested too deeply") from None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version.startswith(_JSON_FEED_VERSION):
        raise FeedError("not a feed: JSON without a JSON Feed 1.x `version`")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError("broken JSON Feed: `items` is not a list")
    raws = [_raw_from_json(item, data, base) for item in items if isinstance(item, dict)]
    return _text(data.get("title")), _text(data.get("home_page_url")), raws


def _raw_from_json(item: dict[str, Any], feed: dict[str, Any], base: str) -> _Raw:
    html = _text(item.get("content_html"))
    content = _clean_html(html, base) if html else escape(_text(item.get("content_text")))
    tags = item.get("tags")
    return _Raw(
        id=_text(item.get("id")),
        link=_text(item.get("url")) or _text(item.get("external_url")),
        title=_text(item.get("title")),
        published=_parse_date(item.get("date_published") or item.get("date_modified")),
        updated=_parse_date(item.get("date_modified")),
        author=_json_author(item) or _json_author(feed),
        summary_html=escape(_text(item.get("summary"))),
        content_html=content,
        tags=tuple(t.strip() for t in _as_list(tags) if isinstance(t, str) and t.strip()),
        image=_text(item.get("image")) or _text(item.get("banner_image")),
    )


def _clean_html(html: str, base: str) -> str:
    """Give JSON Feed HTML the same URL resolving and sanitizing feedparser gives RSS and Atom."""
    # These feedparser helpers are outside its documented API, hence the <7 pin.
    resolved = resolve_relative_uris(html, base, "utf-8", "text/html")
    return str(_sanitize_html(resolved, "utf-8", "text/html"))


def _json_author(data: dict[str, Any]) -> str:
    # 1.1 has `authors` (a list); 1.0 had a single `author`.
    authors = _as_list(data.get("authors")) or [data.get("author")]
    names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
    return ", ".join(n for n in names if n)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    # JSON Feed ids may be numbers; anything else that is not text counts as missing.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _parse_date(value: Any) -> datetime | None:
    """JSON Feed dates are RFC 3339; RFC 822 is accepted too; no offset means UTC."""
    return parse_date(value, timezone.utc)


# --- Normalizing ---------------------------------------------------------------------------


class _Context:
    """Applies the module's policies to one feed's entries and gathers the warnings."""

    def __init__(self, source: str, page: str, category: CategoryPath, now: datetime) -> None:
        self.source = source
        self.page = page
        self.category = category
        self.now = now
        self._issues: dict[str, list[str]] = {}

    def normalize_all(self, raws: Iterable[_Raw]) -> list[RemoteEntry]:
        entries: dict[str, RemoteEntry] = {}
        for position, raw in enumerate(raws, start=1):
            entry = self._normalize(_xml_safe_raw(raw), position)
            if entry is None:
                continue
            if entry.article.guid in entries:
                self._note("duplicate id; later copies ignored", entry.article.guid)
                continue
            entries[entry.article.guid] = entry
        return list(entries.values())

    def warnings(self) -> list[Problem]:
        return [
            Problem(self.source, f"{len(labels)} entr{'y' if len(labels) == 1 else 'ies'} with {issue}: "
                    + ", ".join(labels[:3]) + (", ..." if len(labels) > 3 else ""))
            for issue, labels in self._issues.items()
        ]

    def _note(self, issue: str, label: str) -> None:
        self._issues.setdefault(issue, []).append(label)

    def _normalize(self, raw: _Raw, position: int) -> RemoteEntry | None:
        label = raw.id or raw.link or raw.title or f"#{position}"
        if not (raw.id or raw.link or raw.title or raw.content_html or raw.summary_html):
            self._note("no id, link, title or text; skipped", label)
            return None
        published, dated = self._trusted_date(raw.published, label)
        guid = self._guid(raw, published if dated else None)
        link = self._link(raw, guid, label)
        content = raw.content_html or raw.summary_html
        summary = _plain_text(raw.summary_html) or _plain_text(content)
        article = Article(
            source=self.source,
            title=self._title(raw, summary, label),
            link=link,
            guid=guid,
            published=published,
            updated=raw.updated if raw.updated and self._plausible(raw.updated) else None,
            author=raw.author or None,
            summary=summary,
            content=content,
            categories=(self.category,) if self.category else (),
            tags=raw.tags,
            image=_absolute(link, raw.image or _first_image(content)) or None,
        )
        return RemoteEntry(article, dated)

    def _guid(self, raw: _Raw, published: datetime | None) -> str:
        if raw.id:
            return raw.id
        if raw.link:
            return _absolute(self.page, raw.link)
        return _hash_id(raw, published)

    def _link(self, raw: _Raw, guid: str, label: str) -> str:
        if raw.link:
            return _absolute(self.page, raw.link)
        if raw.id.startswith(("http://", "https://")):
            return _absolute(self.page, raw.id)
        self._note("no link; linked to the feed's page", label)
        # The page is shared by all such entries; the fragment keeps each link unique.
        fragment = hashlib.sha1(guid.encode()).hexdigest()[:12]
        return f"{_absolute(self.page, self.page).split('#')[0]}#{fragment}"

    def _title(self, raw: _Raw, summary: str, label: str) -> str:
        if raw.title:
            return " ".join(raw.title.split())
        self._note("no title; made one from the text", label)
        return (summary[:60] + "…" if len(summary) > 60 else summary) or "Untitled"

    def _trusted_date(self, value: datetime | None, label: str) -> tuple[datetime, bool]:
        if value is None:
            self._note("no date; using the time first seen", label)
            return self.now, False
        if not self._plausible(value):
            self._note(f"an implausible date ({value:%Y-%m-%d}); using the time first seen", label)
            return self.now, False
        return value, True

    def _plausible(self, value: datetime) -> bool:
        return _EARLIEST_TRUSTED <= value <= self.now + _FUTURE_SLACK


def _hash_id(raw: _Raw, published: datetime | None) -> str:
    # Only for entries with neither id nor link; the body is left out so edits keep the id.
    basis = raw.title or _plain_text(raw.content_html or raw.summary_html)[:200]
    stamp = published.isoformat() if published else ""
    return "urn:sha1:" + hashlib.sha1(f"{basis}\n{stamp}".encode()).hexdigest()


def _absolute(base: str, url: str) -> str:
    return requote_uri(urljoin(base, url.strip())) if url else ""


def _plain_text(html: str) -> str:
    return fold_space(html_to_text(html))


def _first_image(html: str) -> str:
    match = re.search(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']""", html, re.IGNORECASE)
    return match.group(1) if match else ""
