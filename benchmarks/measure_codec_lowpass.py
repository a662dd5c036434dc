"""Measure where real encoders put their low-pass at 22.05, 32, 44.1 and 48 kHz, and write the table the lossy
detector reads (``musicforensics/models/codec_lowpass.json``).

    python -m benchmarks.measure_codec_lowpass [--out musicforensics/models/codec_lowpass.json] [--seconds 8]

For every rate and every setting (LAME CBR and VBR, FFmpeg's AAC, libvorbis, libopus, twolame and FFmpeg's own
MP2 encoder, each at the bitrates it accepts at that rate), stereo white noise at that rate (-20 dBFS rms per
channel, 16-bit, TPDF dither: no edge but the rate's Nyquist) is encoded with the corpus's command lines
(``benchmarks/corpus/codecs.py``), decoded to 16-bit PCM at the rate it was encoded at (Opus: 48 kHz, brought back
with FFmpeg's swr), and the wall of the long-term spectrum is found with the detector's own finder
(:func:`musicforensics.spectral.wall.find_wall` over [2.5 kHz, Nyquist - 300 Hz]). Noise fills every band, so
the wall is the encoder's own low-pass; on music the same settings measured 0-0.8 kHz lower (quiet tops,
VBR), which is why the table is matched with an asymmetric tolerance (``musicforensics/lossy/codecs.py``).

Also recorded per setting: the rate the encoder actually coded at (LAME resamples by default at low bitrates:
a decode brought back to the input rate then keeps no codec grid, only the wall), drop and steepness. Settings
an encoder refuses at a rate are left out. Takes about two minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.corpus import codecs

RATES = (22050, 32000, 44100, 48000)
#: MPEG-2 LSF (below 32 kHz) caps layer II / III at 160 kbps.
LSF_BELOW = 32000


def settings(rate: int) -> list[tuple[str, str, str, int | None]]:
    """(family, encoder, setting, nominal kbps) tried at ``rate``."""
    lsf = rate < LSF_BELOW
    mp3_cbr = (32, 48, 64, 80, 96, 112, 128, 144, 160) if lsf else (64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
    mp2 = (64, 96, 128, 160) if lsf else (96, 128, 160, 192, 224, 256, 320, 384)
    out = [("mp3", "lame", f"cbr{b}", b) for b in mp3_cbr]
    # LAME's VBR presets: nominal average bitrates from its documentation (44.1 kHz stereo music)
    vbr_kbps = {0: 245, 1: 225, 2: 190, 3: 175, 4: 165, 5: 130, 6: 115, 7: 100, 8: 85, 9: 65}
    out += [("mp3", "lame", f"v{q}", vbr_kbps[q]) for q in range(10)]
    out += [("aac", "ffmpeg aac", f"{b}k", b) for b in (64, 96, 128, 160, 192, 256, 320)]
    # libvorbis quality levels: nominal bitrates from its documentation (44.1 kHz stereo)
    vorbis_kbps = {0: 64, 1: 80, 2: 96, 3: 112, 4: 128, 5: 160, 6: 192, 7: 224, 8: 256, 10: 500}
    out += [("vorbis", "libvorbis", f"q{q}", vorbis_kbps[q]) for q in (0, 1, 2, 3, 4, 5, 6, 7, 8, 10)]
    out += [("opus", "libopus", f"{b}k", b) for b in (32, 48, 64, 96, 128, 160, 192, 256)]
    out += [("mp2", "twolame", f"{b}k", b) for b in mp2]
    out += [("mp2", "ffmpeg mp2", f"{b}k", b) for b in mp2]
    return out


def _ffmpeg(*args: str) -> list[str]:
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]


def encode_decode(src: Path, work: Path, family: str, encoder: str, setting: str, rate: int) -> tuple[Path, int]:
    """Encode ``src`` and decode it to 16-bit WAV at ``rate``; returns the decode and the coded rate."""
    if encoder == "ffmpeg mp2":
        coded = work / "c.mp2"
        codecs.run(_ffmpeg("-i", str(src), "-c:a", "mp2", "-b:a", setting, str(coded)))
    else:
        s = codecs.LossySetting(family, setting, family)
        coded = work / f"c{codecs.EXTENSION[family]}"
        codecs.encode(src, coded, s)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=sample_rate", "-of", "csv=p=0",
                            str(coded)], check=True, capture_output=True, text=True)
    coded_rate = int(probe.stdout.strip().splitlines()[0])
    out = work / "d.wav"
    codecs.decode(coded, out, sample_rate=rate, bit_depth=16)
    return out, coded_rate


def measure_wall(path: Path) -> dict | None:
    from musicforensics.config import AnalysisConfig
    from musicforensics.pipeline.analysis import spectral_pass
    from musicforensics.spectral.wall import find_wall, quantisation_floor_db

    sp = spectral_pass(path, config=AnalysisConfig(detectors=("bitdepth",)))
    w = find_wall(sp.freqs, sp.mean_db, fmin=2500.0, fmax=sp.sample_rate / 2 - 300.0)
    if w is None or w.drop_db < 12.0:
        return None
    q16 = quantisation_floor_db(16, sp.n_fft)
    return {"wall_hz": round(w.freq_hz, 1), "drop_db": round(w.drop_db, 1),
            "steepness_db_per_khz": round(w.steepness_db_per_khz, 1), "floor_re_16bit_db": round(w.floor_db - q16, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("musicforensics/models/codec_lowpass.json"))
    ap.add_argument("--seconds", type=float, default=8.0)
    a = ap.parse_args(argv)
    for tool in ("lame", "ffmpeg", "ffprobe"):
        codecs.require_tool(tool)
    rng = np.random.default_rng(1)
    table: dict[str, list] = {}
    refused: dict[str, list] = {}
    with tempfile.TemporaryDirectory(prefix="mf_lowpass_") as tmp:
        work = Path(tmp)
        for rate in RATES:
            src = work / f"noise_{rate}.wav"
            x = 0.1 * rng.standard_normal((int(a.seconds * rate), 2)) * 32768.0
            x += rng.uniform(-0.5, 0.5, x.shape) + rng.uniform(-0.5, 0.5, x.shape)
            sf.write(str(src), np.clip(np.round(x), -32768, 32767).astype(np.int16), rate, subtype="PCM_16")
            rows = []
            for family, encoder, setting, kbps in settings(rate):
                try:
                    dec, coded_rate = encode_decode(src, work, family, encoder, setting, rate)
                except (codecs.ToolFailedError, subprocess.CalledProcessError, ValueError):
                    refused.setdefault(str(rate), []).append(f"{encoder} {setting}")
                    continue
                wall = measure_wall(dec)
                row = {"family": family, "encoder": encoder, "setting": setting, "nominal_kbps": kbps,
                       "coded_rate": coded_rate, **(wall or {"wall_hz": None})}
                rows.append(row)
                print(rate, row, file=sys.stderr)
            table[str(rate)] = rows
    doc = {
        "format": "musicforensics-codec-lowpass", "format_version": 1,
        "measured_by": "python -m benchmarks.measure_codec_lowpass --out " + str(a.out),
        "source": f"stereo white noise, -20 dBFS rms, {a.seconds:g} s, 16-bit with TPDF dither, at each rate",
        "decode": "ffmpeg to 16-bit PCM at the rate encoded at (Opus: 48 kHz decode, swr back), no dither",
        "wall": "musicforensics.spectral.wall.find_wall over [2.5 kHz, Nyquist - 300 Hz]; null when the drop "
                "is under 12 dB (no low-pass below Nyquist - 300 Hz)",
        "tools": codecs.tool_versions(), "debian_packages": codecs.library_versions(),
        "refused": refused, "rates": table,
    }
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
