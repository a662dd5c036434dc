"""The clip builder (benchmarks/corpus/clips.py): clips of the chosen lengths from a real-world-style manifest,
and rows that ``evaluate`` reads with the recording's generator and group."""

import csv

import numpy as np
import soundfile as sf

from benchmarks.corpus.clips import clip_folder, cut_clips
from musicforensics.pipeline.realworld_manifest import realworld_fields

COLUMNS = ["path", "class", "format", "sample_rate", "duration_s", "eff_bits", "notes"]


def _source(tmp_path):
    src = tmp_path / "src"
    (src / "ai").mkdir(parents=True)
    (src / "genuine").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for rel, cls, seconds, rate in (("ai/deezer__encodec24__000002.wav", "ai", 12.0, 44100),
                                    ("genuine/sonic-pi-samples__loop_amen.wav", "genuine", 6.0, 48000),
                                    ("genuine/mirdata__short.wav", "genuine", 3.0, 44100)):
        x = (0.1 * rng.standard_normal((int(seconds * rate), 2))).astype(np.float32)
        x[:, 1] = np.arange(x.shape[0]) / x.shape[0]  # a ramp: where a clip was cut from is readable
        sf.write(str(src / rel), x, rate, subtype="PCM_16")
        rows.append({"path": rel, "class": cls, "format": "pcm_s16le", "sample_rate": rate,
                     "duration_s": seconds, "eff_bits": 16, "notes": "n"})
    with (src / "manifest.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return src


def test_clips_have_their_length_and_place_and_keep_the_recording_s_labels(tmp_path):
    src = _source(tmp_path)
    out = tmp_path / "clips"
    rows = cut_clips(src / "manifest.csv", out, lengths=(5.5, 9.5), offsets=(0.0, 1.0))
    # the 12 s file gives both lengths at both offsets; the 6 s file is too short for 5.5 s + the margin; 3 s none
    assert sorted(r["path"] for r in rows) == sorted(
        f"{clip_folder(L, o)}/ai/deezer__encodec24__000002.wav.flac" for L in (5.5, 9.5) for o in (0.0, 1.0))
    with (out / "manifest.csv").open() as fh:
        written = list(csv.DictReader(fh))
    assert [r["path"] for r in written] == [r["path"] for r in rows]
    for r in written:
        info = sf.info(str(out / r["path"]))
        length = float(r["path"].split("s_at_")[0])
        assert info.frames == round(length * 44100) and abs(float(r["duration_s"]) - length) < 1e-3
        x, _ = sf.read(str(out / r["path"]))
        start = 0 if "_at_0/" in r["path"] else 12 * 44100 - info.frames  # offset 1: the file's last samples
        assert abs(x[0, 1] - start / (12 * 44100)) < 1e-3
        fields = realworld_fields(r)
        assert fields["architecture"] == "encodec24" and fields["source_piece"] == "deezer/000002"
        assert fields["labels"]["ai"] == 1 and "clip of ai/deezer__encodec24__000002.wav" in r["notes"]
    assert not any((src / "ai").glob("*.flac"))  # nothing written beside the sources


def test_one_recording_in_two_formats_gives_two_clips(tmp_path):
    src = _source(tmp_path)
    x, rate = sf.read(str(src / "ai/deezer__encodec24__000002.wav"))
    sf.write(str(src / "ai/deezer__encodec24__000002.flac"), x, rate)
    with (src / "manifest.csv").open("a", newline="") as fh:
        csv.DictWriter(fh, fieldnames=COLUMNS).writerow(
            {"path": "ai/deezer__encodec24__000002.flac", "class": "ai", "format": "flac", "sample_rate": rate,
             "duration_s": 12.0, "eff_bits": 16, "notes": "n"})
    rows = cut_clips(src / "manifest.csv", tmp_path / "clips", lengths=(5.5,), offsets=(0.5,))
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) == 2 and all((tmp_path / "clips" / p).is_file() for p in paths)
