"""Regenerate the small committed example clips in ``sample_audio/``.

Usage (from the repository root)::

    python sample_audio/make_samples.py [--out sample_audio] [--no-neural]

Every clip derives from one music21 piece (Bach chorale BWV 66.6) rendered with fluidsynth and the FluidR3 GM
soundfont, through the same code as the benchmark corpus (``benchmarks/corpus``). See ``README.md`` for what
each file is and what musicforensics should say about it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import build, codecs, render

PIECE = "bach/bwv66.6"
ARRANGEMENT = "piano"  # bright piano + soft shaker: real content up to ~20 kHz
SEED = 66
SAMPLE_RATE = 44100
DURATION_S = 6.0
SHORT_S = 4.0  # for the large-rate / mono clips
AI_ARCHITECTURE = "dac44"


def log(message: str) -> None:
    """Progress to stderr."""
    print(message, file=sys.stderr, flush=True)


def render_genuine() -> np.ndarray:
    """The chorale excerpt: float32 ``(frames, 2)`` at 44.1 kHz, peak -1 dBFS."""
    return render.render_piece(
        PIECE,
        arrangement=render.ARRANGEMENTS[ARRANGEMENT],
        sample_rate=SAMPLE_RATE,
        duration_s=DURATION_S,
        seed=SEED,
    )


def write_genuine(out: Path, audio: np.ndarray, rng: np.random.Generator) -> Path:
    """``genuine_bach_chorale.flac``: 16-bit TPDF-dithered render."""
    path = out / "genuine_bach_chorale.flac"
    build.write_pcm(path, audio, SAMPLE_RATE, bits=16, rng=rng)
    return path


def write_rolloff(out: Path, audio: np.ndarray, rng: np.random.Generator) -> Path:
    """``genuine_rolloff_analogue.flac``: mono, 3rd-order Butterworth at 15 kHz, -84 dBFS noise floor."""
    mono = audio.mean(axis=1, keepdims=True)
    y = build.analogue_rolloff(mono, SAMPLE_RATE, order=3, cutoff_hz=15000, rng=rng)
    path = out / "genuine_rolloff_analogue.flac"
    build.write_pcm(path, y, SAMPLE_RATE, bits=16, rng=rng)
    return path


def write_lossy(out: Path, genuine: Path) -> list[Path]:
    """Decoded transcodes (16-bit FLAC, 44.1 kHz) and one real MP3 container."""
    made = []
    for name, label in (
        ("lossy_mp3_128.flac", "mp3_128"),
        ("lossy_aac_128.flac", "aac_128"),
        ("lossy_opus_96.flac", "opus_96"),
    ):
        setting = next(s for s in codecs.LOSSY_SETTINGS if s.label == label)
        codecs.transcode(genuine, out / name, (setting,), sample_rate=SAMPLE_RATE)
        made.append(out / name)
    with tempfile.TemporaryDirectory(prefix="mf_samples_") as tmp:
        wav = Path(tmp) / "in.wav"
        codecs.decode(genuine, wav, bit_depth=16)
        mp3 = out / "lossy_container_mp3_320.mp3"
        codecs.encode(wav, mp3, codecs.LossySetting("mp3", "cbr320", "mp3_cbr"))
        made.append(mp3)
    return made


def write_fake_hires(out: Path, genuine: Path) -> list[Path]:
    """``upsampled_96k.flac`` (sox soxr 44.1 -> 96 kHz, 24-bit) and ``bitpadded_24bit.flac`` (16-in-24).

    Both are the first 4 s in mono to keep the folder small.
    """
    audio, rate = sf.read(str(genuine), dtype="int16", always_2d=True)
    mono16 = (audio[: int(SHORT_S * rate)].astype(np.int32).sum(axis=1) // 2).astype(np.int16)
    padded = out / "bitpadded_24bit.flac"
    sf.write(str(padded), mono16.astype(np.int32) << 16, rate, subtype="PCM_24")
    with tempfile.TemporaryDirectory(prefix="mf_samples_") as tmp:
        short = Path(tmp) / "short.flac"
        sf.write(str(short), mono16, rate, subtype="PCM_16")
        upsampled = out / "upsampled_96k.flac"
        codecs.sox_resample(short, upsampled, sample_rate=96000, bit_depth=24)
    return [upsampled, padded]


def write_ai(out: Path, audio: np.ndarray, rng: np.random.Generator) -> Path | None:
    """``ai_dac44_random.flac``: the excerpt through a randomly initialised DAC 44.1 kHz autoencoder."""
    try:
        from benchmarks.corpus import neural
    except Exception as exc:  # noqa: BLE001 - any import failure just means no AI sample
        log(f"skipped ai_{AI_ARCHITECTURE}_random.flac: neural.py not importable ({exc})")
        return None
    ok, reason = neural.available()
    if not ok:
        log(f"skipped ai_{AI_ARCHITECTURE}_random.flac: neural decoders unavailable ({reason})")
        return None
    with tempfile.TemporaryDirectory(prefix="mf_samples_cache_") as cache:
        y, rate = neural.autoencode(
            audio[: int(SHORT_S * SAMPLE_RATE)],
            SAMPLE_RATE,
            architecture=AI_ARCHITECTURE,
            weights="random",
            seed=SEED,
            cache_dir=Path(cache),
        )
    path = out / f"ai_{AI_ARCHITECTURE}_random.flac"
    build.write_pcm(path, render.normalise(y, peak_dbfs=-1.0), rate, bits=16, rng=rng)
    return path


def main(argv: list[str] | None = None) -> int:
    """Write every sample clip and print a size summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--no-neural", action="store_true", help="skip the AI clip")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    audio = render_genuine()
    genuine = write_genuine(args.out, audio, rng)
    made = [
        genuine,
        write_rolloff(args.out, audio, rng),
        *write_lossy(args.out, genuine),
        *write_fake_hires(args.out, genuine),
    ]
    if not args.no_neural:
        ai = write_ai(args.out, audio, rng)
        if ai is not None:
            made.append(ai)
    total = 0
    for path in made:
        size = path.stat().st_size
        total += size
        log(f"{path.name:32s} {size / 1024:7.0f} KiB")
    log(f"{'total':32s} {total / 1024:7.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
