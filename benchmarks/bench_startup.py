"""Start-up, rescans and scaling with jobs, all as ratios measured in one run (hyperfine, whole commands).

Usage::

    python -m benchmarks.bench_startup [--runs 7] [--seconds 20] [--small 24] [--large 96] [--dir DIR] [--keep]
        [--skip-dask] [--skip-flac-detective] [--fd-files 8] [--markdown FILE] [--only PART ...]

Needs ``hyperfine`` on PATH. Every figure is a whole command from launch to exit (``python -m musicforensics``,
so start-up, discovery, rendering and worker start are included), timed by hyperfine. The commands of a section run
in rounds, each command once per round in alternating order, and a ratio is the median of the per-round ratios
(with their range), so each compares commands that met the same machine load; CPU time (user + system) is given
where it helps on a loaded machine:

1. **start-up**: ``--help``, ``scan --help`` and ``store --help`` against ``python -c pass``; and which of numba,
   scipy and matplotlib each command imports (``python -X importtime``; none is the expected answer);
2. **rescan**: a folder of ``--small`` and one of ``--large`` files, scanned once into a result store each, then
   rescanned unchanged (``--store``, ``-j 2``). Reported: the rescan of the small folder, its ratio to
   ``python -c pass``, the cost of one more unchanged file ``(t_large - t_small) / (large - small)``, and whether
   the rescan imported numba or started a worker;
3. **scaling**: ``scan -j 1`` against ``-j 2`` on the small and on the large folder;
4. **Dask** (``distributed`` installed, unless ``--skip-dask``): ``--engine dask -j 2`` (a LocalCluster) against
   the local pool ``-j 2`` on the small folder, and per further file once the workers run (both folders:
   ``(t_large - t_small) / (large - small)``, Dask against the pool);
5. **FLAC Detective** (``flac-detective`` on PATH or beside this Python, unless ``--skip-flac-detective``):
   ``--workers 2`` against ``scan -j 2`` on ``--fd-files`` files of the small folder (one run each: it is slow).

``--only PART`` (repeatable: startup, rescan, jobs, dask, flac-detective) runs those parts alone.

The material is ``--seconds``-long 44.1 kHz/16-bit stereo FLAC files (tones, a sweep, noise) written into
``--dir`` (a temporary folder, deleted unless ``--keep``). Never a unit test: the numbers depend on the machine
and on whatever else runs on it (the load average is printed with them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_scale import make_library

PY = sys.executable
MF = [PY, "-m", "musicforensics"]


def q(*args) -> str:
    return " ".join(shlex.quote(str(a)) for a in args)


def hyperfine(commands: dict[str, str], *, runs: int, warmup: int = 1, out: Path) -> dict[str, dict]:
    """Time ``commands`` (name -> command line) with hyperfine in ``runs`` rounds: each round is one hyperfine call
    that runs every command once, in an order that alternates between rounds, so the commands of a round meet the
    same machine load. Returns name -> {"median", "min", "max": wall seconds over the rounds, "cpu": median user +
    system seconds, "times": wall seconds per round}; :func:`ratio` compares two of them round by round."""
    if shutil.which("hyperfine") is None:
        raise SystemExit("hyperfine is not installed (https://github.com/sharkdp/hyperfine)")
    names = list(commands)
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + runs):
        order = names if r % 2 == 0 else names[::-1]
        cmd = ["hyperfine", "-N", "--style", "none", "--runs", "1", "--export-json", str(out)]
        for name in order:
            cmd += [f"--command-name={name}", commands[name]]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r < warmup:
            continue
        for res in json.loads(out.read_text())["results"]:
            times[res["command"]].append(res["times"][0])
            cpu[res["command"]].append(res["user"] + res["system"])
    return {n: {"median": statistics.median(times[n]), "min": min(times[n]), "max": max(times[n]),
                "cpu": statistics.median(cpu[n]), "times": times[n]} for n in names}


def heavy_imports(args: list[str]) -> list[str]:
    """Which of numba, scipy, matplotlib a command imports (``-X importtime``), and whether it started the pool."""
    done = subprocess.run([PY, "-X", "importtime", "-m", "musicforensics", *map(str, args)], capture_output=True,
                          text=True, check=False)
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    found = sorted(m for m in ("numba", "scipy", "matplotlib") if m in names)
    if "multiprocessing.forkserver" in names:
        found.append("worker pool")
    return found


def ratio(a: dict, b: dict) -> float:
    """Median over rounds of a's wall time over b's (both measured in the same round)."""
    return statistics.median(x / y for x, y in zip(a["times"], b["times"]))


def spread(a: dict, b: dict) -> str:
    r = [x / y for x, y in zip(a["times"], b["times"])]
    return f"{min(r):.2f}-{max(r):.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--small", type=int, default=24)
    ap.add_argument("--large", type=int, default=96)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-flac-detective", action="store_true")
    ap.add_argument("--fd-files", type=int, default=8, help="files of the small folder FLAC Detective gets")
    ap.add_argument("--markdown", type=Path, default=None)
    ap.add_argument("--only", choices=("startup", "rescan", "jobs", "dask", "flac-detective"), action="append",
                    help="run only these parts (repeatable; default: all)")
    args = ap.parse_args(argv)
    parts = set(args.only or ("startup", "rescan", "jobs", "dask", "flac-detective"))

    root = args.dir or Path(tempfile.mkdtemp(prefix="mf_bench_startup_"))
    root.mkdir(parents=True, exist_ok=True)
    small, large = root / f"small{args.small}", root / f"large{args.large}"
    for folder, n in ((small, args.small), (large, args.large)):
        if len(list(folder.glob("*.flac"))) != n:
            shutil.rmtree(folder, ignore_errors=True)
            make_library(folder, n, args.seconds)
    out = root / "out.jsonl"
    hf = root / "hyperfine.json"
    rows: list[tuple[str, str, str]] = []
    lines = [f"# musicforensics start-up, rescans and scaling ({platform.node()}, {os.cpu_count()} cores, "
             f"load {os.getloadavg()[0]:.1f} at the start)", ""]

    def scan(folder, *extra) -> str:
        return q(*MF, "scan", folder, "-q", "-f", "jsonl", "-o", out, "--force", *extra)

    try:
        # 1. start-up
        if "startup" in parts:
            t = hyperfine({"python -c pass": q(PY, "-c", "pass"), "--help": q(*MF, "--help"),
                           "scan --help": q(*MF, "scan", "--help"), "store --help": q(*MF, "store", "--help")},
                          runs=max(args.runs, 10), out=hf)
            base = t["python -c pass"]
            for name in ("--help", "scan --help", "store --help"):
                rows.append((f"`musicforensics {name}`", f"{1e3 * t[name]['median']:.0f} ms",
                             f"{ratio(t[name], base):.1f}x `python -c pass` ({1e3 * base['median']:.0f} ms; rounds "
                             f"{spread(t[name], base)}); CPU {1e3 * t[name]['cpu']:.0f} ms, "
                             f"{t[name]['cpu'] / base['cpu']:.1f}x; imports "
                             f"{', '.join(heavy_imports(name.split())) or 'no numba, scipy or matplotlib'}"))

        # 2. rescan of unchanged folders
        if "rescan" in parts:
            stores = {folder: root / f"{folder.name}.sqlite" for folder in (small, large)}
            for folder, store in stores.items():
                if store.exists():
                    store.unlink()
                subprocess.run([*MF, "scan", folder, "-q", "-f", "jsonl", "-o", out, "--force", "-j", "2",
                                "--store", store], check=False, stdout=subprocess.DEVNULL)
            t = hyperfine({"pass": q(PY, "-c", "pass"),
                           "small": scan(small, "-j", "2", "--store", stores[small]),
                           "large": scan(large, "-j", "2", "--store", stores[large])}, runs=args.runs, out=hf)
            per_file = statistics.median((b - a) / (args.large - args.small)
                                         for a, b in zip(t["small"]["times"], t["large"]["times"]))
            per_file_cpu = (t["large"]["cpu"] - t["small"]["cpu"]) / (args.large - args.small)
            loads = heavy_imports(["scan", small, "-q", "-f", "jsonl", "-o", out, "--force", "-j", "2",
                                   "--store", stores[small]])
            rows.append((f"rescan of {args.small} unchanged files (`--store`, `-j 2`)", f"{t['small']['median']:.2f} s",
                         f"{ratio(t['small'], t['pass']):.1f}x `python -c pass` (rounds {spread(t['small'], t['pass'])}); "
                         f"CPU {1e3 * t['small']['cpu']:.0f} ms; imports "
                         f"{', '.join(loads) or 'no numba, scipy or matplotlib, starts no worker'}"))
            rows.append(("each further unchanged file", f"{1e3 * per_file:.2f} ms",
                         f"rescan of {args.large} against {args.small} files; CPU {1e3 * per_file_cpu:.2f} ms"))

        # 3. scaling with jobs
        if "jobs" in parts:
            for folder, n in ((small, args.small), (large, args.large)):
                t = hyperfine({"j1": scan(folder, "-j", "1"), "j2": scan(folder, "-j", "2")},
                              runs=max(3, args.runs // 2), out=hf)
                rows.append((f"`scan -j 2` against `-j 1`, {n} x {args.seconds:g} s FLAC",
                             f"{ratio(t['j1'], t['j2']):.2f}x faster",
                             f"-j 1 {t['j1']['median']:.2f} s, -j 2 {t['j2']['median']:.2f} s (rounds "
                             f"{spread(t['j1'], t['j2'])})"))

        # 4. Dask LocalCluster against the local pool
        if "dask" in parts:
            try:
                import distributed  # noqa: F401
                has_dask = True
            except ImportError:
                has_dask = False
            if not args.skip_dask and has_dask:
                t = hyperfine({"local": scan(small, "-j", "2"), "dask": scan(small, "-j", "2", "--engine", "dask"),
                               "local_large": scan(large, "-j", "2"),
                               "dask_large": scan(large, "-j", "2", "--engine", "dask")},
                              runs=max(3, args.runs // 2), out=hf)
                rows.append((f"Dask LocalCluster against the local pool, `-j 2`, {args.small} files",
                             f"{ratio(t['dask'], t['local']):.2f}x the time",
                             f"local {t['local']['median']:.2f} s, dask {t['dask']['median']:.2f} s (rounds "
                             f"{spread(t['dask'], t['local'])}): the cluster's own start included"))
                # once the workers run: the time of the files beyond the small folder's, engine against engine
                extra = args.large - args.small
                local_per = (t["local_large"]["median"] - t["local"]["median"]) / extra
                dask_per = (t["dask_large"]["median"] - t["dask"]["median"]) / extra
                rows.append((f"the same once the workers run ({args.large} against {args.small} files)",
                             f"{dask_per / local_per:.2f}x the time per file",
                             f"local {1e3 * local_per:.0f} ms, dask {1e3 * dask_per:.0f} ms per further file"))

        # 5. FLAC Detective on the same files
        if "flac-detective" in parts:
            fd = shutil.which("flac-detective") or shutil.which("flac-detective", path=str(Path(PY).parent))
            if not args.skip_flac_detective and fd:
                work = root / "fd_work"
                work.mkdir(exist_ok=True)
                subset = root / f"fd{args.fd_files}"
                shutil.rmtree(subset, ignore_errors=True)
                subset.mkdir()
                files = sorted(small.glob("*.flac"))[: args.fd_files]
                for f in files:
                    shutil.copyfile(f, subset / f.name)
                fd_line = q(fd, "--format", "json", "--work-dir", work, "--output", work / "report.json",
                            "--no-update-check", "--workers", 2, *sorted(subset.glob("*.flac")))
                t = hyperfine({"ours": scan(subset, "-j", "2"), "fd": fd_line}, runs=1, warmup=0, out=hf)
                rows.append((f"FLAC Detective `--workers 2` against `scan -j 2`, {len(files)} files",
                             f"{ratio(t['fd'], t['ours']):.0f}x faster",
                             f"musicforensics {t['ours']['median']:.2f} s, FLAC Detective {t['fd']['median']:.1f} s"))
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)

    lines += ["| measurement | result | detail |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", f"load average at the end: {os.getloadavg()[0]:.1f}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
