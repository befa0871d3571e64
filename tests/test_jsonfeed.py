"""JSON Feed 1.1 beside RSS and Atom: valid per the spec's rules, and the same posts."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlsplit

import feedparser
import pytest

from feedmill import ConfigError, build

VERSION = "https://jsonfeed.org/version/1.1"


def is_absolute_url(value: object) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc and value.isascii())


def is_rfc3339(value: object) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def check_authors(authors: object, where: str) -> list[str]:
    if not isinstance(authors, list) or not authors:
        return [f"{where}.authors must be a non-empty array"]
    return [f"{where}.authors[{i}] needs a name, url or avatar" for i, a in enumerate(authors)
            if not isinstance(a, dict) or not any(isinstance(a.get(k), str) and a[k] for k in ("name", "url", "avatar"))]


def jsonfeed_11_errors(feed: object) -> list[str]:
    """The rules of https://jsonfeed.org/version/1.1 that apply to what feedmill writes."""
    if not isinstance(feed, dict):
        return ["top level must be an object"]
    errors = []
    if feed.get("version") != VERSION:
        errors.append(f"version must be {VERSION}")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        errors.append("title is required")
    for key in ("home_page_url", "feed_url"):
        if key in feed and not is_absolute_url(feed[key]):
            errors.append(f"{key} must be an absolute URL")
    for key in ("description", "language"):
        if key in feed and not isinstance(feed[key], str):
            errors.append(f"{key} must be a string")
    if "authors" in feed:
        errors += check_authors(feed["authors"], "feed")
    for hub in feed.get("hubs", []):
        if not (isinstance(hub, dict) and isinstance(hub.get("type"), str) and is_absolute_url(hub.get("url"))):
            errors.append("each hub needs a type and a url")
    items = feed.get("items")
    if not isinstance(items, list):
        return errors + ["items must be an array"]
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    if len(set(ids)) != len(ids):
        errors.append("item ids must be unique")
    for n, item in enumerate(items):
        errors += [f"items[{n}]: {e}" for e in item_errors(item)]
    return errors


def item_errors(item: object) -> list[str]:
    if not isinstance(item, dict):
        return ["must be an object"]
    errors = []
    if not isinstance(item.get("id"), str) or not item["id"]:
        errors.append("id must be a non-empty string")
    if not isinstance(item.get("content_html"), str) and not isinstance(item.get("content_text"), str):
        errors.append("content_html or content_text is required")
    for key in ("url", "image"):
        if key in item and not is_absolute_url(item[key]):
            errors.append(f"{key} must be an absolute URL")
    for key in ("title", "summary", "content_html"):
        if key in item and not isinstance(item[key], str):
            errors.append(f"{key} must be a string")
    for key in ("date_published", "date_modified"):
        if key in item and not is_rfc3339(item[key]):
            errors.append(f"{key} must be RFC 3339")
    if "tags" in item and not (isinstance(item["tags"], list) and all(isinstance(t, str) for t in item["tags"])):
        errors.append("tags must be an array of strings")
    if "authors" in item:
        errors += check_authors(item["authors"], "item")
    return errors


def site(project) -> None:
    project.post("a/one.md", title="One <&> \"quoted\"", categories="[新媒体, 36kr]", date="2021-07-29 08:00:00",
                 extra="tags: [t1]\nheadimg: https://img.example/1.jpg\nupdated: 2021-08-01 10:00:00\n",
                 body="<p>First</p>")
    project.post("b/two.md", title="Two", categories="[新媒体]", date="2021-08-11 09:07:51",
                 extra="description: Short summary\n", body="<p>Second</p>")
    project.post("c/three.md", title="Three", categories="[编程]", date="2021-08-12T00:00:00Z")


def test_every_node_gets_a_valid_json_feed(project):
    site(project)
    report = build(project.config())
    json_files = sorted(p for p in report.feeds_written if p.endswith(".json"))
    assert json_files == ["bian-cheng/feed.json", "feed.json", "xin-mei-ti/36kr/feed.json", "xin-mei-ti/feed.json"]
    for relpath in json_files:
        feed = json.loads((project.out / relpath).read_text(encoding="utf-8"))
        assert jsonfeed_11_errors(feed) == [], relpath
        assert feed["feed_url"] == "https://example.org/feeds/" + relpath


def test_json_feed_has_the_same_items_as_atom_and_rss(project):
    site(project)
    build(project.config())
    feed = json.loads((project.out / "xin-mei-ti" / "feed.json").read_bytes())
    atom = feedparser.parse((project.out / "xin-mei-ti" / "atom.xml").read_bytes())
    rss = feedparser.parse((project.out / "xin-mei-ti" / "rss.xml").read_bytes())
    assert feed["title"] == atom.feed.title == "Test Site — 新媒体"
    assert [i["id"] for i in feed["items"]] == [e.id for e in atom.entries] == [e.id for e in rss.entries]
    assert [i["title"] for i in feed["items"]] == [e.title for e in atom.entries] == ["Two", 'One <&> "quoted"']
    two, one = feed["items"]
    assert two["summary"] == "Short summary" and two["content_html"] == "<p>Second</p>"
    assert two["date_published"] == "2021-08-11T09:07:51+08:00" and "date_modified" not in two
    assert one["date_modified"] == "2021-08-01T10:00:00+08:00"
    assert one["image"] == "https://img.example/1.jpg"
    assert one["tags"] == ["新媒体/36kr", "t1"] == [t.term for t in atom.entries[1].tags]
    assert one["authors"] == [{"name": "Tester"}]
    assert feed["language"] == "zh-CN" and feed["authors"] == [{"name": "Test Site"}]
    assert "hubs" not in feed


def test_json_feed_is_utf8_text_not_escapes(project):
    site(project)
    build(project.config())
    raw = (project.out / "feed.json").read_bytes()
    assert "新媒体".encode() in raw and b"\\u" not in raw
    assert raw.endswith(b"}\n")


@pytest.mark.parametrize(("formats", "expected"), [
    (["rss"], {"rss.xml"}),
    (["json"], {"feed.json"}),
    (["atom", "json", "atom"], {"atom.xml", "feed.json"}),
])
def test_formats_choose_the_files_written(project, formats, expected):
    site(project)
    report = build(project.config(output={"dir": "feeds", "formats": formats}))
    feed_names = {"rss.xml", "atom.xml", "feed.json"}
    assert {p.rsplit("/", 1)[-1] for p in report.feeds_written} & feed_names == expected
    assert {p.name for p in project.out.rglob("*")} & feed_names == expected


@pytest.mark.parametrize(("output", "key", "message"), [
    ({"formats": []}, "output.formats", "one or more of rss, atom, json"),
    ({"formats": ["rss", "html"]}, "output.formats", "one or more of rss, atom, json"),
    ({"formats": "rss"}, "output.formats", "expected a list"),
    ({"formats": ["rss"], "opml_format": "atom"}, "output.opml_format", "one of output.formats"),
    ({"stylesheet": "yes"}, "output.stylesheet", "expected true or false"),
])
def test_bad_format_settings_are_config_errors(project, output, key, message):
    site(project)
    with pytest.raises(ConfigError) as caught:
        build(project.config(output={"dir": "feeds", **output}))
    assert caught.value.key == key and message in str(caught.value)
    assert not project.out.exists()
