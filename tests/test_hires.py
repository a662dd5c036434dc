"""Fake hi-res (upsampled) detector on synthetic signals, and the lossy CLI command end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from musicforensics.pipeline.analysis import analyze_signal
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
    assert v.evidence.source_rate_hz == src


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


def test_gradual_rolloff_reaching_the_floor_below_a_nyquist_is_not_an_upsample():
    """A genuine 96 kHz render whose content fades into a near-silent floor before 44.1 kHz (the dev-split
    false positive) has no edge at 44.1 kHz; a true upsample from 88.2 kHz has one."""
    from musicforensics.hires.upsampled import UPS_MIN_EDGE_DB, upsampling_evidence
    from musicforensics.spectral.wall import quantisation_floor_db

    sr, n_fft = 96000, 16384
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    q16 = quantisation_floor_db(16, n_fft)
    floor = q16 + 7.0
    fade = np.clip(-60.0 - 10.0 * (f - 34000.0) / 1000.0, floor, -60.0)  # -10 dB/kHz from 34 kHz
    ev = upsampling_evidence(f, fade, sr, n_fft)
    c882 = next(c for c in ev.candidates if c.rate == 88200)
    assert c882.above_re_16bit_db < 8.0  # the old rule's silence test alone would pass
    assert c882.edge_db < UPS_MIN_EDGE_DB
    assert not any(c.silent_above for c in ev.candidates)
    sharp = np.where(f < 44100 - 200, -80.0, q16 - 4.5)
    ev = upsampling_evidence(f, sharp, sr, n_fft)
    assert next(c for c in ev.candidates if c.rate == 88200).silent_above


@pytest.mark.parametrize("floor_re_24bit_db, upsampled", [(-300.0, True), (0.0, True), (4.8, True), (30.0, False)])
def test_a_digitally_silent_band_needs_no_edge(floor_re_24bit_db, upsampled):
    """Music that fades before 22.05 kHz has no edge there. Over exact zeros, 24-bit rounding noise (0 dB re
    24-bit) or TPDF-dithered 24-bit (+4.8 dB) it is an upsample all the same; over a converter's analogue
    floor (30 dB over 24-bit rounding) it is genuine. The floored mean dB cannot tell these apart (all read
    POWER_FLOOR); the unfloored mean power can."""
    from musicforensics.config import POWER_FLOOR
    from musicforensics.hires.upsampled import UPS_DIGITAL_SILENCE_DB, source_candidate, upsampling_evidence
    from musicforensics.spectral.wall import quantisation_floor_db

    sr, n_fft = 96000, 16384
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    q24 = quantisation_floor_db(24, n_fft)
    fade_db = np.clip(-60.0 - 15.0 * (f - 15000.0) / 1000.0, -300.0, -60.0)  # -15 dB/kHz from 15 kHz
    power = np.where(f < 22050.0, 10.0 ** (fade_db / 10.0), 0.0) + 10.0 ** ((q24 + floor_re_24bit_db) / 10.0)
    level_db = 10.0 * np.log10(power + POWER_FLOOR)
    ev = upsampling_evidence(f, level_db, sr, n_fft, power)
    c441 = next(c for c in ev.candidates if c.rate == 44100)
    assert c441.edge_db < 11.0  # the edge route alone would miss every case
    assert c441.above_re_24bit_unfloored_db == pytest.approx(max(floor_re_24bit_db, -300.0 - q24), abs=0.1)
    assert c441.digital_silence is (floor_re_24bit_db <= UPS_DIGITAL_SILENCE_DB)
    src = source_candidate(ev)
    assert (src is not None and src.rate == 44100) is upsampled
    assert not any(c.silent_above for c in upsampling_evidence(f, level_db, sr, n_fft).candidates)


# -- reduced bit depth: lattice, occupancy, and what is not a reduced depth ---------------------------------------


def _bitpadded(y: np.ndarray, sr: int = 44100, subtype: str = "PCM_16"):
    return analyze_signal(y, sr, config=AnalysisConfig(detectors=("bitdepth",)), subtype=subtype).verdicts["bitpadded"]


def _noise(rng, seconds: float = 6.0, sr: int = 44100) -> np.ndarray:
    return np.clip(0.1 * rng.standard_normal((int(seconds * sr), 2)), -0.99, 0.99)


def test_eight_bits_in_sixteen_with_an_offset_is_found_by_the_lattice(rng):
    step = 2.0 ** -7  # 8-bit content: a lattice of 256 16-bit codes
    y = np.round(_noise(rng) / step) * step + 3 / 32768  # +3 LSB: no trailing zeros left
    v = _bitpadded(y)
    assert v.detected and v.evidence.method == "lattice" and v.evidence.lattice_step == 256
    assert v.evidence.effective_bits_lattice == 8.0


def test_twelve_bits_with_a_gain_after_is_found_by_the_occupancy(rng):
    y = np.round(_noise(rng) * 2048) / 2048 * 10 ** (-1.5 / 20)  # 12 bits, then -1.5 dB: a step of 13.4 codes
    v = _bitpadded(y)
    assert v.detected and v.evidence.method == "occupancy"
    assert v.evidence.occupancy_step == pytest.approx(16 * 10 ** (-1.5 / 20), rel=0.01)
    assert v.evidence.occupancy_coherence >= 0.9


def test_genuine_sixteen_bit_noise_is_not_reduced(rng):
    v = _bitpadded(np.round(_noise(rng) * 32768 + rng.uniform(-1, 1, (264600, 2))) / 32768)
    assert not v.detected and v.evidence.effective_bits == 16


def test_values_only_partly_on_a_lattice_are_not_a_reduced_depth(rng):
    """12-bit content with a gain after it sits on a lattice of 13.45 codes. Move half the values by 0.3 of a step
    (as an up-sampler that keeps the original samples and interpolates the others leaves only half of them on the
    source's lattice): the code occupancy stays sparse and periodic with the same step, and only the coherence of
    the values with that lattice tells that half of them lie elsewhere."""
    from musicforensics.hires import bitdepth as B

    step = 16 * 10 ** (-1.5 / 20)
    codes = np.round(0.1 * rng.standard_normal(400000) * 2048) * step
    full = B.occupancy(np.rint(codes) / 32768, 16)
    assert full["occupancy_step"] == pytest.approx(step, rel=0.01)
    assert full["occupancy_coherence"] >= 0.9 and B.occupancy_says_reduced(full, 16)
    half = B.occupancy(np.rint(codes + 0.3 * step * (rng.random(codes.size) < 0.5)) / 32768, 16)
    assert half["occupancy"] <= B.OCCUPANCY_RATIO * half["occupancy_expected"]  # sparse ...
    assert half["occupancy_step"] == pytest.approx(step, rel=0.01)  # ... and periodic, with the same step
    assert half["occupancy_coherence"] < B.OCCUPANCY_MIN_COHERENCE
    assert not B.occupancy_says_reduced(half, 16)


@pytest.mark.parametrize("max_code", [64, 4274, 65536])
def test_phase_lengths_are_the_per_value_formula_exactly(rng, max_code):
    """The lattice coherence's phases, taken once per distinct |code| and conjugated for negative codes, give the
    very numbers of the per-value formula (bit for bit: the verdicts must not move)."""
    from musicforensics.hires import bitdepth as B

    code = np.clip(np.round(0.4 * max_code * rng.standard_normal(70000)), -max_code, max_code).astype(np.int64)
    steps = rng.uniform(1.5, max_code / 8) * (1.0 + np.linspace(-2.0, 2.0, 21) / 37)
    direct = [abs(np.mean(np.exp(2j * np.pi * code.astype(np.float64) / s))) for s in steps]
    assert B.phase_lengths(code, max_code, steps) == direct
