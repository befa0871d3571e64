#!/usr/bin/env python3
"""Throughput of the rewrite stage (URL rules + sanitizing) on the shared real corpus.

    python3 bench/rewrite_throughput.py [--repeat 7]

Loads every post of ../shared/corpus/real once, then times Rewriter.rewrite_article over all
of them with the default rules; prints the best of --repeat rounds in articles per second.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"needs {CORPUS} (the workplace's shared folder beside the repository)", file=sys.stderr)
        return 2
    from feedmill.config import load_config
    from feedmill.load import PostError, find_post_files, read_post
    from feedmill.normalize import new_markdown_converter, normalize_post, render_markdown
    from feedmill.rewrite import Rewriter

    config = load_config({"site": {"title": "t", "url": "https://example.org/"}, "posts": [{"dir": str(CORPUS)}],
                          "undated": "mtime"})
    converter = new_markdown_converter()
    articles = []
    for path in find_post_files(CORPUS):
        try:
            raw = read_post(path, CORPUS)
            article = normalize_post(raw, config.posts[0], config)
        except PostError:
            continue
        article.content = raw.body
        article.content_format = "markdown" if raw.is_markdown else "html"
        render_markdown(article, converter)
        articles.append(article)
    best = float("inf")
    for _ in range(args.repeat):
        batch = copy.deepcopy(articles)
        rewriter = Rewriter(config.rewrite)
        start = time.perf_counter()
        for article in batch:
            rewriter.rewrite_article(article)
        best = min(best, time.perf_counter() - start)
    print(f"rewrite stage: {len(articles)} articles in {best * 1000:.0f} ms, "
          f"{len(articles) / best:,.0f} articles/s ({best / len(articles) * 1000:.2f} ms per article)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
