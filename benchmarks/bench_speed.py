"""Speed and memory of musicforensics, measured against the cost of just decoding the same file.

Usage::

    python -m benchmarks.bench_speed [--long] [--repeat N] [--music DIR] [--memory-hours H] [--skip-memory]
        [--only files|folder|memory|startup] [--durations S ...] [--markdown FILE]

Four measurements, all in one run so the ratios share the machine's state:

1. per file and stage: decode-only (soundfile reading the whole file in blocks of the sample type the analysis
   reads, float32 where exact = the floor), then ``analyze_file`` with the time of its shared spectral pass
   (decoding included) and of each detector (``DetectorResult.seconds``), for FLAC 44.1 kHz/16-bit, FLAC
   96 kHz/24-bit and MP3 (LAME CBR 192), 30 s, 3 min and 10 min long (plus 60 min with ``--long``);
   ``--repeat`` rounds, each of three decode-then-analysis pairs: every detector (the per-stage columns), the
   ``lossy`` command's detectors (lossy + hires + bitdepth) and the ``ai`` command's (ai); medians per stage.
   The two command ratios are the whole ``analyze_file`` of their run against decode-only, each also as "over
   decode" (the same minus one decode, i.e. the analysis work on top of the decoding the pass itself
   performs). ``--music DIR`` loops real recordings instead of the
   synthetic signal (the MP3 then encodes the looped 44.1 kHz music);
2. a folder of 12 x 30 s FLAC files through ``musicforensics scan --format jsonl`` with ``--jobs 1`` and ``2``;
3. peak resident memory (``ru_maxrss`` of a child process) analysing a 24-bit/96 kHz FLAC of ``--memory-hours``
   hours (default 2), next to a child that only imports and warms the kernels;
4. start-up: ``musicforensics --help`` against ``python -c pass`` (median of 7 runs).

Files are synthesised (tones, a slow sweep and noise, streamed block by block with ``soundfile.SoundFile``), or
looped from ``--music`` recordings, in a temporary folder that is deleted at the end. Never a unit test: numbers
depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

BLOCK = 1 << 18  # frames per synthesis / decode-only block (the fastest decode block measured: 2^16-2^18)


# -- material ------------------------------------------------------------------------------------------

def synth_blocks(seconds: float, sr: int, *, seed: int = 0, noise_dbfs: float = -70.0):
    """Stereo music-like test signal in blocks: four tones, a slow sweep, white noise; peak below -3 dBFS."""
    rng = np.random.default_rng(seed)
    total = round(seconds * sr)
    noise = 10 ** (noise_dbfs / 20)
    for start in range(0, total, BLOCK):
        n = min(BLOCK, total - start)
        t = (start + np.arange(n)) / sr
        mono = sum(0.12 * np.sin(2 * np.pi * f * t) for f in (110.0, 440.0, 1320.0, 5000.0))
        sweep_f = 200.0 + 9000.0 * (0.5 + 0.5 * np.sin(2 * np.pi * t / 37.0))
        mono = mono + 0.05 * np.sin(2 * np.pi * np.cumsum(sweep_f) / sr + start)
        block = np.stack([mono, 0.9 * mono], axis=1) + noise * rng.standard_normal((n, 2))
        yield block


def _stereo_writer(path: Path, sr: int, subtype: str) -> sf.SoundFile:
    """A stereo file open for writing, FLAC or WAV by the suffix of ``path``."""
    fmt = "FLAC" if path.suffix == ".flac" else "WAV"
    return sf.SoundFile(str(path), "w", samplerate=sr, channels=2, subtype=subtype, format=fmt)


def write_file(path: Path, seconds: float, sr: int, subtype: str, *, seed: int = 0) -> Path:
    """Stream a synthetic file to ``path`` (FLAC or WAV by suffix) without holding it in memory."""
    with _stereo_writer(path, sr, subtype) as fh:
        for block in synth_blocks(seconds, sr, seed=seed):
            fh.write(block)
    return path


def make_mp3(path: Path, seconds: float, sources: list[Path] | None = None) -> Path:
    wav = path.with_suffix(".wav")
    if sources:
        write_music(wav, seconds, 44100, "PCM_16", sources)
    else:
        write_file(wav, seconds, 44100, "PCM_16")
    subprocess.run(["lame", "--quiet", "--cbr", "-b", "192", str(wav), str(path)], check=True)
    wav.unlink()
    return path


# -- measurements --------------------------------------------------------------------------------------

def decode_only(path: Path) -> float:
    """Seconds to read every sample in blocks into one reused buffer (the floor any analysis of the whole file
    pays), as the analysis reads them: float32 where that is exact (PCM up to 24 bits, MP3: the cheaper read,
    by up to a quarter for MP3), float64 otherwise."""
    from musicforensics.io import audio

    dtype = audio.block_dtype(audio.read_info(path))
    t0 = time.perf_counter()
    with sf.SoundFile(str(path)) as fh:
        out = np.empty((BLOCK, fh.channels), dtype=dtype)
        while True:
            data = fh.read(BLOCK, dtype=dtype, always_2d=True, out=out)
            if len(data) == 0:
                break
    return time.perf_counter() - t0


#: The detectors of ``musicforensics lossy`` and ``musicforensics ai``; each command's ratio is the whole
#: ``analyze_file`` of such a run (reading, the spectral pass, its detectors).
LOSSY_COMMAND_DETECTORS = ("lossy", "hires", "bitdepth")  # lossy origin / fake hi-res / padded bit depth
AI_COMMAND_DETECTORS = ("ai",)  # AI (neural-decoder comb)
#: Runs per round: every detector (the per-stage columns), then each command's detectors.
RUNS = {"all": (), "lossy_cmd": LOSSY_COMMAND_DETECTORS, "ai_cmd": AI_COMMAND_DETECTORS}


def analyse_once(path: Path, detectors: tuple[str, ...] = ()) -> dict:
    """One ``analyze_file`` run: total seconds, the shared spectral pass (decoding included) and each detector."""
    from musicforensics.pipeline.analysis import analyze_file
    from musicforensics.config import AnalysisConfig

    config = AnalysisConfig(detectors=detectors)
    t0 = time.perf_counter()
    report = analyze_file(path, config=config)
    elapsed = time.perf_counter() - t0
    if report.status == "error":
        raise RuntimeError(f"analysis failed on {path}: {report.error}")
    # (an analyser without the pass timing, e.g. an older version under test, leaves it unknown)
    stages = {"total": elapsed, "spectral": getattr(report, "pass_seconds", float("nan"))}
    stages.update({d.detector: d.seconds for d in report.detectors})
    return stages


def paired_medians(path: Path, repeat: int) -> tuple[float, dict[str, dict]]:
    """Median decode-only time and, per run of RUNS, per-stage medians of ``analyze_file`` over ``repeat`` rounds.
    Each analysis follows its own decode, so a burst of load on the shared machine hits both sides of a ratio."""
    decodes: list[float] = []
    runs: dict[str, list[dict]] = {name: [] for name in RUNS}
    for _ in range(repeat):
        for name, detectors in RUNS.items():
            decodes.append(decode_only(path))
            runs[name].append(analyse_once(path, detectors))
    medians = {name: {k: statistics.median(r.get(k, 0.0) for r in rs) for k in rs[0]} for name, rs in runs.items()}
    return statistics.median(decodes), medians


def music_sources(folder: Path | None, sample_rate: int) -> list[Path]:
    """Stereo audio files at ``sample_rate`` under ``folder`` (sorted), to loop into test files."""
    if folder is None:
        return []
    found = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in (".flac", ".wav"):
            info = sf.info(str(p))
            if info.samplerate == sample_rate and info.channels == 2:
                found.append(p)
    return found


def write_music(path: Path, seconds: float, sr: int, subtype: str, sources: list[Path]) -> Path:
    """Loop real recordings (read whole: keep the source folder small) into a ``seconds``-long FLAC (or WAV)."""
    clip = np.concatenate([sf.read(str(p), dtype="float64", always_2d=True)[0] for p in sources])
    total = round(seconds * sr)
    with _stereo_writer(path, sr, subtype) as fh:
        done = 0
        while done < total:
            part = clip[: total - done]
            fh.write(part)
            done += part.shape[0]
    return path


def per_file_table(tmp: Path, durations: list[float], repeat: int, music: Path | None = None) -> list[list[str]]:
    """Per file and duration, in one run: decode-only, the spectral pass, each detector, and the two ratios."""
    from musicforensics.pipeline.analysis import warm_up

    warm_up()
    cd_src, hr_src = music_sources(music, 44100), music_sources(music, 96000)
    rows = []
    for seconds in durations:
        reps = repeat if seconds < 3600 else max(1, repeat // 2)  # 10 min rows need every round (machine noise)

        def flac(sr, subtype, src, s=seconds):
            if src:
                return lambda p: write_music(p, s, sr, subtype, src)
            return lambda p: write_file(p, s, sr, subtype)

        specs = [("FLAC 44.1 kHz/16" + (" music" if cd_src else ""), flac(44100, "PCM_16", cd_src), ".flac"),
                 ("FLAC 96 kHz/24" + (" music" if hr_src else ""), flac(96000, "PCM_24", hr_src), ".flac"),
                 ("MP3 CBR 192 (44.1 kHz)" + (" music" if cd_src else ""),
                  lambda p, s=seconds: make_mp3(p, s, cd_src), ".mp3")]
        for name, make, ext in specs:
            path = tmp / f"f_{int(seconds)}{ext}"
            make(path)
            decode_only(path)  # page cache warm for both measurements
            decode, runs = paired_medians(path, reps)
            st = runs["all"]
            i4, i5 = runs["lossy_cmd"]["total"], runs["ai_cmd"]["total"]
            over = st["spectral"] - decode  # the pass's own work on top of decoding
            rows.append([
                name, f"{seconds:g}", f"{decode:.3f}", f"{st['spectral']:.3f}", f"{over / decode:.2f}",
                f"{st.get('bitdepth', 0.0):.3f}", f"{st.get('hires', 0.0):.3f}", f"{st.get('lossy', 0.0):.3f}",
                f"{st.get('ai', 0.0):.3f}", f"{st['total']:.3f}", f"{st['total'] / decode:.2f}",
                f"{i4 / decode:.2f}", f"{(i4 - decode) / decode:.2f}",
                f"{i5 / decode:.2f}", f"{(i5 - decode) / decode:.2f}", f"{seconds / st['total']:.0f}x",
            ])
            print(f"  {name} {seconds:g} s: decode {decode:.3f} s, spectral pass {st['spectral']:.3f} s, "
                  f"total {st['total']:.3f} s", file=sys.stderr)
            path.unlink()
    return rows


PER_FILE_HEADER = ["file", "s", "decode", "spectral pass", "pass over decode / decode", "bitdepth", "hires", "lossy",
                   "ai", "total", "total / decode", "lossy command run / decode", "lossy command over decode / decode",
                   "ai command run / decode", "ai command over decode / decode", "x real time"]


def cli_exe() -> list[str]:
    exe = shutil.which("musicforensics")
    return [exe] if exe else [sys.executable, "-m", "musicforensics"]


def folder_table(tmp: Path, n_files: int = 12, seconds: float = 30.0) -> list[list[str]]:
    folder = tmp / "folder"
    folder.mkdir()
    for i in range(n_files):
        write_file(folder / f"t{i:02d}.flac", seconds, 44100, "PCM_16", seed=i)
    decode_total = sum(decode_only(p) for p in sorted(folder.iterdir()))
    rows = []
    for jobs in (1, 2):
        t0 = time.perf_counter()
        subprocess.run([*cli_exe(), "scan", str(folder), "--format", "jsonl", "--jobs", str(jobs), "--quiet"],
                       check=False, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        rows.append([str(jobs), str(n_files), f"{n_files * seconds:g}", f"{wall:.2f}", f"{n_files / wall:.2f}",
                     f"{n_files * seconds / wall:.0f}x", f"{decode_total:.2f}"])
        print(f"  folder --jobs {jobs}: {wall:.2f} s", file=sys.stderr)
    shutil.rmtree(folder)
    return rows


MEMORY_CHILD = """
import resource, sys, time
from musicforensics.pipeline.analysis import analyze_file, warm_up
warm_up()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
r = analyze_file(sys.argv[1]) if len(sys.argv) > 1 else None
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base, peak, dt, None if r is None else r.status)
"""


def memory_table(tmp: Path, hours: float) -> list[list[str]]:
    path = tmp / "long_96k24.flac"
    t0 = time.perf_counter()
    write_file(path, hours * 3600.0, 96000, "PCM_24", seed=7)
    print(f"  wrote {hours:g} h 96 kHz/24-bit FLAC ({path.stat().st_size / 1e9:.2f} GB) in "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    rows = []
    for label, args in (("import + warm-up only", []), (f"analyse {hours:g} h 96 kHz/24-bit FLAC", [str(path)])):
        out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, *args], capture_output=True, text=True, check=True)
        base, peak, dt, status = out.stdout.split()
        rows.append([label, f"{int(base) / 1024:.0f}", f"{int(peak) / 1024:.0f}",
                     "-" if status == "None" else f"{float(dt):.0f}", status])
        print(f"  memory {label}: peak {int(peak) / 1024:.0f} MB", file=sys.stderr)
    rows.append(["(file size, MB)", "", f"{path.stat().st_size / 1e6:.0f}", "", ""])
    path.unlink()
    return rows


def startup_table(runs: int = 7) -> list[list[str]]:
    def med(cmd):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    base = med([sys.executable, "-c", "pass"])
    helped = med([*cli_exe(), "--help"])
    scan_help = med([*cli_exe(), "scan", "--help"])
    return [["python -c pass", f"{1000 * base:.0f}", "-"],
            ["musicforensics --help", f"{1000 * helped:.0f}", f"{1000 * (helped - base):.0f}"],
            ["musicforensics scan --help", f"{1000 * scan_help:.0f}", f"{1000 * (scan_help - base):.0f}"]]


# -- output --------------------------------------------------------------------------------------------

def render(title: str, header: list[str], rows: list[list[str]], *, markdown: bool) -> str:
    if markdown:
        lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    lines = [title, fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from musicforensics import __version__

    return (f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; numpy {np.__version__}; "
            f"soundfile {sf.__version__} (libsndfile {sf.__libsndfile_version__}); musicforensics {__version__}; "
            f"load average at start {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--long", action="store_true", help="Also measure 60-minute files.")
    ap.add_argument("--repeat", type=int, default=3, help="Runs per measurement (median; 1 for files of 10 min or more).")
    ap.add_argument("--memory-hours", type=float, default=2.0, help="Length of the memory test file, hours.")
    ap.add_argument("--skip-memory", action="store_true", help="Skip the long-file memory test.")
    ap.add_argument("--only", choices=("files", "folder", "memory", "startup"), action="append",
                    help="Run only these parts (repeatable).")
    ap.add_argument("--durations", type=float, nargs="+", help="File lengths to measure, seconds (overrides --long).")
    ap.add_argument("--markdown", type=Path, help="Also write the tables as markdown to this file.")
    ap.add_argument("--music", type=Path,
                    help="Folder of real recordings: stereo 44.1 / 96 kHz files in it are looped into the FLAC test "
                         "files of that rate instead of the synthetic signal (MP3 stays synthetic).")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean the temporary folder when stopped
    parts = set(args.only or ("files", "folder", "memory", "startup"))
    if args.skip_memory:
        parts.discard("memory")
    durations = args.durations or ([30.0, 180.0, 600.0] + ([3600.0] if args.long else []))
    tables = []
    header = f"Machine: {machine()}\n"
    print(header, file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="mf_bench_") as tmpdir:
        tmp = Path(tmpdir)
        if "startup" in parts:
            tables.append(("Start-up (median of 7 runs)", ["command", "ms", "ms over python"], startup_table()))
        if "files" in parts:
            title = (f"Per file and stage, seconds (median of {args.repeat} rounds below 60 min, "
                     f"{max(1, args.repeat // 2)} from 60 min); ratios against decode-only of the same file")
            tables.append((title, PER_FILE_HEADER, per_file_table(tmp, durations, args.repeat, args.music)))
        if "folder" in parts:
            tables.append(("Folder: 12 x 30 s FLAC 44.1 kHz/16 via `musicforensics scan --format jsonl`",
                           ["jobs", "files", "audio s", "wall s", "files/s", "x real time", "decode-only s (1 core)"],
                           folder_table(tmp)))
        if "memory" in parts:
            tables.append(("Peak resident memory of a child process (ru_maxrss)",
                           ["run", "after warm-up MB", "peak MB", "analysis s", "status"],
                           memory_table(tmp, args.memory_hours)))
    print(header)
    for t in tables:
        print(render(*t, markdown=False))
    if args.markdown:
        args.markdown.write_text(header + "\n" + "\n".join(render(*t, markdown=True) for t in tables), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
