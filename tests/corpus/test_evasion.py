"""The corpus builder's evasion layer (benchmarks/corpus/evasion.py): the plan's labels, and a tiny real build."""

from __future__ import annotations

import csv
import os
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from benchmarks.corpus import build, evasion

ARCHITECTURES = {
    "encodec24": {"sample_rate": 24000, "family": "encodec", "expected_delta_hz": 75.0},
    "encodec48": {"sample_rate": 48000, "family": "encodec", "expected_delta_hz": 150.0},
    "hifigan22": {"sample_rate": 22050, "family": "hifigan", "expected_delta_hz": 22050 / 256},
    "snac24": {"sample_rate": 24000, "family": "snac", "expected_delta_hz": 24000 / 512},
    "dac24": {"sample_rate": 24000, "family": "dac", "expected_delta_hz": 75.0},
    "vocos24": {"sample_rate": 24000, "family": "vocos", "expected_delta_hz": None},
}


def _plan(size: str, architectures=ARCHITECTURES):
    return build.plan_corpus(
        build.SIZES[size], seed=0, architectures=architectures, base=False, evasion_cfg=evasion.SIZES[size]
    )


def _segments(text: str) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in part.split("-")) for part in text.split(";") if part]


# ---------------------------------------------------------------------------------------------------------
# planning: pure, no tools needed
# ---------------------------------------------------------------------------------------------------------


def test_default_plan_has_no_evasion_rows():
    items = build.plan_corpus(build.SIZES["small"], seed=0, architectures=ARCHITECTURES)
    assert not any(it.phase >= 5 or "evasion" in it.meta for it in items)


@pytest.mark.parametrize("size", ["small", "full"])
def test_labels_are_true_by_construction(size):
    items = _plan(size)
    for it in items:
        m = it.meta
        assert (m["class"] == "ai") == (m["label_ai"] == 1), it.path
        if m["label_ai"]:
            assert m["architecture"] != "vocos24" and m["ai_segments"], it.path
        else:
            assert m["ai_segments"] == "" and m["architecture"] == "", it.path
        assert m["label_lossy"] == int(m["postprocess"] in evasion.CODEC_POSTPROCESS), it.path
    for it in (it for it in items if it.kind == "ev_long"):
        assert 60 <= it.params["duration_s"] <= 90
    for it in (it for it in items if it.kind == "ev_splice"):
        p = it.params
        assert 20 <= p["intro_s"] <= 40 and 60 <= p["duration_s"] <= 90 and 10 <= p["fade_ms"] <= 50
        if it.meta["label_ai"]:
            (start, end), = _segments(it.meta["ai_segments"])
            assert (start, end) == (p["start_s"], p["end_s"]) and end <= p["duration_s"]
            if it.meta["postprocess"] == "splice_intro":
                assert (start, end) == (p["intro_s"], p["duration_s"])
            else:
                assert 20 <= end - start <= 30 and end <= p["duration_s"] - 10 and start >= p["intro_s"]
    for it in (it for it in items if it.kind == "ev_post"):
        post, factor = it.meta["postprocess"], it.meta["speed_factor"]
        if post in evasion.SPEED_POSTPROCESS:
            assert float(factor) == pytest.approx(evasion.SPEED_POSTPROCESS[post], abs=1e-6)
            base = ARCHITECTURES[it.meta["architecture"]]["expected_delta_hz"]
            assert float(it.meta["expected_delta_hz"]) == pytest.approx(base * float(factor), abs=1e-3)
        else:
            assert factor == ""
    stems = [it for it in items if it.kind == "ev_stem"]
    assert {float(it.meta["mix_db"]) for it in stems} == {-6.0, -12.0, -20.0}


@pytest.mark.parametrize("size", ["small", "full"])
def test_every_test_is_balanced_over_splits_and_pieces_keep_their_split(size):
    items = _plan(size)
    for test in ("splice", "stem", "whole", "speed_pitch", "codec_noise"):
        counts = Counter(it.meta["split"] for it in items if it.meta["evasion"] == test)
        assert counts["dev"] == counts["eval"] > 0, (test, counts)
    base = {
        it.meta["source_piece"]: it.meta["split"]
        for it in build.plan_corpus(build.SIZES[size], seed=0, architectures=ARCHITECTURES)
    }
    assert all(base[it.meta["source_piece"]] == it.meta["split"] for it in items)


def test_full_plan_size_and_coverage():
    items = _plan("full")
    assert 100 <= len(items) <= 200
    posts = Counter(it.meta["postprocess"] for it in items if it.kind == "ev_post")
    assert set(posts) == set(evasion.POSTPROCESS) and len(set(posts.values())) == 1
    combos = {(it.meta["architecture"], it.meta["weights"]) for it in items if it.meta["label_ai"]}
    assert {a for a, _ in combos} == set(evasion.ARCHITECTURES) and {w for _, w in combos} == {"random", "trained"}
    assert len({it.path for it in items}) == len(items)


