"""Discovery, engines and the tally: a scan never stops on one bad file and never depends on --jobs."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from musicforensics.config import AnalysisConfig
from musicforensics.pipeline.discovery import discover
from musicforensics.pipeline.engines import ProcessPoolEngine, SerialEngine
from musicforensics.pipeline.scan import Tally, scan
from musicforensics.pipeline.work import ScanItem
from musicforensics.results import TrackReport, Finding
from tests.conftest import tone_mix, write_wav


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "lib"
    (root / "a" / "deep").mkdir(parents=True)
    (root / "b").mkdir()
    y = tone_mix(22050, 1.5, noise_db=-50)
    write_wav(root / "a" / "one.flac", y, 22050)
    write_wav(root / "a" / "deep" / "two.wav", y, 22050, "PCM_24")
    write_wav(root / "b" / "pad.flac", np.round(y * 32767) / 32768, 22050, "PCM_24")
    (root / "b" / "notes.txt").write_text("not audio")
    (root / "b" / "fake.mp3").write_text("not audio either" * 40)
    (root / "b" / "empty.wav").write_bytes(b"")
    os.symlink(root, root / "a" / "loop")  # a symlink loop back to the top
    return root


def test_discover_recurses_filters_and_survives_loops(library):
    items = discover([str(library)])
    labels = [i.label for i in items]
    assert labels == sorted(labels)
    names = [os.path.basename(x) for x in labels]
    assert names == ["two.wav", "one.flac", "empty.wav", "fake.mp3", "pad.flac"]
    assert all(label.startswith(str(library)) for label in labels)
    assert "notes.txt" not in names


def test_labels_keep_the_argument_as_given(library, monkeypatch):
    monkeypatch.chdir(library.parent)
    labels = [i.label for i in discover(["lib/"])]
    assert labels[0] == os.path.join("lib/", "a", "deep", "two.wav")
    assert discover([str(library / "b" / "notes.txt")])[0].label.endswith("notes.txt")  # named files always count


def test_missing_path_and_unlistable_folder_become_error_items(library, monkeypatch):
    items = discover([str(library / "missing")])
    assert items[0].error and "cannot open" in items[0].error
    real_scandir = os.scandir

    def deny(path):
        if str(path).endswith("deep"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    items = discover([str(library)])
    assert any(i.error and "Permission denied" in i.error for i in items)


def _as_comparable(reports):
    out = []
    for r in reports:
        d = r.to_dict()
        d.pop("seconds")
        for det in d["detectors"]:
            det.pop("seconds")
        out.append(d)
    return out


def test_results_identical_whatever_the_job_count(library):
    items = discover([str(library)])
    cfg = AnalysisConfig()
    serial, t1 = scan(items, config=cfg, engine=SerialEngine())
    pooled, t2 = scan(items, config=cfg, engine=ProcessPoolEngine(2))
    assert json.dumps(_as_comparable(serial)) == json.dumps(_as_comparable(pooled))
    assert t1.to_dict() == t2.to_dict() == {"files": 5, "ok": 3, "inconclusive": 0, "error": 2, "findings": {"bitpadded": 1}}


def test_pool_workers_get_one_blas_thread_unless_the_user_chose():
    """The pool's workers ask BLAS for one thread (two workers each with a thread per core ran slower than one
    worker); a count the user set is kept."""
    import subprocess
    import sys

    code = ("import os; import musicforensics.pipeline.preload; "
            "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["1", "1"], out.stderr
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OPENBLAS_NUM_THREADS": "3"},
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["3", "1"], out.stderr


def test_on_result_sees_reports_in_discovery_order(library):
    items = discover([str(library)])
    seen = []
    scan(items, config=AnalysisConfig(), engine=ProcessPoolEngine(2), on_result=lambda r: seen.append(r.path))
    assert seen == [i.label for i in items]


def _report(status, kinds=()):
    r = TrackReport(path="x", status=status)
    for k in kinds:
        r.verdicts[k] = Finding(k, True, 0.9)
    return r


@pytest.mark.parametrize(
    "statuses,fail_on,code",
    [
        ([("ok", ())], None, 0),
        ([("ok", ("lossy",))], None, 1),
        ([("ok", ("lossy",))], ["ai"], 0),
        ([("ok", ("lossy",))], [], 0),
        ([("ok", ("lossy",)), ("error", ())], None, 3),
        ([("inconclusive", ())], None, 0),
    ],
)
def test_exit_code_comes_from_the_tally(statuses, fail_on, code):
    t = Tally()
    for status, kinds in statuses:
        t.add(_report(status, kinds))
    assert t.exit_code(fail_on) == code


class _CrashOnce:
    """An engine wrapper that yields a duplicate, as a retrying engine may: scan must keep the first."""

    def run(self, items, config):
        for i, r in SerialEngine().run(items, config):
            yield i, r
            yield i, r


def test_duplicate_results_are_counted_once(library):
    items = discover([str(library)])
    reports, tally = scan(items, config=AnalysisConfig(), engine=_CrashOnce())
    assert tally.files == len(items) == len(reports)


def test_error_items_are_reported_not_analysed():
    reports, tally = scan([ScanItem("gone.flac", "gone.flac", error="cannot open: No such file")], config=AnalysisConfig())
    assert reports[0].status == "error" and tally.exit_code() == 3


def _sleep(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


def test_a_stopped_pool_has_wound_down_before_the_interpreter_exits():
    """Python < 3.14: ``concurrent.futures``' exit hook writes to the pool's wake-up pipe without the lock the
    manager thread closes it under; a scan stopped by Ctrl-C that exits while the thread winds down printed
    ``OSError: [Errno 9] Bad file descriptor``. After ``_stop_now`` the thread has finished and the pipe is
    closed (so the hook skips it)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from musicforensics.pipeline.engines import _stop_now

    pool = ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn"))
    futures = [pool.submit(_sleep, 30.0) for _ in range(3)]
    while not any(p.is_alive() for p in (pool._processes or {}).values()):
        _sleep(0.05)
    _sleep(0.5)
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    wakeup = getattr(pool, "_executor_manager_thread_wakeup", None)
    _stop_now(pool)
    assert manager is None or not manager.is_alive()
    assert wakeup is None or wakeup._closed or hasattr(pool, "terminate_workers")
    del futures
