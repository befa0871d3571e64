"""Shared fixtures: a throw-away project with posts, the workplace's real corpus, and a real
HTTP server on 127.0.0.1 for the collector."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from feedserver import FeedServer  # noqa: E402

from feedmill.fetch import Fetcher, FetchSettings  # noqa: E402
from feedmill.store import Store  # noqa: E402

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
CORPUS = SHARED / "corpus" / "real"

POST = """
---
title: {title}
categories: {categories}
author: Tester
date: {date}
{extra}---

{body}
"""


class Project:
    """A temporary site: write posts into `posts/`, build into `feeds/`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.posts = root / "posts"
        self.out = root / "feeds"
        self.posts.mkdir()

    def config(self, **overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "root": str(self.root),
            "site": {"title": "Test Site", "url": "https://example.org/", "language": "zh-CN",
                     "timezone": "Asia/Shanghai"},
            "posts": [{"dir": "posts"}],
            "output": {"dir": "feeds", "url": "https://example.org/feeds/"},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        return config

    def write(self, relpath: str, text: str | bytes) -> Path:
        path = self.posts / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def post(self, relpath: str, *, title: str = "A post", categories: str = "[A, B]",
             date: str = "2021-08-11 09:07:51", extra: str = "", body: str = "<p>Body</p>") -> Path:
        return self.write(relpath, POST.format(title=title, categories=categories, date=date,
                                               extra=extra, body=body))

    def feed_files(self) -> dict[str, bytes]:
        return {p.relative_to(self.out).as_posix(): p.read_bytes()
                for p in sorted(self.out.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not here ({CORPUS}); it lives beside the repository in the workplace")
    return CORPUS


@pytest.fixture
def server() -> Iterator[FeedServer]:
    running = FeedServer().start()
    yield running
    running.stop()


@pytest.fixture
def settings() -> FetchSettings:
    """Small limits so every bad case ends within about a second."""
    return FetchSettings(
        connect_timeout=1.0,
        read_timeout=0.5,
        total_timeout=3.0,
        max_bytes=256 * 1024,
        max_redirects=3,
        retries=2,
        backoff=0.01,
        max_retry_after=1.0,
        workers=4,
        per_host=4,
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fetcher(settings: FetchSettings, sleeps: list[float]) -> Iterator[Fetcher]:
    # Delays are recorded, not slept: retry tests assert on them and stay fast.
    with Fetcher(settings, sleep=sleeps.append) as f:
        yield f


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state") as opened:
        yield opened


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("timeout"):
        config.addinivalue_line("markers", "timeout(seconds): enforced when pytest-timeout is installed")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A hung socket must fail one test, not stall the suite (needs pytest-timeout).
    for item in items:
        item.add_marker(pytest.mark.timeout(10))
