"""The re-encoder (benchmarks/corpus/reencode.py): a real-world-style set through FFmpeg's lossy codecs, one
manifest per setting that ``evaluate`` reads with each file's class, generator and new codec."""

import csv

import numpy as np
import pytest
import soundfile as sf

from benchmarks.corpus.clips import write_manifest
from benchmarks.corpus.reencode import SETTINGS, reencode
from musicforensics.pipeline.realworld_manifest import realworld_fields

from .conftest import require_tool

COLUMNS = ["path", "class", "format", "sample_rate", "duration_s", "notes"]


def _source(tmp_path):
    src = tmp_path / "src"
    for folder in ("ai", "genuine", "lossy"):
        (src / folder).mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for rel, cls, seconds in (("ai/deezer__encodec24__000002.wav", "ai", 6.0),
                              ("genuine/mirdata__take.flac", "genuine", 6.0),
                              ("genuine/mirdata__short.flac", "genuine", 2.0),
                              ("lossy/mirdata__decoded.flac", "lossy", 6.0)):
        x = (0.1 * rng.standard_normal((int(seconds * 44100), 2))).astype(np.float32)
        sf.write(str(src / rel), x, 44100, subtype="PCM_16")
        fmt = "pcm_s16le" if rel.endswith(".wav") else "flac"
        rows.append({"path": rel, "class": cls, "format": fmt, "sample_rate": 44100, "duration_s": seconds,
                     "notes": "n"})
    write_manifest(src / "manifest.csv", COLUMNS, rows)
    return src


def test_each_setting_gets_its_files_and_a_manifest_evaluate_labels(tmp_path):
    require_tool("ffmpeg")
    src = _source(tmp_path)
    out = tmp_path / "encoded"
    rows = reencode(src / "manifest.csv", out, settings=("mp3_128", "opus_32"), classes=("ai", "genuine"),
                    min_seconds=5.0)
    assert set(rows) == {"mp3_128", "opus_32"}
    for name, kept in rows.items():
        # the 2 s file is under --min-seconds, the lossy class is not chosen
        assert [r["path"] for r in kept] == [f"ai/deezer__encodec24__000002.wav{SETTINGS[name][1]}",
                                            f"genuine/mirdata__take.flac{SETTINGS[name][1]}"]
        with (out / name / "manifest.csv").open(newline="") as fh:
            written = list(csv.DictReader(fh))
        assert [r["path"] for r in written] == [r["path"] for r in kept]
        for row in written:
            info = sf.info(str(out / name / row["path"])) if name == "opus_32" else None
            assert (out / name / row["path"]).stat().st_size > 1000
            assert row["format"] == SETTINGS[name][2]
            assert row["path"].split(".")[0] in row["notes"]
            fields = realworld_fields(row)
            assert fields["labels"]["lossy"] == 1
            assert fields["labels"]["ai"] == (1 if row["class"] == "ai" else 0)
            if row["class"] == "ai":
                assert fields["architecture"] == "encodec24" and fields["postprocess"] == SETTINGS[name][2]
            if info is not None:
                assert info.frames > 5 * info.samplerate


def test_unknown_settings_and_missing_columns_are_refused(tmp_path):
    require_tool("ffmpeg")
    src = _source(tmp_path)
    with pytest.raises(SystemExit, match="unknown settings"):
        reencode(src / "manifest.csv", tmp_path / "o", settings=("mp3_999",))
    bad = tmp_path / "bad.csv"
    bad.write_text("path,class\nx.wav,ai\n")
    with pytest.raises(SystemExit, match="no 'format' column"):
        reencode(bad, tmp_path / "o")
