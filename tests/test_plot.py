"""Plots: what the figures mark is what the evidence says; files are never overwritten; Agg only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from musicforensics.config import AnalysisConfig
from musicforensics.spectral.summary import SpectralSummary
from musicforensics.errors import OutputExistsError, ParameterError
from musicforensics.results import Finding, TrackReport
from tests.conftest import tone_mix, write_wav

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SR = 44100
CUTOFF = 12000.0


def _lowpassed_noise(seconds: float = 4.0, seed: int = 1) -> np.ndarray:
    r = np.random.default_rng(seed)
    y = r.standard_normal((int(SR * seconds), 2)) * 0.1
    sos = butter(16, CUTOFF, fs=SR, output="sos")
    return sosfilt(sos, y, axis=0)


@pytest.fixture(scope="module")
def lowpassed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plot")
    return write_wav(root / "lowpassed.flac", _lowpassed_noise(), SR, "PCM_24")


def _report(path: str, *, wall_hz: float = CUTOFF) -> TrackReport:
    """A report shaped like the real lossy and AI detectors' JSON, read back with typed evidence."""
    lossy = {
        "wall": {"freq_hz": wall_hz, "drop_db": 60.0, "steepness_db_per_khz": 120.0, "below_db": -70.0,
                 "above_db": -130.0, "floor_db": -130.0, "floor_flatness_db": 0.5},
        "wall_counts": True,
        "segments": {"segment_seconds": 2.0, "flags": [True, None], "walls_hz": [wall_hz, None], "decided": 1,
                     "flagged": 1, "flagged_starts_s": [0.0]},
        "codec_family": {"estimate": "mp3", "probabilities": {"mp3": 0.9}},
        "bitrate_class": "128 kbps / V5",
    }
    ai = {"delta_hz": 86.13, "teeth": [{"freq_hz": 86.13 * k, "prominence_db": 2.0} for k in (70, 80, 90)],
          "matches": [{"rate_hz": 44100, "stride_product": 512, "delta_hz": 86.13, "decoders": ["DAC 44.1 kHz"]}]}
    return _typed({"path": path, "status": "ok", "facts": {"bandwidth_hz": wall_hz},
                   "verdicts": {"lossy": {"detected": True, "probability": 0.99, "reason": "wall", "evidence": lossy},
                                "ai": {"detected": False, "probability": 0.1, "reason": "weak", "evidence": ai}}})


def _typed(data: dict) -> TrackReport:
    from musicforensics.pipeline.registry import evidence_types

    return TrackReport.from_dict(data, evidence_types())


# -- evidence ------------------------------------------------------------------------------------------------

def test_marks_read_the_typed_evidence():
    from musicforensics.evidence.marks import read_marks
    from musicforensics.lossy.evidence import LossyEvidence

    report = _report("x.flac", wall_hz=16712.5)
    assert isinstance(report.verdicts["lossy"].evidence, LossyEvidence)
    ev = read_marks(report)
    assert ev.wall_hz == pytest.approx(16712.5)
    assert ev.floor_db == -130.0 and ev.steepness_db_per_khz == 120.0
    assert ev.codec == "mp3" and ev.bitrate_class == "128 kbps / V5"
    lo, hi = ev.expected_wall_hz
    assert lo < 16712.5 <= hi  # the lossy detector's own class band (BITRATE_CLASSES) contains the wall
    assert ev.segments == [(0.0, 2.0, True), (2.0, 4.0, None)]
    assert ev.teeth_hz == pytest.approx([86.13 * k for k in (70, 80, 90)])
    assert ev.architecture == "DAC 44.1 kHz"
    assert ev.expected_delta_hz == pytest.approx(44100 / 512)
    assert [v[1] for v in ev.verdicts] == ["not detected", "DETECTED"]


def test_marks_of_missing_or_foreign_evidence():
    from musicforensics.evidence.marks import read_marks

    foreign = TrackReport("y.wav", "ok", verdicts={"lossy": Finding("lossy", True, 0.9)})  # no typed evidence
    ev = read_marks(foreign)
    assert ev.wall_hz is None and ev.codec is None and ev.segments == []
    empty = read_marks(TrackReport("z.wav", "error", error="bad"))
    assert empty.wall_hz is None and empty.segments == [] and empty.teeth_hz == []
    assert read_marks(None).verdicts == []


