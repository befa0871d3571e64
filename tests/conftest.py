from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from feedserver import FeedServer  # noqa: E402

from feedmill.fetch import Fetcher, FetchSettings  # noqa: E402
from feedmill.store import Store  # noqa: E402


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
