"""A proxy for the weak combs of fully trained decoders: real music with a fixed periodic pattern added under its
envelope, stored as FLAC and through LAME 128 kbit/s, with a manifest ``musicforensics evaluate`` scores.

    python -m benchmarks.weak_comb --music DIR --out weak_comb [--seconds 40]
    musicforensics evaluate weak_comb/manifest.csv --detectors ai -j 2

Each 44.1 kHz music file of DIR (the first ``--seconds``) gets, per period P in PERIODS and level in LEVELS_DB,
``y = x + 10^(level / 20) e(n) p(n mod P)``: ``p`` a random zero-mean, unit-variance pattern of P samples (one
per file and period), ``e`` the music's running RMS over 4096 samples, so the pattern follows the music as a
decoder's does (docs/ai-detection.md). P = 2048 is the spacing of Stable Audio's decoder (44100 / 2048 =
21.53 Hz), P = 882 that of MusicGen's EnCodec (50 Hz). The rows are ``class`` ai with ``expected_delta_hz``
44100 / P, ``architecture`` the period, ``weights`` the level and ``postprocess`` the codec, so the tables break
the detection rate down by all three. A pattern that is not a decoder's: it measures how weak a fixed comb the
detector finds, not how like a decoder it is.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

PERIODS = (2048, 882)
LEVELS_DB = (-40, -50, -60)
SAMPLE_RATE = 44100
ENVELOPE_SAMPLES = 4096


def with_pattern(x: np.ndarray, period: int, level_db: float, rng: np.random.Generator) -> np.ndarray:
    """``x`` (frames, channels) plus a fixed pattern of ``period`` samples at ``level_db`` under its envelope."""
    mono = x.mean(axis=1)
    envelope = np.sqrt(np.convolve(mono ** 2, np.ones(ENVELOPE_SAMPLES) / ENVELOPE_SAMPLES, "same")) + 1e-5
    pattern = rng.standard_normal(period)
    pattern = (pattern - pattern.mean()) / pattern.std()
    y = x + (10.0 ** (level_db / 20.0) * envelope * pattern[np.arange(mono.size) % period])[:, None]
    return y / max(1.0, float(np.abs(y).max()) * 1.01)


def build(music: Path, out: Path, seconds: float) -> Path:
    """Write the files and ``out/manifest.csv``; returns the manifest's path."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    rows = []
    sources = sorted(p for p in music.iterdir() if p.suffix.lower() in (".flac", ".wav"))
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "x.wav"
        for src in sources:
            x, fs = sf.read(str(src), dtype="float64", always_2d=True)
            if fs != SAMPLE_RATE:
                continue
            x = x[: int(seconds * fs)]
            for period in PERIODS:
                for level in LEVELS_DB:
                    y = with_pattern(x, period, level, rng)
                    stem = f"{src.stem.split('.')[0]}__P{period}__{-level}dB"
                    sf.write(str(out / f"{stem}.flac"), y, fs, subtype="PCM_16")
                    sf.write(str(wav), y, fs, subtype="PCM_16")
                    subprocess.run(["lame", "--quiet", "--cbr", "-b", "128", str(wav), str(out / f"{stem}.mp3")],
                                   check=True)
                    for name, codec in ((f"{stem}.flac", "none"), (f"{stem}.mp3", "mp3_128")):
                        rows.append({"path": name, "class": "ai", "family": "weak_comb", "architecture": f"P{period}",
                                     "weights": f"{level} dB", "postprocess": codec,
                                     "expected_delta_hz": f"{fs / period:.4f}", "source_piece": src.stem,
                                     "duration_s": f"{y.shape[0] / fs:.3f}", "label_ai": "1"})
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--music", type=Path, required=True, help="folder of 44.1 kHz music files (FLAC or WAV)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (created)")
    ap.add_argument("--seconds", type=float, default=40.0, help="seconds of each file to use")
    args = ap.parse_args(argv)
    print(build(args.music, args.out, args.seconds))


if __name__ == "__main__":
    main()
