"""The result store: keys, reuse rules, resume after an interruption, rescans, export, refusal of bad files."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from musicforensics.config import AnalysisConfig
from musicforensics.errors import StoreError
from musicforensics.results import STATUS_ERROR, TrackReport
from musicforensics.pipeline.discovery import discover
from musicforensics.pipeline.engines import SerialEngine
from musicforensics.pipeline.scan import scan
from musicforensics.pipeline.work import analyse_item
from musicforensics.pipeline.store import (
    HASH_EDGE_BYTES,
    FileStat,
    ResultStore,
    StoreStats,
    analyzer_key,
    content_hash,
)
from musicforensics.pipeline.store_engine import StoreEngine
from tests.conftest import tone_mix, write_wav

CFG = AnalysisConfig()


def _library(root, n, *, seconds=1.5, sr=22050):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        y = tone_mix(sr, seconds, freqs=(110.0 * (i + 1), 3000.0), channels=1, seed=i)
        write_wav(root / f"t{i:03d}.flac", y, sr)
    return root


def _strip_timing(d: dict) -> dict:
    d = dict(d)
    d.pop("seconds", None)
    d["detectors"] = [{k: v for k, v in x.items() if k != "seconds"} for x in d.get("detectors", [])]
    return d


@pytest.fixture
def library(tmp_path):
    return _library(tmp_path / "lib", 8)


class CountingEngine:
    """SerialEngine that remembers which labels it analysed and can fail after ``fail_after`` files."""

    def __init__(self, fail_after=None, repeat=False):
        self.analysed = []
        self.fail_after = fail_after
        self.repeat = repeat

    def run(self, items, config):
        for i, item in enumerate(items):
            if self.fail_after is not None and len(self.analysed) >= self.fail_after:
                raise RuntimeError("engine died")
            self.analysed.append(item.label)
            report = analyse_item(item, config)
            yield i, report
            if self.repeat:
                yield i, report  # a buggy engine repeating an index


# -- content hash --------------------------------------------------------------------------------------

def test_content_hash_is_blake2b_of_size_and_both_ends(tmp_path, rng):
    small = tmp_path / "small.bin"
    data = rng.integers(0, 256, 1000, dtype=np.uint8).tobytes()
    small.write_bytes(data)
    expected = hashlib.blake2b(len(data).to_bytes(8, "little") + data, digest_size=16).hexdigest()
    assert content_hash(small) == expected

    big = tmp_path / "big.bin"
    n = 3 * HASH_EDGE_BYTES + 17
    blob = bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
    big.write_bytes(bytes(blob))
    expected = hashlib.blake2b(n.to_bytes(8, "little") + blob[:HASH_EDGE_BYTES] + blob[-HASH_EDGE_BYTES:],
                               digest_size=16).hexdigest()
    h0 = content_hash(big)
    assert h0 == expected
    blob[n // 2] ^= 0xFF  # the middle is not read (documented): same hash
    big.write_bytes(bytes(blob))
    assert content_hash(big) == h0
    for pos in (0, n - 1):  # either end: different hash
        changed = bytearray(blob)
        changed[pos] ^= 0xFF
        big.write_bytes(bytes(changed))
        assert content_hash(big) != h0
    big.write_bytes(bytes(blob) + b"\0")  # one more byte: different size, different hash
    assert content_hash(big) != h0


# -- lookup rules ----------------------------------------------------------------------------------------

def test_lookup_reuses_unchanged_rehashes_touched_and_misses_changed(library, tmp_path):
    path = str(library / "t000.flac")
    ckey, akey = CFG.cache_key(), analyzer_key(CFG)
    report = analyse_item(discover([path])[0], CFG)
    with ResultStore(tmp_path / "s.sqlite") as st:
        got, fs, why = st.lookup(path, config_key=ckey, analyzer=akey)
        assert (got, why) == (None, "new")
        st.put(report, fs, config_key=ckey, analyzer=akey)

        got, _, why = st.lookup(path, config_key=ckey, analyzer=akey)
        assert why == "unchanged" and got.to_dict() == report.to_dict()
        # another configuration or analyzer never matches
        assert st.lookup(path, config_key=CFG.with_(max_seconds=1.0).cache_key(), analyzer=akey)[2] == "new"
        assert st.lookup(path, config_key=ckey, analyzer=akey + "x")[2] == "new"

        # same bytes, new mtime: hashed, reused, and the new mtime remembered (no hash the next time)
        os.utime(path, ns=(fs.mtime_ns + 5_000_000_000, fs.mtime_ns + 5_000_000_000))
        s = StoreStats()
        got, _, why = st.lookup(path, config_key=ckey, analyzer=akey, stats=s)
        assert why == "same-content" and got is not None and s.hashed == 1
        s = StoreStats()
        assert st.lookup(path, config_key=ckey, analyzer=akey, stats=s)[2] == "unchanged" and s.hashed == 0
        assert st.lookup(path, config_key=ckey, analyzer=akey, verify=True, stats=s)[2] == "same-content"
        assert s.hashed == 1

        # new content (same length, other samples) with the old mtime restored: the hash catches it when asked
        st_before = os.stat(path)
        y = tone_mix(22050, 1.5, freqs=(999.0,), channels=1, seed=99)
        write_wav(library / "t000.flac", y, 22050)
        os.utime(path, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))
        changed_size = os.stat(path).st_size != st_before.st_size
        why = st.lookup(path, config_key=ckey, analyzer=akey, verify=True)[2]
        assert why == "changed"
        if changed_size:  # the size alone already tells, without a hash
            assert st.lookup(path, config_key=ckey, analyzer=akey)[2] == "changed"


def test_a_stored_report_is_written_as_stored_only_while_unchanged(library, tmp_path):
    """A reused report writes the stored JSON text as it is (the same bytes as a new serialisation); under
    another path, or once a field changed, it is serialised again and says so."""
    from musicforensics.evidence.formats.jsonl import record

    path = str(library / "t000.flac")
    ckey, akey = CFG.cache_key(), analyzer_key(CFG)
    report = analyse_item(discover([path])[0], CFG)
    with ResultStore(tmp_path / "s.sqlite") as st:
        st.put(report, st.lookup(path, config_key=ckey, analyzer=akey)[1], config_key=ckey, analyzer=akey)
        got = st.lookup(path, config_key=ckey, analyzer=akey)[0]
        assert got.source_json is not None and record(got) == record(report)
        report.source_json = None  # the reference: serialised field by field
        assert got.to_dict() == json.loads(record(report))
        got.path = "elsewhere/t000.flac"
        assert json.loads(record(got)) == {**json.loads(record(report)), "path": "elsewhere/t000.flac"}
        got.status = STATUS_ERROR
        assert got.source_json is None and json.loads(record(got))["status"] == STATUS_ERROR


def test_error_results_are_retried_unless_asked_not_to(library, tmp_path):
    path = str(library / "t001.flac")
    ckey, akey = CFG.cache_key(), analyzer_key(CFG)
    with ResultStore(tmp_path / "s.sqlite") as st:
        bad = TrackReport(path=path, status=STATUS_ERROR, error="worker lost", config_key=ckey)
        st.put(bad, FileStat.of(path), config_key=ckey, analyzer=akey)
        assert st.lookup(path, config_key=ckey, analyzer=akey)[2] == "error-retry"
        got, _, why = st.lookup(path, config_key=ckey, analyzer=akey, retry_errors=False)
        assert why == "unchanged" and got.error == "worker lost"


def test_a_file_changed_during_analysis_is_not_trusted(library, tmp_path):
    path = str(library / "t002.flac")
    ckey, akey = CFG.cache_key(), analyzer_key(CFG)
    with ResultStore(tmp_path / "s.sqlite") as st:
        before = FileStat.of(path)
        report = analyse_item(discover([path])[0], CFG)
        with open(path, "ab") as fh:  # the file grows while "being analysed"
            fh.write(b"\0" * 10)
        assert st.put(report, before, config_key=ckey, analyzer=akey) is False
        os.truncate(path, before.size)
        os.utime(path, ns=(before.mtime_ns, before.mtime_ns))  # back to the very stat that was stored
        assert st.lookup(path, config_key=ckey, analyzer=akey)[2] == "changed"


# -- StoreEngine: resume, rescan, de-duplication ---------------------------------------------------------

def test_interrupted_scan_resumes_with_only_the_rest(tmp_path):
    lib = _library(tmp_path / "lib", 10)
    items = discover([str(lib)])
    reference, _ = scan(items, config=CFG, engine=SerialEngine())
    store_path = tmp_path / "s.sqlite"
    with ResultStore(store_path) as st:
        dying = CountingEngine(fail_after=4)
        with pytest.raises(RuntimeError, match="engine died"):
            scan(items, config=CFG, engine=StoreEngine(dying, st))
        assert len(dying.analysed) == 4
    con = sqlite3.connect(store_path)
    stored = sorted(os.path.basename(p) for (p,) in con.execute("SELECT path FROM results"))
    assert stored == [f"t{i:03d}.flac" for i in range(4)]
    assert con.execute("SELECT state FROM scans").fetchall() == [("interrupted",)]  # the engine failed
    con.close()

    with ResultStore(store_path) as st:
        second = CountingEngine()
        engine = StoreEngine(second, st)
        reports, tally = scan(items, config=CFG, engine=engine)
        assert [os.path.basename(x) for x in second.analysed] == [f"t{i:03d}.flac" for i in range(4, 10)]
        assert engine.stats.reused == 4 and engine.stats.analysed == 6
        assert [_strip_timing(r.to_dict()) for r in reports] == [_strip_timing(r.to_dict()) for r in reference]
        assert tally.files == 10

        third = CountingEngine()
        reports3, _ = scan(items, config=CFG, engine=StoreEngine(third, st))
        assert third.analysed == []  # an unchanged library is answered entirely from the store
        assert [r.to_dict() for r in reports3] == [r.to_dict() for r in reports]

        # one new and one changed file: only those two are analysed
        write_wav(lib / "t100.flac", tone_mix(22050, 1.5, channels=1, seed=100), 22050)
        write_wav(lib / "t003.flac", tone_mix(22050, 2.5, channels=1, seed=3), 22050)
        fourth = CountingEngine()
        scan(discover([str(lib)]), config=CFG, engine=StoreEngine(fourth, st))
        assert sorted(os.path.basename(x) for x in fourth.analysed) == ["t003.flac", "t100.flac"]

        forced = CountingEngine()
        scan(items, config=CFG, engine=StoreEngine(forced, st, force=True))
        assert len(forced.analysed) == 11 - 1  # items was discovered before t100 appeared


def test_store_engine_yields_each_index_once_and_reports_current_labels(tmp_path, monkeypatch):
    lib = _library(tmp_path / "lib", 3)
    with ResultStore(tmp_path / "s.sqlite") as st:
        engine = StoreEngine(CountingEngine(repeat=True), st)
        out = list(engine.run(discover([str(lib)]), CFG))
        assert sorted(i for i, _ in out) == [0, 1, 2]
        monkeypatch.chdir(tmp_path)
        relabelled = list(StoreEngine(CountingEngine(), st).run(discover(["lib"]), CFG))
        assert [r.path for _, r in relabelled] == [os.path.join("lib", f"t{i:03d}.flac") for i in range(3)]


def test_discovery_errors_pass_through_and_are_not_stored(tmp_path):
    lib = _library(tmp_path / "lib", 1)
    (lib / "broken.flac").write_bytes(b"not flac at all" * 10)
    items = discover([str(lib), str(tmp_path / "missing.flac")])
    with ResultStore(tmp_path / "s.sqlite") as st:
        _, tally = scan(items, config=CFG, engine=StoreEngine(SerialEngine(), st))
        assert tally.statuses[STATUS_ERROR] == 2
        stored = {os.path.basename(p) for (p,) in st._db.execute("SELECT path FROM results")}
    assert stored == {"broken.flac", "t000.flac"}  # the decode failure is stored (and retried); the missing path is not


# -- refusing what is not a store ------------------------------------------------------------------------

def test_bad_store_paths_are_refused(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        ResultStore(tmp_path)
    with pytest.raises(StoreError, match="does not exist"):
        ResultStore(tmp_path / "nope.sqlite", create=False)
    with pytest.raises(StoreError, match="does not exist"):
        ResultStore(tmp_path / "no" / "dir.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"hello, not a database" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite store"):
        ResultStore(junk)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE songs(x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a musicforensics store"):
        ResultStore(other)
    newer = tmp_path / "newer.sqlite"
    ResultStore(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value='999' WHERE key='schema'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer"):
        ResultStore(newer)


def test_store_is_wal_and_leaves_only_its_own_file(tmp_path):
    path = tmp_path / "s.sqlite"
    with ResultStore(path) as st:
        assert st.info()["journal_mode"] == "wal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]


# -- CLI -------------------------------------------------------------------------------------------------

def _cli(*args, cwd=None, timeout=120):
    done = subprocess.run([sys.executable, "-m", "musicforensics", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, check=False)
    done.stderr = " ".join(done.stderr.split())  # rich may wrap long lines
    return done


def _run(*args):
    """The CLI in this process (fast); stderr normalised because rich may wrap long lines."""
    from typer.testing import CliRunner

    from musicforensics.cli.app import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def test_cli_store_rescan_and_export_in_every_format(tmp_path):
    from musicforensics.evidence.formats import FORMATS, render
    from musicforensics.pipeline.scan import Tally

    lib = _library(tmp_path / "lib", 6)
    (lib / "broken.flac").write_bytes(b"junk" * 50)
    before = sorted(p.name for p in lib.iterdir())
    store = tmp_path / "out" / "s.sqlite"
    store.parent.mkdir()
    code, _, err = _run("scan", lib, "--store", store, "-f", "jsonl", "-j", "1", "-o", tmp_path / "first.jsonl")
    assert code == 3, err  # the broken file
    assert "0 reused, 7 analysed" in err
    code, out, err = _run("scan", lib, "--store", store, "-f", "json", "-j", "1")
    assert code == 3
    assert "6 reused, 1 analysed" in err  # the error is retried, the rest comes from the store
    firsts = [json.loads(x) for x in (tmp_path / "first.jsonl").read_text().splitlines()]
    doc = json.loads(out)
    assert [_strip_timing(d) for d in doc["results"]] == [_strip_timing(d) for d in firsts]
    assert doc["run"]["store"]["reused"] == 6
    assert sorted(p.name for p in lib.iterdir()) == before  # nothing written into the scanned folder

    reports = [TrackReport.from_dict(d) for d in doc["results"]]
    tally = Tally()
    for r in reports:
        tally.add(r)
    for fmt in FORMATS:  # the export renders exactly what the scan reported
        code, out, err = _run("store", "export", store, "-f", fmt)
        assert code == 3, err
        if fmt == "json":
            exported = json.loads(out)
            assert [_strip_timing(d) for d in exported["results"]] == [_strip_timing(d) for d in doc["results"]]
            assert exported["summary"] == doc["summary"]
            assert exported["run"]["config"] == doc["run"]["config"]
        else:
            expected = render(fmt, reports, summary=tally.to_dict(), meta=doc["run"])
            if fmt == "jsonl":
                assert [_strip_timing(json.loads(x)) for x in out.splitlines()] == \
                       [_strip_timing(json.loads(x)) for x in expected.splitlines()]
            else:
                assert out.splitlines()[0] == expected.splitlines()[0]
                assert len(out.splitlines()) == len(expected.splitlines())
    code, _, err = _run("store", "export", store, "-f", "csv", "-o", tmp_path / "first.jsonl")
    assert code == 2 and "already exists" in err

    code, out, _ = _run("store", "info", store, "--json")
    assert code == 0
    info = json.loads(out)
    assert info["results"] == 7 and info["keys"][0]["statuses"] == {"error": 1, "ok": 6}
    assert [s["analysed"] for s in info["recent_scans"]] == [1, 7]
    code, out, _ = _run("store", "info", store)
    assert code == 0 and "recent scans" in out

    code, _, err = _run("store", "export", store, "--config-key", "0123456789abcdef")
    assert code == 2 and "not in the store" in err
    assert _run("store", "info", tmp_path / "missing.sqlite")[0] == 2
    assert not (tmp_path / "missing.sqlite").exists()
    assert _run("scan", lib, "--verify-hash")[0] == 2
    assert _run("scan", lib, "--scheduler", "tcp://127.0.0.1:1")[0] == 2
    assert _run("scan", lib, "--engine", "spark")[0] == 2


@pytest.mark.slow
def test_cli_killed_mid_scan_resumes(tmp_path):
    n = 30
    lib = _library(tmp_path / "lib", n, seconds=4.0, sr=44100)
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "musicforensics", "scan", str(lib), "--store", str(store),
                             "-j", "1", "-q", "-f", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stored = 0
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if store.exists():
                try:
                    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
                    stored = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                    con.close()
                except sqlite3.OperationalError:  # tables not created yet
                    stored = 0
            if stored >= 3:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the scan finished before it could be interrupted"
    con = sqlite3.connect(store)
    kept = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    con.close()
    assert 3 <= kept < n
    resumed = _cli("scan", lib, "--store", store, "-j", "1", "-f", "json")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{kept} reused, {n - kept} analysed" in resumed.stderr
    doc = json.loads(resumed.stdout)
    assert len(doc["results"]) == n and len({r["path"] for r in doc["results"]}) == n
    assert doc["run"]["store"]["reused"] == kept


def test_analyzer_key_changes_with_the_ai_model(tmp_path):
    """Every input that changes a result is in the key: another AI model file, another key; the same model
    content under another name, the same key."""
    from importlib import resources

    default_key = analyzer_key(CFG)
    text = resources.files("musicforensics").joinpath("models/default_ai.json").read_text("utf-8")
    same = tmp_path / "same.json"
    same.write_text(text)
    model = json.loads(text)
    model["threshold"] = 0.75
    other = tmp_path / "other.json"
    other.write_text(json.dumps(model))
    assert analyzer_key(CFG.with_(ai_model=str(same))) == default_key
    assert analyzer_key(CFG.with_(ai_model=str(other))) != default_key
    assert CFG.with_(ai_model=str(other)).cache_key() == CFG.cache_key()  # the path is not the key, the content is
    only = CFG.with_(detectors=("bitdepth",))
    assert analyzer_key(only.with_(ai_model=str(other))) == analyzer_key(only)  # no AI detector: no model in the key
