"""Category nodes, slugs and feed membership."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from feedmill.group import assign_slugs, base_slug, group_articles, make_guids_unique, sibling_slugs
from feedmill.model import Article

T0 = datetime(2021, 8, 1, tzinfo=timezone.utc)


def art(name: str, *paths: tuple[str, ...], days: int = 0, link: str | None = None) -> Article:
    link = link or f"https://example.org/{name}/"
    return Article(source=f"posts/{name}.md", title=name, link=link, guid=link,
                   published=T0 + timedelta(days=days), categories=paths)


def test_cjk_kana_and_hangul_are_transliterated():
    assert base_slug("新媒体") == "xin-mei-ti"
    assert base_slug("フルサイズ") == "hurusaisu"
    assert base_slug("표정관리") == "pyojeonggwanri"
    assert base_slug("Axis Studios - Work type") == "axis-studios-work-type"


def test_names_with_nothing_to_transliterate_get_a_safe_slug():
    assert base_slug("🏞") == "category-c42dbd"
    assert base_slug("..") == "category-9d891e"


def test_traversal_attempts_cannot_leave_the_folder():
    slugs = sibling_slugs(["../../etc", "/abs/path", "a/../..", "..\\..", "."], {})
    for slug in slugs.values():
        assert "/" not in slug and "\\" not in slug and slug not in (".", "..") and slug.strip(".")
    assert slugs["../../etc"] == "etc"


def test_colliding_slugs_are_distinct_and_do_not_depend_on_order():
    names = ["C++", "C", "c"]
    first = sibling_slugs(names, {})
    assert first == {"C++": "c-fc2b42", "C": "c-32096c", "c": "c"}
    assert sibling_slugs(list(reversed(names)), {}) == first
    assert len(set(first.values())) == 3


def test_config_slug_map_wins_and_its_owner_keeps_the_plain_slug():
    assert sibling_slugs(["C++", "C"], {"C++": "cpp"}) == {"C++": "cpp", "C": "c"}
    assert sibling_slugs(["C++", "C"], {"C++": "c"}) == {"C++": "c", "C": "c-32096c"}


def test_same_name_under_different_parents_is_not_a_collision():
    slugs = assign_slugs([("A", "X"), ("B", "X"), ("A",), ("B",)], {})
    assert slugs[("A", "X")] == ("a", "x") and slugs[("B", "X")] == ("b", "x")


def test_every_ancestor_node_holds_its_descendants_articles_once():
    a = art("a", ("A", "B", "C"), days=1)
    b = art("b", ("A", "B"), ("A", "D"), days=2)
    c = art("c", ("E",), days=3)
    nodes = {node.path: [x.title for x in node.articles] for node in group_articles([a, b, c], 20, {})}
    assert nodes == {
        (): ["c", "b", "a"],
        ("A",): ["b", "a"],
        ("A", "B"): ["b", "a"],
        ("A", "B", "C"): ["a"],
        ("A", "D"): ["b"],
        ("E",): ["c"],
    }


def test_limit_keeps_the_newest_and_zero_keeps_all():
    articles = [art(f"p{i}", ("A",), days=i) for i in range(30)]
    limited = group_articles(articles, 20, {})
    assert [a.title for a in limited[0].articles] == [f"p{i}" for i in range(29, 9, -1)]
    assert len(group_articles(articles, 0, {})[0].articles) == 30


def test_equal_dates_are_ordered_by_link_whatever_the_input_order():
    articles = [art(n, ("A",)) for n in ["m", "z", "a"]]
    for order in (articles, list(reversed(articles))):
        assert [a.title for a in group_articles(order, 20, {})[0].articles] == ["a", "m", "z"]


def test_duplicate_links_get_distinct_guids_and_a_warning():
    first = art("one", link="https://example.org/same/")
    second = art("two", link="https://example.org/same/")
    problems = make_guids_unique([second, first])
    assert first.guid == "https://example.org/same/"
    assert second.guid.startswith("https://example.org/same/#") and len(second.guid) == len(first.guid) + 7
    assert [p.source for p in problems] == ["posts/two.md"]
