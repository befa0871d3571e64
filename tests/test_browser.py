"""The browser side: feed.xsl renders RSS and Atom, index.html lists every feed, `snippet` prints
autodiscovery tags; titles with markup characters and right-to-left text come out escaped.
The last tests open the feeds in a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest
from click.testing import CliRunner
from lxml import etree

from feedmill import build
from feedmill.cli import main
from feedmill.serve import PreviewServer, make_server

TRICKY = 'A<b> & "Q"'
HEBREW = "חדשות"
ITEM = '<script>alert("x")</script> & co'
OUT_URL = "https://example.org/feeds/"


def site(project) -> None:
    yaml_tricky = TRICKY.replace('"', '\\"')
    project.post("one.md", title="'" + ITEM.replace("'", "''") + "'", categories=f'["{yaml_tricky}", {HEBREW}]',
                 date="2021-07-29 08:00:00", extra="description: First summary\n")
    project.post("two.md", title="Two", categories=f"[{HEBREW}]", date="2021-08-11 09:07:51")


def transform(feed: Path) -> lxml.html.HtmlElement:
    """Apply the stylesheet the feed's own processing instruction names, as a browser would."""
    document = etree.parse(str(feed))
    href = re.search(r'href="([^"]+)"', document.getroot().getprevious().text).group(1)
    stylesheet = etree.XSLT(etree.parse(str((feed.parent / href).resolve())))
    return lxml.html.fromstring(str(stylesheet(document)))


def texts(page: lxml.html.HtmlElement, xpath: str) -> list[str]:
    return [element.text_content().strip() for element in page.xpath(xpath)]


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_stylesheet_renders_the_feed_with_escaped_titles(project, name):
    site(project)
    build(project.config())
    feed = project.out / "a-b-q" / "khdshvt" / name
    raw_html = etree.tostring(transform(feed), encoding="unicode")
    page = transform(feed)
    assert texts(page, "//h1") == [f"Test Site — {TRICKY} › {HEBREW}"]
    assert texts(page, "//article/h2") == [ITEM]
    assert page.xpath("//article/h2/a/@href") == ["https://example.org/2021/07/29/one/"]
    assert texts(page, "//article/p") == ["First summary"]
    assert texts(page, "//article/time")[0] in ("Thu, 29 Jul 2021 08:00:00 +0800", "2021-07-29")
    assert page.xpath("//input/@value") == [OUT_URL + "a-b-q/khdshvt/" + name]
    assert "<script>" not in raw_html and "&lt;script&gt;" in raw_html
    assert page.xpath("//h1/@dir") == ["auto"]


def test_stylesheet_never_links_a_non_web_url(tmp_path, project):
    build(project.config())
    feed = tmp_path / "rss.xml"
    feed.write_text(
        '<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="feed.xsl"?>'
        '<rss version="2.0"><channel><title>T</title><link>javascript:alert(1)</link><description>D</description>'
        '<item><title>Bad</title><link>javascript:alert(2)</link></item></channel></rss>', encoding="utf-8")
    shutil.copy(project.out / "feed.xsl", tmp_path / "feed.xsl")
    page = transform(feed)
    assert texts(page, "//article/h2") == ["Bad"] and page.xpath("//a") == []


def test_every_feed_finds_the_stylesheet_at_its_depth(project):
    site(project)
    build(project.config())
    feeds = [p for p in project.out.rglob("*.xml")]
    assert {len(p.relative_to(project.out).parts) for p in feeds} == {1, 2, 3}
    for feed in feeds:
        document = etree.parse(str(feed))
        instruction = document.getroot().getprevious()
        assert instruction.target == "xml-stylesheet" and instruction.get("type") == "text/xsl"
        assert (feed.parent / instruction.get("href")).resolve() == (project.out / "feed.xsl").resolve()


def test_stylesheet_false_writes_plain_feeds(project):
    site(project)
    build(project.config(output={"dir": "feeds", "stylesheet": False, "index": False}))
    assert not (project.out / "feed.xsl").exists() and not (project.out / "index.html").exists()
    assert b"xml-stylesheet" not in (project.out / "rss.xml").read_bytes()


def test_no_stylesheet_without_xml_feeds(project):
    site(project)
    build(project.config(output={"dir": "feeds", "formats": ["json"]}))
    assert not (project.out / "feed.xsl").exists() and (project.out / "index.html").is_file()


