"""analyze_file / analyze_signal: facts, degenerate input as INCONCLUSIVE, bad files as errors."""

from __future__ import annotations

import numpy as np
import pytest

from musicforensics import AnalysisConfig, analyze_file, analyze_signal
from tests.conftest import tone_mix


def test_facts_of_a_known_signal():
    sr = 44100
    y = tone_mix(sr, 3.0, freqs=(1000.0,), noise_db=-80)
    r = analyze_signal(y, sr)
    assert r.status == "ok"
    assert r.facts["peak_dbfs"] == pytest.approx(20 * np.log10(np.abs(y).max()), abs=0.01)
    assert r.audio["sample_rate"] == sr and r.audio["channels"] == 2
    assert r.facts["nonfinite_samples"] == 0
    assert r.to_dict()["schema_version"] == "2.0"


def test_bandwidth_fact_sees_a_lowpass(rng):
    from scipy.signal import ellip, sosfilt

    sr = 44100
    noise = rng.standard_normal(sr * 4) * 0.1
    sos = ellip(12, 0.1, 110, 16000, fs=sr, output="sos")  # a codec-like brick wall
    r_full = analyze_signal(noise, sr)
    r_cut = analyze_signal(sosfilt(sos, noise), sr)
    assert r_full.facts["bandwidth_hz"] > 21000
    assert 16000 < r_cut.facts["bandwidth_hz"] < 19500


@pytest.mark.parametrize(
    "signal,reason",
    [
        (np.zeros((44100 * 2, 2)), "digital silence"),
        (np.full((44100 * 2, 1), 1e-7), "near silence"),
        (np.ones((100, 2)) * 0.1, "too short"),
    ],
)
def test_degenerate_signals_are_inconclusive_with_a_reason(signal, reason):
    r = analyze_signal(signal, 44100)
    assert r.status == "inconclusive"
    assert any(reason in x for x in r.reasons)
    assert all(f.inconclusive and f.probability is None for f in r.verdicts.values())


def test_nan_in_float_file_is_inconclusive(write_audio):
    y = tone_mix(44100, 2.0).astype(np.float32)
    y[500, 1] = np.nan
    y[900, 0] = np.inf
    r = analyze_file(write_audio("nan.wav", y, 44100, "FLOAT"))
    assert r.status == "inconclusive"
    assert "2 non-finite samples" in r.reasons[0]


def test_one_sample_file(write_audio):
    r = analyze_file(write_audio("one.wav", np.array([[0.5]]), 8000))
    assert r.status == "inconclusive" and "too short" in r.reasons[0]


def test_unreadable_file_is_an_error_not_an_exception(tmp_path):
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"fLaC" + b"\x00" * 100)
    r = analyze_file(bad)
    assert r.status == "error" and r.error
    assert r.to_dict()["verdicts"] == {}


def test_max_seconds_limits_the_analysed_span(write_audio):
    path = write_audio("long.wav", tone_mix(8000, 10.0, channels=1), 8000)
    r = analyze_file(path, config=AnalysisConfig(max_seconds=3.0))
    n_fft, hop = 16384, 8192
    assert r.facts["spectrum"]["frames"] == 1 + (3 * 8000 - n_fft) // hop


def test_bitpadded_exact_test(rng):
    sr = 48000
    y = tone_mix(sr, 2.0, noise_db=-60)
    padded = np.round(y * 32767) / 32768
    r_pad = analyze_signal(padded, sr, subtype="PCM_24")
    r_gen = analyze_signal(y, sr, subtype="PCM_24")
    r_16 = analyze_signal(y, sr, subtype="PCM_16")
    assert r_pad.verdicts["bitpadded"].detected and r_pad.verdicts["bitpadded"].probability == 1.0
    assert r_pad.verdicts["bitpadded"].evidence.effective_bits == 16
    assert not r_gen.verdicts["bitpadded"].detected
    assert r_gen.verdicts["bitpadded"].evidence.effective_bits == 24
    assert not r_16.verdicts["bitpadded"].detected


