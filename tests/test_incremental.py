"""Cron-grade builds: the build cache, the lock, the shrink guard, failures, dry runs."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from filelock import FileLock

from feedmill import build
from feedmill.cli import main
from feedmill import BuildLocked


def site(project, count: int = 4) -> None:
    for i in range(count):
        project.post(f"a/p{i}.md", title=f"A{i}", categories="[A, B]", date=f"2021-08-{10 + i:02d} 09:00:00")
    project.post("c/q.md", title="C0", categories="[C]", date="2021-08-01 09:00:00")


FEED_NAMES = ("rss.xml", "atom.xml", "feed.json")


def feeds(paths: list[str]) -> list[str]:
    """The per-node feed files among `paths`, sorted (OPML, XSL and index.html left out)."""
    return sorted(p for p in paths if p.endswith(FEED_NAMES))


def uncached_bytes(project, tmp_path, **config) -> dict[str, bytes]:
    out = tmp_path / "uncached"
    build(project.config(output={"dir": str(out)}, **config), use_cache=False)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_cached_and_uncached_builds_give_identical_bytes(project, tmp_path):
    site(project)
    build(project.config())
    project.post("a/p1.md", title="A1 edited", categories="[A, B]", date="2021-08-11 09:00:00")
    build(project.config())
    assert project.feed_files() == uncached_bytes(project, tmp_path)


def test_a_rebuild_with_nothing_changed_writes_nothing_and_reports_the_same(project):
    site(project)
    project.write("bad.md", b"")
    first = build(project.config())
    second = build(project.config())
    assert second.feeds_written == []
    assert sorted(second.feeds_unchanged) == sorted(first.feeds_written)
    assert (second.posts_read, second.skipped, second.warnings) == (first.posts_read, first.skipped, first.warnings)


def test_one_edited_post_rewrites_only_the_feeds_it_is_in(project):
    site(project)
    build(project.config())
    project.post("c/q.md", title="C0 edited", categories="[C]", date="2021-08-01 09:00:00")
    report = build(project.config())
    assert sorted(report.feeds_written) == [
        "atom.xml", "c/atom.xml", "c/feed.json", "c/rss.xml", "feed.json", "rss.xml"]


def test_a_config_change_invalidates_what_it_affects(project, tmp_path):
    site(project)
    build(project.config())
    retitled = build(project.config(site={"title": "Renamed"}))
    assert len(feeds(retitled.feeds_written)) == 12 and feeds(retitled.feeds_unchanged) == []
    rules = {"rules": [{"match": {"host": "img.example"}, "action": "https"}]}
    project.post("a/p0.md", title="A0", categories="[A, B]", date="2021-08-10 09:00:00",
                 body='<img src="http://img.example/x.png">')
    build(project.config(site={"title": "Renamed"}))
    with_rule = build(project.config(site={"title": "Renamed"}, rewrite=rules))
    assert "rss.xml" in with_rule.feeds_written
    assert b"https://img.example/x.png" in (project.out / "rss.xml").read_bytes()
    assert project.feed_files() == uncached_bytes(project, tmp_path, site={"title": "Renamed"}, rewrite=rules)


def test_shrink_guard_keeps_a_feed_that_would_lose_more_than_half(project):
    site(project)
    build(project.config())
    before = (project.out / "a" / "rss.xml").read_bytes()
    for i in range(1, 4):
        (project.posts / f"a/p{i}.md").unlink()
    report = build(project.config())
    assert {p.source for p in report.refused} == {
        f"{folder}{name}" for folder in ("", "a/", "a/b/") for name in FEED_NAMES}
    reasons = {p.source: p.reason for p in report.refused}
    assert reasons["a/rss.xml"].startswith("would shrink from 4 to 1 items; the published feed was kept")
    assert (project.out / "a" / "rss.xml").read_bytes() == before
    allowed = build(project.config(), allow_shrink=True)
    assert "a/rss.xml" in allowed.feeds_written and allowed.refused == []


def test_feeds_of_a_vanished_category_are_deleted_only_when_allowed(project):
    site(project)
    build(project.config())
    shutil.rmtree(project.posts / "c")
    kept = build(project.config())
    assert sorted(p.source for p in kept.refused) == ["c/atom.xml", "c/feed.json", "c/rss.xml"]
    assert "no posts any more" in kept.refused[0].reason
    assert (project.out / "c" / "rss.xml").is_file()
    runner = CliRunner()
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(project.config()), encoding="utf-8")
    refused = runner.invoke(main, ["build", "--config", str(config_file)])
    assert refused.exit_code == 3 and "--allow-shrink" in refused.stderr
    deleted = runner.invoke(main, ["build", "--config", str(config_file), "--allow-shrink"])
    assert deleted.exit_code == 0, deleted.output
    assert not (project.out / "c").exists() and (project.out / "a" / "rss.xml").is_file()


def test_dry_run_reports_changes_and_writes_nothing(project):
    site(project)
    report = build(project.config(), dry_run=True)
    assert len(feeds(report.feeds_written)) == 12 and report.dry_run
    assert not project.out.exists()


def test_a_second_build_waits_for_the_lock_or_says_it_is_locked(project):
    site(project)
    config = project.config()
    (project.root / ".feedmill").mkdir()
    held, release = threading.Event(), threading.Event()

    def other_build() -> None:  # holds the lock from another thread, as a second process would
        with FileLock(str(project.root / ".feedmill" / "build.lock")):
            held.set()
            release.wait(5)

    holder = threading.Thread(target=other_build)
    holder.start()
    held.wait(5)
    with pytest.raises(BuildLocked, match="another build is running"):
        build(config)
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--config", str(config_file)])
    assert result.exit_code == 75 and "another build is running" in result.stderr
    assert not project.out.exists()
    threading.Timer(0.3, release.set).start()
    report = build(config, wait=5)
    holder.join()
    assert len(feeds(report.feeds_written)) == 12


def test_two_concurrent_builds_both_finish_with_the_same_output(project, tmp_path):
    site(project, count=30)
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(build(project.config(), wait=30))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 2
    assert sorted(len(r.feeds_written) for r in reports) == [0, 15]
    assert project.feed_files() == uncached_bytes(project, tmp_path)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_cache_is_rebuilt_with_a_warning(project, tmp_path, damage):
    site(project)
    build(project.config())
    cache = project.root / ".feedmill" / "build-cache.sqlite"
    data = cache.read_bytes()
    cache.write_bytes(b"not a database at all" * 50 if damage == "garbage" else data[: len(data) // 2])
    project.post("a/p0.md", title="A0 edited", categories="[A, B]", date="2021-08-10 09:00:00")
    report = build(project.config())
    assert any("build cache" in w.reason for w in report.warnings)
    assert project.feed_files() == uncached_bytes(project, tmp_path)
    assert build(project.config()).feeds_written == []


def test_a_post_deleted_between_listing_and_reading_is_skipped(project, tmp_path):
    site(project)
    victim = project.posts / "a" / "p3.md"

    def delete_once(stage, done, total):
        if stage == "load" and done == 1 and victim.exists():
            victim.unlink()

    report = build(project.config(), progress=delete_once)
    assert [p.source for p in report.skipped] == [victim.relative_to(project.root).as_posix()]
    assert "A3" not in (project.out / "rss.xml").read_text(encoding="utf-8")


def test_a_post_deleted_before_its_body_is_read_is_left_out(project, tmp_path):
    site(project)
    victim = project.posts / "a" / "p3.md"

    def delete_after_loading(stage, done, total):
        if stage == "load" and done == total and victim.exists():
            victim.unlink()

    report = build(project.config(), progress=delete_after_loading)
    assert [p.source for p in report.skipped] == [victim.relative_to(project.root).as_posix()]
    assert "unreadable since it was listed" in report.skipped[0].reason
    assert project.feed_files() == uncached_bytes(project, tmp_path)


def test_an_output_folder_that_cannot_be_written_is_a_clear_error(project, tmp_path):
    site(project)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(project.config(output={"dir": str(blocker / "feeds")})), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--config", str(config_file)])
    assert result.exit_code == 74
    assert "cannot write: Not a directory" in result.stderr


def test_disk_full_keeps_published_feeds_and_the_next_run_repairs(project, tmp_path, monkeypatch):
    site(project)
    build(project.config())
    before = project.feed_files()
    project.post("a/p0.md", title="A0 edited", categories="[A, B]", date="2021-08-10 09:00:00")
    real_replace = os.replace

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    report = build(project.config())
    assert report.errors and "No space left on device" in report.errors[0].reason
    assert project.feed_files() == before
    assert not [p for p in project.out.rglob(".*")]
    monkeypatch.setattr(os, "replace", real_replace)
    repaired = build(project.config())
    assert repaired.errors == [] and "rss.xml" in repaired.feeds_written
    assert project.feed_files() == uncached_bytes(project, tmp_path)


def test_json_log_format_prints_one_object_per_event(project):
    site(project)
    project.write("bad.md", b"")
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(project.config()), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--config", str(config_file), "--log-format", "json"])
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events] == ["post skipped", "summary"]
    assert events[0]["reason"] == "empty file"
    assert events[1]["written"] == 15 and events[1]["posts_read"] == 5


def test_quiet_cron_output_is_one_summary_line(project):
    site(project)
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(project.config()), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--config", str(config_file)])
    assert result.stderr == "" and len(result.stdout.splitlines()) == 1
    quiet = CliRunner().invoke(main, ["build", "--config", str(config_file), "-q"])
    assert quiet.stdout == "" and quiet.stderr == ""


@pytest.mark.timeout(120)
def test_a_build_killed_at_any_point_leaves_valid_feeds_and_the_next_run_converges(project, tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time

    import feedparser

    body = "<p>" + "段落文字 " * 400 + "</p>"
    for i in range(400):
        project.post(f"c{i % 7}/s{i % 3}/p{i}.md", title=f"P{i}", categories=f"[C{i % 7}, S{i % 3}]",
                     date=f"2021-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:00:00", body=body)
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(project.config()), encoding="utf-8")
    command = [sys.executable, "-c", f"import feedmill; feedmill.build({str(config_file)!r})"]
    rng = random.Random(7)
    for round_ in range(8):
        if round_ == 4:  # later kills hit incremental builds of edited posts
            for i in range(0, 400, 9):
                project.post(f"c{i % 7}/s{i % 3}/p{i}.md", title=f"P{i} v2", categories=f"[C{i % 7}, S{i % 3}]",
                             date=f"2021-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:00:00", body=body)
        process = subprocess.Popen(command)
        time.sleep(rng.uniform(0.05, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        for feed in project.out.rglob("*.xml"):
            parsed = feedparser.parse(feed.read_bytes())
            assert not parsed.bozo and parsed.entries, (round_, feed)
    report = build(project.config())
    assert report.errors == [] and not list(project.out.rglob(".*.tmp"))
    assert project.feed_files() == uncached_bytes(project, tmp_path)
    time.sleep(1.5)  # orphaned pool workers notice within 0.5 s
    leftovers = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(config_file).encode() in cmdline.read_bytes():
                leftovers.append(cmdline.parent.name)
        except OSError:
            pass  # a process that just ended
    assert leftovers == [], "workers of killed builds are still running"


def test_the_replay_shortcut_works_across_processes_with_different_hash_seeds(project):
    import subprocess
    import sys

    site(project)
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(project.config()), encoding="utf-8")
    command = [sys.executable, "-m", "feedmill.cli", "build", "--config", str(config_file), "--log-format", "json"]

    def run(seed: str) -> dict:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        return json.loads(output.splitlines()[-1])

    first, second = run("1"), run("2")
    assert first["written"] == 15 and first["rewrites"] is not None
    assert second["written"] == 0 and second["rewrites"] is None  # no body was even read


def test_a_state_folder_that_cannot_be_created_is_a_clear_error(project):
    site(project)
    (project.root / "state").write_text("a file, not a folder")
    config_file = project.root / "feedmill.yml"
    config_file.write_text(json.dumps(project.config(state_dir="state")), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--config", str(config_file)])
    assert result.exit_code == 74
    assert f"cannot use {project.root / 'state'}" in result.stderr and "Traceback" not in result.output


def test_files_are_listed_once_when_planning_runs_again(project):
    site(project)
    build(project.config())
    project.post("a/p9.md", title="A9", categories="[A, B]", date="2021-08-20 09:00:00")
    victim = project.posts / "a" / "p9.md"

    def delete_after_loading(stage, done, total):
        if stage == "load" and done == total and victim.exists():
            victim.unlink()

    report = build(project.config(), progress=delete_after_loading)
    listed = report.feeds_written + report.feeds_unchanged
    assert len(listed) == len(set(listed)) == 15


def test_dropping_a_format_names_it_and_foreign_files_are_never_touched(project):
    site(project)
    build(project.config())
    foreign = project.out / "hexo-public" / "atom.xml"
    foreign.parent.mkdir()
    foreign.write_text("<feed/>")
    only_rss = project.config(output={"formats": ["rss"]})
    report = build(only_rss)
    reasons = {p.source: p.reason for p in report.refused}
    assert reasons["atom.xml"].startswith("its format is no longer in output.formats")
    assert "hexo-public/atom.xml" not in reasons
    build(only_rss, allow_shrink=True)
    assert not (project.out / "atom.xml").exists() and not (project.out / "a" / "feed.json").exists()
    assert foreign.read_text() == "<feed/>" and (project.out / "rss.xml").is_file()


def test_the_body_cache_keeps_only_bodies_of_published_articles(project):
    import sqlite3

    site(project)
    build(project.config())
    cache = project.root / ".feedmill" / "build-cache.sqlite"
    count = lambda: sqlite3.connect(cache).execute("SELECT count(*) FROM bodies").fetchone()[0]  # noqa: E731
    assert count() == 5
    for version in range(3):
        project.post("a/p0.md", title=f"A0 v{version}", categories="[A, B]", date="2021-08-10 09:00:00")
        build(project.config())
    assert count() == 5