def test_index_lists_every_feed_with_counts_dates_and_working_links(project):
    site(project)
    report = build(project.config())
    page = lxml.html.parse(str(project.out / "index.html")).getroot()
    rows = page.xpath("//tbody/tr")
    assert [texts(row, "td")[:3] for row in rows] == [
        ["All posts", "2", "2021-08-11"], [TRICKY, "1", "2021-07-29"], [HEBREW, "1", "2021-07-29"],
        [HEBREW, "1", "2021-08-11"],
    ]
    hrefs = page.xpath("//tbody//a/@href")
    assert sorted(hrefs) == sorted(p for p in report.feeds_written if p.rsplit("/", 1)[-1] in
                                   ("rss.xml", "atom.xml", "feed.json"))
    assert all((project.out / href).is_file() for href in hrefs + page.xpath("//main/p/a/@href"))
    discovery = page.xpath("//head/link[@rel='alternate']")
    assert [(link.get("type"), link.get("href")) for link in discovery] == [
        ("application/rss+xml", OUT_URL + "rss.xml"), ("application/atom+xml", OUT_URL + "atom.xml"),
        ("application/feed+json", OUT_URL + "feed.json")]


def test_index_escapes_names_and_marks_their_direction(project):
    site(project)
    build(project.config())
    raw = (project.out / "index.html").read_text(encoding="utf-8")
    assert "A<b>" not in raw and "A&lt;b&gt; &amp; &quot;Q&quot;" in raw
    assert f'<td dir="auto" style="padding-inline-start: 2.1rem">{HEBREW}</td>' in raw


def test_snippet_prints_autodiscovery_tags_for_a_category(project):
    site(project)
    config = project.root / "feedmill.yml"
    config.write_text("root: .\nsite: {title: T, url: 'https://example.org/'}\nposts: [{dir: posts}]\n"
                      "output: {formats: [rss, json]}\n", encoding="utf-8")
    runner = CliRunner()
    by_slug = runner.invoke(main, ["snippet", "--config", str(config), "a-b-q/khdshvt"])
    by_name = runner.invoke(main, ["snippet", "--config", str(config), f"{TRICKY}/{HEBREW}"])
    assert by_slug.exit_code == 0 and by_slug.stdout == by_name.stdout
    title = f"T — A&lt;b&gt; &amp; &quot;Q&quot; › {HEBREW}"
    assert by_slug.stdout == (
        f'<link rel="alternate" type="application/rss+xml" title="{title} (RSS)" '
        f'href="https://example.org/feeds/a-b-q/khdshvt/rss.xml">\n'
        f'<link rel="alternate" type="application/feed+json" title="{title} (JSON Feed)" '
        f'href="https://example.org/feeds/a-b-q/khdshvt/feed.json">\n')
    site_wide = runner.invoke(main, ["snippet", "--config", str(config)])
    assert 'href="https://example.org/feeds/rss.xml"' in site_wide.stdout
    unknown = runner.invoke(main, ["snippet", "--config", str(config), "nope"])
    assert unknown.exit_code == 2 and "no feed for category 'nope'" in unknown.output


# --- a real browser ----------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run does it as root)")


@pytest.fixture
def served(project) -> Iterator[tuple[PreviewServer, Path]]:
    site(project)
    build(project.config())
    server = make_server(project.out, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, project.out
    server.shutdown()
    server.server_close()
    thread.join(5)


def chromium(url: str, profile: Path, *args: str) -> str:
    """Run headless Chromium on `url` with a fresh profile (no cached responses) and return stdout."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--hide-scrollbars", *args, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


@needs_chromium
@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_chromium_shows_a_feed_as_a_readable_page(served, tmp_path, name):
    server, _ = served
    url = f"http://127.0.0.1:{server.server_port}/a-b-q/khdshvt/{name}"
    page = lxml.html.fromstring(chromium(url, tmp_path / "dom", "--dump-dom"))
    assert texts(page, "//h1") == [f"Test Site — {TRICKY} › {HEBREW}"]
    assert texts(page, "//article/h2") == [ITEM]
    assert page.xpath("//input/@value") == [OUT_URL + "a-b-q/khdshvt/" + name]
    assert page.xpath("//script") == []  # the item title stayed text
    shot = tmp_path / "feed.png"
    chromium(url, tmp_path / "shot", f"--screenshot={shot}", "--window-size=900,700")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000


@needs_chromium
def test_chromium_shows_the_index_page(served, tmp_path):
    server, _ = served
    url = f"http://127.0.0.1:{server.server_port}/"
    page = lxml.html.fromstring(chromium(url, tmp_path / "dom", "--dump-dom"))
    assert texts(page, "//tbody/tr/td[1]") == ["All posts", TRICKY, HEBREW, HEBREW]
    feed_link = page.xpath("//tbody//a/@href")[0]
    assert urljoin(url, feed_link) == url + "rss.xml"
