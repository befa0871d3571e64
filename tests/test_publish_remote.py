"""Remote sources end to end: collect into the store, publish with the posts, write Hexo posts."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
from click.testing import CliRunner
from feedserver import FeedServer, Reply, item_date, rss, rss_item, rss_range

from feedmill import build
from feedmill.cli import main
from feedmill.collector import collect
from feedmill.fetch import FetchSettings
from feedmill.load import read_post
from feedmill.normalize import normalize_post

FAST = FetchSettings(retries=0, connect_timeout=2, read_timeout=2)


def remote_config(project, server: FeedServer, feeds: list[dict], **extra) -> dict:
    return project.config(sources={"base": server.url("/"), "feeds": feeds}, **extra)


def entries(path: Path) -> list:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed.entries


def test_three_windows_publish_all_forty_in_order_with_their_guids(project, server):
    config = remote_config(project, server, [{"url": "/feed", "category": ["新媒体", "36kr"]}],
                           output={"limit": 0})
    for first, last in ((1, 20), (11, 30), (21, 40)):
        server.routes["/feed"] = Reply(rss_range(first, last))
        assert collect(config, settings=FAST).failed == []
        build(config)
    for feed in ("rss.xml", "xin-mei-ti/36kr/rss.xml", "xin-mei-ti/36kr/atom.xml"):
        published = entries(project.out / feed)
        assert [e.id for e in published] == [f"tag:example.org,2024:item-{n}" for n in range(40, 0, -1)]
    assert entries(project.out / "rss.xml")[0].title == "Item 40"


def test_posts_and_stored_articles_share_one_category_tree(project, server):
    project.post("a.md", title="Local post", categories="[新媒体, 36kr]", date="2024-01-03 00:00:00")
    server.routes["/feed"] = Reply(rss_range(1, 2))
    config = remote_config(project, server, [{"url": "/feed", "category": ["新媒体", "36kr"]}])
    collect(config, settings=FAST)
    build(config)
    titles = {e.title for e in entries(project.out / "xin-mei-ti" / "36kr" / "rss.xml")}
    assert titles == {"Local post", "Item 1", "Item 2"}


def test_a_failing_source_keeps_its_published_articles_and_others_finish(project, server):
    server.routes["/good"] = Reply(rss_range(1, 2))
    server.routes["/bad"] = Reply(rss_range(3, 4))
    feeds = [{"url": "/good", "category": ["G"]}, {"url": "/bad", "category": ["B"]}]
    config = remote_config(project, server, feeds)
    collect(config, settings=FAST)
    build(config)
    server.routes["/bad"] = Reply(b"oops", status=500)
    server.routes["/good"] = Reply(rss_range(1, 3))
    report = collect(config, settings=FAST)
    [failed] = report.failed
    assert failed.problem.source == server.url("/bad") and "500" in failed.problem.reason
    build(config)
    assert [e.title for e in entries(project.out / "b" / "rss.xml")] == ["Item 4", "Item 3"]
    assert [e.title for e in entries(project.out / "g" / "rss.xml")] == ["Item 3", "Item 2", "Item 1"]


def test_the_same_link_from_two_sources_is_published_once(project, server):
    server.routes["/one"] = Reply(rss_range(1, 2))
    server.routes["/two"] = Reply(rss_range(2, 3))
    config = remote_config(project, server, [{"url": "/one", "category": ["A"]}, {"url": "/two", "category": ["B"]}])
    collect(config, settings=FAST)
    build(config)
    assert [e.title for e in entries(project.out / "rss.xml")] == ["Item 3", "Item 2", "Item 1"]
    assert "Item 2" in {e.title for e in entries(project.out / "a" / "rss.xml")}
    assert "Item 2" in {e.title for e in entries(project.out / "b" / "rss.xml")}


def test_bare_upstream_ids_become_uris_unique_per_source(project, server):
    body = rss(rss_item(1).replace("tag:example.org,2024:item-1", "12345"))
    server.routes["/x"] = Reply(body)
    server.routes["/y"] = Reply(body.replace(b"/posts/1", b"/posts/other"))
    config = remote_config(project, server, [{"url": "/x", "category": ["X"]}, {"url": "/y", "category": ["Y"]}])
    collect(config, settings=FAST)
    build(config)
    ids = sorted(e.id for e in entries(project.out / "atom.xml"))
    assert ids == [server.url("/x") + "#12345", server.url("/y") + "#12345"]


def test_a_source_can_have_its_own_rewrite_rules(project, server):
    image = '<img src="http://img.example/a.png">'
    server.routes["/own"] = Reply(rss(rss_item(1, body=image)))
    server.routes["/plain"] = Reply(rss(rss_item(2, body=image).replace("/posts/2", "/posts/2b")))
    own_rules = {"rules": [{"match": {"host": "img.example"}, "action": "https"}]}
    config = remote_config(project, server, [
        {"url": "/own", "category": ["O"], "rewrite": own_rules},
        {"url": "/plain", "category": ["P"]},
    ])
    collect(config, settings=FAST)
    build(config)
    assert "https://img.example/a.png" in entries(project.out / "o" / "rss.xml")[0].content[0].value
    assert "http://img.example/a.png" in entries(project.out / "p" / "rss.xml")[0].content[0].value


def test_write_posts_round_trips_through_the_post_loader(project, server, tmp_path):
    server.routes["/feed"] = Reply(rss(rss_item(1, "<p>Hello &amp; <b>world</b></p>") + rss_item(2)))
    config = remote_config(project, server, [{"url": "/feed", "category": ["新媒体", "36kr", "资讯"]}])
    posts = tmp_path / "hexo"
    report = collect(config, write_posts_to=posts, settings=FAST)
    assert len(report.posts.written) == 2
    from feedmill.collector import stored_articles
    from feedmill.config import load_config
    from feedmill.store import Store

    loaded_config = load_config(project.config(posts=[{"dir": str(posts)}]))
    with Store.open(project.root / ".feedmill") as store:
        stored = {a.title: a for a in stored_articles(store, load_config(config).sources)}
    for path in sorted(posts.rglob("*.md")):
        article = normalize_post(read_post(path, posts), loaded_config.posts[0], loaded_config)
        original = stored[article.title]
        assert article.published == original.published
        assert article.categories == original.categories == (("新媒体", "36kr", "资讯"),)
        assert article.content.strip() == original.content.strip()
    assert collect(config, write_posts_to=posts, settings=FAST).posts.written == []


def test_cli_collect_and_run_exit_codes(project, server):
    server.routes["/ok"] = Reply(rss_range(1, 2))
    server.routes["/gone"] = Reply(b"", status=404)
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(remote_config(
        project, server, [{"url": "/ok", "category": ["A"]}, {"url": "/gone", "category": ["B"]}])), encoding="utf-8")
    runner = CliRunner()
    collected = runner.invoke(main, ["collect", "--config", str(config_file)])
    assert collected.exit_code == 4
    assert server.url("/gone") in collected.stderr and "404" in collected.stderr
    assert "2 sources, 1 fetched, 0 not modified, 1 failed; 2 new" in collected.stdout
    ran = runner.invoke(main, ["run", "--config", str(config_file)])
    assert ran.exit_code == 4, ran.output
    assert [e.title for e in entries(project.out / "a" / "rss.xml")] == ["Item 2", "Item 1"]
    server.routes["/gone"] = Reply(rss_range(5, 5))
    assert runner.invoke(main, ["run", "--config", str(config_file)]).exit_code == 0
    assert item_date(5).year == 2024


def test_cli_check_images_lists_dead_images_by_host(project, server):
    server.routes["/ok.png"] = Reply(b"\x89PNG", headers={"Content-Type": "image/png"})
    project.post("a.md", title="A", body=f'<img src="{server.url("/ok.png")}"><img src="{server.url("/gone.png")}">')
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(project.config()), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["build", "--config", str(config_file)]).exit_code == 0
    result = runner.invoke(main, ["check-images", "--config", str(config_file), "--timeout", "2"])
    assert result.exit_code == 1, result.output
    assert "2 image URL(s) checked" in result.stdout and "1 alive, 1 dead" in result.stdout
    assert f"127.0.0.1:{server.port}: 1 dead" in result.stdout
    assert f"404 {server.url('/gone.png')}" in result.stdout
    server.routes["/gone.png"] = Reply(b"\x89PNG", headers={"Content-Type": "image/png"})
    assert runner.invoke(main, ["check-images", "--config", str(config_file)]).exit_code == 0


def test_control_characters_and_surrogates_from_upstream_never_reach_the_store_or_feeds(project, server):
    feed = {
        "version": "https://jsonfeed.org/version/1.1", "title": "J",
        "items": [
            {"id": "tag:example.org,2024:\u0001post", "url": "https://example.org/p/1", "title": "bad \ud800 \u0007title",
             "content_html": "<p>x\u0001y</p>", "date_published": "2024-01-01T00:00:00Z"},
            {"id": "tag:example.org,2024:fine", "url": "https://example.org/p/2", "title": "fine",
             "content_html": "<p>ok</p>", "date_published": "2024-01-02T00:00:00Z"},
        ],
    }
    body = json.dumps(feed).encode("utf-8")  # json.dumps escapes the lone surrogate as \ud800
    server.routes["/j"] = Reply(body, headers={"Content-Type": "application/feed+json"})
    config = remote_config(project, server, [{"url": "/j", "category": ["J"]}])
    assert collect(config, settings=FAST).failed == []
    build(config)
    published = {e.title: e for e in entries(project.out / "rss.xml")}
    assert set(published) == {"bad title", "fine"}
    assert published["bad title"].id == "tag:example.org,2024:post"
    assert build(config).errors == []


def test_a_feed_nested_too_deeply_fails_that_source_only(project, server):
    server.routes["/deep"] = Reply(b'{"version": "https://jsonfeed.org/version/1.1", "x": ' + b"[" * 100000 + b"]" * 100000 + b"}",
                                   headers={"Content-Type": "application/feed+json"})
    server.routes["/ok"] = Reply(rss_range(1, 1))
    config = remote_config(project, server, [{"url": "/deep", "category": ["D"]}, {"url": "/ok", "category": ["O"]}])
    report = collect(config, settings=FAST)
    assert [o.status for o in report.outcomes] == ["failed", "ok"]
    assert "nested too deeply" in report.outcomes[0].problem.reason


def test_changing_a_sources_own_rewrite_rules_rebuilds_its_feeds(project, server):
    server.routes["/own"] = Reply(rss(rss_item(1, body='<img src="http://img.example/a.png">')))
    feeds = [{"url": "/own", "category": ["O"]}]
    config = remote_config(project, server, feeds)
    collect(config, settings=FAST)
    build(config)
    feeds[0]["rewrite"] = {"rules": [{"match": {"host": "img.example"}, "action": "https"}]}
    changed = remote_config(project, server, feeds)
    assert "o/rss.xml" in build(changed).feeds_written
    assert "https://img.example/a.png" in entries(project.out / "o" / "rss.xml")[0].content[0].value


def test_run_dry_run_does_not_fetch(project, server):
    server.routes["/feed"] = Reply(rss_range(1, 1))
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(remote_config(project, server, [{"url": "/feed", "category": ["A"]}])),
                           encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(config_file), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert server.hits("/feed") == [] and not project.out.exists()
