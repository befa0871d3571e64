from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import yaml

from feedmill.collector import write_posts
from feedmill.model import Article
from feedmill.postwriter import MANIFEST

ARTICLE = Article(
    source="https://rsshub.example.org/ithome",
    title="AI 教你画油画：任意画风都可驾驭",
    link="https://www.ithome.com/0/569/123.htm",
    guid="https://www.ithome.com/0/569/123.htm",
    published=datetime(2021, 8, 16, 2, 37, 27, tzinfo=timezone.utc),
    author="IT 之家",
    content='<p>AI 已经能教你画油画了。</p><p><img src="https://img.ithome.com/a.gif"></p>',
    categories=(("新媒体", "IT 之家", "分类资讯"),),
    image="https://img.ithome.com/a.gif",
)


def load(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    matter, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(matter), body


def test_post_has_the_corpus_front_matter_and_the_html_body(tmp_path: Path) -> None:
    report = write_posts([ARTICLE], tmp_path)
    path = tmp_path / "新媒体" / "IT 之家" / "分类资讯" / "AI 教你画油画：任意画风都可驾驭.md"
    assert report.written == [path]
    front, body = load(path)
    assert front == {
        "title": "AI 教你画油画：任意画风都可驾驭",
        "categories": ["新媒体", "IT 之家", "分类资讯"],
        "headimg": "https://img.ithome.com/a.gif",
        "author": "IT 之家",
        "comments": False,
        "date": "Mon, 16 Aug 2021 02:37:27 GMT",
        "thumbnail": "https://img.ithome.com/a.gif",
    }
    assert parsedate_to_datetime(front["date"]) == ARTICLE.published
    assert body == "\n" + ARTICLE.content + "\n"


def test_titles_that_need_quoting_survive_yaml(tmp_path: Path) -> None:
    tricky = replace(ARTICLE, title="\"'普华永道：5G'\" - yes: no # not a comment", tags=("x",),
                     updated=datetime(2021, 8, 17, tzinfo=timezone.utc), image=None, author=None)
    front, _ = load(tmp_path / write_posts([tricky], tmp_path).written[0].relative_to(tmp_path))
    assert front["title"] == tricky.title
    assert front["tags"] == ["x"]
    assert front["updated"] == "Tue, 17 Aug 2021 00:00:00 GMT"
    assert front["thumbnail"] == "" and "headimg" not in front and front["author"] == ""


def test_file_names_are_safe(tmp_path: Path) -> None:
    nasty = [
        replace(ARTICLE, guid="1", title="../../etc/passwd", categories=(("..", "a/b"),)),
        replace(ARTICLE, guid="2", title="tab\there\x00nul\x1bescape"),
        replace(ARTICLE, guid="3", title="...", categories=()),
        replace(ARTICLE, guid="4", title="长" * 200),
        replace(ARTICLE, guid="5", title="CON"),
    ]
    written = write_posts(nasty, tmp_path).written
    assert len(written) == 5
    for path in written:
        relative = path.relative_to(tmp_path)  # raises if it escaped the folder
        assert all(part not in ("", ".", "..") and not part.startswith(".") for part in relative.parts)
        assert all(ord(c) >= 32 for c in str(relative))
        assert all(len(part.encode()) <= 255 for part in relative.parts)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert "untitled/a_b/_.._etc_passwd.md" in names
    assert any(n.endswith("/tab_here_nul_escape.md") for n in names)
    assert any(n.endswith("/" + "长" * 50 + ".md") for n in names)  # 150 bytes of UTF-8
    assert "untitled.md" in names
    assert any(n.endswith("/_CON.md") for n in names)


def test_same_title_gets_a_stable_suffix(tmp_path: Path) -> None:
    older = replace(ARTICLE, guid="old")
    newer = replace(ARTICLE, guid="new", published=datetime(2022, 1, 1, tzinfo=timezone.utc))
    first = write_posts([older], tmp_path).written
    both = write_posts([newer, older], tmp_path)
    assert both.unchanged == first  # the older article keeps its plain name
    [suffixed] = both.written
    assert suffixed.name.startswith("AI 教你画油画：任意画风都可驾驭-") and suffixed.name.endswith(".md")


def test_unchanged_posts_are_not_rewritten_and_changed_ones_are_replaced(tmp_path: Path) -> None:
    [path] = write_posts([ARTICLE], tmp_path).written
    inode, mtime = path.stat().st_ino, path.stat().st_mtime_ns
    again = write_posts([ARTICLE], tmp_path)
    assert again.written == [] and again.unchanged == [path]
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (inode, mtime)
    edited = replace(ARTICLE, content="<p>edited</p>")
    assert write_posts([edited], tmp_path).written == [path]
    assert load(path)[1] == "\n<p>edited</p>\n"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".feedmill-")]  # no temp files left


def test_a_retitled_article_keeps_its_file(tmp_path: Path) -> None:
    [path] = write_posts([ARTICLE], tmp_path).written
    retitled = replace(ARTICLE, title="A new title")
    assert write_posts([retitled], tmp_path).written == [path]
    assert load(path)[0]["title"] == "A new title"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_files_feedmill_did_not_write_are_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "新媒体" / "IT 之家" / "分类资讯" / "AI 教你画油画：任意画风都可驾驭.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own post")
    [path] = write_posts([ARTICLE], tmp_path).written
    assert path != mine and mine.read_text() == "my own post"
    assert path.stat().st_mode & 0o777 == 0o644


def test_manifest_paths_leaving_the_folder_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    key = f"{ARTICLE.source}\n{ARTICLE.guid}"
    (folder / MANIFEST).write_text(json.dumps({key: "../outside.md"}))
    [path] = write_posts([ARTICLE], folder).written
    assert path.is_relative_to(folder)
    assert not (tmp_path / "outside.md").exists()


def test_manifest_paths_inside_the_folder_are_honoured(tmp_path: Path) -> None:
    key = f"{ARTICLE.source}\n{ARTICLE.guid}"
    (tmp_path / MANIFEST).write_text(json.dumps({key: "custom/place.md"}))
    assert write_posts([ARTICLE], tmp_path).written == [tmp_path / "custom" / "place.md"]


def test_a_post_that_cannot_be_written_is_reported_and_the_others_keep_their_names(tmp_path):
    from datetime import datetime, timezone

    from feedmill.model import Article

    def article(n: int, category: str) -> Article:
        return Article(source="s", title=f"T{n}", link=f"https://e.org/{n}", guid=f"g{n}",
                       published=datetime(2024, 1, n, tzinfo=timezone.utc), categories=((category,),),
                       content="<p>x</p>")

    out = tmp_path / "out"
    out.mkdir()
    (out / "B").write_text("a file where a folder should be")
    report = write_posts([article(1, "A"), article(2, "B")], out)
    assert [p.relative_to(out).as_posix() for p in report.written] == ["A/T1.md"]
    assert len(report.failed) == 1 and "cannot write" in report.failed[0].reason
    (out / "B").unlink()
    again = write_posts([article(1, "A"), article(2, "B")], out)
    assert sorted(p.relative_to(out).as_posix() for p in again.written) == ["B/T2.md"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md")) == ["A/T1.md", "B/T2.md"]