@pytest.mark.parametrize("codec, setting, band", [
    ("mp3", "320", (20100, 20600)), ("MP3", "CBR 128 kbps", (16500, 17100)), ("libopus", None, (19800, 20200)),
    ("aac", "128k", (16900, 17500)), ("flac", "x", None), (None, "128", None),
])
def test_expected_wall_band(codec, setting, band):
    from musicforensics.lossy.codecs import expected_wall_band

    assert expected_wall_band(codec, setting) == band


# -- computed views ------------------------------------------------------------------------------------------

def _flat_summary(sr=SR, n_fft=16384, level_db=-80.0, rng=None) -> SpectralSummary:
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    noise = rng.normal(0, 0.3, freqs.size) if rng is not None else np.zeros(freqs.size)
    mean_db = level_db + noise
    return SpectralSummary(sample_rate=sr, n_fft=n_fft, hop=n_fft // 2, freqs=freqs, mean_db=mean_db,
                           mean_power=10 ** (mean_db / 10), n_frames=10, n_active_frames=10,
                           band_edges_hz=np.array([0.0, sr / 2]), segment_seconds=2.0, band_db=np.zeros((1, 1)))


def test_comb_residual_finds_injected_teeth(rng):
    from musicforensics.evidence.plot_data import comb_residual

    s = _flat_summary(rng=rng)
    step = 32  # bins: 86.13 Hz at 44.1 kHz / 16384 (DAC: n_fft / 512)
    teeth = np.arange(0, s.freqs.size, step)
    s.mean_db[teeth] += 3.0
    freqs, res = comb_residual(s)
    assert freqs[0] >= 5000 and freqs[-1] <= 16000
    assert np.all(res >= 0)
    on = np.isin(np.searchsorted(s.freqs, freqs), teeth)
    assert on.sum() == pytest.approx((16000 - 5000) / (step * s.bin_hz), abs=2)
    assert res[on].mean() > 2.5 and res[on].mean() > 5 * res[~on].mean()
    top = np.argsort(res)[-int(on.sum()):]
    assert on[top].mean() > 0.95  # the largest residuals are the teeth


def test_plot_data_spectrogram_shows_the_cutoff(lowpassed):
    from musicforensics.evidence.plot_data import compute_plot_data

    data = compute_plot_data(lowpassed)
    assert data.spec_db.shape == (data.spec_freqs.size, data.spec_times.size - 1)
    assert data.duration_s == pytest.approx(4.0, abs=0.05)
    below = data.spec_db[(data.spec_freqs > 2000) & (data.spec_freqs < CUTOFF - 1500)].mean()
    above = data.spec_db[data.spec_freqs > CUTOFF + 2500].mean()
    assert below - above > 60  # 16th-order Butterworth: far more than 60 dB down 2.5 kHz past the edge
    # the recomputed long-term spectrum equals the analysis' own
    from musicforensics.pipeline.analysis import analyze_file

    rep = analyze_file(lowpassed)
    np.testing.assert_allclose(data.spectrum.mean_db, rep.spectrum.mean_db, atol=1e-9)
    reused = compute_plot_data(lowpassed, report=rep)
    assert reused.spectrum is rep.spectrum
    np.testing.assert_allclose(reused.spec_db, data.spec_db)


def test_plot_data_respects_max_seconds(lowpassed):
    from musicforensics.evidence.plot_data import compute_plot_data

    data = compute_plot_data(lowpassed, config=AnalysisConfig(max_seconds=1.5))
    assert data.duration_s == pytest.approx(1.5, abs=0.05)


def test_plot_data_short_file(tmp_path):
    from musicforensics.evidence.plot import summary_figure
    from musicforensics.evidence.plot_data import compute_plot_data

    path = write_wav(tmp_path / "short.wav", tone_mix(SR, 0.03), SR)
    data = compute_plot_data(path)
    assert data.spec_db.shape[1] == 1 and np.all(np.isfinite(data.spec_db))
    summary_figure(data, None)  # degenerate input still draws


# -- figures -------------------------------------------------------------------------------------------------

