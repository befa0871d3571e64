"""Loading post files: fences, front matter quirks, and files that are not posts."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedmill.load import PostError, find_post_files, parse_front_matter, read_post, split_front_matter


def test_blank_lines_before_the_first_fence_are_tolerated():
    front, body = split_front_matter("\n\n---\ntitle: x\n---\n\n<p>hi</p>")
    assert front == "title: x\n"
    assert body == "<p>hi</p>"


def test_bom_is_stripped(project):
    path = project.write("bom.md", "\ufeff---\ntitle: BOM\n---\nbody".encode("utf-8"))
    assert read_post(path, project.posts).front["title"] == "BOM"


def test_plain_scalars_keep_their_literal_text():
    front, warnings = parse_front_matter("title: 12_00\nother: 1936\nwhen: 2021-08-11 09:07:51\nflag: false\n")
    assert front == {"title": "12_00", "other": "1936", "when": "2021-08-11 09:07:51", "flag": "false"}
    assert warnings == []


def test_empty_values_are_null_and_quoted_empty_is_empty():
    front, _ = parse_front_matter("thumbnail: \ncover: ''\n")
    assert front == {"thumbnail": None, "cover": ""}


def test_title_wrapped_in_seven_double_quotes_falls_back_to_simple_lines():
    text = "title: \"\"\"\"\"\"\"'Avowed'\"\"\"\"\"\"\"\ncategories: \n    - 设计\n    - Axis Studios\ndate: 2021-03-22 04:49:12\n"
    front, warnings = parse_front_matter(text)
    assert front == {"title": "Avowed", "categories": ["设计", "Axis Studios"], "date": "2021-03-22 04:49:12"}
    assert len(warnings) == 1 and "not valid YAML" in warnings[0]


def test_title_starting_with_at_sign_falls_back():
    front, warnings = parse_front_matter("title: @大道无形我有型 关注了股票\nauthor: 雪球\n")
    assert front["title"] == "@大道无形我有型 关注了股票"
    assert warnings


def test_single_quotes_inside_double_quote_wrapping_are_kept():
    front, _ = parse_front_matter("title: \"\"\"\"\"\"\"\"Targon - 'The Vaulted Road'\"\"\"\"\"\"\"\"\n")
    assert front["title"] == "Targon - 'The Vaulted Road'"


def test_broken_yaml_that_is_not_simple_lines_is_an_error():
    with pytest.raises(PostError, match="invalid YAML front matter"):
        parse_front_matter("title: [unclosed\n  nested: {a: b\n")


def test_front_matter_that_is_a_list_is_an_error():
    with pytest.raises(PostError, match="not a mapping"):
        parse_front_matter("- a\n- b\n")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"---\ntitle: x\n---\n\x00\x01\x02", "binary file"),
        ("---\ntitle: café\n---\n".encode("latin-1"), "not UTF-8"),
        (b"<p>no front matter</p>", "no front matter"),
        (b"---\ntitle: x\n<p>never closed</p>", "not closed"),
    ],
)
def test_unusable_files_raise_with_the_reason(project, content, reason):
    path = project.write("bad.md", content)
    with pytest.raises(PostError, match=reason):
        read_post(path, project.posts)


def test_only_post_files_are_found_recursively_in_stable_order(project):
    for name in ["b/z.md", "a.markdown", "b/y.html", "c.txt", ".hidden.md", ".git/x.md", "b/.x/y.md"]:
        project.write(name, "x")
    found = [Path(p).relative_to(project.posts).as_posix() for p in find_post_files(project.posts)]
    assert found == ["a.markdown", "b/y.html", "b/z.md"]


def test_a_symlink_loop_is_followed_once_and_broken_links_ignored(project):
    project.write("a/post.md", "x")
    (project.posts / "a" / "loop").symlink_to(project.posts, target_is_directory=True)
    (project.posts / "a" / "broken").symlink_to(project.posts / "nowhere")
    found = [Path(p).relative_to(project.posts).as_posix() for p in find_post_files(project.posts)]
    assert found == ["a/post.md"]
