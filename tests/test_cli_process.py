"""The console script as a user meets it on a real library: run as a separate process, with awkward file names,
closed pipes, Ctrl-C, SIGKILL, damaged stores, and the README's two install commands in one virtualenv."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import IN_CI, tone_mix, write_wav

ROOT = Path(__file__).resolve().parents[1]
AWKWARD_NAMES = ("Album (2019) [web flac]/01 track.flac", "[mp3 320]/01 track.flac", "[@foo]/01 track.flac",
                 "m[/x].flac", "smile :smile: [bold]x[/bold].flac")


def console_script() -> str:
    """The installed ``musicforensics`` executable of this environment (what the README's users run)."""
    exe = Path(sys.executable).parent / "musicforensics"
    found = str(exe) if exe.exists() else shutil.which("musicforensics")
    if not found:
        message = "the musicforensics console script is not installed in this environment (pip install -e .)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    env.update(extra)
    return env


def run(*args, timeout=300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([console_script(), *map(str, args)], capture_output=True, text=True, env=_env(),
                          timeout=timeout, **kw)


def _library(root: Path, n: int, seconds: float) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_wav(root / f"t{i:02d}.flac", tone_mix(44100, seconds, freqs=(220.0 + 20 * i, 3000.0), seed=i), 44100)
    return root


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (workers, the forkserver, the resource tracker), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z":
                out.append(pid)
        except OSError:
            pass
    return out


def store_rows(store: Path) -> tuple[int, list[str]]:
    con = sqlite3.connect(store)
    try:
        count = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        states = [r[0] for r in con.execute("SELECT state FROM scans ORDER BY id")]
    finally:
        con.close()
    return count, states


@pytest.fixture(scope="module")
def awkward(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("awkward")
    y = tone_mix(44100, 1.5, noise_db=-50)
    for name in AWKWARD_NAMES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_wav(root / name, y, 44100)
    return root


@pytest.fixture(scope="module")
def slow_library(tmp_path_factory) -> Path:
    """16 files of 12 s: long enough that a scan is still running when the test interrupts it."""
    return _library(tmp_path_factory.mktemp("slow") / "lib", 16, 12.0)


# -- names are text, never markup ----------------------------------------------------------------------------

def test_bracketed_names_are_shown_verbatim_in_the_table(awkward):
    res = run("scan", awkward, "-j", "1")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "MarkupError" not in res.stderr
    for name in AWKWARD_NAMES:
        assert str(awkward / name) in res.stdout, name
    rows = [line for line in res.stdout.splitlines() if "01 track.flac" in line]
    assert len(rows) == 3 and len(set(rows)) == 3  # '[mp3 320]' and '[@foo]' no longer collapse


def test_bracketed_names_survive_the_progress_bar_on_a_terminal(awkward):
    """The progress bar only shows on a terminal: give stderr a pseudo-terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([console_script(), "scan", str(awkward), "-j", "1", "-f", "jsonl"],
                            stdout=subprocess.PIPE, stderr=slave, env=_env(COLUMNS="120"))
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 0, seen.decode(errors="replace")
    os.close(master)
    assert b"MarkupError" not in seen and b"Traceback" not in seen
    assert len(out.splitlines()) == len(AWKWARD_NAMES)


def test_messages_on_stderr_are_never_wrapped(tmp_path):
    long_dir = tmp_path / ("a-folder-name-long-enough-to-cross-eighty-columns-" * 2)
    long_dir.mkdir()
    bad = long_dir / "results.json"
    bad.write_text("{not json")
    res = run("report", bad)
    assert res.returncode == 2
    error_lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and str(bad) in error_lines[0]


def test_help_shows_clean_flags_and_no_raw_markup():
    for args in (("--help",), ("scan", "--help"), ("explain", "--help"), ("evaluate", "--help"),
                 ("report", "--help"), ("store", "export", "--help")):
        res = run(*args)
        assert res.returncode == 0, args
        assert "<bool>" not in res.stdout and "``" not in res.stdout, args


# -- pipes, Ctrl-C, SIGTERM, SIGKILL -------------------------------------------------------------------------

def test_help_into_a_closed_pipe_exits_141():
    """``--help | head -1``: the reader is gone before the writer is done (here: before it starts)."""
    for args in (("--help",), ("scan", "--help")):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            res = subprocess.run([console_script(), *args], stdout=write_end, stderr=subprocess.PIPE, text=True,
                                 env=_env(), timeout=120)
        finally:
            os.close(write_end)
        assert res.returncode == 141, res.stderr
        assert "Traceback" not in res.stderr and "Aborted" not in res.stderr


def test_a_closed_pipe_stops_the_scan_at_once(slow_library, tmp_path):
    store = tmp_path / "pipe.sqlite"
    script = (f"'{console_script()}' scan '{slow_library}' -j 2 -f jsonl --store '{store}' | head -1; "
              "echo \"STATUS ${PIPESTATUS[0]}\"")
    res = subprocess.run(script, shell=True, executable="/bin/bash", capture_output=True, text=True, env=_env(),
                         timeout=600)
    assert "STATUS 141" in res.stdout
    first = json.loads(res.stdout.splitlines()[0])
    assert first["path"].endswith("t00.flac")
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr
    stored, states = store_rows(store)
    # stopped when the reader left: at most the files already in flight finished, never the whole folder
    assert stored < 16
    assert states == ["interrupted"]


def _start_scan(library: Path, store: Path):
    proc = subprocess.Popen([console_script(), "scan", str(library), "-j", "2", "-f", "jsonl", "--store", str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    first = proc.stdout.readline()  # a finished, committed result: the scan is well under way
    assert first, proc.stderr.read().decode()
    time.sleep(0.5)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_keep_finished_results_and_mark_the_scan(slow_library, tmp_path, signum, code):
    store = tmp_path / "int.sqlite"
    proc = _start_scan(slow_library, store)
    below = descendants(proc.pid)
    assert below, "the scan should run worker processes"
    t0 = time.monotonic()
    proc.send_signal(signum)
    rest, err = proc.communicate(timeout=60)
    stopped_in = time.monotonic() - t0
    assert proc.returncode == code, err.decode()
    assert stopped_in < 5.0, f"took {stopped_in:.1f} s to stop"
    assert b"Traceback" not in err and b"stopped after" in err
    printed = 1 + len(rest.splitlines())
    stored, states = store_rows(store)
    assert states == ["interrupted"]
    assert stored >= printed  # every result shown as finished is in the store
    deadline = time.monotonic() + 10
    while alive(below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(below), "worker processes outlived the scan"
    resumed = run("scan", slow_library, "-j", "2", "-q", "--store", store, "-f", "jsonl")
    assert resumed.returncode == 0 and len(resumed.stdout.splitlines()) == 16


@pytest.mark.slow
def test_sigkill_of_the_scan_leaves_no_process_behind(slow_library, tmp_path):
    proc = _start_scan(slow_library, tmp_path / "kill.sqlite")
    below = descendants(proc.pid)
    assert len(below) >= 2
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while alive(below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(below), f"still running after the scan was killed: {alive(below)}"


# -- damaged stores, odd files -----------------------------------------------------------------------------

def _damage(store: Path) -> None:
    """Overwrite the head of every page after the first two (page headers, cell pointers and the start of the
    rows): what a torn copy or a bad disk leaves."""
    data = bytearray(store.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page + 1, page):
        data[start:start + 400] = b"\xff" * 400
    store.write_bytes(bytes(data))


def test_a_damaged_store_is_a_clear_error_and_no_file_is_analysed(tmp_path):
    lib = _library(tmp_path / "lib", 4, 1.5)
    store = tmp_path / "s.sqlite"
    first = run("scan", lib, "--store", store, "-q", "-j", "1")
    assert first.returncode == 0, first.stderr
    _damage(store)
    before = {p: p.stat().st_mtime_ns for p in lib.iterdir()}
    for args in (("scan", lib, "--store", store, "-j", "1"), ("store", "info", store),
                 ("store", "export", store)):
        res = run(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert "Traceback" not in res.stderr
        assert "damaged" in res.stderr and ".recover" in res.stderr and str(store) in res.stderr
        assert res.stdout == ""
    assert {p: p.stat().st_mtime_ns for p in lib.iterdir()} == before


def test_fifo_and_missing_files_get_clear_errors_without_hanging(tmp_path):
    lib = _library(tmp_path / "lib", 1, 1.5)
    os.mkfifo(lib / "pipe.flac")
    res = run("scan", lib, "-f", "jsonl", "-j", "1", timeout=120)
    records = {Path(r["path"]).name: r for r in map(json.loads, res.stdout.splitlines())}
    assert res.returncode == 3
    assert records["pipe.flac"]["error"] == "not a regular file: a named pipe (FIFO)"
    assert records["t00.flac"]["status"] == "ok"
    for target in (lib / "pipe.flac", tmp_path / "missing.flac"):
        assert run("explain", target).returncode == 3  # one rule: a file that cannot be analysed is 3


def test_store_info_keeps_whole_lines_when_piped(tmp_path):
    lib = _library(tmp_path / "lib", 1, 1.5)
    store = tmp_path / "s.sqlite"
    assert run("scan", lib, "--store", store, "-q", "-j", "1").returncode == 0
    res = run("store", "info", store)
    assert res.returncode == 0
    scan_rows = [line for line in res.stdout.splitlines() if "complete" in line]
    assert len(scan_rows) == 1
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", scan_rows[0]), scan_rows[0]


def test_non_latin_names_draw_without_glyph_warnings(tmp_path):
    folder = tmp_path / "lib"
    folder.mkdir()
    shutil.copy(ROOT / "sample_audio" / "lossy_mp3_128.flac", folder / "日本語の歌.flac")
    res = run("report", folder, "-o", tmp_path / "r.html", "-q")
    assert res.returncode == 1, res.stderr
    assert "Glyph" not in res.stderr and "Warning" not in res.stderr


# -- the README's two commands, one after the other, in one virtualenv ------------------------------------------

def _site_packages() -> list[str]:
    return [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]


@pytest.mark.slow
def test_readme_install_commands_in_sequence_keep_the_cli_working(tmp_path):
    """``pip install .`` + a scan, then ``pip install -e .`` + a scan, in one virtualenv: the package never
    writes into its installation folder, so nothing is left behind to shadow the editable install."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "musicforensics", src / "musicforensics", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "sample_audio", src / "sample_audio")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # the dependencies come from this environment (no download): its site-packages, appended after the venv's own
    (site / "outer-deps.pth").write_text("\n".join(_site_packages()) + "\n")
    home = tmp_path / "home"
    # pip's own download cache stays the user's (its build backend comes from PyPI, as for any user)
    pip_cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    env = _env(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PIP_NO_INPUT="1", PIP_CACHE_DIR=pip_cache)
    env.pop("NUMBA_CACHE_DIR", None)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    pip = [str(py), "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check"]

    def step(*cmd):
        res = subprocess.run(list(map(str, cmd)), cwd=src, env=env, capture_output=True, text=True, timeout=900)
        return res

    res = step(*pip, ".")
    assert res.returncode == 0, res.stderr
    installed = site / "musicforensics"
    before = {p for p in installed.rglob("*")}
    res = step(venv / "bin" / "musicforensics", "scan", "sample_audio/", "-q")
    assert res.returncode == 1, res.stderr  # sample_audio has findings
    assert {p for p in installed.rglob("*")} == before, "the scan wrote into the installed package"
    res = step(*pip, "-e", ".")
    assert res.returncode == 0, res.stderr
    assert not installed.exists(), f"left behind after the editable install: {sorted(installed.rglob('*'))}"
    res = step(venv / "bin" / "musicforensics", "scan", "sample_audio/", "-q")
    assert res.returncode == 1, res.stderr
    res = step(venv / "bin" / "musicforensics", "explain", "sample_audio/lossy_mp3_128.flac", "--plot-dir",
               tmp_path / "plots")
    assert res.returncode == 1, res.stderr
    assert len(list((tmp_path / "plots").glob("*.png"))) == 4
    cache = home / ".cache" / "musicforensics" / "numba"
    assert cache.is_dir() and any(cache.rglob("*.nbi")), "the kernel cache belongs in the user's cache folder"
