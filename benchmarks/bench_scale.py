"""Catalogue scale: engine throughput (local pool and Dask, 1 and 2 workers) and result-store resume/rescan.

Usage::

    python -m benchmarks.bench_scale [--files 300] [--seconds 3] [--dir /tmp/mf_bench_scale] [--markdown FILE]
                                     [--skip-dask] [--keep]

Every measurement runs the real CLI (``python -m musicforensics scan ... -q -f jsonl``) in a subprocess, so it
includes start-up, discovery, rendering and, for Dask, starting a ``LocalCluster``:

1. throughput: wall time for the whole folder and for a single file with ``--engine local -j 1/2`` and
   ``--engine dask -j 1/2``; the marginal rate ``(N - 1) / (t_N - t_1)`` is files per second once started;
2. result store: a first scan into a new store (``-j 2``); a rescan of the unchanged folder; a rescan with
   ``--verify-hash``; a rescan after rewriting 10 % of the files and adding 10 new ones; and a scan killed
   (SIGKILL) once half the files are stored, then resumed, with the counts the CLI printed.

The material is ``--files`` FLAC files (44.1 kHz/16-bit stereo, ``--seconds`` long: tones, a sweep, noise)
written with soundfile into ``--dir`` (deleted at the end unless ``--keep``). Never a unit test: numbers
depend on the machine and on whatever else runs on it (the load average is printed with the results).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

#: Where every run writes its results (a scratch file, removed at the end; never /dev/null, whose device
#: node an atomic --force replace would swap for a regular file).
OUT = Path(tempfile.gettempdir()) / "mf_bench_scale_out.jsonl"


def make_library(root: Path, n: int, seconds: float, *, start: int = 0, seed_offset: int = 0) -> list[Path]:
    """``n`` short stereo FLACs named ``t{i:05d}.flac`` (each with its own tones and noise seed)."""
    root.mkdir(parents=True, exist_ok=True)
    sr = 44100
    t = np.arange(int(seconds * sr)) / sr
    paths = []
    for i in range(start, start + n):
        rng = np.random.default_rng(i + seed_offset)
        f0 = 80.0 + (i % 50) * 13.0
        mono = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (f0, 2.5 * f0, 7.1 * f0))
        mono = mono + 0.05 * np.sin(2 * np.pi * (300 + 4000 * t / seconds) * t)
        y = np.stack([mono, 0.9 * mono], axis=1) + 10 ** (-60 / 20) * rng.standard_normal((t.size, 2))
        path = root / f"t{i:05d}.flac"
        sf.write(str(path), y, sr, subtype="PCM_16")
        paths.append(path)
    return paths


def cli(*args: str, timeout: float = 1800) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``musicforensics`` with ``args``; (wall seconds, completed process)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "musicforensics", *args], capture_output=True, text=True, check=False,
                          timeout=timeout)
    elapsed = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"musicforensics {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, done


def store_counts(stderr: str) -> str:
    m = re.search(r"(\d+) reused, (\d+) analysed, (\d+) hashed", " ".join(stderr.split()))
    return f"{m.group(1)} reused, {m.group(2)} analysed, {m.group(3)} hashed" if m else "?"


def count_stored(store: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def bench_throughput(lib: Path, one: Path, n: int, *, dask: bool) -> list[tuple]:
    rows = []
    engines = [("local", 1), ("local", 2)] + ([("dask", 1), ("dask", 2)] if dask else [])
    for engine, jobs in engines:
        t_all, _ = cli("scan", str(lib), "--engine", engine, "-j", str(jobs), "-q", "-f", "jsonl", "-o", str(OUT),
                       "--force")
        t_one, _ = cli("scan", str(one), "--engine", engine, "-j", str(jobs), "-q", "-f", "jsonl", "-o", str(OUT),
                       "--force")
        marginal = (n - 1) / (t_all - t_one) if t_all > t_one else float("nan")
        rows.append((engine, jobs, t_all, n / t_all, t_one, marginal))
    return rows


def inprocess_rescan(lib: Path, store: Path) -> tuple:
    """A rescan of an unchanged folder inside one process (no interpreter or import start-up): what the store
    itself costs per file (one stat and one indexed lookup each)."""
    from musicforensics.config import AnalysisConfig
    from musicforensics.pipeline.discovery import discover
    from musicforensics.pipeline.engines import SerialEngine
    from musicforensics.pipeline.scan import scan
    from musicforensics.pipeline.store import ResultStore, StoreEngine, analyzer_key

    cfg = AnalysisConfig()
    analyzer_key(cfg)  # import the detectors before timing
    t0 = time.perf_counter()
    items = discover([str(lib)])
    with ResultStore(store) as rs:
        engine = StoreEngine(SerialEngine(), rs)
        scan(items, config=cfg, engine=engine)
    t = time.perf_counter() - t0
    s = engine.stats
    return ("rescan, nothing changed, in-process (no start-up)", len(items), t,
            f"{s.reused} reused, {s.analysed} analysed, {s.hashed} hashed; {1e3 * t / max(1, len(items)):.2f} ms/file")


def bench_store(lib: Path, work: Path, n: int, seconds: float) -> list[tuple]:
    rows = []
    store = work / "bench.sqlite"
    base = ["scan", str(lib), "--store", str(store), "-j", "2", "-f", "jsonl", "-o", str(OUT), "--force"]
    t, done = cli(*base)
    rows.append(("first scan into a new store", n, t, store_counts(done.stderr)))
    t_plain, _ = cli("scan", str(lib), "-j", "2", "-q", "-f", "jsonl", "-o", str(OUT), "--force")
    rows.append(("same scan without a store (reference)", n, t_plain, "-"))
    t, done = cli(*base)
    rows.append(("rescan, nothing changed", n, t, store_counts(done.stderr)))
    t, done = cli(*base, "--verify-hash")
    rows.append(("rescan with --verify-hash", n, t, store_counts(done.stderr)))
    rows.append(inprocess_rescan(lib, store))
    changed = max(1, n // 10)
    make_library(lib, changed, seconds, start=0, seed_offset=10_000)  # rewrite 10 %: new content, new mtime
    make_library(lib, 10, seconds, start=n)  # and 10 new files
    t, done = cli(*base)
    rows.append((f"rescan after rewriting {changed} and adding 10 files", n + 10, t, store_counts(done.stderr)))

    fresh = work / "interrupted.sqlite"
    args = [sys.executable, "-m", "musicforensics", "scan", str(lib), "--store", str(fresh), "-j", "2", "-q",
            "-f", "jsonl", "-o", str(OUT), "--force"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and count_stored(fresh) < (n + 10) // 2:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    t_killed = time.perf_counter() - t0
    kept = count_stored(fresh)
    rows.append(("scan killed (SIGKILL) at half", n + 10, t_killed, f"{kept} stored when killed"))
    t, done = cli("scan", str(lib), "--store", str(fresh), "-j", "2", "-f", "jsonl", "-o", str(OUT), "--force")
    rows.append(("resume of the killed scan", n + 10, t, store_counts(done.stderr)))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--dir", type=Path, default=None, help="where to write the material (default: a temp folder)")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the tables to this file")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    a = ap.parse_args(argv)

    work = a.dir or Path(tempfile.mkdtemp(prefix="mf_bench_scale_"))
    lib = work / "lib"
    try:
        if lib.exists():
            shutil.rmtree(lib)
        for p in work.glob("*.sqlite*"):
            p.unlink()
        t0 = time.perf_counter()
        paths = make_library(lib, a.files, a.seconds)
        gen_s = time.perf_counter() - t0
        dask = not a.skip_dask
        if dask:
            try:
                import distributed  # noqa: F401
            except ImportError:
                print("distributed is not installed: skipping the Dask rows", file=sys.stderr)
                dask = False
        tp = bench_throughput(lib, paths[0], a.files, dask=dask)
        st = bench_store(lib, work, a.files, a.seconds)

        load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
        lines = [
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.",
            f"Material: {a.files} FLAC files, 44.1 kHz/16-bit stereo, {a.seconds:g} s each "
            f"(generated in {gen_s:.1f} s).",
            "",
            "| engine | workers | wall time, whole folder (s) | files/s overall | wall time, one file (s) "
            "| files/s once started |",
            "|---|---|---|---|---|---|",
        ]
        for engine, jobs, t_all, rate, t_one, marginal in tp:
            lines.append(f"| {engine} | {jobs} | {t_all:.1f} | {rate:.1f} | {t_one:.1f} | {marginal:.1f} |")
        lines += ["", "| result store step | files | wall time (s) | what the CLI reported |", "|---|---|---|---|"]
        for what, files, t, counts in st:
            lines.append(f"| {what} | {files} | {t:.1f} | {counts} |")
        text = "\n".join(lines) + "\n"
        sys.stdout.write(text)
        if a.markdown:
            a.markdown.write_text(text)
    finally:
        OUT.unlink(missing_ok=True)
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