def test_figures_mark_the_evidence(lowpassed):
    from musicforensics.evidence import plot

    data = plot.compute_plot_data(lowpassed)
    rep = _report(str(lowpassed))
    fig = plot.spectrogram_figure(data, rep)
    ax = fig.axes[0]
    walls = [ln for ln in ax.get_lines() if np.allclose(ln.get_ydata(), CUTOFF)]
    assert walls, "wall line missing"
    assert "kHz" in ax.get_ylabel() and "(s)" in ax.get_xlabel()
    assert any("lossy" in t.get_text() for t in ax.get_legend().get_texts())

    fig = plot.spectrogram_figure(data, rep, freq_scale="log")
    ax = fig.axes[0]
    assert any(np.allclose(ln.get_ydata(), np.log10(CUTOFF)) for ln in ax.get_lines())
    assert "log" in ax.get_ylabel()

    fig = plot.ltas_figure(data, rep)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("expected edge: mp3 128 kbps") for lab in labels)
    assert any("floor above wall -130 dB" == lab for lab in labels)
    assert "dB" in ax.get_ylabel() and "kHz" in ax.get_xlabel()

    fig = plot.comb_figure(data, rep)
    top = fig.axes[0]
    assert "86.13 Hz" in top.get_title()
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert any("DAC 44.1 kHz" in lab for lab in labels) and any("teeth" in lab for lab in labels)

    png = plot.figure_to_png(plot.summary_figure(data, rep))
    assert png.startswith(PNG_MAGIC) and len(png) > 20_000


def test_bad_freq_scale(lowpassed):
    from musicforensics.evidence import plot

    with pytest.raises(ParameterError):
        plot.spectrogram_figure(plot.compute_plot_data(lowpassed), None, freq_scale="mel")


def test_names_with_markup_and_dollars_draw(tmp_path):
    from musicforensics.evidence import plot

    path = write_wav(tmp_path / "a $x^2$ <b> _b_.wav", tone_mix(SR, 1.5), SR)
    png = plot.figure_to_png(plot.summary_figure(plot.compute_plot_data(path), None))
    assert png.startswith(PNG_MAGIC)
    assert plot.safe_stem("dir/<script>alert(1)</script>.flac") == "script"
    assert plot.safe_stem("../..") == "track"


# -- files ---------------------------------------------------------------------------------------------------

def test_never_overwrites(tmp_path, lowpassed):
    from musicforensics.evidence import plot

    fig = plot.ltas_figure(plot.compute_plot_data(lowpassed))
    mine = tmp_path / "x.ltas.png"
    mine.write_bytes(b"user data")
    written = plot.write_unique_png(fig, tmp_path, "x.ltas.png")
    assert written == tmp_path / "x.ltas-2.png" and mine.read_bytes() == b"user data"
    assert written.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(OutputExistsError):
        plot.save_png(fig, mine)
    assert mine.read_bytes() == b"user data"
    plot.save_png(fig, mine, force=True)
    assert mine.read_bytes().startswith(PNG_MAGIC)


def test_write_track_plots(tmp_path, lowpassed):
    from musicforensics.evidence import plot

    out = tmp_path / "new" / "plots"
    first = plot.write_track_plots(lowpassed, _report("lib/lowpassed.flac"), out_dir=out)
    assert [p.name for p in first] == [f"lowpassed.{k}.png" for k in plot.PLOT_KINDS]
    second = plot.write_track_plots(lowpassed, None, out_dir=out, kinds=("summary",))
    assert [p.name for p in second] == ["lowpassed.summary-2.png"]
    with pytest.raises(ParameterError):
        plot.write_track_plots(lowpassed, None, out_dir=out, kinds=("bogus",))
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ParameterError):
        plot.write_track_plots(lowpassed, None, out_dir=afile)


def test_flagged_plot_writer(tmp_path, lowpassed):
    from musicforensics.evidence.plot import FlaggedPlotWriter

    errors = []
    w = FlaggedPlotWriter(tmp_path / "p", on_error=errors.append)
    w(TrackReport(str(lowpassed), "ok"))  # nothing flagged: nothing written
    w(_report(str(lowpassed)))
    w(_report(str(tmp_path / "gone.flac")))
    assert [p.name for p in w.written] == ["lowpassed.summary.png"]
    assert w.failed == 1 and "gone.flac" in errors[0]


# -- import hygiene and CLI --------------------------------------------------------------------------------------

