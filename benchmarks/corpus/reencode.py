"""A real-world set sent through lossy codecs, to measure the verdicts on real files as people share them.

Usage::

    python -m benchmarks.corpus.reencode SOURCE/manifest.csv --out DIR [--settings mp3_128 opus_32 ...]
        [--classes ai genuine peer_fixtures] [--min-seconds 5]
    musicforensics evaluate DIR/opus_32/manifest.csv --detectors ai

``SOURCE`` is laid out like ``../shared/realworld`` (a ``manifest.csv`` with at least ``path``, ``class``,
``format``, ``duration_s``). Every file of the chosen classes that lasts at least ``--min-seconds`` is read in
place (never copied into the repository) and encoded with FFmpeg at each setting of :data:`SETTINGS`, into
``DIR/<setting>/`` with the source's relative path and the codec's extension. A source that is itself lossy (the
published generator outputs are MP3s) is decoded and encoded again, as a file shared onwards is.

Each setting folder gets its own ``manifest.csv`` in the source's layout, one row per encoded file: the class
kept (what the music is), ``format`` the codec as ffprobe names it (so ``evaluate`` labels the file lossy and
shows an AI file's codec as its post-processing), ``notes`` what was done. The per-setting manifests let
``evaluate`` print the per-generator and per-source tables of one codec setting at a time.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .clips import read_manifest, write_manifest
from .codecs import ToolFailedError, ToolMissingError, ffmpeg_command, require_tool, run

#: Codec settings: name -> (FFmpeg codec arguments, file extension, format as ffprobe names the codec).
SETTINGS = {
    "mp3_128": (("-c:a", "libmp3lame", "-b:a", "128k"), ".mp3", "mp3"),
    "mp3_64": (("-c:a", "libmp3lame", "-b:a", "64k"), ".mp3", "mp3"),
    "mp2_192": (("-c:a", "mp2", "-b:a", "192k"), ".mp2", "mp2"),
    "aac_128": (("-c:a", "aac", "-b:a", "128k"), ".m4a", "aac"),
    "aac_64": (("-c:a", "aac", "-b:a", "64k"), ".m4a", "aac"),
    "vorbis_q3": (("-c:a", "libvorbis", "-q:a", "3"), ".ogg", "vorbis"),
    "opus_96": (("-c:a", "libopus", "-b:a", "96k"), ".opus", "opus"),
    "opus_48": (("-c:a", "libopus", "-b:a", "48k"), ".opus", "opus"),
    "opus_32": (("-c:a", "libopus", "-b:a", "32k"), ".opus", "opus"),
}
#: Default classes: the real generator outputs, the real recordings and other projects' fixtures.
DEFAULT_CLASSES = ("ai", "genuine", "peer_fixtures")


def encoded_name(path: str, extension: str) -> Path:
    """The encoded file's path for a source path: the codec's extension appended, so ``x.wav`` and ``x.flac``
    (one recording in two formats) give two files.

    >>> encoded_name("genuine/a__b.flac", ".opus").as_posix()
    'genuine/a__b.flac.opus'
    """
    source = Path(path)
    return source.with_name(source.name + extension)


def _encode(source: Path, target: Path, arguments: tuple[str, ...]) -> str | None:
    """Encode ``source`` into ``target`` with FFmpeg; returns an error message, or None."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        run(ffmpeg_command("-i", str(source), "-vn", *arguments, str(target)))
    except ToolFailedError as exc:
        return str(exc).splitlines()[-1]
    return None


def reencode(manifest: Path, out: Path, *, settings=tuple(SETTINGS), classes=DEFAULT_CLASSES,
             min_seconds: float = 5.0, jobs: int = 2) -> dict[str, list[dict]]:
    """Encode the files and write ``out/<setting>/manifest.csv``; returns the rows per setting. Files FFmpeg
    cannot encode are reported on stderr and left out."""
    try:
        require_tool("ffmpeg")
    except ToolMissingError as exc:
        raise SystemExit(str(exc)) from exc
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        raise SystemExit(f"unknown settings {unknown}; known: {', '.join(SETTINGS)}")
    source = manifest.parent
    columns, records = read_manifest(manifest, ("path", "class", "format", "duration_s"))
    chosen = []
    for rec in records:
        try:
            long_enough = float(rec["duration_s"]) >= min_seconds
        except ValueError:
            continue
        if rec["class"] in classes and long_enough:
            chosen.append(rec)
    tasks = []
    for name in settings:
        arguments, extension, fmt = SETTINGS[name]
        for rec in chosen:
            rel = encoded_name(rec["path"], extension)
            done = f"{rec['path']} ({rec['format']}) encoded by FFmpeg ({' '.join(arguments)})"
            row = {**rec, "path": rel.as_posix(), "format": fmt,
                   "notes": f"{done}; {rec.get('notes') or ''}".rstrip("; ")}
            tasks.append((name, row, source / rec["path"], out / name / rel, arguments))
    with ThreadPoolExecutor(max(jobs, 1)) as pool:
        errors = list(pool.map(lambda t: _encode(t[2], t[3], t[4]), tasks))
    rows: dict[str, list[dict]] = {name: [] for name in settings}
    for (name, row, src, _target, _args), error in zip(tasks, errors):
        if error:
            print(f"skipped {src} ({name}): {error}", file=sys.stderr)
        else:
            rows[name].append(row)
    for name, kept in rows.items():
        write_manifest(out / name / "manifest.csv", columns, kept)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.corpus.reencode",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path, help="manifest.csv of a real-world set")
    ap.add_argument("--out", type=Path, required=True, help="folder for the encoded files and their manifests")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS), metavar="SETTING",
                    help=f"codec settings (default: all of {', '.join(SETTINGS)})")
    ap.add_argument("--classes", nargs="+", default=list(DEFAULT_CLASSES), help="classes to encode")
    ap.add_argument("--min-seconds", type=float, default=5.0, help="shortest file encoded, s")
    ap.add_argument("--jobs", type=int, default=2, help="FFmpeg processes at once")
    args = ap.parse_args(argv)
    if args.out.resolve() == args.manifest.parent.resolve():
        ap.error("--out must not be the source folder")
    rows = reencode(args.manifest, args.out, settings=args.settings, classes=args.classes,
                    min_seconds=args.min_seconds, jobs=args.jobs)
    for name, kept in rows.items():
        print(f"{name}: {len(kept)} files (manifest: {args.out / name / 'manifest.csv'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
