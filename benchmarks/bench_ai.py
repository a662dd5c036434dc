"""Cost of the AI detector against the cost of decoding the same file, on tracks made of different recordings.

Usage::

    python -m benchmarks.bench_ai --music DIR [--seconds 200] [--rounds 3]

Looping one recording makes the track sample-exactly periodic, which the AI detector must then examine (a loop
lights every comb of its period); real tracks are not loops. So the recordings of ``--music`` (FLAC, WAV, at one
sample rate) are concatenated in name order into one ``--seconds`` track, written as 16-bit FLAC to a temporary
folder. Reported, as medians over ``--rounds`` of interleaved runs, in process CPU seconds (robust to other load
on the machine):

* decode: soundfile reading the whole file in float32 blocks, the floor of any analysis;
* the ``ai`` command's analysis (``analyze_file`` with the ``ai`` detector only: the shared spectral pass with the
  fold accumulation, then the detector), and that minus one decode, in decodes;
* the AI detector's own work, which a ``scan`` adds to the shared decode and spectral pass: the fold
  accumulation over the decoded blocks (:class:`musicforensics.ai.fold.FoldAccumulator`, timed on its own) plus
  the detector's ``analyze`` (CPU time), in decodes;
* the per-segment work: the block spectra and the 10 s segment z of one comb over the whole track
  (:func:`musicforensics.ai.segments.segment_scan`), in decodes.

Never a unit test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

BLOCK = 1 << 18


def build_track(music: Path, seconds: float, out: Path) -> int:
    """Concatenate the recordings of ``music`` (one sample rate) into ``out``; returns the sample rate."""
    files = sorted(p for p in music.iterdir() if p.suffix.lower() in (".flac", ".wav"))
    if not files:
        raise SystemExit(f"no FLAC or WAV files in {music}")
    rate = sf.info(str(files[0])).samplerate
    parts, total = [], 0
    for p in files:
        x, sr = sf.read(str(p), dtype="float32", always_2d=True)
        if sr != rate:
            continue
        x = x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1)
        parts.append(x)
        total += x.shape[0]
        if total >= seconds * rate:
            break
    if total < seconds * rate:
        raise SystemExit(f"{music}: only {total / rate:.0f} s of audio at {rate} Hz, {seconds:.0f} s asked")
    sf.write(str(out), np.concatenate(parts)[: int(seconds * rate)], rate, subtype="PCM_16")
    return rate


def decode(path: Path) -> None:
    with sf.SoundFile(str(path)) as f:
        buf = np.empty((BLOCK, f.channels), np.float32)
        while f.read(out=buf).shape[0] == BLOCK:
            pass


def cpu(fn):
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--music", type=Path, required=True, help="folder of recordings at one sample rate")
    ap.add_argument("--seconds", type=float, default=200.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)

    from musicforensics import AnalysisConfig, analyze_file
    from musicforensics.ai import detector as ai_detector
    from musicforensics.ai.candidates import fold_plan
    from musicforensics.ai.coherent import band_top_hz
    from musicforensics.ai.fold import FoldAccumulator
    from musicforensics.ai.segments import segment_scan

    detector_cpu: list[float] = []
    analyze = ai_detector.AIDetector.analyze

    def timed_analyze(self, ctx):
        seconds, result = cpu(lambda: analyze(self, ctx))
        detector_cpu.append(seconds)
        return result

    ai_detector.AIDetector.analyze = timed_analyze

    cfg = AnalysisConfig(detectors=("ai",))
    with tempfile.TemporaryDirectory() as tmp:
        track = Path(tmp) / "track.flac"
        rate = build_track(args.music, args.seconds, track)
        analyze_file(str(track), config=cfg)  # kernels compiled and loaded
        x, _sr = sf.read(str(track), dtype="float32", always_2d=True)
        mono = x.sum(axis=1)
        candidate = fold_plan(rate).candidates[0]
        blocks = [x[i:i + BLOCK] for i in range(0, x.shape[0], BLOCK)]

        def fold_all() -> None:
            acc = FoldAccumulator(fold_plan(rate), x.shape[0])
            for b in blocks:
                acc(b)

        dec, ana, seg, fold = [], [], [], []
        detector_cpu.clear()
        for _ in range(args.rounds):
            dec.append(cpu(lambda: decode(track))[0])
            seconds, report = cpu(lambda: analyze_file(str(track), config=cfg))
            ana.append(seconds)
            fold.append(cpu(fold_all)[0])
            seg.append(cpu(lambda: segment_scan(mono, rate, candidate, band_top_hz(candidate, rate)).segment_z)[0])
        d, a, s, f, det = (statistics.median(v) for v in (dec, ana, seg, fold, detector_cpu))
        verdict = report.verdicts["ai"]
        print(f"track: {args.seconds:.0f} s at {rate} Hz from {args.music}; verdict: {verdict.reason}")
        print(f"decode {d:.3f} s CPU; ai analysis {a:.3f} s = {(a - d) / d:.2f} decodes over decode; "
              f"the detector's own work (folds {f:.3f} s + detector {det:.3f} s) = {(f + det) / d:.2f} decodes; "
              f"per-segment work of one comb {s:.3f} s = {s / d:.2f} decodes")


if __name__ == "__main__":
    main()
