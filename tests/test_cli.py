"""The CLI as a user meets it: real subprocesses, exit codes, clean stdout, safe output files."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import tone_mix, write_wav

ANSI = re.compile(r"\x1b\[")


def run(*args, cwd=None, env_extra=None):
    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "musicforensics", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    y = tone_mix(44100, 2.0, noise_db=-50)
    write_wav(root / "good.flac", y, 44100, "PCM_24")
    write_wav(root / "padded.flac", np.round(y * 32767) / 32768, 44100, "PCM_24")
    write_wav(root / "silence.wav", np.zeros((44100 * 2, 2)), 44100)
    (root / "broken.flac").write_bytes(b"fLaC" + os.urandom(300))
    (root / "empty.wav").write_bytes(b"")
    return root


def test_help_is_cheap_and_loads_no_heavy_module():
    code = (
        "import sys\nfrom musicforensics.cli.app import app\n"
        "try:\n    app(['--help'], prog_name='musicforensics')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numba', 'matplotlib', 'scipy', 'soundfile') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert "HEAVY []" in out


def test_scan_mixed_folder_table_and_exit_code(mixed):
    res = run("scan", mixed)
    assert res.returncode == 3  # failures outrank findings
    for name in ("good.flac", "padded.flac", "silence.wav", "broken.flac", "empty.wav"):
        assert name in res.stdout
    assert "bitpadded" in res.stdout and "inconclusive" in res.stdout
    assert not ANSI.search(res.stdout)
    assert "5 files" in res.stderr


def test_scan_jsonl_is_valid_and_byte_clean(mixed):
    res = run("scan", mixed, "--format", "jsonl", "--jobs", "2")
    lines = res.stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 5
    by_name = {Path(r["path"]).name: r for r in records}
    assert by_name["padded.flac"]["verdicts"]["bitpadded"]["detected"] is True
    assert by_name["good.flac"]["status"] == "ok"
    assert by_name["empty.wav"]["status"] == "error" and "empty" in by_name["empty.wav"]["error"]
    assert by_name["silence.wav"]["status"] == "inconclusive"
    assert all(r["schema_version"] == "2.0" for r in records)
    assert all(r["path"].startswith(str(mixed)) for r in records)  # absolute argument, absolute paths
    assert not ANSI.search(res.stdout)


def test_schema_validates_every_record(mixed):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parents[1] / "musicforensics" / "schema" / "track.schema.json").read_text())
    for line in run("scan", mixed, "-f", "jsonl", "-q").stdout.splitlines():
        jsonschema.validate(json.loads(line), schema)


def test_json_and_csv_formats(mixed, tmp_path):
    doc = json.loads(run("scan", mixed, "-f", "json", "-q").stdout)
    assert doc["summary"]["files"] == 5 and doc["summary"]["error"] == 2
    assert doc["run"]["version"] and doc["schema_version"] == "2.0"
    rows = list(csv.DictReader(io.StringIO(run("scan", mixed, "-f", "csv", "-q").stdout)))
    assert {r["status"] for r in rows} == {"ok", "inconclusive", "error"}
    assert "bitpadded_detected" in rows[0]


def test_exit_codes_findings_and_fail_on(mixed, tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    y = tone_mix(44100, 2.0, noise_db=-50)
    write_wav(clean / "good.flac", y, 44100, "PCM_24")
    write_wav(clean / "pad.flac", np.round(y * 32767) / 32768, 44100, "PCM_24")
    assert run("scan", clean, "-q").returncode == 1
    assert run("scan", clean, "-q", "--fail-on", "none").returncode == 0
    assert run("scan", clean / "good.flac", "-q").returncode == 0
    bad = run("scan", clean, "--fail-on", "nonsense")
    assert bad.returncode == 2 and "nonsense" in bad.stderr


def test_usage_errors_exit_2(mixed):
    assert run("scan").returncode == 2
    assert run("scan", mixed, "--format", "xml").returncode == 2
    assert run("scan", mixed, "--detectors", "nope").returncode == 2


def test_output_file_is_written_once_and_never_clobbered(mixed, tmp_path):
    out = tmp_path / "res.json"
    res = run("scan", mixed, "-f", "json", "-o", out, "-q")
    assert res.returncode == 3 and res.stdout == ""
    assert json.loads(out.read_text())["summary"]["files"] == 5
    out.write_text("precious")
    again = run("scan", mixed, "-f", "json", "-o", out, "-q")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert out.read_text() == "precious"
    assert run("scan", mixed, "-f", "json", "-o", out, "-q", "--force").returncode == 3
    assert json.loads(out.read_text())["summary"]["files"] == 5


def test_scan_writes_nothing_into_the_scanned_folder(mixed):
    before = sorted(p.name for p in mixed.rglob("*"))
    run("scan", mixed, "-q", "-j", "2")
    assert sorted(p.name for p in mixed.rglob("*")) == before


def test_folder_without_audio(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    res = run("scan", tmp_path)
    assert res.returncode == 0 and "no audio files found" in res.stderr


def test_explain_tables_and_json(mixed):
    res = run("explain", mixed / "padded.flac")
    assert res.returncode == 1
    assert "bitpadded: DETECTED" in res.stdout and "effective_bits" in res.stdout
    data = json.loads(run("explain", mixed / "good.flac", "--json").stdout)
    assert data["status"] == "ok" and data["audio"]["bit_depth"] == 24
    broken = run("explain", mixed / "broken.flac")
    assert broken.returncode == 3 and "error" in broken.stdout


def test_no_color_and_pipes_give_plain_text(mixed):
    res = run("explain", mixed / "padded.flac", env_extra={"NO_COLOR": "1", "TERM": "xterm-256color"})
    assert not ANSI.search(res.stdout) and not ANSI.search(res.stderr)


def test_cli_defaults_match_the_config():
    """Options with a library default take it from AnalysisConfig (habit 9)."""
    from musicforensics.cli import common
    from musicforensics.config import AnalysisConfig

    assert common.build_config() == AnalysisConfig()
    assert common.build_config(max_seconds=None, detectors=None) == AnalysisConfig()


def test_every_command_is_documented():
    from musicforensics.cli.app import app

    usage = (Path(__file__).parents[1] / "docs" / "usage.md").read_text()
    names = [c.name for c in app.registered_commands if not c.hidden]  # hidden: former names, kept for scripts
    for group in app.registered_groups:
        names += [f"{group.name} {c.name}" for c in group.typer_instance.registered_commands]
    assert names, "no commands registered"
    for name in names:
        assert f"musicforensics {name}" in usage, f"docs/usage.md does not document `{name}`"
