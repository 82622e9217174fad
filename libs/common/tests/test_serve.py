"""``common.serve``: how many workers, and a fresh multiprocess metrics folder per start."""

import os
from pathlib import Path

import pytest

from common.metrics import MULTIPROCESS_DIR
from common.serve import available_cpus, fresh_metrics_folder, quota_cpus, worker_count


@pytest.mark.parametrize(
    ("cpu_max", "cpus"),
    [
        ("max 100000\n", None),  # no quota
        ("200000 100000\n", 2),
        ("150000 100000", 2),  # 1.5 CPUs: rounded up
        ("50000 100000", 1),  # half a CPU is still one worker
        ("", None),
        ("garbage", None),
        ("100000 0", None),
    ],
)
def test_a_cgroup_quota_is_read_as_whole_cpus(cpu_max: str, cpus: int | None) -> None:
    assert quota_cpus(cpu_max) == cpus


def test_available_cpus_are_bounded_by_the_quota(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    quota.write_text("100000 100000\n")
    assert available_cpus(quota) == 1
    quota.write_text("max 100000\n")
    assert available_cpus(quota) == affinity
    assert available_cpus(tmp_path / "missing") == affinity  # no cgroup v2: the affinity


def test_web_concurrency_sets_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert worker_count() == 3
    monkeypatch.setenv("WEB_CONCURRENCY", "")
    assert worker_count() == available_cpus()
    monkeypatch.delenv("WEB_CONCURRENCY")
    assert worker_count() == available_cpus()


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_web_concurrency_that_is_no_positive_integer_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", value)
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be a positive integer"):
        worker_count()


def test_without_a_configured_folder_each_start_gets_a_new_one_removed_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MULTIPROCESS_DIR, raising=False)
    with fresh_metrics_folder("points") as first:
        assert os.environ[MULTIPROCESS_DIR] == str(first)
        assert list(first.iterdir()) == []
    with fresh_metrics_folder("points") as second:
        assert second != first
    assert not first.exists()
    assert not second.exists()
    assert MULTIPROCESS_DIR not in os.environ


def test_a_configured_folder_loses_the_last_starts_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_4242.db").write_bytes(b"an earlier start's counts")
    (folder / "README").write_text("not prometheus_client's")
    monkeypatch.setenv(MULTIPROCESS_DIR, str(folder))
    with fresh_metrics_folder("points") as fresh:
        assert fresh == folder
        assert [path.name for path in folder.iterdir()] == ["README"]
    assert folder.exists()
