"""The Dask engine with real parts: a LocalCluster of worker processes, separate `dask scheduler` and
`dask worker` processes over TCP on 127.0.0.1, a worker killed mid-scan, and resume through the store."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from musicforensics.config import AnalysisConfig
from musicforensics.errors import EngineError, ParameterError
from musicforensics.pipeline.discovery import discover
from musicforensics.pipeline.engines import SerialEngine, make_engine
from musicforensics.pipeline.scan import scan
from tests.conftest import require_module, tone_mix, write_wav

CFG = AnalysisConfig()
#: The resume and separate-process tests run one cheap detector: faster, and they
#: test the engine, not the detectors; the LocalCluster and worker-kill tests run every detector.
CFG_FAST = AnalysisConfig(detectors=("bitdepth",))
N_FILES = 24


def _strip_timing(d: dict) -> dict:
    d = dict(d)
    d.pop("seconds", None)
    d["detectors"] = [{k: v for k, v in x.items() if k != "seconds"} for x in d.get("detectors", [])]
    return d


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("dasklib")
    for i in range(N_FILES):
        y = tone_mix(22050, 1.5, freqs=(100.0 + 37.0 * i, 2500.0), channels=1, seed=i)
        write_wav(root / f"t{i:03d}.flac", y, 22050, "PCM_24" if i % 3 == 0 else "PCM_16")
    (root / "zz_broken.flac").write_bytes(b"not audio" * 100)  # a per-file error must travel the same way
    return root


@pytest.fixture(scope="module")
def reference(library):
    reports, tally = scan(discover([str(library)]), config=CFG, engine=SerialEngine())
    return reports, tally


@pytest.fixture(scope="module")
def reference_fast(library):
    return scan(discover([str(library)]), config=CFG_FAST, engine=SerialEngine())


@pytest.fixture(scope="module")
def cluster():
    require_module("distributed")
    import logging

    from distributed import LocalCluster

    from musicforensics.pipeline.analysis import warm_up

    warm_up()
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    try:
        yield c
    finally:
        c.close()


def test_dask_engine_needs_the_optional_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ParameterError, match=r"musicforensics\[dask\]"):
        make_engine(engine="dask")
    with pytest.raises(ParameterError, match="needs engine='dask'"):
        make_engine(engine="local", scheduler="tcp://127.0.0.1:8786")


@pytest.mark.slow
def test_local_cluster_gives_the_same_results_each_index_once(cluster, library, reference):
    from musicforensics.pipeline.dask_engine import DaskEngine

    items = discover([str(library)])
    seen = []

    class Recorder:  # scan() would hide a repeated index: check the engine itself
        def run(self, items, config):
            for i, report in DaskEngine(scheduler=cluster.scheduler_address).run(items, config):
                seen.append(i)
                yield i, report

    reports, tally = scan(items, config=CFG, engine=Recorder())
    assert sorted(seen) == list(range(len(items)))
    ref_reports, ref_tally = reference
    assert [_strip_timing(r.to_dict()) for r in reports] == [_strip_timing(r.to_dict()) for r in ref_reports]
    assert tally.to_dict() == ref_tally.to_dict() and tally.exit_code() == ref_tally.exit_code() == 3


def test_own_local_cluster_workers_keep_glibcs_adaptive_malloc(monkeypatch):
    """Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers, which made the analysis 2.3x slower
    there; the engine's own local cluster leaves it out."""
    require_module("distributed")
    from musicforensics.pipeline.dask_engine import DaskEngine

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    client, cluster = DaskEngine(workers=1)._connect(CFG)
    try:
        assert client.submit(os.environ.get, "MALLOC_TRIM_THRESHOLD_", pure=False).result(timeout=120) is None
    finally:
        client.close()
        cluster.close()


