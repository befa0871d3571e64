"""End to end: posts in, valid and stable RSS/Atom files out."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from feedmill import ConfigError, build
from feedmill.cli import main
from feedmill.normalize import html_to_text
from feedmill.publish import inside, write_if_changed

ATOM = "{http://www.w3.org/2005/Atom}"


def parse(data: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def small_site(project) -> None:
    project.post("新媒体/36kr/one.md", title="One", categories="[新媒体, 36kr, 资讯]",
                 date="Thu, 29 Jul 2021 00:00:00 GMT",
                 extra="tags: [t1]\nheadimg: https://img.example/1.jpg\n",
                 body="<p>First &#123;body&#125;</p>")
    project.post("新媒体/two.md", title="Two", categories="[新媒体]", date="2021-08-11 09:07:51",
                 body="<p>Second</p>")
    project.post("编程/three.md", title="Three", categories="[编程]", date="2021-08-12T00:00:00Z",
                 body="<p>Third</p>")


def test_every_category_node_gets_rss_and_atom(project):
    small_site(project)
    report = build(project.config())
    assert sorted(p for p in report.feeds_written if p.endswith(".xml")) == sorted([
        "rss.xml", "atom.xml",
        "xin-mei-ti/rss.xml", "xin-mei-ti/atom.xml",
        "xin-mei-ti/36kr/rss.xml", "xin-mei-ti/36kr/atom.xml",
        "xin-mei-ti/36kr/zi-xun/rss.xml", "xin-mei-ti/36kr/zi-xun/atom.xml",
        "bian-cheng/rss.xml", "bian-cheng/atom.xml",
    ])
    assert report.posts_read == 3 and report.skipped == [] and report.feeds_unchanged == []
    for name, data in project.feed_files().items():
        if name.endswith(".xml"):
            parse(data)


def test_rss_structure(project):
    small_site(project)
    build(project.config())
    feed = parse((project.out / "xin-mei-ti" / "rss.xml").read_bytes())
    channel = feed.feed
    assert channel.title == "Test Site — 新媒体"
    assert channel.link == "https://example.org/"
    assert channel.language == "zh-CN"
    self_links = [link.href for link in channel.links if link.rel == "self"]
    assert self_links == ["https://example.org/feeds/xin-mei-ti/rss.xml"]
    # lastBuildDate is the newest item's date, never the build time
    assert channel.updated == "Wed, 11 Aug 2021 09:07:51 +0800"
    assert [e.title for e in feed.entries] == ["Two", "One"]
    one = feed.entries[1]
    assert one.id == one.link == "https://example.org/2021/07/29/%E6%96%B0%E5%AA%92%E4%BD%93/36kr/one/"
    raw = (project.out / "xin-mei-ti" / "rss.xml").read_bytes().decode()
    assert f'<guid isPermaLink="true">{one.link}</guid>' in raw
    assert one.author == "Tester"
    assert [t.term for t in one.tags] == ["新媒体/36kr/资讯", "t1"]
    assert html_to_text(one.content[0].value) == "First {body}"
    assert one.summary == "First {body}"
    assert one.media_content == [{"url": "https://img.example/1.jpg", "medium": "image"}]
    assert "enclosures" not in one or one.enclosures == []


def test_atom_structure(project):
    small_site(project)
    build(project.config())
    raw = (project.out / "atom.xml").read_bytes()
    feed = parse(raw)
    assert feed.version == "atom10"
    assert feed.feed.id == "https://example.org/feeds/atom.xml"
    assert feed.feed.author == "Test Site"
    assert [link.href for link in feed.feed.links if link.rel == "self"] == ["https://example.org/feeds/atom.xml"]
    assert [e.title for e in feed.entries] == ["Three", "Two", "One"]
    three = feed.entries[0]
    assert three.content[0].type == "text/html"
    assert three.summary_detail.type == "text/plain"
    assert three.published == "2021-08-12T00:00:00+00:00"
    # updated values are distinct per entry (validator warns on duplicates) but within a second
    assert three.updated.startswith("2021-08-12T00:00:00.")
    assert len({e.updated for e in feed.entries}) == 3


def test_output_is_byte_identical_and_the_second_run_writes_nothing(project):
    small_site(project)
    build(project.config())
    first = project.feed_files()
    stamps = {p: p.stat().st_mtime_ns for p in project.out.rglob("*.xml")}
    report = build(project.config())
    assert report.feeds_written == [] and len(report.feeds_unchanged) == len(first)
    assert project.feed_files() == first
    assert {p: p.stat().st_mtime_ns for p in project.out.rglob("*.xml")} == stamps
    leftovers = [p for p in project.out.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_output_does_not_depend_on_file_times(project, tmp_path):
    small_site(project)
    build(project.config())
    first = project.feed_files()
    for path in project.posts.rglob("*.md"):
        os.utime(path, (1, 1))
    other = tmp_path / "other"
    build(project.config(output={"dir": str(other)}))
    assert {p.relative_to(other).as_posix(): p.read_bytes() for p in other.rglob("*") if p.is_file()} == first


def test_guid_survives_a_body_edit(project):
    path = project.post("a.md", title="A", body="<p>old</p>")
    build(project.config())
    before = parse((project.out / "rss.xml").read_bytes()).entries[0].id
    path.write_text(path.read_text(encoding="utf-8").replace("old", "new body"), encoding="utf-8")
    report = build(project.config())
    after = parse((project.out / "rss.xml").read_bytes()).entries[0]
    assert after.id == before and "new body" in after.content[0].value
    assert "rss.xml" in report.feeds_written


def test_xml_illegal_characters_are_removed(project):
    project.post("a.md", title="'Bell\x07 title'", body="<p>nul\x01 \x0b body\ufffe</p>")
    build(project.config())
    entry = parse((project.out / "rss.xml").read_bytes()).entries[0]
    assert entry.title == "Bell title"
    assert entry.content[0].value == "<p>nul  body</p>"


def test_markdown_bodies_are_rendered_and_html_passes_through(project):
    project.write("m.md", "---\ntitle: M\ndate: 2021-08-01\n---\n\n# Head\n\n*em* and <span>raw</span>\n")
    project.write("h.html", "---\ntitle: H\ndate: 2021-08-02\n---\n\n# Not markdown\n")
    build(project.config())
    entries = {e.title: e.content[0].value for e in parse((project.out / "rss.xml").read_bytes()).entries}
    assert entries["M"] == "<h1>Head</h1>\n<p><em>em</em> and <span>raw</span></p>"
    assert entries["H"].strip() == "# Not markdown"


def test_bad_posts_are_skipped_with_reasons_and_the_rest_published(project):
    project.post("good.md", title="Good")
    bad = {
        "empty.md": b"",
        "binary.md": b"\x89PNG\r\n\x1a\n\x00\x00",
        "latin1.md": "---\ntitle: café\ndate: 2021-08-01\n---\n".encode("latin-1"),
        "nofence.md": b"title: x\n\n<p>x</p>",
        "badyaml.md": b"---\ntitle: [x\nfoo: {\n---\nbody",
        "baddate.md": b"---\ntitle: x\ndate: Invalid Date\n---\nbody",
    }
    for name, data in bad.items():
        project.write(name, data)
    project.post("mapcat.md", title="Mapped", categories="{a: b}")
    report = build(project.config())
    assert sorted(Path(p.source).name for p in report.skipped) == sorted(bad)
    reasons = {Path(p.source).name: p.reason for p in report.skipped}
    assert reasons["empty.md"] == "empty file"
    assert reasons["baddate.md"].startswith("date 'Invalid Date' is not a date")
    assert [Path(w.source).name for w in report.warnings] == ["mapcat.md"]
    titles = [e.title for e in parse((project.out / "rss.xml").read_bytes()).entries]
    assert sorted(titles) == ["Good", "Mapped"]


@pytest.mark.parametrize(
    ("override", "key", "message"),
    [
        ({"colour": "blue"}, "colour", "unknown setting"),
        ({"output": {"limit": "many"}}, "output.limit", "expected a whole number"),
        ({"output": {"limit": -1}}, "output.limit", "0 (no limit)"),
        ({"site": {"url": "example.org"}}, "site.url", "absolute http(s) URL"),
        ({"site": {"timezone": "Mars/Olympus"}}, "site.timezone", "unknown time zone"),
        ({"site": {"title": None}}, "site.title", "is required"),
        ({"posts": [{"dir": "posts", "extra": 1}]}, "posts[0].extra", "unknown setting"),
        ({"posts": [{"dir": "missing"}]}, "posts[0].dir", "folder not found"),
        ({"output": {"slugs": {"A": "../x"}}}, "output.slugs.A", "is not a slug"),
        ({"undated": "guess"}, "undated", "'skip' or 'mtime'"),
    ],
)
def test_config_errors_name_the_key_and_leave_feeds_untouched(project, override, key, message):
    small_site(project)
    build(project.config())
    before = project.feed_files()
    with pytest.raises(ConfigError) as caught:
        build(project.config(**override))
    assert caught.value.key == key and message in str(caught.value)
    assert project.feed_files() == before


def test_config_file_errors_name_the_file(project):
    path = project.root / "bad.yml"
    path.write_text("site:\n  title: x\n  url: https://x.org/\n  colour: red\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yml: site\.colour: unknown setting"):
        build(path)


def test_paths_in_a_config_file_are_relative_to_its_root(project):
    small_site(project)
    (project.root / "config").mkdir()
    path = project.root / "config" / "feedmill.yml"
    path.write_text("root: ..\nsite: {title: T, url: 'https://example.org'}\nposts: [{dir: posts}]\n",
                    encoding="utf-8")
    report = build(path)
    assert report.output_dir == project.root / "feeds" and (project.root / "feeds" / "rss.xml").is_file()


def test_cli_exit_codes_and_summary(project):
    small_site(project)
    project.write("bad.md", b"")
    config = project.root / "feedmill.yml"
    config.write_text(
        "site: {title: T, url: 'https://example.org/'}\nposts: [{dir: posts}]\noutput: {dir: feeds}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    ok = runner.invoke(main, ["build", "--config", str(config)])
    assert ok.exit_code == 0, ok.output
    # 5 feed nodes x (RSS, Atom, JSON Feed), then feeds.opml, feed.xsl and index.html
    assert "3 posts read, 1 skipped, 0 drafts; 18 files written, 0 unchanged" in ok.stdout
    assert "skipped: " in ok.stderr and "bad.md: empty file" in ok.stderr
    strict = runner.invoke(main, ["build", "--config", str(config), "--strict", "-q"])
    assert strict.exit_code == 1 and strict.stdout == ""
    config.write_text("site: {title: T}\n", encoding="utf-8")
    broken = runner.invoke(main, ["build", "--config", str(config)])
    assert broken.exit_code == 2
    assert "config error" in broken.stderr and "site.url: is required" in broken.stderr


def test_cli_out_overrides_the_output_folder(project, tmp_path):
    small_site(project)
    config = project.root / "feedmill.yml"
    config.write_text("site: {title: T, url: 'https://example.org/'}\nposts: [{dir: posts}]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--config", str(config), "--out", str(tmp_path / "elsewhere")])
    assert result.exit_code == 0 and (tmp_path / "elsewhere" / "rss.xml").is_file()


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "rss.xml"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_if_changed(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["rss.xml"]


def test_nothing_is_written_outside_the_output_folder(tmp_path):
    assert inside(tmp_path, "a/rss.xml") == (tmp_path / "a" / "rss.xml").resolve()
    with pytest.raises(ValueError, match="outside the output folder"):
        inside(tmp_path, "../escape/rss.xml")


def test_rss_description_is_escaped_html_and_atom_summary_plain_text(project):
    project.post("a.md", title="A", extra="description: '天猫服饰&IP二厂 &lt;Route&gt; x'\n")
    build(project.config())
    rss = (project.out / "rss.xml").read_text(encoding="utf-8")
    assert "<description>天猫服饰&amp;amp;IP二厂 &amp;lt;Route&amp;gt; x</description>" in rss
    atom = (project.out / "atom.xml").read_text(encoding="utf-8")
    assert "<summary>天猫服饰&amp;IP二厂 &lt;Route&gt; x</summary>" in atom
    assert parse(atom.encode()).entries[0].summary == "天猫服饰&IP二厂 <Route> x"


def test_summary_entities_are_decoded_once(project):
    project.post("a.md", title="A", body="<p>a &amp;lt;b&amp;gt; c</p>")
    build(project.config())
    assert "<summary>a &amp;lt;b&amp;gt; c</summary>" in (project.out / "atom.xml").read_text(encoding="utf-8")


def test_each_published_body_is_parsed_once(project, monkeypatch):
    import feedmill.normalize
    import feedmill.sanitize

    calls = []
    real_parse = feedmill.sanitize.parse_fragment
    monkeypatch.setattr(feedmill.sanitize, "parse_fragment", lambda *a: calls.append("sanitize") or real_parse(*a))
    monkeypatch.setattr(feedmill.normalize, "html_to_text", lambda *a: calls.append("text") or "")
    project.post("a.md", title="A", body="<p>Intro <b>bold</b></p>\n<!-- more -->\n<p>Rest</p>")
    project.post("b.md", title="B", body="<p>All of it</p>")
    build(project.config())
    assert calls == ["sanitize", "sanitize"]
    summaries = {e.title: e.summary for e in parse((project.out / "atom.xml").read_bytes()).entries}
    assert summaries == {"A": "Intro bold", "B": "All of it"}
    assert "more" not in (project.out / "atom.xml").read_text(encoding="utf-8").split("<entry>", 1)[1]


def test_output_does_not_depend_on_where_the_site_lives(project, tmp_path):
    project.post("a.md", title="A", extra="link: /same/\n")
    project.post("b.md", title="B", extra="link: /same/\n")
    build(project.config())
    moved = tmp_path / "elsewhere" / "site"
    shutil.copytree(project.root, moved, ignore=shutil.ignore_patterns("feeds", ".feedmill"))
    build({**project.config(), "root": str(moved)})
    first = project.feed_files()
    second = {p.relative_to(moved / "feeds").as_posix(): p.read_bytes()
              for p in sorted((moved / "feeds").rglob("*")) if p.is_file()}
    assert first == second
    ids = [e.id for e in parse(first["atom.xml"]).entries]
    assert sorted(ids) == ["https://example.org/same/", "https://example.org/same/#233405"]


def test_an_empty_body_gets_its_title_as_content_in_every_format(project):
    project.post("a.md", title="Only a title", body="")
    build(project.config())
    atom = parse((project.out / "atom.xml").read_bytes()).entries[0]
    assert atom.content[0].value == "<p>Only a title</p>"
    item = json.loads((project.out / "feed.json").read_text(encoding="utf-8"))["items"][0]
    assert item["content_html"] == "<p>Only a title</p>"
