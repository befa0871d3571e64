from __future__ import annotations

import pytest

from feedmill.config import ConfigError
from feedmill.sources import RemoteSource, parse_sources

BASE = "https://rsshub.example.org"


def test_relative_routes_join_the_base_and_defaults_apply() -> None:
    sources = parse_sources(
        {
            "base": BASE,
            "feeds": [
                {"url": "/36kr/news/latest", "category": ["新媒体", "36kr", "资讯"]},
                {"url": "https://other.example/feed.xml", "category": ["设计"], "name": "Other",
                 "enabled": False, "limit": 5, "rewrite": {"images": "proxy"}},
            ],
        }
    )
    assert sources[0] == RemoteSource(
        url="https://rsshub.example.org/36kr/news/latest",
        category=("新媒体", "36kr", "资讯"),
        name="36kr/news/latest",
    )
    assert sources[0].enabled is True and sources[0].limit is None and dict(sources[0].rewrite) == {}
    assert (sources[1].name, sources[1].enabled, sources[1].limit) == ("Other", False, 5)
    assert dict(sources[1].rewrite) == {"images": "proxy"}


def test_base_with_a_path_keeps_it() -> None:
    [source] = parse_sources({"base": "https://example.org/rsshub", "feeds": [{"url": "/a/b", "category": ["x"]}]})
    assert source.url == "https://example.org/rsshub/a/b"


def test_a_plain_list_and_none_are_accepted() -> None:
    assert parse_sources(None) == []
    [source] = parse_sources([{"url": "http://example.org/", "category": ["x"]}])
    assert source.name == "example.org"


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ("nope", "sources", "must be a list"),
        ({"base": BASE, "feed": []}, "sources.feed", "unknown setting"),
        ({"base": "rsshub", "feeds": []}, "sources.base", "absolute http"),
        ({"feeds": {"url": "x"}}, "sources.feeds", "must be a list"),
        ([{"url": "/a", "category": ["x"]}], "sources[0].url", "needs a `base`"),
        ([{"url": "ftp://example.org/f", "category": ["x"]}], "sources[0].url", "only http"),
        ([{"category": ["x"]}], "sources[0].url", "is required"),
        (["http://example.org/"], "sources[0]", "must be a mapping"),
        ([{"url": "http://e.org/", "category": "x"}], "sources[0].category", "list"),
        ([{"url": "http://e.org/", "category": ["x", ""]}], "sources[0].category[1]", "non-empty"),
        ([{"url": "http://e.org/", "category": ["x"], "enabled": "yes"}], "sources[0].enabled", "true or false"),
        ([{"url": "http://e.org/", "category": ["x"], "limit": 0}], "sources[0].limit", "positive"),
        ([{"url": "http://e.org/", "category": ["x"], "limit": True}], "sources[0].limit", "positive"),
        ([{"url": "http://e.org/", "category": ["x"], "rewrite": []}], "sources[0].rewrite", "mapping"),
        ([{"url": "http://e.org/", "category": ["x"], "colour": 1}], "sources[0].colour", "unknown"),
        ([{"url": "http://e.org/", "category": ["x"]}] * 2, "sources[1].url", "same URL as sources[0]"),
    ],
)
def test_bad_config_names_the_key(data: object, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_sources(data)
    assert caught.value.key == key
    assert words in caught.value.message


def test_errors_in_the_mapping_form_name_the_feeds_list() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_sources({"base": BASE, "feeds": [{"url": "/a", "category": ["x"]}, {"url": "/b"}]}, key="remote")
    assert caught.value.key == "remote.feeds[1].category"
