"""Render stage: RSS 2.0 and Atom XML for one FeedNode, with feedgen.

Output depends only on the input: feed dates are the newest item's, never the current time.
feedgen's traps are handled here (see ../shared/docs/feed-checklist.md in the workplace):
entries are appended, the self link comes first, authors go to dc:creator in RSS.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from feedgen.feed import FeedGenerator

from . import __version__
from .config import Config
from .model import Article, FeedNode
from .sanitize import strip_xml_illegal as xml_safe

FORMATS = {"rss": ("rss.xml", "application/rss+xml"), "atom": ("atom.xml", "application/atom+xml")}
PATH_SEPARATOR = " › "
_EMPTY_FEED_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class RenderedFeed:
    relpath: str
    """Path under the output folder, e.g. 'xin-mei-ti/36kr/rss.xml'."""
    data: bytes
    items: int


def feed_relpath(node: FeedNode, fmt: str) -> str:
    return "/".join((*node.slugs, FORMATS[fmt][0]))


def feed_title(node: FeedNode, config: Config) -> str:
    if not node.path:
        return config.site.title
    return f"{config.site.title} — {PATH_SEPARATOR.join(node.path)}"


def render_node(node: FeedNode, config: Config) -> list[RenderedFeed]:
    """Both formats of one feed."""
    generator = _feed_generator(node, config)
    rendered = []
    for fmt, (_, mime) in FORMATS.items():
        self_url = config.output.url + feed_relpath(node, fmt)
        # Self link first, site link last: feedgen puts the last link into RSS <channel><link>.
        generator.link(href=self_url, rel="self", type=mime, replace=True)
        generator.link(href=config.site.url, rel="alternate")
        generator.id(self_url)
        to_xml = generator.rss_str if fmt == "rss" else generator.atom_str
        rendered.append(RenderedFeed(feed_relpath(node, fmt), to_xml(pretty=True), len(node.articles)))
    return rendered


def _feed_generator(node: FeedNode, config: Config) -> FeedGenerator:
    site = config.site
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.load_extension("media")
    title = xml_safe(feed_title(node, config))
    generator.title(title)
    generator.description(xml_safe(_description(node, config)))
    generator.language(site.language)
    generator.author({"name": xml_safe(site.author)})
    generator.generator("feedmill", version=__version__, uri="https://pypi.org/project/feedmill/")
    newest = max((_distinct_updated(a) for a in node.articles), default=_EMPTY_FEED_DATE)
    generator.updated(newest)
    generator.lastBuildDate(newest)
    for article in node.articles:
        _add_entry(generator, article)
    return generator


def _description(node: FeedNode, config: Config) -> str:
    if node.path:
        return f"Posts filed under {PATH_SEPARATOR.join(node.path)} on {config.site.title}"
    return config.site.description or f"Posts on {config.site.title}"


def _last_change(article: Article) -> datetime:
    return article.updated or article.published


def _distinct_updated(article: Article) -> datetime:
    """The article's last change, made distinct from other articles' below one second.

    Posts often carry date-only timestamps (midnight), and the W3C validator warns when two
    Atom entries share an `updated` value. A sub-second offset derived from the guid keeps each
    article's value stable across builds and feeds while no reader shows the difference.
    """
    changed = _last_change(article)
    if changed.microsecond:
        return changed
    digest = hashlib.sha1(article.guid.encode("utf-8")).digest()
    return changed + timedelta(microseconds=1 + int.from_bytes(digest[:4], "big") % 999_999)


def _add_entry(generator: FeedGenerator, article: Article) -> None:
    entry = generator.add_entry(order="append")
    entry.guid(article.guid, permalink=article.guid == article.link)
    entry.title(xml_safe(article.title))
    entry.link(href=article.link)
    entry.published(article.published)
    entry.updated(_distinct_updated(article))
    if article.author:
        entry.author({"name": xml_safe(article.author)})
        entry.dc.dc_creator(xml_safe(article.author))
    terms = ["/".join(path) for path in article.categories] + list(article.tags)
    if terms:
        entry.category([{"term": xml_safe(term)} for term in dict.fromkeys(terms)])
    # Atom: plain-text <summary> and HTML <content>. RSS: <description> is HTML by convention
    # (the validator reads `&IP` in it as a broken entity), so it gets the summary escaped.
    # feedgen's description() also overwrites the Atom content, so content() comes last.
    if article.summary:
        entry.summary(xml_safe(article.summary))
        entry.description(html.escape(xml_safe(article.summary), quote=False))
    entry.content(xml_safe(article.content), type="html")
    if article.image:
        entry.media.content({"url": article.image, "medium": "image"}, group=None)
        entry.media.thumbnail({"url": article.image}, group=None)
