"""HTML and Markdown reports: content, escaping of hostile names, inputs from folders and from scan results."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from musicforensics.results import Finding, TrackReport
from tests.conftest import tone_mix, write_wav

XSS_NAME = "<script>alert(1)</script>.flac"
IMG_NAME = "<img src=x onerror=alert(2)>.flac"


class Elements(HTMLParser):
    """Counts elements and collects attributes, as a browser's parser would see the markup."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text.append(data)


def parse(text: str) -> Elements:
    p = Elements()
    p.feed(text)
    return p


def hostile_reports() -> list[TrackReport]:
    ev = {"wall": {"freq_hz": 16000.0}, "tag_title": "</td><script>alert(3)</script>", "note": "a & b | c"}
    return [
        TrackReport(XSS_NAME, "ok", audio={"container": "FLAC", "sample_rate": 44100, "bit_depth": 16, "channels": 2,
                                           "duration_s": 3.0},
                    verdicts={"lossy": Finding("lossy", True, 0.97, ev, reason="<b>wall</b> at 16 kHz", detector="lossy")},
                    seconds=1.5),
        TrackReport(IMG_NAME, "ok", verdicts={"lossy": Finding("lossy", False, 0.02, {})}, seconds=0.5),
        TrackReport("dir/odd'\"name`|*_.wav", "error", error="<i>broken</i>", seconds=0.1),
        TrackReport("quiet.wav", "inconclusive", reasons=["digital silence"],
                    verdicts={"lossy": Finding.undecided("lossy", "digital silence")}),
    ]


# -- HTML -------------------------------------------------------------------------------------------------------

def test_html_escapes_every_name_and_value():
    from musicforensics.evidence.formats import html

    text = html.render(hostile_reports(), meta={"version": "9<9", "created": "now", "config": {"n_fft": 16384}})
    p = parse(text)
    assert [t for t, _ in p.tags].count("script") == 1  # only ours
    assert not any(t == "img" for t, _ in p.tags)  # no figure given, no injected <img>
    assert not any(k.startswith("on") for _, attrs in p.tags for k in attrs)  # no event handlers anywhere
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>wall" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.flac" in text
    assert "&lt;img src=x onerror=alert(2)&gt;.flac" in text
    assert "&lt;/td&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in text
    assert "odd&#x27;&quot;name" in text and "9&lt;9" in text


