"""``evaluate`` on the real-world manifest layout: derived labels, generators and groups, unknown labels and
INCONCLUSIVE verdicts counted apart, duration bands, and one run on a slice of the real-world development set."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from musicforensics.errors import ParameterError
from musicforensics.evidence import evaluation_tables as tables
from musicforensics.evidence.formats.jsonl import record
from musicforensics.pipeline import evaluation as ev
from musicforensics.pipeline.manifest import load_manifest
from musicforensics.results import Finding, MappingEvidence, TrackReport
from tests.conftest import require_realworld

COLUMNS = ["path", "class", "source", "licence", "format", "sample_rate", "channels", "duration_s", "eff_bits",
           "spectrum_check", "label_confidence", "notes"]
#: (path, class, format, duration_s, eff_bits, notes) of a tiny real-world-style manifest.
ROWS = [
    ("ai/deezer__encodec24__000002.mp3", "ai", "mp3", "30.2", "", "EnCodec reconstruction, then MP3 256k"),
    ("ai/deezer__griffin256__000002.mp3", "ai", "mp3", "30.0", "", "Griffin-Lim reconstruction, then MP3"),
    ("lossy/deezer__real__000002.mp3", "lossy", "mp3", "30.0", "", "real FMA track excerpt"),
    ("ai/musicgen_out__someone__musicgen_out.wav", "ai", "pcm_f32le", "29.9", "32", "MusicGen output"),
    ("genuine/smstools__flute-A4.flac", "genuine", "pcm_s16le", "2.15", "16", "real recording"),
    ("genuine/sonic-pi-samples__tabla_te1.flac", "genuine", "flac", "0.4", "16", "one-shot"),
    ("genuine/mirdata__medley__x.wav", "genuine", "pcm_f32le", "2.97", "17", "dataset excerpt"),
    ("peer_fixtures/essentia__cat_purrrr24bit.wav", "peer_fixtures", "pcm_s24le", "4.97", "16", "several depths"),
    ("peer_fixtures/essentia__cat_purrrr.wav", "peer_fixtures", "pcm_s16le", "4.97", "16", "several depths"),
    ("peer_fixtures/madmom__stereo_sample.wav", "peer_fixtures", "pcm_s16le", "4.15", "16",
     "same excerpt as WAV/FLAC/M4A(AAC) - a ready lossless-vs-lossy pair"),
    ("peer_fixtures/madmom__stereo_sample.m4a", "peer_fixtures", "aac", "4.17", "", "same excerpt"),
    ("lossy/riffusion__clip_0_start_15795_ms_duration_5678_ms.flac", "lossy", "pcm_s16le", "5.68", "16",
     "WAV clips cut from the repo's tired_traveler.mp3 -> MP3 decoded into WAV"),
    ("lossy/riffusion__clip_1_start_860_ms_duration_5678_ms.flac", "lossy", "pcm_s16le", "5.68", "16",
     "WAV clips cut from the repo's tired_traveler.mp3 -> MP3 decoded into WAV"),
    ("lossy/librosa__trumpet.hq.ogg", "lossy", "vorbis", "", "", "Ogg Vorbis"),
    ("lossy/librosa__trumpet.ogg", "lossy", "vorbis", "10.0", "", "Ogg Vorbis"),
]


def write_realworld(path: Path, rows=ROWS) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for p, cls, fmt, dur, bits, notes in rows:
            w.writerow([p, cls, "somewhere", "CC0", fmt, "44100", "2", dur, bits, "", "high", notes])
    return path


@pytest.fixture
def manifest(tmp_path):
    return load_manifest(write_realworld(tmp_path / "manifest.csv"), split="eval")


def by_name(manifest):
    return {Path(r.path).name: r for r in manifest.rows}


def test_realworld_layout_is_recognised_and_keeps_every_row_for_any_split(manifest):
    assert manifest.layout == "realworld" and len(manifest.rows) == len(ROWS)
    assert {r.split for r in manifest.rows} == {"all"} and "no split column" in manifest.split_note


def test_labels_follow_the_documented_rules(manifest):
    rows = by_name(manifest)

    def labels(name):
        return tuple(rows[name].labels[k] for k in ("lossy", "upsampled", "bitpadded", "ai"))

    assert labels("deezer__encodec24__000002.mp3") == (1, 0, 0, 1)  # delivered as MP3 by its publisher
    assert labels("deezer__real__000002.mp3") == (1, 0, 0, 0)
    assert labels("musicgen_out__someone__musicgen_out.wav") == (0, 0, 0, 1)
    assert labels("smstools__flute-A4.flac") == (0, 0, 0, 0)
    assert labels("sonic-pi-samples__tabla_te1.flac") == (0, 0, 0, 0)
    assert labels("mirdata__medley__x.wav") == (0, 0, None, 0)  # float file with 17 bits in use: unknown
    assert labels("essentia__cat_purrrr24bit.wav") == (None, None, 1, 0)  # 16 bits in use in a 24-bit container
    assert labels("essentia__cat_purrrr.wav") == (None, None, 0, 0)
    assert labels("madmom__stereo_sample.wav") == (0, None, 0, 0)  # the notes name it the lossless side
    assert labels("madmom__stereo_sample.m4a") == (1, None, 0, 0)
    assert labels("riffusion__clip_0_start_15795_ms_duration_5678_ms.flac") == (1, 0, 0, 0)


def test_generator_source_codec_and_group(manifest):
    rows = by_name(manifest)
    enc, griffin = rows["deezer__encodec24__000002.mp3"], rows["deezer__griffin256__000002.mp3"]
    assert (enc.architecture, enc.weights, enc.postprocess, enc.family) == ("encodec24", "trained", "mp3", "deezer")
    assert (griffin.architecture, griffin.weights) == ("griffin256", "not-neural")
    gen = rows["musicgen_out__someone__musicgen_out.wav"]
    assert (gen.architecture, gen.family, gen.postprocess) == ("musicgen", "musicgen_out", "none")
    assert rows["deezer__real__000002.mp3"].architecture == ""
    clip = rows["riffusion__clip_0_start_15795_ms_duration_5678_ms.flac"]
    assert (clip.codec, clip.setting) == ("mp3", "decoded")
    assert rows["madmom__stereo_sample.m4a"].codec == "aac" and rows["smstools__flute-A4.flac"].codec == "none"
    groups = {}
    for r in manifest.rows:
        groups.setdefault(r.source_piece, set()).add(Path(r.path).name)
    assert groups["deezer/000002"] == {"deezer__encodec24__000002.mp3", "deezer__griffin256__000002.mp3",
                                       "deezer__real__000002.mp3"}
    assert groups["essentia/cat_purrrr"] == {"essentia__cat_purrrr24bit.wav", "essentia__cat_purrrr.wav"}
    assert len(groups["madmom/stereo_sample"]) == 2 and len(groups["riffusion/clip"]) == 2
    assert len(groups["librosa/trumpet"]) == 2
    assert len(groups) == 9


def test_duration_bands_from_the_manifest(manifest):
    rows = by_name(manifest)
    assert rows["sonic-pi-samples__tabla_te1.flac"].duration_band == "<2 s"
    assert rows["smstools__flute-A4.flac"].duration_band == "2-5 s"
    assert rows["riffusion__clip_0_start_15795_ms_duration_5678_ms.flac"].duration_band == "5-10 s"
    assert rows["librosa__trumpet.ogg"].duration_band == ">=10 s"  # 10.0 s: the band's lower edge
    assert rows["librosa__trumpet.hq.ogg"].duration_band == "unknown"


def test_a_corpus_manifest_without_split_column_is_evaluated_whole(tmp_path):
    (tmp_path / "m.csv").write_text("path,class,family,label_lossy\na.wav,genuine,f,0\nb.mp3,lossy,mp3,1\n")
    m = load_manifest(tmp_path / "m.csv", split="dev")
    assert m.layout == "corpus" and [r.split for r in m.rows] == ["all", "all"] and m.split_note
    assert [r.labels["lossy"] for r in m.rows] == [0, 1] and m.rows[0].labels["ai"] == 0


def test_a_manifest_of_neither_layout_names_both(tmp_path):
    (tmp_path / "m.csv").write_text("path,class\nx.wav,genuine\n")
    with pytest.raises(ParameterError, match="real-world manifest needs") as err:
        load_manifest(tmp_path / "m.csv")
    assert "corpus manifest needs" in str(err.value)


def _report(path, *, detected=(), inconclusive=False, duration=None):
    rep = TrackReport(path=path, status="inconclusive" if inconclusive else "ok",
                      audio=None if duration is None else {"duration_s": duration})
    for kind in ("lossy", "upsampled", "bitpadded", "ai"):
        rep.verdicts[kind] = (Finding.undecided(kind, "too short") if inconclusive
                              else Finding(kind, kind in detected, 0.9 if kind in detected else 0.1, MappingEvidence({})))
    return rep


def _evaluate(tmp_path, reports):
    path = write_realworld(tmp_path / "manifest.csv")
    (tmp_path / "r.jsonl").write_text("".join(record(r) for r in reports))
    doc, _ = ev.run_evaluation(path, split="eval", from_results=tmp_path / "r.jsonl")
    return doc


def test_unknown_labels_and_inconclusive_are_counted_apart(tmp_path):
    reports = [_report(p) for p, *_ in ROWS]
    flagged = {"essentia__cat_purrrr.wav", "smstools__flute-A4.flac", "deezer__real__000002.mp3"}
    for i, (p, *_) in enumerate(ROWS):
        name = Path(p).name
        if name in flagged:
            reports[i] = _report(p, detected=("lossy",))
        if name == "sonic-pi-samples__tabla_te1.flac":
            reports[i] = _report(p, inconclusive=True)
        if name == "librosa__trumpet.hq.ogg":
            reports[i] = _report("./" + p, detected=("lossy",), duration=12.5)  # a scan's "./" path still joins
    doc = _evaluate(tmp_path, reports)
    assert doc["meta"]["manifest_layout"] == "realworld" and doc["files"]["error"] == 0
    lossy = doc["kinds"]["lossy"]
    # cat_purrrr.wav and cat_purrrr24bit.wav have no lossy label: counted apart, the flag on one is no false positive
    assert lossy["unknown_label"]["files"] == 2 and lossy["unknown_label"]["detected"] == 1
    # negatives: flute (flagged), tabla (inconclusive), medley, musicgen, madmom wav
    assert (lossy["negatives"]["files"], lossy["negatives"]["detected"], lossy["negatives"]["inconclusive"]) == (5, 1, 1)
    assert lossy["negatives"]["rate"]["rate"] == pytest.approx(1 / 4)
    assert (lossy["roc"]["n_pos"], lossy["roc"]["n_neg"], lossy["roc"]["inconclusive"]) == (8, 4, 1)
    assert lossy["detection_columns"] == ["codec", "setting", "family"]
    groups = {tuple(g["group"].values()): g for g in lossy["detection_by_group"]}
    assert groups[("mp3", "", "deezer")]["detected"] == 1
    assert groups[("mp3", "decoded", "riffusion")]["files"] == 2
    assert groups[("vorbis", "", "librosa")]["detected"] == 1
    assert groups[("ai", "deezer", "mp3")]["files"] == 2  # AI output delivered as MP3 is lossy too
    bands = {b["band"]: b for b in lossy["by_duration_band"]}
    assert bands["<2 s"]["negatives"]["inconclusive"] == 1 and bands["<2 s"]["negatives"]["decided"] == 0
    assert bands["2-5 s"]["unknown_label"]["files"] == 2
    assert bands[">=10 s"]["positives"]["files"] == 5  # the .hq file took its analysed 12.5 s
    assert "unknown" not in bands and sum(b["positives"]["files"] for b in bands.values()) == 8
    ai = {tuple(g["group"].values()): g["files"] for g in doc["kinds"]["ai"]["detection_by_group"]}
    assert ai == {("encodec24", "trained", "mp3"): 1, ("griffin256", "not-neural", "mp3"): 1,
                  ("musicgen", "trained", "none"): 1}


def test_tables_show_the_split_note_unknown_labels_and_duration_bands(tmp_path):
    doc = _evaluate(tmp_path, [_report(p, inconclusive=(cls == "genuine")) for p, cls, *_ in ROWS])
    md = tables.to_markdown(doc)
    assert "all: 15 (the manifest has no split column: every row is evaluated)" in md
    assert "| kind | scored | detection rate | false-positive rate | pos | neg | inconclusive | unknown label |" in md
    assert "### ai: by duration band" in md
    assert "| <2 s | 0 | 0 | 0 | - | 1 | 0 | 1 | - | 0 | 0 |" in md  # the one-shot: inconclusive, not a flag
    assert "| griffin256 / not-neural / mp3 | 1 | 0 | 0 | 0 |" in md
    doc_json = json.loads(tables.to_json(doc))
    assert doc_json["kinds"]["upsampled"]["unknown_label"]["files"] == 4


def test_corpus_tables_have_no_unknown_label_column(tmp_path):
    rows = [ev.ManifestRow("a.wav", "eval", "genuine", "f", labels=dict.fromkeys(ev.KINDS, 0), duration_s=3.0)]
    doc = ev.evaluate(rows, [_report("a.wav")])
    md = tables.to_markdown(doc)
    assert "unknown label |" not in md.split("### Per kind")[1].split("###")[0]
    assert doc["kinds"]["lossy"]["by_duration_band"][0]["band"] == "2-5 s"


def test_evaluate_runs_on_a_slice_of_the_realworld_set(tmp_path):
    """Ten files of the real-world development set, by absolute path, through the command line."""
    folder = require_realworld()
    wanted = ["ai/deezer__griffin256__000002.mp3", "lossy/deezer__real__000002.mp3",
              "ai/musicgen_out__AbhijithMallya__musicgen_out.wav", "genuine/smstools__flute-A4.flac",
              "genuine/sonic-pi-samples__tabla_te1.flac", "lossy/mirdata__fma_keys__000010.mp3",
              "peer_fixtures/essentia__cat_purrrr24bit.wav", "peer_fixtures/essentia__dubstep.wav",
              "peer_fixtures/madmom__stereo_sample.wav", "lossy/librosa__sorohanro_-_solo-trumpet-06.ogg"]
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        records = {r["path"]: r for r in reader}
        columns = reader.fieldnames
    missing = [p for p in wanted if p not in records]
    assert not missing, f"the real-world manifest lost rows this test reads: {missing}"
    with open(tmp_path / "slice.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows({**records[p], "path": str(folder / p)} for p in wanted)
    res = subprocess.run([sys.executable, "-m", "musicforensics", "evaluate", str(tmp_path / "slice.csv"), "--json",
                          "--jobs", "1", "--quiet"], capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["meta"]["manifest_layout"] == "realworld" and doc["meta"]["split_note"]
    assert doc["files"]["total"] == 10 and doc["files"]["error"] == 0
    kinds = doc["kinds"]
    assert (kinds["ai"]["positives"]["files"], kinds["lossy"]["unknown_label"]["files"]) == (2, 2)
    assert kinds["bitpadded"]["positives"]["detected"] == 1  # 16 bits in use in a 24-bit WAV: an exact test
    assert {tuple(g["group"].values()) for g in kinds["ai"]["detection_by_group"]} == {
        ("griffin256", "not-neural", "mp3"), ("musicgen", "trained", "none")}
    assert sum(b["negatives"]["files"] + b["positives"]["files"] + b["unknown_label"]["files"]
               for b in kinds["lossy"]["by_duration_band"]) == 10
