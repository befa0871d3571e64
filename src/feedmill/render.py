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
from lxml import etree

from . import __version__
from .config import FEED_FILE_NAMES, Config
from .group import feed_relpath
from .model import Article, FeedNode
from .sanitize import strip_xml_illegal as xml_safe

_MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
FORMATS = {fmt: (name, _MEDIA_TYPES[fmt]) for fmt, name in FEED_FILE_NAMES.items()}
"""Format -> (file name, media type). JSON Feeds are rendered by jsonfeed.py, the others here."""
STYLESHEET = "feed.xsl"
"""The XSL file beside the site-wide feeds that turns RSS and Atom into a page for browsers."""
_ATOM_NS = "http://www.w3.org/2005/Atom"
PATH_SEPARATOR = " › "
_EMPTY_FEED_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class RenderedFeed:
    relpath: str
    """Path under the output folder, e.g. 'xin-mei-ti/36kr/rss.xml'."""
    data: bytes
    items: int


def feed_url(node: FeedNode, fmt: str, config: Config) -> str:
    return config.output.url + feed_relpath(node, fmt)


def feed_title(node: FeedNode, config: Config) -> str:
    if not node.path:
        return config.site.title
    return f"{config.site.title} — {PATH_SEPARATOR.join(node.path)}"


def render_node(node: FeedNode, config: Config) -> list[RenderedFeed]:
    """The RSS and Atom files of one feed, those of the two that config.output.formats names."""
    generator = _feed_generator(node, config)
    rendered = []
    for fmt in ("rss", "atom"):
        if fmt not in config.output.formats:
            continue
        self_url = feed_url(node, fmt, config)
        # Self link first, site link last: feedgen puts the last link into RSS <channel><link>.
        generator.link(href=self_url, rel="self", type=FORMATS[fmt][1], replace=True)
        if config.websub.hub:
            generator.link(href=config.websub.hub, rel="hub")
        generator.link(href=config.site.url, rel="alternate")
        generator.id(self_url)
        to_xml = generator.rss_str if fmt == "rss" else generator.atom_str
        data = _finish_xml(to_xml(pretty=True), node, config)
        rendered.append(RenderedFeed(feed_relpath(node, fmt), data, len(node.articles)))
    return rendered


def _finish_xml(data: bytes, node: FeedNode, config: Config) -> bytes:
    """Add what feedgen cannot write: the RSS hub link and the browser stylesheet."""
    if config.websub.hub and data.startswith(b"<?xml") and b"<rss" in data[:200]:
        parser = etree.XMLParser(strip_cdata=False, resolve_entities=False, huge_tree=True)
        root = etree.fromstring(data, parser)
        _add_rss_hub(root, config.websub.hub)
        data = etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=True, pretty_print=True)
    if config.output.stylesheet:
        # Inserted as text after the XML declaration: re-serializing a large feed to add one
        # line cost 1.5 s per 10,000-post build. The href is an ASCII slug path.
        declaration_end = data.index(b"?>") + 2
        instruction = f'\n<?xml-stylesheet type="text/xsl" href="{stylesheet_href(node)}"?>'.encode("ascii")
        data = data[:declaration_end] + instruction + data[declaration_end:]
    return data


def stylesheet_href(node: FeedNode) -> str:
    """Relative, so the stylesheet is same-origin wherever feeds/ is served (browsers refuse
    cross-origin XSL), and correct at every depth of the category tree."""
    return "../" * len(node.slugs) + STYLESHEET


def _add_rss_hub(root: etree._Element, hub: str) -> None:
    """feedgen writes only the self link into RSS; WebSub needs atom:link rel="hub" beside it."""
    self_link = root.find(f"channel/{{{_ATOM_NS}}}link[@rel='self']")
    hub_link = etree.Element(f"{{{_ATOM_NS}}}link", href=hub, rel="hub")
    hub_link.tail = self_link.tail
    self_link.addnext(hub_link)


def _feed_generator(node: FeedNode, config: Config) -> FeedGenerator:
    site = config.site
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.load_extension("media")
    title = xml_safe(feed_title(node, config))
    generator.title(title)
    generator.description(xml_safe(feed_description(node, config)))
    generator.language(site.language)
    generator.author({"name": xml_safe(site.author)})
    generator.generator("feedmill", version=__version__, uri="https://pypi.org/project/feedmill/")
    newest = max((_distinct_updated(a) for a in node.articles), default=_EMPTY_FEED_DATE)
    generator.updated(newest)
    generator.lastBuildDate(newest)
    for article in node.articles:
        _add_entry(generator, article)
    return generator


def feed_description(node: FeedNode, config: Config) -> str:
    if node.path:
        return f"Posts filed under {PATH_SEPARATOR.join(node.path)} on {config.site.title}"
    return config.site.description or f"Posts on {config.site.title}"


def _last_change(article: Article) -> datetime:
    return article.updated or article.published


def body_html(article: Article) -> str:
    """The article's HTML; an entry with an empty body (a bare upstream entry) gets its summary
    or title as a paragraph: readers, Atom (`NotBlank`) and JSON Feed all want some content."""
    if article.content.strip():
        return article.content
    return f"<p>{html.escape(article.summary or article.title, quote=False)}</p>"


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
    # A body with no text (images only) has no summary; the title stands in, so that RSS still
    # gets both <description> and <content:encoded> (feedgen drops the latter without the former).
    summary = xml_safe(article.summary or article.title)
    entry.summary(summary)
    entry.description(html.escape(summary, quote=False))
    entry.content(xml_safe(body_html(article)), type="html")
    if article.image:
        entry.media.content({"url": article.image, "medium": "image"}, group=None)
        entry.media.thumbnail({"url": article.image}, group=None)