def test_html_csp_allows_only_the_sort_script():
    from musicforensics.evidence.formats import html

    text = html.render(hostile_reports(), meta={})
    csp = re.search(r'http-equiv=\'Content-Security-Policy\' content="([^"]+)"', text).group(1)
    csp = csp.replace("&#x27;", "'")
    digest = base64.b64encode(hashlib.sha256(html.SORT_SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp and "img-src data:" in csp
    body = "".join(parse(text).script_text)
    assert body == html.SORT_SCRIPT  # the hash covers exactly what is in the page
    assert "http://" not in text and "https://" not in text  # nothing external


def test_html_content_counts_table_and_sections():
    from musicforensics.evidence.formats import html
    from musicforensics.evidence.figures import FigureRecord

    reports = hostile_reports()
    figures = {XSS_NAME: FigureRecord(png=b"\x89PNG\r\n\x1a\nfake")}
    text = html.render(reports, meta={"version": "1", "created": "2026-01-01", "config": {"n_fft": 16384}},
                       figures=figures)
    p = parse(text)
    ids = {a.get("id") for _, a in p.tags}
    assert {"counts", "tracks", "flagged", "method", "run", "tracks-table", "verdict-counts"} <= ids
    assert "4 files: 2 ok, 1 inconclusive, 1 error(s); 1 flagged." in text
    rows = re.search(r"<table id='verdict-counts'>.*?</table>", text, re.S).group(0)
    assert "<th scope='row'>lossy</th><td class='num'>1</td><td class='num'>1</td><td class='num'>1</td><td class='num'>1</td>" in rows
    imgs = [a for t, a in p.tags if t == "img"]
    assert len(imgs) == 1 and imgs[0]["src"] == "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    assert "Known limits" in text and "&quot;n_fft&quot;: 16384" in text
    # sort keys: probability for verdicts, -0.5 inconclusive, -1 not run
    assert "data-sort='0.970000'>DETECTED 0.97" in text and "data-sort='-0.500000'>inconclusive" in text


def test_html_figure_notes():
    from musicforensics.evidence.formats import html
    from musicforensics.evidence.figures import FigureRecord

    rep = hostile_reports()[:1]
    assert "figure not requested" in html.render(rep, meta={})
    text = html.render(rep, meta={}, figures={XSS_NAME: FigureRecord(note="figure not available: <gone>")})
    assert "figure not available: &lt;gone&gt;" in text


def test_collect_figures_reachable_and_not(tmp_path):
    from musicforensics.evidence.figures import collect_figures, resolve_audio

    wav = write_wav(tmp_path / "a.wav", tone_mix(44100, 1.5), 44100)
    flag = {"lossy": Finding("lossy", True, 0.9, {})}
    reports = [TrackReport("a.wav", "ok", verdicts=flag), TrackReport("missing.wav", "ok", verdicts=flag),
               TrackReport("clean.wav", "ok", verdicts={"lossy": Finding("lossy", False, 0.1, {})}),
               TrackReport(str(wav), "ok", verdicts=flag)]
    assert resolve_audio("a.wav", [tmp_path]) == tmp_path / "a.wav"
    assert resolve_audio("a.wav") is None or Path.cwd() == tmp_path
    figs = collect_figures(reports, search_dirs=[tmp_path], max_figures=1)
    assert figs["a.wav"].png.startswith(b"\x89PNG")
    assert "not reachable" in figs["missing.wav"].note
    assert "clean.wav" not in figs
    assert "more than 1 flagged" in figs[str(wav)].note


# -- Markdown -----------------------------------------------------------------------------------------------------

def test_markdown_escapes_and_keeps_tables_intact():
    from musicforensics.evidence.formats import markdown

    text = markdown.render(hostile_reports(), meta={"version": "1", "config": {"n_fft": 16384}},
                           figure_links={XSS_NAME: "r_figures/script.summary.png"})
    assert "<script>" not in text and "<img" not in text and "<b>" not in text and "<i>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.flac" in text
    track_rows = [ln for ln in text.splitlines() if ln.startswith("| ") and ("wav" in ln or "flac" in ln)]
    n_cols = {ln.replace("\\|", "").count("|") for ln in track_rows if "seconds" not in ln}
    assert len(n_cols) == 1  # an escaped '|' in a name does not add a column
    assert "![summary figure](r_figures/script.summary.png)" in text
    assert "## Known limits" in text and "| n\\_fft | 16384 |" in text


def test_markdown_escape_function():
    from musicforensics.evidence.formats.markdown import escape

    assert escape("a|b") == "a\\|b"
    assert escape("<x>") == "&lt;x&gt;"
    assert escape("line1\nline2") == "line1 line2"
    assert escape("[link](javascript:alert(1))") == "\\[link\\](javascript:alert(1))"
    assert escape("![img](x) *a* _b_ `c` ~~d~~") == "!\\[img\\](x) \\*a\\* \\_b\\_ \\`c\\` \\~\\~d\\~\\~"


# -- CLI -------------------------------------------------------------------------------------------------------------

class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _run(*args, cwd=None):
    """The CLI in this process (Typer's runner; much cheaper than a fresh interpreter per call)."""
    from typer.testing import CliRunner

    from musicforensics.cli.app import app

    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        res = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)
    return _Result(res.exit_code, res.stdout, res.stderr)


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """A folder whose flagged file is literally named '<script>alert(1)</script>.flac' (via a sub-folder
    named '<script>alert(1)<', since '/' cannot be in a file name), plus a clean one."""
    root = tmp_path_factory.mktemp("report")
    lib = root / "lib"
    (lib / "<script>alert(1)<").mkdir(parents=True)
    y = tone_mix(44100, 2.0, noise_db=-50)
    write_wav(lib / "<script>alert(1)<" / "script>.flac", np.round(y * 32767) / 32768, 44100, "PCM_24")  # bitpadded
    write_wav(lib / "clean.flac", y, 44100, "PCM_24")
    return lib


@pytest.mark.slow
def test_cli_report_from_folder_and_from_results(library, tmp_path):
    out = tmp_path / "r.html"
    r = _run("report", library, "-o", out, "-q", "-j", "1")
    assert r.returncode == 1, r.stderr  # a finding
    text = out.read_text(encoding="utf-8")
    assert "lib/&lt;script&gt;alert(1)&lt;/script&gt;.flac" in text and "<script>alert" not in text
    assert text.count("data:image/png;base64,") == 1  # the flagged file's figure
    r = _run("report", library, "-o", out, "-q")
    assert r.returncode == 2 and "already exists" in r.stderr

    # from scan results, run elsewhere: paths are relative to the folder scanned from
    results = tmp_path / "scan.json"
    r = _run("scan", "lib", "-f", "json", "-o", results, "-q", "-j", "1", cwd=library.parent)
    assert r.returncode == 1, r.stderr
    r = _run("report", results, "-o", tmp_path / "from-json.html", "-q", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    text = (tmp_path / "from-json.html").read_text(encoding="utf-8")
    assert "figure not available: the audio file is not reachable from here" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text

    r = _run("report", results, "-o", tmp_path / "here.html", "-q", cwd=library.parent)
    assert (tmp_path / "here.html").read_text(encoding="utf-8").count("data:image/png;base64,") == 1

    jsonl = tmp_path / "scan.jsonl"
    doc = json.loads(results.read_text())
    jsonl.write_text("".join(json.dumps(rec) + "\n" for rec in doc["results"]))
    r = _run("report", jsonl, "--format", "md", "-o", tmp_path / "r.md", "--no-figures", "-q")
    assert r.returncode == 1, r.stderr
    md = (tmp_path / "r.md").read_text()
    assert "# musicforensics report" in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert not (tmp_path / "r_figures").exists()


@pytest.mark.slow
def test_cli_report_markdown_figures_beside_it(library, tmp_path):
    r = _run("report", library, "--format", "md", "-o", tmp_path / "r.md", "-q", "-j", "1")
    assert r.returncode == 1, r.stderr
    figs = list((tmp_path / "r_figures").iterdir())
    assert [f.name for f in figs] == ["script.summary.png"]
    assert "](r_figures/script.summary.png)" in (tmp_path / "r.md").read_text()


def test_cli_report_bad_inputs(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    r = _run("report", bad, "-q")
    assert r.returncode == 2 and "not JSON" in r.stderr
    r = _run("report", tmp_path / "nope", "-q")
    assert r.returncode == 2 and "does not exist" in r.stderr
    other = tmp_path / "other.json"
    other.write_text('{"name": "not results"}')
    r = _run("report", other, "-q")
    assert r.returncode == 2 and "without a 'results' list" in r.stderr
    r = _run("report", bad, "--format", "pdf", "-q")
    assert r.returncode == 2 and "--format" in r.stderr
