"""Short clips cut from a real-world set, to measure the verdicts on 5-10 s excerpts of real files.

Usage::

    python -m benchmarks.corpus.clips SOURCE/manifest.csv --out DIR [--lengths 5.5 7.5 9.5]
        [--offsets 0.1 0.6] [--classes ai genuine lossy peer_fixtures]
    musicforensics evaluate DIR/manifest.csv --detectors ai

``SOURCE`` is laid out like ``../shared/realworld`` (a ``manifest.csv`` with at least ``path``, ``class``,
``format``, ``duration_s``). Every file of the chosen classes that lasts at least ``length + MARGIN_SECONDS`` is
read in place (never copied into the repository) and cut at each fraction of ``offsets`` of its spare length
into a clip of each ``length``, written as FLAC (16-bit up to 48 kHz, 24-bit above: a decoded lossy file keeps
its samples, a 24-bit recording loses only what is under 16-bit rounding, far below any comb or wall) under
``DIR/<length>s_at_<offset>/`` with the source's relative path and name (``.flac`` appended unless it is one).

``DIR/manifest.csv`` has the source's columns, one row per clip: ``duration_s`` the clip's length, ``format``
the source's (so a clip of a decoded MP3 keeps its lossy label, and the name its generator and group: clips of
one recording are one group in ``evaluate``'s grouped calibration), ``notes`` where it was cut from. A set the
real-world rules derive fields from (:mod:`musicforensics.pipeline.realworld_manifest`) gives the same
generator, source and group for a clip as for its recording, so ``evaluate`` prints the per-generator and
per-duration tables of clips alone.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import soundfile as sf

#: A clip is cut only from a file at least this much longer than the clip (seconds): a clip of a file of nearly
#: its own length is the file again.
MARGIN_SECONDS = 1.0
#: Default clip lengths (seconds): inside the 5-10 s band the AI targets name, away from its edges.
DEFAULT_LENGTHS = (5.5, 7.5, 9.5)
#: Default cut positions, as fractions of the spare length (duration - clip length).
DEFAULT_OFFSETS = (0.1, 0.6)
#: Default classes: the real generator outputs and the real recordings (genuine, decoded lossy, fixtures).
DEFAULT_CLASSES = ("ai", "genuine", "lossy", "peer_fixtures")


def read_manifest(manifest: Path, needed: tuple[str, ...]) -> tuple[list[str], list[dict]]:
    """``(columns, records)`` of a real-world-style manifest, ``notes`` added to the columns when missing; exits
    with a message when a ``needed`` column is missing."""
    with manifest.open(newline="") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        records = list(reader)
    for column in needed:
        if column not in columns:
            raise SystemExit(f"{manifest}: no {column!r} column")
    if "notes" not in columns:
        columns.append("notes")
    return columns, records


def write_manifest(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write ``rows`` as a manifest with ``columns`` at ``path`` (its folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def clip_folder(length: float, offset: float) -> str:
    """Name of the folder of the clips of one length and offset, e.g. ``5.5s_at_0.1``."""
    return f"{length:g}s_at_{offset:g}"


def clip_name(path: str) -> Path:
    """The clip's path for a source path: ``.flac`` added unless the source is FLAC, so ``x.wav`` and ``x.flac``
    (one recording in two formats) give two clips.

    >>> clip_name("ai/deezer__lac2__000002.mp3").as_posix(), clip_name("genuine/a__b.flac").as_posix()
    ('ai/deezer__lac2__000002.mp3.flac', 'genuine/a__b.flac')
    """
    source = Path(path)
    return source if source.suffix.lower() == ".flac" else source.with_name(source.name + ".flac")


def cut_clips(manifest: Path, out: Path, *, lengths=DEFAULT_LENGTHS, offsets=DEFAULT_OFFSETS,
              classes=DEFAULT_CLASSES) -> list[dict]:
    """Cut the clips and write ``out/manifest.csv``; returns its rows. Files that cannot be read are reported on
    stderr and skipped."""
    source = manifest.parent
    columns, records = read_manifest(manifest, ("path", "class", "duration_s"))
    rows = []
    for rec in records:
        if rec["class"] not in classes:
            continue
        try:
            duration = float(rec["duration_s"])
        except ValueError:
            continue
        wanted = [length for length in lengths if duration >= length + MARGIN_SECONDS]
        if not wanted:
            continue
        try:
            with sf.SoundFile(str(source / rec["path"])) as f:
                rate, frames = f.samplerate, f.frames
                audio = f.read(dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError) as exc:
            print(f"skipped {rec['path']}: {exc}", file=sys.stderr)
            continue
        subtype = "PCM_16" if rate <= 48000 else "PCM_24"
        for length in wanted:
            n = int(round(length * rate))
            for offset in offsets:
                start = int(offset * max(frames - n, 0))
                rel = Path(clip_folder(length, offset)) / clip_name(rec["path"])
                target = out / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                sf.write(str(target), audio[start:start + n], rate, subtype=subtype)
                note = f"clip of {rec['path']} from {start / rate:.2f} s, {length:g} s long"
                rows.append({**rec, "path": rel.as_posix(), "duration_s": f"{n / rate:.3f}",
                             "notes": f"{note}; {rec.get('notes') or ''}".rstrip("; ")})
    write_manifest(out / "manifest.csv", columns, rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.corpus.clips", description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path, help="manifest.csv of a real-world set")
    ap.add_argument("--out", type=Path, required=True, help="folder for the clips and their manifest")
    ap.add_argument("--lengths", type=float, nargs="+", default=list(DEFAULT_LENGTHS), help="clip lengths, s")
    ap.add_argument("--offsets", type=float, nargs="+", default=list(DEFAULT_OFFSETS),
                    help="cut positions as fractions (0-1) of each file's spare length")
    ap.add_argument("--classes", nargs="+", default=list(DEFAULT_CLASSES), help="classes to cut from")
    args = ap.parse_args(argv)
    if any(not 0.0 <= o <= 1.0 for o in args.offsets) or any(length <= 0 for length in args.lengths):
        ap.error("offsets must lie in [0, 1] and lengths be positive")
    if args.out.resolve() == args.manifest.parent.resolve():
        ap.error("--out must not be the source folder")
    rows = cut_clips(args.manifest, args.out, lengths=args.lengths, offsets=args.offsets, classes=args.classes)
    print(f"{len(rows)} clips in {args.out} (manifest: {args.out / 'manifest.csv'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
