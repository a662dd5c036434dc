"""The HTML report in a real browser: headless Chromium opens it from disk, renders it, runs only our script.

Skips where Chromium is absent, except under CI=true (then it must run: .ci/run installs Debian's
``chromium``). The screenshot is kept under ``artifacts/browser/`` (gitignored) for people to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_tool, tone_mix, write_wav

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "browser"
#: A file name that would change the page title if its markup ever reached the DOM unescaped.
CANARY_NAME = "<img src=x onerror=document.title='PWNED'>.flac"


def chromium_args(profile: Path) -> list[str]:
    return [
        require_tool("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=3000",
    ]


def dump_dom(page: Path, profile: Path) -> str:
    out = subprocess.run([*chromium_args(profile), "--dump-dom", page.resolve().as_uri()], capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def screenshot(page: Path, png: Path, profile: Path) -> None:
    out = subprocess.run([*chromium_args(profile), f"--screenshot={png}", "--window-size=1280,2000",
                          page.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and png.exists(), out.stderr[-2000:]


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def parse(text: str) -> Dom:
    d = Dom()
    d.feed(text)
    return d


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    """A report of a folder holding '<script>alert(1)</script>.flac' (flagged), the title canary, and a clean file."""
    from musicforensics.config import AnalysisConfig
    from musicforensics.evidence.formats import html, run_metadata
    from musicforensics.evidence.figures import collect_figures
    from musicforensics.pipeline.discovery import discover
    from musicforensics.pipeline.engines import SerialEngine
    from musicforensics.pipeline.scan import scan

    root = tmp_path_factory.mktemp("browser")
    lib = root / "lib"
    (lib / "<script>alert(1)<").mkdir(parents=True)
    y = tone_mix(44100, 2.0, noise_db=-50)
    padded = np.round(y * 32767) / 32768
    write_wav(lib / "<script>alert(1)<" / "script>.flac", padded, 44100, "PCM_24")  # flagged: bitpadded
    write_wav(lib / CANARY_NAME, padded, 44100, "PCM_24")
    write_wav(lib / "clean.flac", y, 44100, "PCM_24")
    config = AnalysisConfig()
    reports, tally = scan(discover([str(lib)]), config=config, engine=SerialEngine())
    assert any(r.path.endswith("<script>alert(1)</script>.flac") for r in reports)
    figures = collect_figures(reports, config=config)
    page = root / "report.html"
    page.write_text(html.render(reports, summary=tally.to_dict(), meta=run_metadata(config, command="report"),
                                figures=figures), encoding="utf-8")
    return page


def test_canary_detects_script_execution(tmp_path):
    """The harness itself can fail: an unescaped payload does change the title in this browser."""
    page = tmp_path / "unsafe.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>safe</title></head><body>{CANARY_NAME}</body></html>")
    assert parse(dump_dom(page, tmp_path / "profile")).title == "PWNED"


def test_report_renders_and_runs_only_our_script(report_page, tmp_path):
    dom = dump_dom(report_page, tmp_path / "profile")
    d = parse(dom)
    assert d.title == "musicforensics report"  # the canary's onerror never ran
    html_attrs = next(a for t, a in d.tags if t == "html")
    assert html_attrs.get("data-sortable") == "ready"  # our script ran under the CSP
    assert [t for t, _ in d.tags].count("script") == 1
    imgs = [a for t, a in d.tags if t == "img"]
    assert len(imgs) == 2 and all(a["src"].startswith("data:image/png;base64,") for a in imgs)
    assert not any(k.startswith("on") for _, attrs in d.tags for k in attrs)
    # the names are shown as literal text
    assert "lib/&lt;script&gt;alert(1)&lt;/script&gt;.flac" in dom
    assert "&lt;img src=x onerror=document.title='PWNED'&gt;.flac" in dom
    rows = [a for t, a in d.tags if t == "tr"]
    assert len(rows) >= 1 + 3


def test_report_screenshot(report_page, tmp_path):
    from PIL import Image

    png = tmp_path / "report.png"
    screenshot(report_page, png, tmp_path / "profile")
    img = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert img.shape == (2000, 1280)
    assert img.std() > 10  # not a blank page
    assert (img < 100).mean() > 0.01  # there is dark text/figure ink on it
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, ARTIFACTS / "report.png")
    shutil.copyfile(report_page, ARTIFACTS / "report.html")
    assert os.path.getsize(ARTIFACTS / "report.png") == os.path.getsize(png)
