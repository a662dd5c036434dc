"""Fake hi-res (upsampled) detector on synthetic signals, and the lossy CLI command end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from musicforensics.analysis import analyze_signal
from musicforensics.config import AnalysisConfig


@pytest.fixture
def rng():
    return np.random.default_rng(99)


def _band_noise(rng, sr: int, seconds: float, top_hz: float, floor_db: float | None = None) -> np.ndarray:
    n = int(sr * seconds)
    x = rng.standard_normal((n, 2))
    X = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(n, 1 / sr)
    X[f > top_hz] = 0
    y = 0.05 * np.fft.irfft(X, n, axis=0)
    if floor_db is not None:
        y += 10 ** (floor_db / 20) * rng.standard_normal((n, 2))
    return y


def _verdict(y, sr):
    rep = analyze_signal(y, sr, config=AnalysisConfig(detectors=("hires",)), subtype="PCM_24")
    return rep.verdicts["upsampled"]


@pytest.mark.parametrize("sr,top,src", [(96000, 21000.0, 44100), (96000, 23500.0, 48000), (48000, 21000.0, 44100)])
def test_upsampled_content_is_detected_with_source_rate(rng, sr, top, src):
    v = _verdict(_band_noise(rng, sr, 6.0, top), sr)
    assert v.detected
    assert v.evidence["source_rate_hz"] == src


def test_genuine_hires_with_content_above_is_clean(rng):
    v = _verdict(_band_noise(rng, 96000, 6.0, 47500.0), 96000)
    assert not v.detected


def test_band_limited_hires_with_noise_floor_is_clean(rng):
    # content stops at 21 kHz but an analogue-like noise floor (-78 dBFS RMS) continues above
    v = _verdict(_band_noise(rng, 96000, 6.0, 21000.0, floor_db=-78.0), 96000)
    assert not v.detected


def test_cd_rate_is_not_a_candidate(rng):
    v = _verdict(_band_noise(rng, 44100, 3.0, 16000.0), 44100)
    assert not v.detected and not v.inconclusive


def test_lossy_command_writes_json(tmp_path, rng):
    from musicforensics.cli.app import app

    y = _band_noise(rng, 96000, 4.0, 21000.0)
    path = tmp_path / "fake96.flac"
    sf.write(path, y, 96000, subtype="PCM_24")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["lossy", str(path), "-f", "jsonl", "-o", str(out), "-q"])
    assert res.exit_code == 1, res.output
    rec = json.loads(out.read_text().splitlines()[0])
    assert "upsampled" in rec["findings"]
    names = {d["name"] for d in rec["detectors"]}
    assert names == {"lossy", "hires", "bitdepth"}
