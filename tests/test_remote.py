from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from feedserver import rss, rss_item, rss_range

from feedmill.remote import FeedError, parse_feed

URL = "https://rsshub.example.org/demo"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
CATEGORY = ("新媒体", "36kr", "资讯")


def parse(body: bytes, content_type: str | None = "application/rss+xml", **kwargs: object):
    return parse_feed(body, url=URL, content_type=content_type, category=CATEGORY, now=NOW, **kwargs)


def test_rss2_entries_become_articles() -> None:
    feed = parse(rss_range(1, 2))
    assert feed.title == "Example" and feed.warnings == []
    first = feed.entries[0]
    assert first.dated
    article = first.article
    assert article.guid == "tag:example.org,2024:item-2"
    assert article.title == "Item 2"
    assert article.link == "https://example.org/posts/2"
    assert article.published == datetime(2024, 1, 1, 2, tzinfo=timezone.utc)
    assert article.published.tzinfo is not None
    assert article.content == "<p>Body of item 2</p>"
    assert article.summary == "Body of item 2"
    assert article.categories == (CATEGORY,)
    assert article.source == URL


def test_atom_with_relative_links_author_tags_and_image() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://a.example/blog/"><title>A</title><link href="https://a.example/blog/"/>
<id>urn:a</id><updated>2024-02-01T00:00:00Z</updated>
<entry><id>urn:a:1</id><title>Hello</title><link href="posts/\xe4\xbd\xa0\xe5\xa5\xbd"/>
<published>2024-01-31T08:00:00+08:00</published><updated>2024-02-01T00:00:00Z</updated>
<author><name>Ann</name></author><category term="news"/>
<content type="html">&lt;p&gt;Hi &lt;img src="/img/a.png"&gt;&lt;/p&gt;</content></entry></feed>"""
    [entry] = parse(body, "application/atom+xml").entries
    article = entry.article
    assert article.guid == "urn:a:1"
    assert article.link == "https://a.example/blog/posts/%E4%BD%A0%E5%A5%BD"
    assert article.published == datetime(2024, 1, 31, 0, tzinfo=timezone.utc)
    assert article.updated == datetime(2024, 2, 1, tzinfo=timezone.utc)
    assert article.author == "Ann"
    assert article.tags == ("news",)
    assert article.image == "https://a.example/img/a.png"


def test_rss1_rdf_is_read() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://r.example/"><title>R</title><link>https://r.example/</link></channel>
<item rdf:about="https://r.example/1"><title>One</title><link>https://r.example/1</link>
<dc:date>2024-01-02T00:00:00Z</dc:date></item></rdf:RDF>"""
    [entry] = parse(body, "application/rdf+xml").entries
    assert (entry.article.guid, entry.article.title) == ("https://r.example/1", "One")


def test_rss091_with_netscape_doctype_is_read() -> None:
    body = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>N</title><link>https://n.example/</link>
<item><title>Old</title><link>https://n.example/old</link></item></channel></rss>"""
    [entry] = parse(body, "text/xml").entries
    assert entry.article.link == "https://n.example/old"
    assert not entry.dated


def test_gbk_feed_decoded_from_the_xml_declaration() -> None:
    body = rss(rss_item(1, "<p>中文正文</p>").replace("Item 1", "标题一"), title="中文", encoding="gbk")
    assert "标题一".encode() not in body  # really GBK bytes
    [entry] = parse(body, "application/xml").entries
    assert entry.article.title == "标题一"
    assert entry.article.content == "<p>中文正文</p>"


def test_gb18030_feed_decoded_from_the_http_header() -> None:
    body = rss(rss_item(1).replace("Item 1", "标题二"), encoding="gb18030").replace(
        b' encoding="gb18030"', b""
    )
    [entry] = parse(body, "application/rss+xml; charset=gb18030").entries
    assert entry.article.title == "标题二"