def test_plan_without_decoders_keeps_the_genuine_rows():
    items = _plan("small", architectures=None)
    assert items and all(it.meta["class"] == "genuine" for it in items)


def test_splice_crossfades():
    base, insert = np.zeros((1000, 2)), np.ones((1000, 2))
    y = evasion.splice(base, insert, 100, 600, 50)
    assert y[99, 0] == 0 and y[100, 0] == 0 and y[125, 0] == pytest.approx(0.5) and y[150, 0] == 1
    assert y[549, 0] == 1 and y[560, 0] == pytest.approx(0.78) and y[599, 0] == 0 and y[600, 0] == 0
    tail = evasion.splice(base, insert, 900, 1000, 50)  # reaches the end: no fade-out
    assert tail[-1, 0] == 1 and tail[925, 0] == pytest.approx(0.5)


def test_match_gain():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4000, 2)), 0.1 * rng.standard_normal((4000, 2))
    assert evasion.rms(a * evasion.match_gain(a, b, -12.0)) == pytest.approx(evasion.rms(b) * 10 ** (-12 / 20))
    assert evasion.match_gain(np.zeros((10, 2)), b) == 1.0


# ---------------------------------------------------------------------------------------------------------
# integration: a tiny real evasion layer (fluidsynth, sox, ffmpeg, torch and the decoder packages)
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def decoders():
    from benchmarks.corpus import neural

    ok, why = neural.available()
    if not ok:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but the neural corpus stack is unavailable: {why}")
        pytest.skip(why)
    return neural


def _high_band_db(audio: np.ndarray, sr: int, second: int) -> float:
    """Share of the power above 13 kHz in one second of the channel mean, dB."""
    x = audio[second * sr : (second + 1) * sr].mean(axis=1)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    return float(10 * np.log10(spec[freqs > 13000].sum() / spec.sum() + 1e-30))


@pytest.mark.slow
def test_tiny_evasion_build(tmp_path, corpus_tools, decoders):
    out = tmp_path / "corpus"
    rows = build.build(out, size="tiny", seed=0, jobs=1, layers=("evasion",))
    with open(out / "manifest.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == build.MANIFEST_COLUMNS + evasion.EVASION_COLUMNS
        manifest = {r["postprocess"] + "/" + r["class"]: r for r in reader}
    assert len(rows) == len(_plan("tiny", decoders.ARCHITECTURES)) == 7
    intro = manifest["splice_intro/ai"]
    bridge = manifest["splice_bridge/ai"]
    speed = manifest["speed_1.06/ai"]
    whole = manifest["none/ai"]
    stem = manifest["stem_mix/ai"]
    assert intro["ai_segments"] == "5.00-16.00" and bridge["ai_segments"] == "8.00-12.00"
    assert manifest["splice_bridge/genuine"]["ai_segments"] == "" and manifest["none/genuine"]["family"] == "long"
    assert whole["ai_segments"] == f"0.00-{float(whole['duration_s']):.2f}" and whole["sample_rate"] == "24000"
    assert stem["mix_db"] == "-6" and speed["speed_factor"] == "1.060000"

    # encodec at 24 kHz leaves nothing above 12 kHz: the generated seconds are exactly the labelled ones
    audio, sr = sf.read(str(out / intro["path"]), always_2d=True)
    assert sr == int(intro["sample_rate"]) and abs(len(audio) / sr - 16.0) < 0.01
    assert all(_high_band_db(audio, sr, s) > -45 for s in range(0, 5))
    assert all(_high_band_db(audio, sr, s) < -60 for s in range(6, 16))
    audio, sr = sf.read(str(out / bridge["path"]), always_2d=True)
    assert all(_high_band_db(audio, sr, s) > -45 for s in (*range(0, 8), *range(12, 16)))
    assert all(_high_band_db(audio, sr, s) < -60 for s in range(9, 11))

    # the speed change scales the comb: 75 Hz becomes 79.5 Hz
    y, sr = sf.read(str(out / speed["path"]))
    assert abs(len(y) / sr - float(whole["duration_s"]) / 1.06) < 0.01
    moved = decoders.comb_prominence(y.mean(axis=1), sr, 79.5, fmax=11000)["median_contrast"]
    stayed = decoders.comb_prominence(y.mean(axis=1), sr, 75.0, fmax=11000)["median_contrast"]
    assert moved > 20 and stayed < 3, (moved, stayed)

    # resume: nothing is rebuilt and the manifest is the same
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")}
    assert build.build(out, size="tiny", seed=0, jobs=1, layers=("evasion",)) == rows
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")} == mtimes
