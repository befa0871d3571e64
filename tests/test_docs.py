"""The configuration shown in the README and the bundled config are valid as written."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from feedmill.config import load_config

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_sources_example_is_a_valid_config():
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    [example] = [block for block in blocks if "sources:" in block]
    config = load_config({"site": {"title": "t", "url": "https://example.org/"}, **yaml.safe_load(example)})
    assert [s.url for s in config.sources][:2] == [
        "https://rsshub.app/woshipm/latest", "https://rsshub.app/36kr/news/latest"]
    assert config.retention.max_items == 500
    assert set(config.source_rewrites) == {"https://example.org/feed.json"}


def test_the_bundled_config_reads_the_example_posts():
    config = load_config(REPO / "config" / "feedmill.yml")
    assert config.posts[0].dir == REPO / "examples" / "posts"
    assert config.output.dir == REPO / "feeds" and config.output.slugs == {"新媒体": "new-media"}


def test_the_readme_python_calls_exist():
    import feedmill
    from feedmill.collector import collect

    assert feedmill.collect is collect and callable(feedmill.build)