def test_json_feed() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J",
            "home_page_url": "https://j.example/",
            "authors": [{"name": "Jo"}],
            "items": [
                {"id": 7, "url": "/p/7", "title": "Seven", "content_html": "<p>7</p>",
                 "date_published": "2024-03-01T10:00:00+02:00", "tags": ["a"], "image": "/i/7.png"},
                {"id": "8", "content_text": "no title <here>", "date_published": "2024-03-02T00:00:00Z"},
            ],
        }
    ).encode()
    feed = parse(body, "application/feed+json")
    seven, eight = (e.article for e in feed.entries)
    assert (seven.guid, seven.link, seven.title, seven.author) == ("7", "https://j.example/p/7", "Seven", "Jo")
    assert seven.published == datetime(2024, 3, 1, 8, tzinfo=timezone.utc)
    assert seven.image == "https://j.example/i/7.png" and seven.tags == ("a",)
    assert eight.content == "no title &lt;here&gt;"
    assert eight.title == "no title <here>"
    assert eight.link.startswith("https://j.example/#")
    assert len(feed.warnings) == 2  # no link, no title


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "broken JSON"),
        (b'{"version": "1", "items": []}', "not a feed: JSON without a JSON Feed 1.x `version`"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": {}}', "broken JSON Feed"),
    ],
)
def test_bad_json_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason):
        parse(body, "application/json")


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="^got an HTML page, not a feed$"):
        parse(b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>x</body></html>", "text/html")


def test_broken_xml_is_refused_even_if_partly_readable() -> None:
    with pytest.raises(FeedError, match="^broken XML: "):
        parse(rss_range(1, 3)[:-40])


def test_empty_and_unknown_bodies_are_refused() -> None:
    with pytest.raises(FeedError, match="^empty response$"):
        parse(b"  \n")
    with pytest.raises(FeedError, match="^not a feed"):
        parse(b"<?xml version='1.0'?><note><to>x</to></note>", "application/xml")


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<rss version="2.0"><channel><title>&e;</title><item><title>&e;</title><guid>x</guid></item></channel></rss>"""


def test_entity_bomb_is_refused_before_parsing() -> None:
    with pytest.raises(FeedError, match=r"^XML declares entities in its DOCTYPE \(entity bomb / XXE risk\); refused$"):
        parse(BOMB)


def test_entity_bomb_in_utf16_is_refused() -> None:
    body = BOMB.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>')
    with pytest.raises(FeedError, match="entity bomb"):
        parse(body.encode("utf-16"))


def test_xxe_does_not_read_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    internal = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title><guid>g</guid></item></channel></rss>"""
    with pytest.raises(FeedError, match="XXE"):
        parse(internal.encode())
    # An external DTD is not an entity declaration we can see; feedparser must not load it either.
    external = f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "file://{secret}">
<rss version="2.0"><channel><title>t</title><item><title>ok</title><guid>g</guid>
<description>x</description></item></channel></rss>"""
    feed = parse(external.encode())
    assert all("TOP-SECRET" not in repr(e.article) for e in feed.entries)
    assert [e.article.title for e in feed.entries] == ["ok"]


def test_entity_text_inside_cdata_is_not_mistaken_for_a_declaration() -> None:
    body = rss(rss_item(1, "<pre>&lt;!ENTITY x 'y'&gt;</pre>"))
    assert len(parse(body).entries) == 1


def test_bytes_are_never_taken_for_a_file_name(tmp_path: Path) -> None:
    # feedparser opens a *string* argument as a URL or a file; a body naming a file must stay data.
    target = tmp_path / "feed.xml"
    target.write_bytes(rss_range(1, 1))
    with pytest.raises(FeedError):
        parse(str(target).encode(), "application/xml")


def test_missing_id_link_and_title_are_handled_with_one_warning_each() -> None:
    items = (
        "<item><title>Only a title</title><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>"
        "<item><description>Just some text that serves as the body</description>"
        "<pubDate>Mon, 01 Jan 2024 01:00:00 GMT</pubDate></item>"
        "<item><guid>https://example.org/from-guid</guid><title>Guid link</title></item>"
        "<item></item>"
    )
    feed = parse(rss(items))
    titled, untitled, guid_link = (e.article for e in feed.entries)
    assert titled.guid.startswith("urn:sha1:") and titled.link.startswith("https://example.org/#")
    assert untitled.title == "Just some text that serves as the body"
    assert untitled.guid.startswith("urn:sha1:") and untitled.guid != titled.guid
    assert titled.link != untitled.link
    assert guid_link.link == "https://example.org/from-guid"
    assert sorted(w.reason for w in feed.warnings) == [
        "1 entry with no date; using the time first seen: https://example.org/from-guid",
        "1 entry with no id, link, title or text; skipped: #4",
        "1 entry with no title; made one from the text: #2",
        "2 entries with no link; linked to the feed's page: Only a title, #2",
    ]
    assert all(w.source == URL for w in feed.warnings)


def test_hash_id_is_stable_when_only_the_body_changes() -> None:
    item = "<item><title>T</title><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate><description>{}</description></item>"
    before = parse(rss(item.format("old"))).entries[0].article
    after = parse(rss(item.format("new"))).entries[0].article
    assert before.guid == after.guid and before.content != after.content


@pytest.mark.parametrize("date", ["Thu, 01 Jan 2099 00:00:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_future_and_epoch_dates_are_replaced_by_the_fetch_time(date: str) -> None:
    item = f"<item><guid>urn:x:g</guid><title>T</title><pubDate>{date}</pubDate></item>"
    feed = parse(rss(item))
    [entry] = feed.entries
    assert entry.article.published == NOW and not entry.dated
    [warning] = feed.warnings
    year = date[12:16]
    assert warning.reason == f"1 entry with an implausible date ({year}-01-01); using the time first seen: urn:x:g"


def test_a_date_a_few_hours_ahead_is_trusted() -> None:
    item = "<item><guid>g</guid><title>T</title><pubDate>Sat, 01 Jun 2024 20:00:00 GMT</pubDate></item>"
    [entry] = parse(rss(item)).entries
    assert entry.dated and entry.article.published.hour == 20


def test_duplicate_guids_collapse_to_the_first() -> None:
    items = rss_item(2) + rss_item(1) + rss_item(2, "<p>second copy</p>")
    feed = parse(rss(items))
    assert [e.article.guid for e in feed.entries] == ["tag:example.org,2024:item-2", "tag:example.org,2024:item-1"]
    assert feed.entries[0].article.content == "<p>Body of item 2</p>"
    [warning] = feed.warnings
    assert warning.reason == "1 entry with duplicate id; later copies ignored: tag:example.org,2024:item-2"


def test_scripts_are_sanitized_out_of_rss_content() -> None:
    [entry] = parse(rss(rss_item(1, "<p>ok</p><script>alert(1)</script>"))).entries
    assert "script" not in entry.article.content


def test_json_feed_html_is_sanitized_and_resolved_like_xml() -> None:
    html = '<p onclick="x()">ok<img src="/a.png"></p><script>alert(1)</script>'
    item = {"id": "1", "url": "/1", "content_html": html}
    body = json.dumps({"version": "https://jsonfeed.org/version/1", "items": [item]}).encode()
    [entry] = parse(body, "application/feed+json").entries
    assert entry.article.content == '<p>ok<img src="https://rsshub.example.org/a.png" /></p>'
    assert entry.article.image == "https://rsshub.example.org/a.png"
