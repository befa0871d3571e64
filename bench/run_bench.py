#!/usr/bin/env python3
"""Benchmark feedmill builds (and Hugo's, when the `hugo` binary is installed) on generated corpora.

For each corpus size it measures, as the median of --runs runs, the wall time and peak RSS of:
  full        a build with an empty build cache and an empty output folder
  no-change   a rebuild with nothing changed
  one-new     a rebuild after one new post was added (the newest of the corpus)
Both tools write RSS + Atom with 20 items per feed. Corpora come from
../shared/bench/make_corpus.py (same seed, so every run measures the same posts).

    python3 bench/run_bench.py                 # 1k and 10k
    python3 bench/run_bench.py --large         # and 100k
    python3 bench/run_bench.py --sizes 10000 --runs 3 --markdown

Run it from the repository with feedmill installed in .venv (the README's set-up command).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAKE_CORPUS = REPO.parent / "shared" / "bench" / "make_corpus.py"
FEEDMILL = REPO / ".venv" / "bin" / "feedmill"
TIME = "/usr/bin/time"

HUGO_CONFIG = """
baseURL = "https://example.org/"
title = "Bench"
disableKinds = ["sitemap", "robotsTXT", "404"]
[taxonomies]
  category = "categories"
[outputs]
  home = ["RSS", "Atom"]
  section = ["RSS", "Atom"]
  taxonomy = ["RSS"]
  term = ["RSS", "Atom"]
[outputFormats.Atom]
  mediaType = "application/atom+xml"
  baseName = "atom"
  isPlainText = false
[mediaTypes."application/atom+xml"]
  suffixes = ["xml"]
[services.rss]
  limit = 20
[markup.goldmark.renderer]
  unsafe = true
"""
HUGO_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{{ .Title }}</title><id>{{ .Permalink }}</id>
<updated>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</updated><link href="{{ .Permalink }}"/>
{{ range first 20 .Pages }}<entry><title>{{ .Title }}</title><id>{{ .Permalink }}</id>
<link href="{{ .Permalink }}"/><updated>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</updated>
<content type="html">{{ .Content | html }}</content></entry>{{ end }}</feed>
"""


def main() -> int:
    args = parse_args()
    if not MAKE_CORPUS.is_file():
        print(f"needs {MAKE_CORPUS} (the workplace's shared folder beside the repository)", file=sys.stderr)
        return 2
    if not FEEDMILL.is_file():
        print(f"needs feedmill installed at {FEEDMILL} (see the README's set-up command)", file=sys.stderr)
        return 2
    hugo = shutil.which("hugo") if not args.no_hugo else None
    sizes = args.sizes + ([100_000] if args.large else [])
    work = Path(args.workdir)
    results = []
    for size in sizes:
        row = {"posts": size, "feedmill": bench_feedmill(work, size, args.runs)}
        if hugo:
            row["hugo"] = bench_hugo(work, size, args.runs, hugo)
        results.append(row)
        print_row(row)
    report = {"machine": machine(hugo), "runs": args.runs, "results": results}
    (work / "results.json").write_text(json.dumps(report, indent=2))
    if args.markdown:
        print(markdown_table(report))
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--large", action="store_true", help="also 100,000 posts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "feedmill-bench"))
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="print a table for docs/benchmarks.md")
    return parser.parse_args()


# --- corpora -----------------------------------------------------------------------------------

def corpus(work: Path, size: int, hugo: bool = False) -> Path:
    folder = work / f"corpus-{size}{'-hugo' if hugo else ''}"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        style = ["--date-style", "hugo", "--no-leading-blank"] if hugo else []
        subprocess.run([sys.executable, str(MAKE_CORPUS), "--out", str(folder), "--count", str(size),
                        "--seed", "1", "--quiet", *style], check=True)
        done.touch()
    return folder


def add_new_post(folder: Path, index: int, hugo: bool = False) -> Path:
    """Write post number `index` (newer than every other) and return its path."""
    before = set(folder.rglob("*.md"))
    style = ["--date-style", "hugo", "--no-leading-blank"] if hugo else []
    subprocess.run([sys.executable, str(MAKE_CORPUS), "--out", str(folder), "--count", "1", "--seed", "1",
                    "--start", str(index), "--date-start", "2024-01-01", "--date-end", "2024-01-02",
                    "--quiet", *style], check=True)
    [new] = set(folder.rglob("*.md")) - before
    return new


# --- measuring ---------------------------------------------------------------------------------