def test_bitpadded_in_float_files(write_audio):
    y = tone_mix(44100, 2.0, noise_db=-60).astype(np.float32)
    padded = (np.round(y * 32767) / 32768).astype(np.float32)
    assert analyze_file(write_audio("p.wav", padded, 44100, "FLOAT")).verdicts["bitpadded"].detected
    assert not analyze_file(write_audio("g.wav", y, 44100, "FLOAT")).verdicts["bitpadded"].detected


def test_padded_probability_is_exact_in_the_limit():
    from musicforensics.hires.bitdepth import padded_probability

    assert padded_probability(24, 16, 1) == pytest.approx(1 - 2 ** -8)
    assert padded_probability(24, 24, 10 ** 6) == 0.0
    assert padded_probability(24, 16, 10 ** 6) == 1.0


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_float32_read_gives_the_float64_results(write_audio, monkeypatch, rng, subtype):
    """Files whose samples float32 holds exactly are read as float32; every fact, verdict and piece of evidence
    is the same as from the float64 read (here with a 2^17-frame block, so several blocks are read)."""
    from musicforensics.io import audio

    y = tone_mix(44100, 8.0) + 0.01 * rng.standard_normal((8 * 44100, 2))
    path = write_audio(f"x_{subtype}.flac" if subtype != "FLOAT" else "x.wav", 0.5 * y, 44100, subtype)
    assert audio.float32_is_exact(audio.read_info(path))
    cfg = AnalysisConfig(block_frames=1 << 17)

    def report(r):
        d = r.to_dict()
        d.pop("seconds")
        for det in d["detectors"]:
            det.pop("seconds")
        return d

    single = report(analyze_file(path, config=cfg))
    monkeypatch.setattr(audio, "float32_is_exact", lambda info: False)
    assert report(analyze_file(path, config=cfg)) == single


def test_excerpt_is_kept_only_for_detectors_that_read_samples(write_audio, monkeypatch, rng):
    """A run without a sample-reading detector (``ai``) keeps no excerpt and finds what the full run finds;
    a detector that reads samples gets the same float32 samples whether they were kept or read again."""
    from dataclasses import replace

    from musicforensics.detector import TrackContext
    from musicforensics.lossy.detector import LossyDetector
    from musicforensics.pipeline.registry import select_specs
    from musicforensics.spectral import summary as spectrum_mod

    y = 0.3 * tone_mix(44100, 6.0) + 0.01 * rng.standard_normal((6 * 44100, 2))
    path = write_audio("x.flac", y, 44100, "PCM_16")
    assert [s.name for s in select_specs(()) if s.reads_samples] == ["bitdepth", "hires", "lossy"]
    kept_sizes = []
    real_init = spectrum_mod.SpectrumAccumulator.__init__

    def spy(self, **kwargs):
        real_init(self, **kwargs)
        kept_sizes.append(self.kept.shape[0])

    monkeypatch.setattr(spectrum_mod.SpectrumAccumulator, "__init__", spy)
    full = analyze_file(path)
    ai_only = analyze_file(path, config=AnalysisConfig(detectors=("ai",)))
    assert kept_sizes[0] == 6 * 44100 and kept_sizes[1] == 0
    assert ai_only.verdicts["ai"].to_dict() == full.verdicts["ai"].to_dict()

    seen = []
    real_analyze = LossyDetector.analyze

    def grab(self, ctx: TrackContext):
        seen.append(np.array(ctx.excerpt(1.0, 2.0)))
        return real_analyze(self, ctx)

    monkeypatch.setattr(LossyDetector, "analyze", grab)
    for reads in (False, True):  # False: nothing kept, the excerpt is read from the file
        monkeypatch.setattr(LossyDetector, "spec", replace(LossyDetector.spec, reads_samples=reads))
        analyze_file(path, config=AnalysisConfig(detectors=("lossy",)))
    assert seen[0].dtype == seen[1].dtype == np.float32
    np.testing.assert_array_equal(seen[0], seen[1])
    np.testing.assert_array_equal(seen[0], np.round(y[44100:3 * 44100] * 32768) / 32768)
