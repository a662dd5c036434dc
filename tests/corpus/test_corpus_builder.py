"""Tests for the reference-corpus builder (benchmarks/corpus): planning logic and a tiny real build."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from benchmarks.corpus import build, codecs

FAKE_ARCHITECTURES = {
    "dac44": {
        "strides": (8, 8, 4, 2),
        "sample_rate": 44100,
        "expected_delta_hz": 86.1328125,
        "family": "dac",
    },
    "encodec48": {
        "strides": (8, 5, 4, 2),
        "sample_rate": 48000,
        "expected_delta_hz": 150.0,
        "family": "encodec",
    },
    "vocos24": {"strides": (), "sample_rate": 24000, "expected_delta_hz": None, "family": "vocos"},
}


# ---------------------------------------------------------------------------------------------------------
# planning: pure, no tools needed
# ---------------------------------------------------------------------------------------------------------


def test_split_is_deterministic_and_independent_of_order():
    pieces = build.select_pieces(20, seed=3)
    a = build.assign_splits(pieces, seed=3)
    b = build.assign_splits(list(reversed(pieces)), seed=3)
    assert a == b
    assert Counter(a.values()) == {"dev": 10, "eval": 10}


def test_split_changes_with_seed():
    pieces = build.select_pieces(20, seed=0)
    assert build.assign_splits(pieces, seed=0) != build.assign_splits(pieces, seed=1)


def test_odd_piece_count_splits_within_one():
    counts = Counter(build.assign_splits(build.select_pieces(7, seed=0), seed=0).values())
    assert abs(counts["dev"] - counts["eval"]) == 1


@pytest.mark.parametrize("size", ["small", "full"])
def test_every_file_of_a_piece_shares_its_split(size):
    items = build.plan_corpus(build.SIZES[size], seed=0, architectures=FAKE_ARCHITECTURES)
    split_of = {}
    for it in items:
        assert split_of.setdefault(it.meta["source_piece"], it.meta["split"]) == it.meta["split"]
    counts = Counter(split_of.values())
    assert abs(counts["dev"] - counts["eval"]) <= 1


def test_plan_is_deterministic():
    cfg = build.SIZES["small"]
    a = build.plan_corpus(cfg, seed=5, architectures=FAKE_ARCHITECTURES)
    b = build.plan_corpus(cfg, seed=5, architectures=FAKE_ARCHITECTURES)
    assert [(i.path, i.meta) for i in a] == [(i.path, i.meta) for i in b]


def test_small_plan_covers_every_class_family_and_codec():
    items = build.plan_corpus(build.SIZES["small"], seed=0, architectures=FAKE_ARCHITECTURES)
    families = {(i.meta["class"], i.meta["family"]) for i in items}
    expected = {
        ("genuine", f)
        for f in ("plain", "synth", "drums", "rolloff", "resampled_soxr", "quiet", "mono", "24bit", "hires")
    }
    expected |= {("lossy", f) for f in ("mp3_cbr", "mp3_vbr", "aac", "vorbis", "opus", "mp2", "double")}
    expected |= {("upsampled", "sox"), ("upsampled", "ffmpeg"), ("bitpadded", "pad24")}
    expected |= {("ai", "dac"), ("ai", "encodec"), ("ai", "vocos")}
    assert expected <= families
    assert {i.meta["codec"] for i in items} == {"none", "mp3", "aac", "vorbis", "opus", "mp2"}
    assert {i.meta["postprocess"] for i in items} == {
        "none",
        "mp3_320",
        "resample48k",
        "gain_-6db",
        "gain_+3db",
    }
    # every lossy setting is represented in both splits
    for s in codecs.LOSSY_SETTINGS:
        splits = {
            i.meta["split"]
            for i in items
            if i.meta["codec"] == s.codec
            and i.meta["setting"] == s.setting
            and i.meta["family"] != "double"
            and i.meta["postprocess"] == "none"
        }
        assert splits == {"dev", "eval"}, s


def test_labels_describe_truth():
    items = build.plan_corpus(build.SIZES["small"], seed=0, architectures=FAKE_ARCHITECTURES)
    for it in items:
        m = it.meta
        assert m["label_ai"] == int(m["class"] == "ai")
        assert m["label_lossy"] == int(m["class"] == "lossy" or m["postprocess"] == "mp3_320")
        assert m["label_upsampled"] == int(m["class"] == "upsampled")
        assert m["label_bitpadded"] == int(m["class"] == "bitpadded")
        if m["class"] == "ai":
            assert m["architecture"] in FAKE_ARCHITECTURES and m["weights"] in ("random", "trained")
            delta = FAKE_ARCHITECTURES[m["architecture"]]["expected_delta_hz"]
            assert m["expected_delta_hz"] == ("" if delta is None else f"{delta:.4f}")
    doubles = [it for it in items if it.meta["family"] == "double"]
    assert {d.meta["setting"] for d in doubles} >= {"mp3_128+aac_256", "aac_128+mp3_320", "mp3_192+vorbis_q6"}
    assert all(d.meta["codec"] == d.meta["setting"].split("+")[-1].split("_")[0] for d in doubles)


def test_no_resample48k_for_native_48k_architecture():
    items = build.plan_corpus(build.SIZES["small"], seed=0, architectures=FAKE_ARCHITECTURES)
    assert not [
        i for i in items if i.meta["architecture"] == "encodec48" and i.meta["postprocess"] == "resample48k"
    ]


def test_quantise_pads_16_bit_into_24_with_zero_low_bits(rng):
    audio = rng.uniform(-0.5, 0.5, (1000, 2))
    q16 = build.quantise(audio, bits=16, rng=rng)
    assert np.all((q16 >> 16) << 16 == q16)
    q24 = build.quantise(audio, bits=24, rng=rng)
    assert np.any(((q24 >> 8) & 0xFF) != 0)


def test_manifest_columns_are_exact():
    expected = (
        "path,split,class,family,codec,setting,architecture,weights,expected_delta_hz,postprocess,"
        "source_piece,sample_rate,bit_depth,channels,duration_s,"
        "label_lossy,label_upsampled,label_bitpadded,label_ai"
    )
    assert ",".join(build.MANIFEST_COLUMNS) == expected


def test_missing_tool_error_names_tool_and_package(monkeypatch):
    monkeypatch.setattr(codecs.shutil, "which", lambda name: None)
    with pytest.raises(codecs.ToolMissingError, match="'lame'.*Debian package 'lame'"):
        codecs.require_tool("lame")


# ---------------------------------------------------------------------------------------------------------
# integration: a tiny real corpus (fluidsynth, lame, ffmpeg, sox)
# ---------------------------------------------------------------------------------------------------------


def _band_power(audio: np.ndarray, sr: int, lo: float, hi: float) -> float:
    """Mean power spectral density (linear) of the channel mean between ``lo`` and ``hi`` Hz."""
    x = audio.mean(axis=1)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    return float(spec[(freqs >= lo) & (freqs < hi)].mean())


@pytest.mark.slow
def test_tiny_build(tmp_path, corpus_tools):
    out = tmp_path / "corpus"
    rows = build.build(out, size="tiny", seed=0, jobs=1, no_neural=True)
    assert (out / "manifest.csv").exists() and (out / "corpus_info.json").exists()
    with open(out / "manifest.csv", newline="") as fh:
        manifest = list(csv.DictReader(fh))
    assert (
        len(manifest) == len(rows) == len(build.plan_corpus(build.SIZES["tiny"], seed=0, architectures=None))
    )
    assert set(manifest[0]) == set(build.MANIFEST_COLUMNS)
    by_family = {(r["class"], r["family"], r["setting"]): r for r in manifest}

    for r in manifest:
        info = sf.info(str(out / r["path"]))
        assert info.samplerate == int(r["sample_rate"])
        assert info.channels == int(r["channels"])
        assert abs(info.frames / info.samplerate - 4.0) < 0.1
        audio, _ = sf.read(str(out / r["path"]), always_2d=True)
        assert np.isfinite(audio).all() and 0.01 < np.abs(audio).max() <= 1.0
        assert r["split"] == "dev"  # one piece -> one split

    base = next(r for r in manifest if r["class"] == "genuine" and r["family"] not in ("rolloff",))
    assert base["bit_depth"] == "16" and base["label_lossy"] == "0"
    up = next(r for r in manifest if r["class"] == "upsampled")
    assert int(up["sample_rate"]) in (88200, 96000) and up["bit_depth"] == "24"
    assert (up["label_upsampled"], up["label_lossy"]) == ("1", "0")
    pad = next(r for r in manifest if r["class"] == "bitpadded")
    data, _ = sf.read(str(out / pad["path"]), dtype="int32", always_2d=True)
    assert pad["bit_depth"] == "24" and np.all((data >> 8) & 0xFF == 0) and np.any(data != 0)

    # lame CBR 128 puts a wall near 16.5-17 kHz: far less energy above 17.5 kHz than the source
    mp3 = by_family[("lossy", "mp3_cbr", "cbr128")]
    assert mp3["label_lossy"] == "1" and mp3["codec"] == "mp3"
    src, sr = sf.read(str(out / base["path"]), always_2d=True)
    coded, sr2 = sf.read(str(out / mp3["path"]), always_2d=True)
    assert sr == sr2 == int(mp3["sample_rate"])
    ratio_db = 10 * np.log10(_band_power(coded, sr, 17500, 20000) / _band_power(src, sr, 17500, 20000))
    assert ratio_db < -30, ratio_db
    below_db = 10 * np.log10(_band_power(coded, sr, 2000, 12000) / _band_power(src, sr, 2000, 12000))
    assert abs(below_db) < 1.5, below_db

    # resume: a second build touches nothing and regenerates the same manifest
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")}
    rows2 = build.build(out, size="tiny", seed=0, jobs=1, no_neural=True)
    assert rows2 == rows
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")} == mtimes
