"""Shared fixtures: a throw-away project with posts, and the workplace's real corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