def measure(command: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one run of `command`."""
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run([TIME, "-f", "%e %M", "-o", out.name, *command], cwd=cwd, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds, kilobytes = out.read().split()[-2:]
    return float(seconds), int(kilobytes) / 1024


def median_of(samples: list[tuple[float, float]]) -> dict[str, float]:
    return {"seconds": round(statistics.median(s for s, _ in samples), 2),
            "peak_mb": round(statistics.median(m for _, m in samples))}


def bench_feedmill(work: Path, size: int, runs: int) -> dict[str, dict[str, float]]:
    posts = corpus(work, size)
    site = work / f"feedmill-{size}"
    config = site / "feedmill.yml"
    site.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({
        "root": str(site),
        "site": {"title": "Bench", "url": "https://example.org/", "timezone": "Asia/Shanghai"},
        "posts": [{"dir": str(posts)}],
        "output": {"dir": "feeds", "formats": ["rss", "atom"], "limit": 20, "index": False},
    }))
    command = [str(FEEDMILL), "build", "--config", str(config), "-q"]
    full = []
    for _ in range(runs):
        shutil.rmtree(site / "feeds", ignore_errors=True)
        shutil.rmtree(site / ".feedmill", ignore_errors=True)
        full.append(measure(command))
    no_change = [measure(command) for _ in range(runs)]
    added, one_new = [], []
    try:
        for i in range(runs):
            added.append(add_new_post(posts, size + i))
            one_new.append(measure(command))
    finally:
        for path in added:
            path.unlink()
    measure(command)  # leave the output matching the corpus again
    return {"full": median_of(full), "no-change": median_of(no_change), "one-new": median_of(one_new)}


def bench_hugo(work: Path, size: int, runs: int, hugo: str) -> dict[str, dict[str, float]]:
    posts = corpus(work, size, hugo=True)
    site = work / f"hugo-{size}"
    (site / "layouts" / "_default").mkdir(parents=True, exist_ok=True)
    (site / "hugo.toml").write_text(HUGO_CONFIG)
    (site / "layouts" / "_default" / "list.atom.xml").write_text(HUGO_ATOM)
    content = site / "content"
    if not content.exists():
        content.symlink_to(posts, target_is_directory=True)
    command = [hugo, "--quiet", "--destination", "public"]
    full = []
    for _ in range(runs):
        shutil.rmtree(site / "public", ignore_errors=True)
        shutil.rmtree(site / "resources", ignore_errors=True)
        full.append(measure(command, cwd=site))
    no_change = [measure(command, cwd=site) for _ in range(runs)]
    added, one_new = [], []
    try:
        for i in range(runs):
            added.append(add_new_post(posts, size + i, hugo=True))
            one_new.append(measure(command, cwd=site))
    finally:
        for path in added:
            path.unlink()
    return {"full": median_of(full), "no-change": median_of(no_change), "one-new": median_of(one_new)}


# --- reporting ---------------------------------------------------------------------------------

def machine(hugo: str | None) -> dict[str, str]:
    feedmill_version = subprocess.run([str(FEEDMILL), "--version"], capture_output=True, text=True).stdout.strip()
    hugo_version = subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.strip() if hugo else ""
    return {"cpus": str(os.cpu_count()), "python": platform.python_version(), "platform": platform.platform(),
            "feedmill": feedmill_version, "hugo": hugo_version}


def print_row(row: dict) -> None:
    for tool in ("feedmill", "hugo"):
        if tool in row:
            cells = ", ".join(f"{k} {v['seconds']} s / {v['peak_mb']} MB" for k, v in row[tool].items())
            print(f"{row['posts']:>7} posts  {tool:<8} {cells}")
    if "hugo" in row:
        ratios = ", ".join(f"{k} {row['feedmill'][k]['seconds'] / row['hugo'][k]['seconds']:.2f}x"
                           for k in row["feedmill"])
        print(f"{'':>7}        feedmill/hugo time: {ratios}")


def markdown_table(report: dict) -> str:
    lines = ["| posts | tool | full build | no-change rebuild | one new post | peak memory (full) |",
             "|---|---|---|---|---|---|"]
    for row in report["results"]:
        for tool in ("feedmill", "hugo"):
            if tool in row:
                r = row[tool]
                lines.append(f"| {row['posts']:,} | {tool} | {r['full']['seconds']} s | {r['no-change']['seconds']} s "
                             f"| {r['one-new']['seconds']} s | {r['full']['peak_mb']} MB |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
