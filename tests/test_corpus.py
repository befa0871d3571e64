"""The real corpus in ../shared/corpus/real: every post is published or skipped with a reason."""

from __future__ import annotations

from pathlib import Path

import feedparser
import lxml.html
import pytest

from feedmill import build
from feedmill.load import find_post_files


@pytest.fixture(scope="module")
def corpus_build(tmp_path_factory, request):
    corpus = request.getfixturevalue("corpus")
    out = tmp_path_factory.mktemp("corpus-feeds")
    config = {
        "root": str(corpus),
        "site": {"title": "RSSHub Page", "url": "https://example.github.io/", "language": "zh-CN",
                 "timezone": "Asia/Shanghai"},
        "posts": [{"dir": "."}],
        "output": {"dir": str(out), "limit": 0},
    }
    return config, build(config), out


def test_every_post_is_published_or_skipped_with_a_reason(corpus_build, corpus):
    _, report, _ = corpus_build
    files = list(find_post_files(corpus))
    assert report.posts_read + len(report.skipped) + report.drafts == len(files)
    assert report.posts_read >= 75
    skipped = {Path(p.source).name: p.reason for p in report.skipped}
    assert skipped["README.md"].startswith("no front matter")
    assert skipped["1936.md"].startswith("date 'Thu, 31 Dec 1936 00:00:00 GMT' is before 1990")
    assert sum(reason.startswith("date 'Invalid Date'") for reason in skipped.values()) == 6


def test_quirky_titles_are_read_as_their_text(corpus_build):
    _, _, out = corpus_build
    titles = {e.title for e in feedparser.parse((out / "rss.xml").read_bytes()).entries}
    assert {"Avowed", "12_00", "@大道无形我有型 关注了股票 台积电",
            "Tales of Runeterra_ Targon - 'The Vaulted Road'",
            "00_00 币世界晚行情：BTC回升至57000 USDT上方"} <= titles
    assert not any(t.startswith('""') or t == "1200" for t in titles)


def test_every_feed_parses_and_covers_every_category_node(corpus_build):
    _, report, out = corpus_build
    files = sorted(out.rglob("*.xml"))
    assert len(files) == len([p for p in report.feeds_written if p.endswith(".xml")]) > 100
    for path in files:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.entries, path
    rss_dirs = {p.parent for p in out.rglob("rss.xml")}
    assert rss_dirs == {p.parent for p in out.rglob("atom.xml")}
    assert (out / "xin-mei-ti" / "ren-ren-du-shi-chan-pin-jing-li" / "zui-xin-wen-zhang" / "rss.xml").is_file()


def test_no_image_is_relative_or_behind_the_dead_proxy(corpus_build):
    _, _, out = corpus_build
    for path in out.rglob("*.xml"):
        for entry in feedparser.parse(path.read_bytes()).entries:
            for content in entry.get("content", []):
                for img in lxml.html.fragment_fromstring(content.value, create_parent="div").iter("img"):
                    src = img.get("src", "")
                    assert src.startswith(("https://", "http://")), (path, entry.title, src)
                    assert "cors.zfour.workers.dev" not in src, (path, entry.title, src)
            for media in entry.get("media_content", []):
                assert "cors.zfour.workers.dev" not in media["url"]


def test_a_second_build_rewrites_no_file(corpus_build):
    config, first, _ = corpus_build
    second = build(config)
    assert second.feeds_written == [] and len(second.feeds_unchanged) == len(first.feeds_written)