def test_import_and_help_do_not_load_matplotlib():
    code = ("import sys, musicforensics, musicforensics.cli.app as a\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "musicforensics", "--help"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "matplotlib" not in out.stderr


def _run(*args, cwd):
    env = dict(os.environ, MPLBACKEND="")  # Agg must not depend on the environment
    env.pop("MPLBACKEND")
    return subprocess.run([sys.executable, "-m", "musicforensics", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)


@pytest.mark.slow
def test_cli_explain_plot_and_scan_plots(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    y = tone_mix(SR, 2.0, noise_db=-50)
    write_wav(lib / "padded.flac", np.round(y * 32767) / 32768, SR, "PCM_24")  # flagged: bitpadded
    write_wav(lib / "good.flac", y, SR, "PCM_24")
    work = tmp_path / "work"
    work.mkdir()
    r = _run("explain", lib / "padded.flac", "--plot", cwd=work)
    assert r.returncode == 1, r.stderr
    made = sorted(p.name for p in (work / "musicforensics-plots").iterdir())
    assert made == sorted(f"padded.{k}.png" for k in ("spectrogram", "ltas", "comb", "summary"))
    assert "wrote" in r.stderr and "wrote" not in r.stdout
    # the rest in this process (Typer's runner): cheaper than a fresh interpreter per call
    from typer.testing import CliRunner

    from musicforensics.cli.app import app

    r = CliRunner().invoke(app, ["explain", str(lib / "padded.flac"), "--plot-dir", str(tmp_path / "pd"),
                                 "--log-freq", "--json"], catch_exceptions=False)
    assert r.exit_code == 1 and r.stdout.lstrip().startswith("{")
    assert len(list((tmp_path / "pd").iterdir())) == 4

    r = CliRunner().invoke(app, ["scan", str(lib), "--plots", str(tmp_path / "sp"), "-q", "-j", "1", "-f", "json"],
                           catch_exceptions=False)
    assert r.exit_code == 1, r.stderr
    assert sorted(p.name for p in (tmp_path / "sp").iterdir()) == ["padded.summary.png"]
    assert sorted(p.name for p in lib.iterdir()) == ["good.flac", "padded.flac"]  # nothing written beside the music


def _lossy_json(**fields) -> dict:
    wall = {"freq_hz": 9680.0, "drop_db": 30.0, "steepness_db_per_khz": 50.0, "below_db": -60.0, "above_db": -90.0,
            "floor_db": -87.0, "floor_flatness_db": 1.0}
    return {"wall": wall, **fields}


def test_wall_drawn_only_when_it_counts():
    from musicforensics.evidence.marks import read_marks

    def report(kind, detected, evidence):
        return _typed({"path": "a.wav", "status": "ok",
                       "verdicts": {kind: {"detected": detected, "probability": 0.5, "evidence": evidence}}})

    assert read_marks(report("lossy", False, _lossy_json(wall_counts=False))).wall_hz is None
    assert read_marks(report("lossy", False, _lossy_json(wall_counts=True))).wall_hz == 9680.0
    hires = {"candidates": [], "wall": dict(_lossy_json()["wall"], freq_hz=22050.0), "q16_floor_db": -135.5}
    assert read_marks(report("upsampled", False, hires)).wall_hz is None
    assert read_marks(report("upsampled", True, hires)).wall_hz == 22050.0


@pytest.mark.parametrize("codec, klass, band", [
    ("mp3", "128 kbps / V5", (15800, 17150)),   # the lossy detector's own class bounds
    ("mp3", "<=96 kbps", (14300, 15800)),
    ("mp3", "320 kbps / V0", (20100, 20600)),   # open-ended class: measured table
    ("mp2", ">=192 kbps", (20600, 20900)),
    ("opus", "any (20 kHz band limit)", (19800, 20200)),
])
def test_expected_band_of_detector_classes(codec, klass, band):
    from musicforensics.evidence.marks import read_marks

    ev = _lossy_json(wall_counts=True, codec_family={"estimate": codec, "probabilities": {}}, bitrate_class=klass)
    r = _typed({"path": "a.wav", "status": "ok", "verdicts": {"lossy": {"detected": True, "evidence": ev}}})
    assert read_marks(r).expected_wall_hz == band
