"""The evasion-layer scores of ``evaluate`` on hand-made manifests and reports (no audio).

Every expected number below is worked out by hand from the rows and reports of :func:`_case`.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from musicforensics.errors import ParameterError
from musicforensics.evidence import evaluation_tables as tables
from musicforensics.pipeline import evaluation as ev
from musicforensics.pipeline.manifest import load_manifest, parse_segments
from musicforensics.results import Finding, MappingEvidence, TrackReport

COLUMNS = ["path", "split", "class", "family", "postprocess", "label_lossy", "label_ai",
           "evasion", "ai_segments", "mix_db", "speed_factor", "expected_delta_hz"]


def _write(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _ai(path, evasion, post, **kw):
    return {"path": path, "split": "eval", "class": "ai", "family": "encodec", "postprocess": post, "label_ai": 1,
            "evasion": evasion, **kw}


def _genuine(path, family, post="none"):
    return {"path": path, "split": "eval", "class": "genuine", "family": family, "postprocess": post,
            "label_ai": 0, "evasion": "splice"}


def _report(path, *, detected=False, inconclusive=False, status="ok", **evidence):
    r = TrackReport(path=path, status=status, error="boom" if status == "error" else None)
    if status == "ok":
        r.verdicts["ai"] = (Finding.undecided("ai", "too short", evidence=MappingEvidence(evidence)) if inconclusive
                            else Finding("ai", detected, 0.9 if detected else 0.1, MappingEvidence(evidence)))
    return r


def _case(tmp_path):
    """(manifest rows, aligned reports) covering every evasion metric."""
    spec = [
        # splices: located / an end 6 s off / detected without ranges / inconclusive / missed but located
        (_ai("s1", "splice", "splice_intro", ai_segments="20.00-60.00"),
         _report("s1", detected=True, flagged_ranges_s=[[18.5, 40], [41, 63]])),
        (_ai("s2", "splice", "splice_bridge", ai_segments="30.00-55.00"),
         _report("s2", detected=True, flagged_ranges_s=[[30, 49], [70, 80]])),
        (_ai("s3", "splice", "splice_bridge", ai_segments="25.00-50.00"), _report("s3", detected=True)),
        (_ai("s4", "splice", "splice_bridge", ai_segments="25.00-50.00"),
         _report("s4", inconclusive=True, flagged_ranges_s=[[25, 50]])),
        (_ai("s5", "splice", "splice_intro", ai_segments="30.00-70.00"),
         _report("s5", detected=False, flagged_ranges_s=[[31, 69]])),
        (_ai("short", "splice", "splice_bridge", ai_segments="10.00-20.00"), _report("short", detected=True)),
        # negatives of the splice test
        (_genuine("g1", "long"), _report("g1", flagged_ranges_s=[[3, 9]])),
        (_genuine("g2", "long"), _report("g2")),
        (_genuine("g3", "splice", "splice_intro"), _report("g3", detected=True, flagged_ranges_s=[[30, 60]])),
        (_genuine("g4", "splice", "splice_bridge"), _report("g4", status="error")),
        # stems
        (_ai("m1", "stem", "stem_mix", mix_db="-6"), _report("m1", detected=True)),
        (_ai("m2", "stem", "stem_mix", mix_db="-6"), _report("m2", detected=True)),
        (_ai("m3", "stem", "stem_mix", mix_db="-12"), _report("m3", detected=False)),
        (_ai("m4", "stem", "stem_mix", mix_db="-20"), _report("m4", inconclusive=True)),
        # whole tracks and their speed / pitch changes
        (_ai("w1", "whole", "none"), _report("w1", detected=True)),
        # (factor and spacing each right within 0.5 %; p2's spacing is right, its factor is read from another base)
        (_ai("p1", "speed_pitch", "speed_1.02", speed_factor="1.020000", expected_delta_hz="76.5"),
         _report("p1", detected=True, speed_factor=1.0249, delta_hz=76.1)),  # 0.48 % and 0.52 % off
        (_ai("p2", "speed_pitch", "speed_1.02", speed_factor="1.020000", expected_delta_hz="76.5"),
         _report("p2", detected=True, speed_factor=1.0, delta_hz=76.5)),  # the comb taken as unscaled
        (_ai("p3", "speed_pitch", "speed_1.02", speed_factor="1.020000", expected_delta_hz="76.5"),
         _report("p3", detected=True)),
        (_ai("p4", "speed_pitch", "speed_1.02", speed_factor="1.020000", expected_delta_hz="76.5"),
         _report("p4", detected=False, speed_factor=1.02, delta_hz=76.5)),  # not detected: not counted
        (_ai("v1", "speed_pitch", "pitch_vocoder_+1"), _report("v1", detected=True, speed_factor=1.06)),
        # codecs and noise
        (_ai("c1", "codec_noise", "mp3_128", label_lossy=1), _report("c1", detected=True)),
        (_ai("c2", "codec_noise", "mp3_128", label_lossy=1), _report("c2", detected=False)),
        (_ai("n1", "codec_noise", "noise_snr30"), _report("n1", inconclusive=True)),
    ]
    manifest = load_manifest(_write(tmp_path / "manifest.csv", [r for r, _ in spec]), split="eval")
    return manifest.rows, [rep for _, rep in spec]


def _rate(entry):
    return entry["k"], entry["n"]


def test_manifest_reads_the_evasion_columns_with_defaults(tmp_path):
    rows, _ = _case(tmp_path)
    by = {r.path: r for r in rows}
    assert by["s2"].ai_segments == ((30.0, 55.0),) and by["s2"].evasion == "splice"
    assert by["m3"].mix_db == -12.0 and by["p1"].speed_factor == 1.02
    assert by["g1"].ai_segments == () and by["g1"].mix_db is None and by["v1"].speed_factor is None
    plain = tmp_path / "plain.csv"
    plain.write_text("path,split,class,family,label_ai\nx.wav,eval,genuine,plain,0\n")
    row = load_manifest(plain).rows[0]
    assert (row.evasion, row.ai_segments, row.mix_db, row.speed_factor) == ("", (), None, None)


def test_manifest_rejects_bad_evasion_values(tmp_path):
    with pytest.raises(ParameterError, match="ai_segments='20-x'"):
        parse_segments("20-x", line=3, source="m.csv")
    with pytest.raises(ParameterError, match="ends before it starts"):
        parse_segments("50-20")
    _write(tmp_path / "bad.csv", [_ai("a", "stem", "stem_mix", mix_db="loud")])
    with pytest.raises(ParameterError, match="mix_db='loud'"):
        load_manifest(tmp_path / "bad.csv")


def test_location_rule():
    assert ev.segments_located([(20, 60)], [(18.5, 40), (41, 63)])  # hull 18.5-63: both ends within 5 s
    assert not ev.segments_located([(30, 55)], [(30, 49)])  # end 6 s early
    assert not ev.segments_located([(20, 45)], [])
    assert not ev.segments_located([], [(0, 10)])  # nothing to locate is not a success
    assert ev.segments_located([(20, 45), (60, 70)], [(19, 44), (61, 72)])
    # one range across both segments matches neither end pair
    assert not ev.segments_located([(20, 45), (60, 70)], [(20, 70)])
    assert ev.located_span((20, 45), [(45, 50)]) is None  # touching is not overlapping
    assert ev.segments_located([(20, 45)], [(25, 50)]) and not ev.segments_located([(20, 45)], [(25.01, 50)])


def test_splice_scores(tmp_path):
    rows, reports = _case(tmp_path)
    sp = ev.evaluate(rows, reports)["evasion"]["splices"]
    assert sp["shorter_left_out"] == 1  # the 10 s bridge
    by = {g["postprocess"]: g for g in sp["positives"]}
    intro, bridge = by["splice_intro"], by["splice_bridge"]
    assert (intro["files"], intro["decided"], intro["detected"]) == (2, 2, 1)
    assert _rate(intro["located"]) == (2, 2)  # s1 and s5 (located although its verdict missed)
    assert _rate(intro["located_among_detected"]) == (1, 1)
    assert (bridge["files"], bridge["decided"], bridge["detected"], bridge["inconclusive"]) == (3, 2, 2, 1)
    assert bridge["with_ranges"] == 1 and _rate(bridge["located"]) == (0, 2)
    neg = {g["family"]: g for g in sp["negatives"]}
    assert (neg["long"]["files"], neg["long"]["detected"], neg["long"]["with_ranges"]) == (2, 0, 1)
    assert (neg["splice"]["files"], neg["splice"]["detected"], neg["splice"]["errors"]) == (2, 1, 1)
    assert neg["splice"]["with_ranges"] == 1 and _rate(neg["splice"]["rate"]) == (1, 1)


def test_stem_speed_and_codec_scores(tmp_path):
    rows, reports = _case(tmp_path)
    evs = ev.evaluate(rows, reports)["evasion"]
    assert [(g["mix_db"], g["files"], g["detected"], g["inconclusive"]) for g in evs["stems"]] == [
        (-6.0, 2, 2, 0), (-12.0, 1, 0, 0), (-20.0, 1, 0, 1)]
    sp = {g["postprocess"]: g for g in evs["speed_pitch"]}
    assert set(sp) == {"none", "speed_1.02", "pitch_vocoder_+1"}
    assert sp["none"]["detected"] == 1 and sp["none"]["factor"] is None
    assert sp["pitch_vocoder_+1"]["factor"] is None and sp["pitch_vocoder_+1"]["speed_factor"] is None
    s = sp["speed_1.02"]
    assert s["speed_factor"] == 1.02 and _rate(s["rate"]) == (3, 4)
    assert (s["factor"]["detected"], s["factor"]["reported"], s["factor"]["within"]) == (3, 2, 1)
    assert _rate(s["factor"]["accuracy"]) == (1, 3)
    assert s["factor"]["spacing_within"] == 1 and _rate(s["factor"]["spacing_accuracy"]) == (1, 3)
    cn = {g["postprocess"]: g for g in evs["codec_noise"]}
    assert set(cn) == {"none", "mp3_128", "noise_snr30"}
    assert _rate(cn["mp3_128"]["rate"]) == (1, 2)
    assert cn["noise_snr30"]["inconclusive"] == 1 and _rate(cn["noise_snr30"]["rate"]) == (0, 0)


def test_evasion_tables_and_json(tmp_path):
    rows, reports = _case(tmp_path)
    doc = ev.evaluate(rows, reports)
    json.loads(tables.to_json(doc))  # strict JSON
    md = tables.to_markdown(doc)
    assert "evasion: splices with >= 20 s generated" in md
    assert "| splice_intro | 2 | 1 | 0 | 0 | 50.0% [9.5, 90.5] | 2 | 100.0% [34.2, 100.0] | 100.0% [20.7, 100.0] |" in md
    assert "| -20 | 1 | 0 | 1 | 0 | - |" in md
    assert ("| speed_1.02 | 1.0200 | 4 | 3 | 0 | 0 | 75.0% [30.1, 95.4] | 2 | 33.3% [6.1, 79.2] | "
            "33.3% [6.1, 79.2] |") in md
    assert "| pitch_vocoder_+1 | - | 1 | 1 | 0 | 0 | 100.0% [20.7, 100.0] | - | - | - |" in md
    assert "| mp3_128 | 2 | 1 | 0 | 0 | 50.0% [9.5, 90.5] |" in md


def test_no_evasion_rows_no_evasion_section(tmp_path):
    rows = load_manifest(_write(tmp_path / "m.csv", [
        {"path": "a", "split": "eval", "class": "ai", "family": "dac", "label_ai": 1}])).rows
    doc = ev.evaluate(rows, [_report("a", detected=True)])
    assert "evasion" not in doc
    assert not any(title.startswith("evasion") for title, _, _ in tables.tables(doc))


@dataclass(frozen=True)
class _Typed:
    """A stand-in for typed ai evidence that declares the keys (as the detector's evidence will)."""

    flagged_ranges_s: tuple = ()
    speed_factor: float | None = None


def test_keys_read_from_typed_evidence_and_absent_keys_are_none():
    typed = Finding("ai", True, 0.9, _Typed(((20.0, 45.0),), 1.06))
    assert ev.flagged_ranges(typed) == [(20.0, 45.0)] and ev.reported_speed_factor(typed) == 1.06
    bare = Finding("ai", True, 0.9, MappingEvidence({"delta_hz": 75.0}))
    assert ev.flagged_ranges(bare) == [] and ev.reported_speed_factor(bare) is None
    odd = Finding("ai", True, 0.9, MappingEvidence({"flagged_ranges_s": "20-45", "speed_factor": "fast"}))
    assert ev.flagged_ranges(odd) == [] and ev.reported_speed_factor(odd) is None
    assert ev.flagged_ranges(None) == [] and ev.reported_speed_factor(None) is None
