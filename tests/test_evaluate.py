"""``musicforensics evaluate`` and musicforensics.evaluation on manifests with known answers.

The end-to-end corpus is bit-padded 16-in-24 WAVs against genuine 24-bit WAVs, which the bitdepth detector
decides exactly; the codec and comb-spacing tables are checked on hand-built reports.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musicforensics.evidence import evaluation_tables as tables
from musicforensics.pipeline import evaluation as ev
from musicforensics.pipeline import metrics
from musicforensics.config import AnalysisConfig
from musicforensics.errors import ParameterError
from musicforensics.results import Finding, MappingEvidence, TrackReport
from tests.conftest import tone_mix, write_wav

COLUMNS = ["path", "split", "class", "family", "codec", "setting", "architecture", "weights", "expected_delta_hz",
           "postprocess", "label_lossy", "label_upsampled", "label_bitpadded", "label_ai"]


def _row(path, split, cls, family, **kw):
    base = {c: "" for c in COLUMNS}
    base.update(path=path, split=split, family=family, label_lossy=0, label_upsampled=0, label_bitpadded=0, label_ai=0)
    base["class"] = cls
    base.update(kw)
    return base


def write_manifest(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """eval: 3 padded + 3 genuine 24-bit + 1 missing genuine; dev: 1 padded + 1 genuine."""
    root = tmp_path_factory.mktemp("evcorpus")
    (root / "files").mkdir()
    rows = []
    for i in range(4):
        split = "dev" if i == 3 else "eval"
        y = tone_mix(44100, 1.5, noise_db=-60, seed=i)
        write_wav(root / f"files/genuine{i}.wav", y, 44100, "PCM_24")
        write_wav(root / f"files/padded{i}.wav", np.round(y * 32767) / 32768, 44100, "PCM_24")
        rows.append(_row(f"files/genuine{i}.wav", split, "genuine", "24bit", setting="float_to_24bit"))
        rows.append(_row(f"files/padded{i}.wav", split, "bitpadded", "pad24", setting="16in24_44100",
                         label_bitpadded=1))
    rows.append(_row("files/gone.wav", "eval", "genuine", "drums"))
    return write_manifest(root / "manifest.csv", rows)


CONFIG = AnalysisConfig(detectors=("bitdepth",))


def test_load_manifest_splits_and_labels(corpus):
    m = ev.load_manifest(corpus, split="eval")
    assert len(m.rows) == 7 and {r.split for r in m.rows} == {"eval"}
    assert len(ev.load_manifest(corpus, split="dev").rows) == 2
    assert len(ev.load_manifest(corpus, split="all").rows) == 9
    padded = [r for r in m.rows if r.cls == "bitpadded"]
    assert all(r.labels == {"lossy": 0, "upsampled": 0, "bitpadded": 1, "ai": 0} for r in padded)
    assert m.resolve(padded[0]) == corpus.parent / "files/padded0.wav"


def test_manifest_errors_name_the_problem(tmp_path):
    with pytest.raises(ParameterError, match="cannot open"):
        ev.load_manifest(tmp_path / "nope.csv")
    (tmp_path / "a.csv").write_text("path,split\nx.wav,eval\n")
    with pytest.raises(ParameterError, match="missing column"):
        ev.load_manifest(tmp_path / "a.csv")
    write_manifest(tmp_path / "b.csv", [_row("x.wav", "eval", "genuine", "f", label_lossy="maybe")])
    with pytest.raises(ParameterError, match="label_lossy='maybe'"):
        ev.load_manifest(tmp_path / "b.csv")
    with pytest.raises(ParameterError, match="split='test'"):
        ev.load_manifest(tmp_path / "b.csv", split="test")


def test_evaluate_bitpadded_numbers(corpus):
    doc, reports = ev.run_evaluation(corpus, split="eval", config=CONFIG)
    assert [r.path for r in reports] == [r.path for r in ev.load_manifest(corpus).rows]  # manifest order
    assert doc["files"] == {"total": 7, "ok": 6, "inconclusive": 0, "error": 1, "by_split": {"eval": 7},
                            "by_class": {"bitpadded": 3, "genuine": 4},
                            "analysis_seconds": doc["files"]["analysis_seconds"]}
    assert doc["errors"] == [{"path": "files/gone.wav", "error": doc["errors"][0]["error"]}]
    assert "missing file" in doc["errors"][0]["error"]
    bp = doc["kinds"]["bitpadded"]
    assert bp["scored"]
    assert bp["positives"] | {"rate": None} == {"files": 3, "decided": 3, "detected": 3, "inconclusive": 0,
                                                 "errors": 0, "not_scored": 0, "rate": None}
    assert bp["positives"]["rate"]["rate"] == 1.0
    assert bp["positives"]["rate"]["ci95"] == pytest.approx(list(metrics.wilson_interval(3, 3)))
    assert bp["negatives"]["decided"] == 3 and bp["negatives"]["detected"] == 0 and bp["negatives"]["errors"] == 1
    fams = {g["group"]["family"]: g for g in bp["false_positives_by_family"]}
    assert fams["24bit"]["decided"] == 3 and fams["24bit"]["detected"] == 0 and fams["24bit"]["rate"]["rate"] == 0.0
    assert fams["drums"]["errors"] == 1 and fams["drums"]["rate"]["rate"] is None
    assert [g["group"] for g in bp["detection_by_group"]] == [{"family": "pad24"}]
    assert bp["roc"]["auc"] == 1.0 and (bp["roc"]["n_pos"], bp["roc"]["n_neg"]) == (3, 3)
    assert bp["roc"]["brier"] == pytest.approx(0.0, abs=1e-9)
    op = bp["operating_point"]
    assert op["fit_on"] == "evaluated files" and op["fit_fpr"] == 0.0 and op["fit_tpr"] == 1.0
    # kinds without a selected detector are reported as not scored, not as perfect
    assert not doc["kinds"]["lossy"]["scored"] and doc["kinds"]["lossy"]["roc"]["auc"] is None
    json.loads(tables.to_json(doc))  # strict JSON (no NaN)
    md = tables.to_markdown(doc)
    assert "| pad24 | 3 | 3 | 0 | 0 | 100.0% [43.9, 100.0] |" in md
    assert "| files/gone.wav | missing file:" in md


def test_split_all_fits_threshold_on_dev_and_applies_to_eval(corpus):
    doc, _ = ev.run_evaluation(corpus, split="all", config=CONFIG, target_fpr=0.0)
    op = doc["kinds"]["bitpadded"]["operating_point"]
    assert op["fit_on"] == "dev" and op["applied_to"] == "eval"
    assert op["tpr"]["k"] == 3 and op["tpr"]["n"] == 3 and op["fpr"]["k"] == 0 and op["fpr"]["n"] == 3


def _rep(path, kind, *, detected=False, p=None, inconclusive=False, evidence=None, status="ok"):
    r = TrackReport(path=path, status=status, error="boom" if status == "error" else None)
    if status != "error":
        r.verdicts[kind] = (Finding.undecided(kind, "too quiet") if inconclusive
                            else Finding(kind, detected, p, MappingEvidence(evidence or {})))
    return r


def test_codec_and_delta_accuracy_and_inconclusive_counting():
    rows = [
        ev.ManifestRow("a", "eval", "lossy", "mp3_cbr", codec="mp3", setting="cbr128", labels=_labels(lossy=1)),
        ev.ManifestRow("b", "eval", "lossy", "aac", codec="aac", setting="128k", labels=_labels(lossy=1)),
        ev.ManifestRow("c", "eval", "lossy", "aac", codec="aac", setting="128k", labels=_labels(lossy=1)),
        ev.ManifestRow("d", "eval", "lossy", "opus", codec="opus", setting="96k", labels=_labels(lossy=1)),
        ev.ManifestRow("e", "eval", "genuine", "piano", labels=_labels()),
        ev.ManifestRow("f", "eval", "genuine", "piano", labels=_labels()),
    ]
    reports = [
        _rep("a", "lossy", detected=True, p=0.9, evidence={"codec_family": {"estimate": "MP3", "probabilities": {}}}),
        _rep("b", "lossy", detected=True, p=0.8, evidence={"codec": "vorbis"}),
        _rep("c", "lossy", detected=False, p=0.3),
        _rep("d", "lossy", inconclusive=True),
        _rep("e", "lossy", detected=True, p=0.6),
        _rep("f", "lossy", detected=False, p=0.1),
    ]
    doc = ev.evaluate(rows, reports, kinds=("lossy",))
    sec = doc["kinds"]["lossy"]
    assert sec["positives"]["decided"] == 3 and sec["positives"]["detected"] == 2 and sec["positives"]["inconclusive"] == 1
    assert sec["roc"]["inconclusive"] == 1
    # pairs (pos 0.9, 0.8, 0.3) x (neg 0.6, 0.1): 5 of 6 ordered right
    assert sec["roc"]["auc"] == pytest.approx(5 / 6)
    groups = {(g["group"]["codec"], g["group"]["setting"]): g for g in sec["detection_by_group"]}
    assert groups[("aac", "128k")]["rate"]["rate"] == 0.5 and groups[("opus", "96k")]["inconclusive"] == 1
    ca = sec["codec_accuracy"]
    assert (ca["detected"], ca["named"], ca["correct"]) == (2, 2, 1)
    by = {c["codec"]: c for c in ca["by_codec"]}
    assert by["aac"]["named_as"] == {"vorbis": 1} and by["mp3"]["correct"] == 1
    fp = {g["group"]["family"]: g for g in sec["false_positives_by_family"]}
    assert fp["piano"]["detected"] == 1 and fp["piano"]["rate"]["rate"] == 0.5

    ai_rows = [ev.ManifestRow(n, "eval", "ai", "dac", architecture=a, expected_delta_hz=d, labels=_labels(ai=1))
               for n, a, d in (("g", "dac44", 86.13), ("h", "dac44", 86.13), ("i", "encodec48", 150.0))]
    ai_reps = [_rep("g", "ai", detected=True, p=0.99, evidence={"delta_hz": 86.4}),
               _rep("h", "ai", detected=True, p=0.97, evidence={"delta_hz": 43.07}),
               _rep("i", "ai", detected=True, p=0.95, evidence={})]
    da = ev.evaluate(ai_rows, ai_reps, kinds=("ai",))["kinds"]["ai"]["delta_accuracy"]
    assert (da["detected"], da["measured"], da["within"]) == (3, 2, 1)
    arch = {a["architecture"]: a for a in da["by_architecture"]}
    assert arch["dac44"]["median_abs_error_hz"] == pytest.approx((0.27 + 43.06) / 2)
    assert arch["encodec48"]["measured"] == 0


def _labels(**kw):
    return {k: kw.get(k, 0) for k in ev.KINDS}


def test_codec_named_right_for_either_codec_of_a_double_encode():
    rows = [ev.ManifestRow(n, "eval", "lossy", "double", codec="mp3", setting="aac_128+mp3_320", labels=_labels(lossy=1))
            for n in ("a", "b", "c")]
    reps = [_rep(n, "lossy", detected=True, p=0.9, evidence={"codec_family": {"estimate": c}})
            for n, c in (("a", "aac"), ("b", "mp3"), ("c", "opus"))]
    assert ev.codec_chain(rows[0]) == {"aac", "mp3"}
    ca = ev.evaluate(rows, reps, kinds=("lossy",))["kinds"]["lossy"]["codec_accuracy"]
    assert (ca["named"], ca["correct"], ca["correct_last"]) == (3, 2, 1)


def test_normalise_codec():
    assert ev.normalise_codec("LAME") == "mp3"
    assert ev.normalise_codec("mp3_cbr") == "mp3"
    assert ev.normalise_codec("Vorbis") == "vorbis"
    assert ev.normalise_codec("") is None and ev.normalise_codec(None) is None
    assert ev.normalise_codec("wma") == "wma"


def test_stored_results_join_and_missing_rows(tmp_path):
    rows = [ev.ManifestRow("x", "eval", "genuine", "f", labels=_labels()),
            ev.ManifestRow("y", "eval", "genuine", "f", labels=_labels())]
    m = ev.Manifest(root=tmp_path, rows=rows)
    from musicforensics.evidence.formats.jsonl import record

    (tmp_path / "r.jsonl").write_text(record(_rep("x", "lossy", p=0.1)) + "\n" + record(_rep("zz", "lossy", p=0.2)))
    reports, unmatched = ev.join_results(m, ev.load_results(tmp_path / "r.jsonl"))
    assert [r.status for r in reports] == ["ok", "error"] and unmatched == 1
    assert reports[1].error == "no stored result for this file"
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(ParameterError, match="line 1"):
        ev.load_results(tmp_path / "bad.jsonl")


def _cli(*args):
    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "musicforensics", "evaluate", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)


def test_cli_json_results_out_and_rescore(corpus, tmp_path):
    res = _cli(corpus, "--json", "--jobs", "1", "--detectors", "bitdepth", "--results-out", tmp_path / "r.jsonl",
               "--quiet")
    assert res.returncode == 3, res.stderr  # one file is missing: reported, exit code says so
    doc = json.loads(res.stdout)
    assert doc["kinds"]["bitpadded"]["positives"]["detected"] == 3 and doc["errors"][0]["path"] == "files/gone.wav"
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 7
    again = _cli(corpus, "--json", "--from-results", tmp_path / "r.jsonl", "--quiet")
    doc2 = json.loads(again.stdout)
    assert doc2["kinds"] == doc["kinds"] and doc2["files"]["error"] == 1
    # markdown tables when stdout is not a terminal, progress/summary only on stderr
    md = _cli(corpus, "--from-results", tmp_path / "r.jsonl", "--plot", tmp_path / "roc.png")
    assert "### bitpadded: detection rate by family" in md.stdout and "7 files (eval)" in md.stderr
    assert "7 files" not in md.stdout
    assert (tmp_path / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # never clobbers an output without --force, and fails before any work
    again = _cli(corpus, "--from-results", tmp_path / "r.jsonl", "--plot", tmp_path / "roc.png")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_cli_usage_errors(corpus, tmp_path):
    assert _cli(corpus, "--split", "test").returncode == 2
    assert _cli(tmp_path / "none.csv").returncode == 2
    assert _cli(corpus, "--from-results", tmp_path / "a.jsonl", "--results-out", tmp_path / "b.jsonl").returncode == 2


def test_cli_default_target_fpr_matches_library():
    import inspect

    from musicforensics.cli.app import app

    cmd = next(c for c in app.registered_commands if c.name == "evaluate")
    assert inspect.signature(cmd.callback).parameters["target_fpr"].default == ev.DEFAULT_TARGET_FPR


def test_evaluation_modules_do_not_load_matplotlib():
    code = ("import sys, musicforensics.pipeline.evaluation, musicforensics.evidence.plot_eval, musicforensics.cli.cmd_evaluate\n"
            "print('MPL', 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=False).stdout
    assert "MPL False" in out


@pytest.mark.slow
def test_parallel_engine_matches_serial(corpus):
    from musicforensics.pipeline.engines import make_engine

    serial, _ = ev.run_evaluation(corpus, split="all", config=CONFIG)
    parallel, _ = ev.run_evaluation(corpus, split="all", config=CONFIG, engine=make_engine(jobs=2))
    assert parallel["kinds"] == serial["kinds"] and parallel["errors"] == serial["errors"]
