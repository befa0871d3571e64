"""Front matter to Article: dates, titles, categories, links, summaries."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from feedmill.config import load_config
from feedmill.load import PostError, read_post
from feedmill.normalize import normalize_post, parse_date
from feedmill.rewrite import Rewriter


def fill_summary(article) -> None:
    """The summary of a body with none in its front matter comes with its rewriting."""
    Rewriter().rewrite_article(article)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def article_of(project, path, **config):
    cfg = load_config(project.config(**config))
    return normalize_post(read_post(path, project.posts), cfg.posts[0], cfg)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thu, 29 Jul 2021 00:00:00 GMT", datetime(2021, 7, 29, tzinfo=timezone.utc)),
        ("2021-08-11 09:07:51", datetime(2021, 8, 11, 9, 7, 51, tzinfo=SHANGHAI)),
        ("2021-08-11T09:07:51Z", datetime(2021, 8, 11, 9, 7, 51, tzinfo=timezone.utc)),
        ("2021-08-11T09:07:51+02:00", datetime(2021, 8, 11, 7, 7, 51, tzinfo=timezone.utc)),
        ("2021-08-11T09:07:51.5-0130", datetime(2021, 8, 11, 10, 37, 51, 500000, tzinfo=timezone.utc)),
        ("2021-08-11", datetime(2021, 8, 11, tzinfo=SHANGHAI)),
        ("2021/8/1 7:05", datetime(2021, 8, 1, 7, 5, tzinfo=SHANGHAI)),
    ],
)
def test_dates_are_read_in_every_corpus_format(text, expected):
    parsed = parse_date(text, SHANGHAI)
    assert parsed == expected and parsed.tzinfo is not None


@pytest.mark.parametrize("text", ["Invalid Date", "2021-13-45", "yesterday", "", None,
                                  "2024-01-01 10:00:00+25:00", "2024-01-01T10:00:00+05:75"])
def test_unreadable_dates_are_none(text):
    assert parse_date(text, SHANGHAI) is None


def test_post_with_unreadable_date_is_skipped_with_the_reason(project):
    path = project.post("p.md", date="Invalid Date")
    with pytest.raises(PostError, match="'Invalid Date' is not a date"):
        article_of(project, path)


def test_post_dated_before_1990_is_treated_as_undated(project):
    path = project.post("p.md", date="Thu, 31 Dec 1936 00:00:00 GMT")
    with pytest.raises(PostError, match="before 1990"):
        article_of(project, path)


def test_undated_post_can_fall_back_to_file_mtime(project):
    path = project.post("p.md", date="Invalid Date")
    os.utime(path, (1_630_000_000, 1_630_000_000))
    raw = read_post(path, project.posts)
    cfg = load_config(project.config(undated="mtime"))
    article = normalize_post(raw, cfg.posts[0], cfg)
    assert article.published == datetime.fromtimestamp(1_630_000_000, tz=timezone.utc)
    assert any("modification time" in w for w in raw.warnings)


def test_updated_is_read_and_kept_only_when_later(project):
    later = article_of(project, project.post("a.md", extra="updated: 2021-09-01 00:00:00\n"))
    assert later.updated == datetime(2021, 9, 1, tzinfo=SHANGHAI)
    earlier = article_of(project, project.post("b.md", extra="updated_at: 2020-01-01 00:00:00\n"))
    assert earlier.updated is None


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("12_00", "12_00"),
        ("1936", "1936"),
        ("'&#123;braces&#125; &amp;amp;'", "{braces} &amp;"),
        ("\"a\n   b\"", "a b"),
        ("'  spaced   out '", "spaced out"),
    ],
)
def test_title_is_the_literal_text_unescaped_once(project, title, expected):
    assert article_of(project, project.post("p.md", title=title)).title == expected


def test_missing_title_uses_the_file_name(project):
    assert article_of(project, project.post("dir/My Post.md", title="")).title == "My Post"


def test_blank_title_and_blank_file_name_use_the_text(project):
    article = article_of(project, project.post(" .md", title="", body="<p>First words here</p>"))
    assert article.title == "First words here"


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        ("[A, B, C]", (("A", "B", "C"),)),
        ("[[A, B], [C]]", (("A", "B"), ("C",))),
        ("[[A, B], C]", (("A", "B"), ("C",))),
        ("Solo", (("Solo",),)),
        ("\n  - 新媒体\n  - 36kr\n", (("新媒体", "36kr"),)),
        ("[2021, x]", (("2021", "x"),)),
        ("", ()),
    ],
)
def test_categories_follow_hexo_semantics(project, categories, expected):
    assert article_of(project, project.post("p.md", categories=categories)).categories == expected


def test_category_that_is_a_mapping_is_ignored_with_a_warning(project):
    path = project.post("p.md", categories="[A, {nested: map}]")
    raw = read_post(path, project.posts)
    cfg = load_config(project.config())
    article = normalize_post(raw, cfg.posts[0], cfg)
    assert article.categories == (("A",),)
    assert raw.warnings == ["category {'nested': 'map'} is a mapping, not a name; ignored"]


def test_categories_as_a_mapping_are_ignored_with_a_warning(project):
    path = project.post("p.md", categories="{a: b}")
    raw = read_post(path, project.posts)
    cfg = load_config(project.config())
    assert normalize_post(raw, cfg.posts[0], cfg).categories == ()
    assert raw.warnings == ["categories is a mapping, not a name or a list; ignored"]


def test_tags_and_image_and_author(project):
    path = project.post("p.md", extra="tags: [x, y, x]\nthumbnail: \nheadimg: ''\ncover: https://img.example/c.jpg\n")
    article = article_of(project, path)
    assert article.tags == ("x", "y")
    assert article.image == "https://img.example/c.jpg"
    assert article.author == "Tester"


def test_link_follows_the_permalink_pattern_percent_encoded(project):
    path = project.post("新媒体/a b%#?.md", date="2021-08-11 01:07:51")
    article = article_of(project, path)
    assert article.link == (
        "https://example.org/2021/08/11/%E6%96%B0%E5%AA%92%E4%BD%93/a%20b%25%23%3F/"
    )
    assert article.guid == article.link


def test_permalink_tokens_use_the_site_time_zone(project):
    path = project.post("x.md", date="2021-08-10T20:00:00Z", categories="[编程, Go]")
    article = article_of(project, path, permalink=":category/:i_month/:day/:hour/:name.html")
    assert article.link == "https://example.org/%E7%BC%96%E7%A8%8B/Go/8/11/04/x.html"


def test_front_matter_link_wins_and_is_made_a_uri(project):
    absolute = article_of(project, project.post("a.md", extra="link: https://例子.cn/文章/1\n"))
    assert absolute.link == "https://xn--fsqu00a.cn/%E6%96%87%E7%AB%A0/1"
    relative = article_of(project, project.post("b.md", extra="permalink: /posts/b/\n"))
    assert relative.link == "https://example.org/posts/b/"


def test_summary_prefers_description_then_more_marker_then_text(project):
    described = article_of(project, project.post("a.md", extra="description: <b>Short</b> &amp; sweet\n"))
    assert described.summary == "Short & sweet"
    more = article_of(project, project.post("b.md", body="<p>Intro</p>\n<!-- more -->\n<p>Rest</p>"))
    fill_summary(more)
    assert more.summary == "Intro"
    long_text = article_of(project, project.post("c.md", body="<p>" + "word " * 100 + "</p><script>x()</script>"))
    fill_summary(long_text)
    assert long_text.summary.endswith("…") and len(long_text.summary) <= 201
    assert "x()" not in long_text.summary


def test_cjk_summary_is_cut_at_the_length(project):
    article = article_of(project, project.post("a.md", body="<p>" + "字" * 500 + "</p>"))
    fill_summary(article)
    assert article.summary == "字" * 200 + "…"


def test_published_false_marks_a_draft(project):
    from feedmill.normalize import is_draft
    assert is_draft({"published": "false"}) and is_draft({"draft": "yes"})
    assert not is_draft({"published": "true"}) and not is_draft({})


def test_dates_are_timezone_aware_and_comparable(project):
    article = article_of(project, project.post("a.md", date="2021-08-11 09:07:51"))
    assert article.published.utcoffset() == timedelta(hours=8)


def test_a_body_that_is_one_html_block_is_kept_verbatim(project):
    from feedmill.normalize import new_markdown_converter, render_markdown
    body = "<div>\n<p>a</p>\n\n        <h2 class='x'>indented, not code</h2>\n<div>*not em*</div>\n</div>"
    article = article_of(project, project.post("a.md", body=body))
    render_markdown(article, new_markdown_converter())
    assert article.content == body and article.content_format == "html"


def test_html_followed_by_markdown_is_rendered_as_markdown(project):
    from feedmill.normalize import new_markdown_converter, render_markdown
    article = article_of(project, project.post("a.md", body="<div>a</div>\n\n# Heading\n"))
    render_markdown(article, new_markdown_converter())
    assert article.content == "<div>a</div>\n\n<h1>Heading</h1>"