@pytest.mark.slow
def test_worker_killed_mid_scan_loses_nothing_and_counts_nothing_twice(cluster, library, reference):
    from distributed import Client

    from musicforensics.pipeline.dask_engine import DaskEngine

    items = discover([str(library)])
    with Client(cluster.scheduler_address, set_as_default=False) as spy:
        pids = spy.run(os.getpid)  # {worker address: pid of the worker process}
        assert len(pids) == 2
        results = []
        # every detector: files take long enough that both workers hold tasks when one is killed
        for n, (i, report) in enumerate(DaskEngine(scheduler=cluster.scheduler_address).run(items, CFG)):
            results.append((i, report))
            if n == 2:  # three files done, the window still holds tasks on both workers
                victim = min(pids.values())
                os.kill(victim, signal.SIGKILL)
    indices = [i for i, _ in results]
    assert sorted(indices) == list(range(len(items)))  # none lost, none twice
    got = [_strip_timing(r.to_dict()) for _, r in sorted(results, key=lambda x: x[0])]
    assert got == [_strip_timing(r.to_dict()) for r in reference[0]]
    deadline = time.monotonic() + 60  # the nanny brings a replacement worker back for the next tests
    with Client(cluster.scheduler_address, set_as_default=False) as spy:
        while len(spy.nthreads()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.mark.slow
def test_interrupted_dask_scan_resumes_through_the_store(cluster, library, reference_fast, tmp_path):
    from musicforensics.pipeline.dask_engine import DaskEngine
    from musicforensics.pipeline.store import ResultStore
    from musicforensics.pipeline.store_engine import StoreEngine

    items = discover([str(library)])
    with ResultStore(tmp_path / "s.sqlite") as st:
        gen = StoreEngine(DaskEngine(scheduler=cluster.scheduler_address), st).run(items, CFG_FAST)
        first = [next(gen) for _ in range(5)]
        gen.close()  # the scan stops here (Ctrl-C, lost client...)
        engine = StoreEngine(DaskEngine(workers=2), st)  # resumed on a LocalCluster the engine starts itself
        reports, _ = scan(items, config=CFG_FAST, engine=engine)
    assert engine.stats.reused >= 5 and engine.stats.reused + engine.stats.analysed == len(items)
    assert len(first) == 5
    assert [_strip_timing(r.to_dict()) for r in reports] == [_strip_timing(r.to_dict()) for r in reference_fast[0]]


def test_unreachable_scheduler_is_an_engine_error():
    require_module("distributed")
    from musicforensics.pipeline.dask_engine import DaskEngine

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = DaskEngine(scheduler=f"tcp://127.0.0.1:{port}", connect_timeout=2)
    items = discover([__file__])
    t0 = time.monotonic()
    with pytest.raises(EngineError, match="cannot reach the Dask scheduler"):
        list(engine.run(items, CFG))
    assert time.monotonic() - t0 < 30


def _stop(proc: subprocess.Popen) -> None:
    """End a process group this test started: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.slow
def test_separate_scheduler_and_worker_processes_over_tcp(library, reference_fast, tmp_path):
    require_module("distributed")
    dask_cli = [sys.executable, "-m", "dask"]  # the `dask` command of the same environment
    sched_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "dask.log", "w")
    procs = []
    try:
        procs.append(subprocess.Popen(
            dask_cli + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
            stdout=log, stderr=log, start_new_session=True))
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sched_file.exists(), (tmp_path / "dask.log").read_text()
        time.sleep(0.2)  # the file is written in one go, but give the writer a moment to close it
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(
            dask_cli + ["worker", "--scheduler-file", str(sched_file),
             "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
             "--death-timeout", "60"],
            stdout=log, stderr=log, start_new_session=True))

        remote = subprocess.run([sys.executable, "-m", "musicforensics", "scan", str(library), "-f", "json", "-q",
                                 "--detectors", "bitdepth", "--engine", "dask", "--scheduler", address],
                                capture_output=True, text=True, timeout=240, check=False)
        ref_reports, ref_tally = reference_fast  # what the local engine reports for the same folder
        assert remote.returncode == ref_tally.exit_code() == 3, remote.stderr[-2000:]
        doc = json.loads(remote.stdout)
        assert [_strip_timing(d) for d in doc["results"]] == [_strip_timing(r.to_dict()) for r in ref_reports]
        assert doc["summary"] == ref_tally.to_dict()
    finally:
        for p in reversed(procs):
            _stop(p)
        log.close()
