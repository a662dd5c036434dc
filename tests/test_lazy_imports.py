"""Start-up pays only for what the command uses: which modules a command loads, and whether it starts workers.

Each command runs in a fresh interpreter through the console script's own entry point; afterwards the child
reports the heavy modules it loaded and the processes it started. These are properties, not timings: a module
that is never imported costs nothing on any machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import tone_mix, write_wav

#: Modules that the commands below must never load: the analysis (numba kernels, scipy, NumPy), plotting.
HEAVY = ("numba", "scipy", "matplotlib", "numpy", "soundfile", "llvmlite", "musicforensics.pipeline.analysis")

#: Runs ``main()`` with the given arguments, then prints what the process loaded and started as JSON.
RUNNER = """
import json, os, sys
sys.argv = ["musicforensics"] + json.loads(sys.argv[1])
from musicforensics.cli.app import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
me = str(os.getpid())
children = []
for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
    try:
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[1] == me:
                children.append(int(pid))
    except (OSError, IndexError, ValueError):
        pass
sys.stdout = sys.__stdout__
print("\\nRESULT " + json.dumps({"code": code, "modules": sorted(sys.modules), "children": children}))
"""


def loaded(*args, cwd=None) -> dict:
    res = subprocess.run([sys.executable, "-c", RUNNER, json.dumps([str(a) for a in args])], capture_output=True,
                         text=True, timeout=300, cwd=cwd, env={**os.environ, "COLUMNS": "100"})
    lines = [line for line in res.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no result from {args!r}: {res.stderr[-2000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def heavy_in(result: dict) -> list[str]:
    return [m for m in result["modules"] if m.split(".")[0] in HEAVY or m in HEAVY]


@pytest.mark.parametrize("args", [["--help"], ["scan", "--help"], ["store", "--help"], ["store", "info", "--help"]])
def test_help_loads_no_analysis_and_no_plotting(args):
    result = loaded(*args)
    assert result["code"] == 0
    assert heavy_in(result) == []


@pytest.fixture(scope="module")
def stored_library(tmp_path_factory):
    """Three short files scanned once into a result store (that first scan does load the analysis)."""
    root = tmp_path_factory.mktemp("lazy")
    lib = root / "lib"
    lib.mkdir()
    for i in range(3):
        write_wav(lib / f"t{i}.flac", tone_mix(44100, 1.5, freqs=(220.0 + 40 * i, 3000.0), seed=i), 44100)
    store = root / "results.sqlite"
    first = loaded("scan", lib, "-j", "2", "-q", "-f", "jsonl", "-o", root / "first.jsonl", "--store", store)
    assert first["code"] == 0
    assert "numba" in first["modules"] or "multiprocessing.forkserver" in first["modules"]  # it did analyse
    return lib, store, root


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_rescan_with_nothing_to_analyse_loads_no_analysis_and_starts_no_worker(stored_library, jobs):
    lib, store, root = stored_library
    out = root / f"rescan{jobs}.jsonl"
    result = loaded("scan", lib, "-j", jobs, "-q", "-f", "jsonl", "-o", out, "--force", "--store", store)
    assert result["code"] == 0
    assert heavy_in(result) == []
    assert "multiprocessing.forkserver" not in result["modules"]  # the pool was never prepared
    if os.path.isdir("/proc"):
        assert result["children"] == []
    first = [json.loads(line) for line in (root / "first.jsonl").read_text().splitlines()]
    again = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["path"] for r in again] == [r["path"] for r in first]
    assert [r["verdicts"] for r in again] == [r["verdicts"] for r in first]


def test_a_scan_with_files_to_analyse_does_prepare_the_pool(stored_library, tmp_path):
    """The other side of the property (so the checks above can fail): files the store does not hold, and the
    pool's fork server starts."""
    lib, _store, _root = stored_library
    result = loaded("scan", lib, "-j", "2", "-q", "-f", "jsonl", "-o", tmp_path / "out.jsonl",
                    "--store", tmp_path / "new.sqlite")
    assert result["code"] == 0
    assert "multiprocessing.forkserver" in result["modules"]


@pytest.mark.parametrize("command", [["info"], ["export", "-f", "jsonl"], ["export", "-f", "csv"]])
def test_store_commands_load_no_analysis(stored_library, command):
    _lib, store, root = stored_library
    args = ["store", command[0], store, *command[1:]]
    if command[0] == "export":
        args += ["-o", root / f"export.{command[-1]}", "--force"]
    result = loaded(*args)
    assert result["code"] in (0, 1)  # 1: the stored results hold findings
    assert heavy_in(result) == []
