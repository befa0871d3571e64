"""OPML 2.0 subscription list (`feeds.opml`): every feed of the site, nested as the category tree.

Many readers import an outline that has children as a folder and ignore its `xmlUrl`, so a
category with subcategories becomes a folder that holds its own feed first, then the folders
and feeds of its subcategories. Feeds are always leaves; every URL is absolute.
"""

from __future__ import annotations

from lxml import etree

from .config import Config
from .model import FeedNode
from .render import RenderedFeed, feed_title, feed_url, xml_safe

FILE_NAME = "feeds.opml"


def render_opml(nodes: list[FeedNode], config: Config) -> RenderedFeed:
    """The OPML file listing every node's feed in config.output.opml_format."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = xml_safe(f"{config.site.title} — feeds")
    etree.SubElement(head, "ownerName").text = xml_safe(config.site.author)
    body = etree.SubElement(opml, "body")
    with_children = {node.path[:-1] for node in nodes if len(node.path) > 1}
    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    for node in sorted(nodes, key=lambda n: n.path):  # parents before their children
        parent = folders[node.path[:-1]]
        if node.path in with_children:
            parent = etree.SubElement(parent, "outline", text=xml_safe(node.path[-1]))
            folders[node.path] = parent
        _feed_outline(parent, node, config)
    data = etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True)
    return RenderedFeed(FILE_NAME, data, len(nodes))


def _feed_outline(parent: etree._Element, node: FeedNode, config: Config) -> None:
    fmt = config.output.opml_format
    text = node.path[-1] if node.path else f"{config.site.title} (all posts)"
    etree.SubElement(
        parent, "outline", type="rss", text=xml_safe(text), title=xml_safe(feed_title(node, config)),
        xmlUrl=feed_url(node, fmt, config), htmlUrl=config.site.url,
    )
