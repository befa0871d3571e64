"""feeds.opml: every written feed once, nested as the category tree, absolute URLs, escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from feedmill import build

TRICKY = 'A<b> & "Q" \'x\''
HEBREW = "חדשות"


def site(project) -> None:
    project.post("one.md", title="One", categories="[新媒体, 36kr, 资讯]", date="2021-07-29 08:00:00")
    project.post("two.md", title="Two", categories=f"['{TRICKY.replace(chr(39), chr(39) * 2)}']",
                 date="2021-08-11 09:07:51")
    project.post("three.md", title="Three", categories=f"[{HEBREW}]", date="2021-08-12 00:00:00")


def outlines(path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "opml" and root.get("version") == "2.0"
    return root


def test_opml_lists_exactly_the_written_feeds_with_absolute_urls(project):
    site(project)
    report = build(project.config())
    root = outlines(project.out / "feeds.opml")
    feeds = [o for o in root.iter("outline") if o.get("xmlUrl")]
    urls = [o.get("xmlUrl") for o in feeds]
    written = ["https://example.org/feeds/" + p for p in report.feeds_written if p.endswith("rss.xml")]
    assert len(urls) == len(set(urls)) and sorted(urls) == sorted(written)
    for outline in feeds:
        assert outline.get("type") == "rss" and outline.get("htmlUrl") == "https://example.org/"
        assert outline.get("title").startswith("Test Site")
    assert root.findtext("head/title") == "Test Site — feeds"


def test_opml_nests_the_category_tree_with_feeds_as_leaves(project):
    site(project)
    build(project.config())
    body = outlines(project.out / "feeds.opml").find("body")
    top = [(o.get("text"), o.get("xmlUrl")) for o in body]
    assert top[0] == ("Test Site (all posts)", "https://example.org/feeds/rss.xml")
    folder = next(o for o in body if o.get("text") == "新媒体")
    assert folder.get("xmlUrl") is None  # folders hold feeds; readers ignore a folder's own URL
    assert [(o.get("text"), o.get("xmlUrl")) for o in folder] == [
        ("新媒体", "https://example.org/feeds/xin-mei-ti/rss.xml"), ("36kr", None)]
    leaf = folder[1][1]
    assert (leaf.get("text"), leaf.get("title"), leaf.get("xmlUrl")) == (
        "资讯", "Test Site — 新媒体 › 36kr › 资讯", "https://example.org/feeds/xin-mei-ti/36kr/zi-xun/rss.xml")
    assert all(len(o) == 0 for o in body.iter("outline") if o.get("xmlUrl"))


def test_opml_escapes_titles_and_keeps_right_to_left_text(project):
    site(project)
    build(project.config())
    raw = (project.out / "feeds.opml").read_bytes()
    assert b"A<b>" not in raw and "A&lt;b&gt; &amp; &quot;Q&quot;".encode() in raw
    texts = {o.get("text") for o in outlines(project.out / "feeds.opml").iter("outline")}
    assert TRICKY in texts and HEBREW in texts


def test_opml_format_picks_the_format_the_opml_points_to(project):
    site(project)
    build(project.config(output={"dir": "feeds", "opml_format": "json"}))
    urls = [o.get("xmlUrl") for o in outlines(project.out / "feeds.opml").iter("outline") if o.get("xmlUrl")]
    assert urls and all(u.endswith("/feed.json") for u in urls)
    assert all((project.out / u.removeprefix("https://example.org/feeds/")).is_file() for u in urls)
