"""The real-world layer of the reference corpus: real recordings sent through the corpus's codecs, resamplers,
hard negatives and fake hi-res variants.

Usage (from ``build.py``)::

    python -m benchmarks.corpus.build --out DIR --realworld SOURCE [--seed N] [--jobs N]

``SOURCE`` is a real-world set laid out like ``../shared/realworld`` (a ``manifest.csv`` with ``path``, ``class``,
``duration_s`` columns). Its recordings of class ``genuine`` lasting at least :data:`MIN_SOURCE_SECONDS` are read
in place; only derived files (and a :data:`EXCERPT_SECONDS` excerpt of each recording) are written, into ``DIR``
(never into the repository: the recordings carry mixed licences). The split is by recording: every file derived
from one recording shares its ``dev`` / ``eval`` split, and copies of one recording published twice under two
names share one split too (:func:`recording_key`).

What each recording becomes (the ``class`` / ``family`` / ``setting`` / ``postprocess`` columns):

* ``genuine/recording``: the excerpt, at its own rate and bit depth;
* ``lossy/<codec family>``: the excerpt through every single setting and double chain of :mod:`.codecs`, at its
  own rate (as the synthetic corpus does it);
* ``lossy/<codec family>`` with ``postprocess`` ``encoded_at_<rate>``: the excerpt resampled to 22.05 or 32 kHz
  (``sox rate -v``) and encoded there, on a rotating subset (codec low-passes at the lower rates);
* ``genuine/bandlimited``: an 8th-order Butterworth low-pass at 9-13.6 kHz (half with a -84 dBFS white noise
  floor added after it, as a recording chain would leave), 16-bit with TPDF dither;
* ``lossy/<codec family>`` with ``postprocess`` ``bandlimited_<cutoff>hz``: band-limited music through every
  setting, on a rotating subset (the codec low-pass sits above the music);
* ``genuine/rolloff``: a gentle analogue-like roll-off (Butterworth order 2-4 at 14-15 kHz) into the TPDF-dithered
  16-bit floor, no added noise;
* ``genuine/resampled_<tool>``: sox (``rate`` at -m/-h/-v), ffmpeg's default swr and ffmpeg's soxr, to 22.05, 32
  or 48 kHz (44.1 kHz from 48 kHz sources), stored there or brought back to the source rate, no codec (labelled
  up-sampled when stored above 44.1 kHz after a lower rate: 44.1 -> 48 kHz, 48 -> 32 -> 48 kHz);
* ``upsampled/<tool>``: 44.1 / 48 kHz recordings up-sampled to 88.2 / 96 kHz, 24-bit, by sox at every quality
  (``-q`` is cubic interpolation) and ffmpeg's swr and soxr;
* ``bitpadded/<depth>``: reduced resolution, 8 or 12 bits of content in a 16-bit file and 16 in a 24-bit file,
  plain, with TPDF dither at the reduced depth, with a -1.5 dB gain after the reduction, or a +3 LSB offset.

The codec commands are those of the synthetic corpus (:mod:`.codecs`): lossy files are decoded to 16-bit at the
rate they were encoded at, with ffmpeg and no dither (Opus, decoded at 48 kHz, brought back with swr).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from . import codecs
from .items import hash_key

#: Recordings shorter than this are not used (seconds).
MIN_SOURCE_SECONDS = 5.0
#: Longest stretch of a recording used (its middle), seconds.
EXCERPT_SECONDS = 20.0
#: Recordings of the genuine class whose content is shown lossy by codec-exact evidence: their derivatives
#: would carry the codec's grid, so they are left out (the reason is written into ``layer_info.json``).
EXCLUDED = {
    "genuine/essentia__flamenco.flac": "an MP3 decode: the MPEG layer III analysis finds isolated exact zeros at "
                                       "one granule alignment (z > 100), and its 15.7 kHz edge matches the "
                                       "peer fixture flamenco.mp3",
}
#: Coverage of the rotating families: recordings per setting (an even number balances dev and eval).
RATE_TRANSCODE_COVERAGE = 4
BANDLIMITED_COVERAGE = 6
#: Rates the rate-transcode family encodes at, Hz.
ENCODE_RATES = (22050, 32000)
#: Band-limit cut-offs (Hz) and the order of the Butterworth low-pass (steep, like a band-limited master).
BANDLIMIT_CUTOFFS = (9000, 10000, 12000, 13600)
BANDLIMIT_ORDER = 8
#: RMS of the white floor added after the band-limit to half of the band-limited recordings, dBFS.
RECORDING_FLOOR_DBFS = -84.0
#: Gentle roll-offs: Butterworth orders and cut-offs (Hz).
ROLLOFF_ORDERS = (2, 3, 4)
ROLLOFF_CUTOFFS = (14000, 14500, 15000)
#: Resampling variants per recording (of the 18 tool x target x round-trip combinations, rotating).
RESAMPLED_PER_RECORDING = 6
RESAMPLE_TOOLS = ("sox", "ffmpeg_swr", "ffmpeg_soxr")
#: sox ``rate`` qualities used in turn by the resampled family (sox's default is -h).
SOX_QUALITIES = ("-h", "-v", "-m")
#: Up-samplers: (family, tool, option).
UPSAMPLERS = (("sox_q", "sox", "-q"), ("sox_l", "sox", "-l"), ("sox_m", "sox", "-m"), ("sox_h", "sox", "-h"),
              ("sox_v", "sox", "-v"), ("ffmpeg_swr", "ffmpeg", "swr"), ("ffmpeg_soxr", "ffmpeg", "soxr"))
#: Reduced-resolution variants: (family, content bits, container bits) x treatment.
DEPTHS = (("8in16", 8, 16), ("12in16", 12, 16), ("16in24", 16, 24))
DEPTH_TREATMENTS = ("plain", "dither", "gain", "offset")
#: Reduced-resolution variants per recording (of the 12 depth x treatment combinations, rotating).
REDUCED_PER_RECORDING = 6
#: Gain applied after the reduction in the ``gain`` treatment, dB, and the offset of ``offset``, LSB.
REDUCED_GAIN_DB = -1.5
REDUCED_OFFSET_LSB = 3


@dataclass(frozen=True)
class Recording:
    """One source recording: its path in the source set, rate, split and position in the dev/eval-interleaved
    order (which drives the rotations)."""

    path: str
    key: str
    sample_rate: int
    split: str
    position: int

    @property
    def slug(self) -> str:
        return Path(self.path).stem


@dataclass(frozen=True)
class LayerItem:
    """One output file: ``kind`` selects the maker, ``params`` its arguments, ``meta`` the manifest columns."""

    path: str
    kind: str
    recording: Recording
    params: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


def recording_key(path: str) -> str:
    """The name a recording is grouped by for the split: the file name after the publisher prefix (``essentia__``,
    ``smstools__``...), so one recording published by two projects lands in one split."""
    return Path(path).stem.split("__")[-1].lower()


def select_recordings(source: Path, *, seed: int) -> tuple[list[Recording], dict[str, str]]:
    """The recordings of ``source``'s manifest used by the layer (genuine, >= MIN_SOURCE_SECONDS, not EXCLUDED),
    split by recording key, interleaved dev / eval; and the skipped ones with the reason."""
    with open(source / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    chosen, skipped = [], {}
    for r in rows:
        if r["class"] != "genuine" or float(r["duration_s"]) < MIN_SOURCE_SECONDS:
            continue
        if r["path"] in EXCLUDED:
            skipped[r["path"]] = EXCLUDED[r["path"]]
            continue
        chosen.append(r)
    keys = sorted({recording_key(r["path"]) for r in chosen}, key=lambda k: hash_key(seed, "split:" + k))
    n_dev = (len(keys) + 1) // 2
    split_of = {k: ("dev" if i < n_dev else "eval") for i, k in enumerate(keys)}
    by_split = {s: sorted((r for r in chosen if split_of[recording_key(r["path"])] == s),
                          key=lambda r: hash_key(seed, "order:" + r["path"])) for s in ("dev", "eval")}
    ordered = []
    for i in range(max(len(v) for v in by_split.values())):
        ordered += [by_split[s][i] for s in ("dev", "eval") if i < len(by_split[s])]
    recs = [Recording(r["path"], recording_key(r["path"]), int(r["sample_rate"]), split_of[recording_key(r["path"])],
                      i) for i, r in enumerate(ordered)]
    return recs, skipped


def _rotate(recs: list[Recording], index: int, coverage: int) -> list[Recording]:
    k = min(coverage, len(recs))
    return [recs[(index * coverage + t) % len(recs)] for t in range(k)]


def _labels(lossy=0, upsampled=0, bitpadded=0) -> dict:
    return {"label_lossy": lossy, "label_upsampled": upsampled, "label_bitpadded": bitpadded, "label_ai": 0}


def _meta(rec: Recording, cls: str, family: str, *, codec="none", setting="", postprocess="none", **labels) -> dict:
    return {"split": rec.split, "class": cls, "family": family, "codec": codec, "setting": setting,
            "architecture": "", "weights": "", "expected_delta_hz": "", "postprocess": postprocess,
            "source_piece": rec.path, **_labels(**labels)}


def _khz(rate: int) -> str:
    return f"{rate / 1000:g}k"


def original_path(rec: Recording) -> str:
    return f"genuine/recording/{rec.slug}.flac"


def _chains() -> list[tuple[str, str, tuple[codecs.LossySetting, ...]]]:
    """(family, setting label, chain) of every single setting and double chain of the corpus."""
    out = [(s.family, s.setting, (s,)) for s in codecs.LOSSY_SETTINGS]
    out += [("double", "+".join(s.label for s in chain), chain) for chain in codecs.DOUBLE_CHAINS]
    return out


def _resample_combos(rec: Recording) -> list[tuple[str, int, bool]]:
    """(tool, target rate, round trip) combinations for a recording (targets: the standard rates other than its
    own among 22.05 / 32 / 44.1 / 48 kHz, three of them)."""
    targets = [r for r in (22050, 32000, 48000, 44100) if r != rec.sample_rate][:3]
    return [(tool, rate, back) for rate in targets for tool in RESAMPLE_TOOLS for back in (False, True)]


def plan_layer(recs: list[Recording]) -> list[LayerItem]:
    """Every file of the layer (pure: deterministic given the recordings)."""
    items: list[LayerItem] = []
    for rec in recs:
        items.append(LayerItem(original_path(rec), "original", rec, {},
                               _meta(rec, "genuine", "recording", setting=f"excerpt_{EXCERPT_SECONDS:g}s")))
        for family, setting, chain in _chains():
            name = setting if family == "double" else f"{chain[0].codec}_{setting}"
            items.append(LayerItem(f"lossy/{family}/{rec.slug}__{name}.flac", "transcode", rec,
                                   {"chain": [s.label for s in chain], "rate": rec.sample_rate},
                                   _meta(rec, "lossy", family, codec=chain[-1].codec, setting=setting, lossy=1)))
    singles = [c for c in _chains() if c[0] != "double"]
    for j, (family, setting, chain) in enumerate(singles):
        for k, rate in enumerate(ENCODE_RATES):
            for rec in _rotate(recs, 2 * j + k, RATE_TRANSCODE_COVERAGE):
                if rec.sample_rate <= rate:
                    continue
                items.append(LayerItem(
                    f"lossy/{family}/{rec.slug}__{chain[0].codec}_{setting}_at_{_khz(rate)}.flac", "rate_transcode",
                    rec, {"chain": [s.label for s in chain], "rate": rate},
                    _meta(rec, "lossy", family, codec=chain[0].codec, setting=setting, postprocess=f"encoded_at_{rate}",
                          lossy=1)))
    for i, rec in enumerate(recs):
        cutoff = BANDLIMIT_CUTOFFS[i % len(BANDLIMIT_CUTOFFS)]
        floor = i % 2 == 1
        items.append(LayerItem(f"genuine/bandlimited/{rec.slug}__lp{cutoff}{'_floor' if floor else ''}.flac",
                               "bandlimited", rec, {"cutoff": cutoff, "floor": floor},
                               _meta(rec, "genuine", "bandlimited",
                                     setting=f"butter{BANDLIMIT_ORDER}_{cutoff}hz" + ("_floor-84dbfs" if floor else ""))))
    for j, (family, setting, chain) in enumerate(_chains()):
        for t, rec in enumerate(_rotate(recs, j, BANDLIMITED_COVERAGE)):
            cutoff = BANDLIMIT_CUTOFFS[(j + t) % len(BANDLIMIT_CUTOFFS)]
            floor = (j + t) % 2 == 1
            name = setting if family == "double" else f"{chain[0].codec}_{setting}"
            items.append(LayerItem(
                f"lossy/{family}/{rec.slug}__lp{cutoff}{'_floor' if floor else ''}__{name}.flac", "bl_transcode", rec,
                {"chain": [s.label for s in chain], "rate": rec.sample_rate, "cutoff": cutoff, "floor": floor},
                _meta(rec, "lossy", family, codec=chain[-1].codec, setting=setting,
                      postprocess=f"bandlimited_{cutoff}hz" + ("_floor" if floor else ""), lossy=1)))
    for i, rec in enumerate(recs):
        for t in range(2):
            order = ROLLOFF_ORDERS[(i + t) % len(ROLLOFF_ORDERS)]
            cutoff = ROLLOFF_CUTOFFS[(2 * i + t) % len(ROLLOFF_CUTOFFS)]
            items.append(LayerItem(f"genuine/rolloff/{rec.slug}__butter{order}_{cutoff}.flac", "rolloff", rec,
                                   {"order": order, "cutoff": cutoff},
                                   _meta(rec, "genuine", "rolloff", setting=f"butter{order}_{cutoff}hz_tpdf16")))
    for i, rec in enumerate(recs):
        combos = _resample_combos(rec)
        for t in range(RESAMPLED_PER_RECORDING):
            tool, rate, back = combos[(i * RESAMPLED_PER_RECORDING + t) % len(combos)]
            quality = SOX_QUALITIES[(i + t) % len(SOX_QUALITIES)] if tool == "sox" else ""
            label = f"{rec.sample_rate}_to_{rate}" + (f"_to_{rec.sample_rate}" if back else "")
            stored = rec.sample_rate if back else rate
            # stored above 44.1 kHz after passing through a lower rate: up-sampled, which the upsampled finding
            # reports (44.1 -> 48 kHz, or 48 -> 32 -> 48 kHz); not lossy either way
            up = int(stored > 44100 and min(rate, rec.sample_rate) < stored)
            items.append(LayerItem(
                f"genuine/resampled_{tool}/{rec.slug}__{label}{quality.replace('-', '_')}.flac", "resampled", rec,
                {"tool": tool, "rate": rate, "back": back, "quality": quality},
                _meta(rec, "genuine", f"resampled_{tool}", setting=label + (f" sox{quality}" if quality else ""),
                      upsampled=up)))
    for rec in recs:
        if rec.sample_rate not in (44100, 48000):
            continue
        rate = 2 * rec.sample_rate
        for family, tool, option in UPSAMPLERS:
            items.append(LayerItem(f"upsampled/{family}/{rec.slug}__{_khz(rec.sample_rate)}_to_{_khz(rate)}.flac",
                                   "upsampled", rec, {"tool": tool, "option": option, "rate": rate},
                                   _meta(rec, "upsampled", family, setting=f"{rec.sample_rate}_to_{rate}_24bit",
                                         upsampled=1)))
    combos = [(d, t) for d in DEPTHS for t in DEPTH_TREATMENTS]
    for i, rec in enumerate(recs):
        for t in range(REDUCED_PER_RECORDING):
            (family, bits, container), treatment = combos[(i * REDUCED_PER_RECORDING + t) % len(combos)]
            items.append(LayerItem(f"bitpadded/{family}/{rec.slug}__{treatment}.flac", "reduced", rec,
                                   {"bits": bits, "container": container, "treatment": treatment},
                                   _meta(rec, "bitpadded", family, setting=treatment, bitpadded=1)))
    duplicates = [p for p, c in Counter(it.path for it in items).items() if c > 1]
    if duplicates:
        raise RuntimeError(f"planner produced duplicate paths: {duplicates[:3]!r}")
    return items


# -- makers ---------------------------------------------------------------------------------------------------

def _rng(item: LayerItem, seed: int) -> np.random.Generator:
    return np.random.default_rng(int(hash_key(seed, "item:" + item.path)[:12], 16))


def read_excerpt(source: Path, rec: Recording) -> tuple[np.ndarray, int, str]:
    """The middle EXCERPT_SECONDS of a recording: float64 samples (frames, channels), rate, and the PCM subtype
    to store it in (24-bit for 24-bit and float sources, else 16-bit)."""
    info = sf.info(str(source / rec.path))
    n = min(info.frames, int(EXCERPT_SECONDS * info.samplerate))
    start = (info.frames - n) // 2
    y, sr = sf.read(str(source / rec.path), start=start, frames=n, dtype="float64", always_2d=True)
    subtype = "PCM_16" if info.subtype in ("PCM_16", "PCM_S8", "PCM_U8") else "PCM_24"
    return y, sr, subtype


def _tpdf16(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """16-bit integers of float audio with TPDF dither of +-1 LSB."""
    x = y * 32768.0 + rng.uniform(-0.5, 0.5, y.shape) + rng.uniform(-0.5, 0.5, y.shape)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _butter(y: np.ndarray, sr: int, order: int, cutoff: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(order, cutoff, btype="low", fs=sr, output="sos"), y, axis=0)


def _bandlimited(y: np.ndarray, sr: int, cutoff: float, floor: bool, rng: np.random.Generator) -> np.ndarray:
    x = _butter(y, sr, BANDLIMIT_ORDER, cutoff)
    if floor:
        x = x + rng.standard_normal(x.shape) * 10 ** (RECORDING_FLOOR_DBFS / 20)
    return x


def _reduced(y: np.ndarray, bits: int, container: int, treatment: str, rng: np.random.Generator) -> np.ndarray:
    """Integer samples on the ``container`` grid carrying ``bits`` of content (left-aligned), after the
    treatment: dither at the reduced depth, a gain after the reduction (re-rounded to the container grid), or
    an offset of REDUCED_OFFSET_LSB container steps."""
    step = 2.0 ** (bits - 1)
    x = y * step
    if treatment == "dither":
        x = x + rng.uniform(-0.5, 0.5, x.shape) + rng.uniform(-0.5, 0.5, x.shape)
    q = np.clip(np.round(x), -step, step - 1)
    full = 2.0 ** (container - 1)
    v = q * (full / step)
    if treatment == "gain":
        v = np.round(v * 10 ** (REDUCED_GAIN_DB / 20))
    elif treatment == "offset":
        v = v + REDUCED_OFFSET_LSB
    return np.clip(v, -full, full - 1).astype(np.int64)


def _write_int(path: Path, v: np.ndarray, sr: int, container: int) -> None:
    """Write integers of a ``container``-bit grid as FLAC (left-aligned in int32, as soundfile expects)."""
    sf.write(str(path), (v << (32 - container)).astype(np.int32), sr, subtype=f"PCM_{container}", format="FLAC")


def _ffmpeg_resample(src: Path, dst: Path, rate: int, engine: str, bits: int) -> None:
    codecs.ffmpeg_resample(src, dst, sample_rate=rate, bit_depth=bits, resampler=engine)


def _sox_rate(src: Path, dst: Path, rate: int, quality: str, bits: int) -> None:
    codecs.run(["sox", "-G", str(src), "-b", str(bits), str(dst), "rate", quality, str(rate)])


def _resample(src: Path, dst: Path, tool: str, rate: int, quality: str, bits: int) -> None:
    if tool == "sox":
        _sox_rate(src, dst, rate, quality or "-h", bits)
    else:
        _ffmpeg_resample(src, dst, rate, tool.removeprefix("ffmpeg_"), bits)


def _chain_settings(labels: list[str]) -> tuple[codecs.LossySetting, ...]:
    by_label = {s.label: s for s in codecs.LOSSY_SETTINGS}
    by_label.update({s.label: s for chain in codecs.DOUBLE_CHAINS for s in chain})
    return tuple(by_label[label] for label in labels)


def make_item(item: LayerItem, out: Path, tmp: Path, source: Path, seed: int) -> None:
    """Write ``item`` into ``tmp`` (its originals and derived sources come from ``out``)."""
    rec = item.recording
    rng = _rng(item, seed)
    p = item.params
    if item.kind == "original":
        y, sr, subtype = read_excerpt(source, rec)
        sf.write(str(tmp), y, sr, subtype=subtype, format="FLAC")
        return
    src = out / original_path(rec)
    if not src.exists():
        raise FileNotFoundError(f"excerpt {str(src)!r} is missing (its original failed?)")
    with tempfile.TemporaryDirectory(prefix="mf_rw_") as work:
        work = Path(work)
        if item.kind == "transcode":
            codecs.transcode(src, tmp, _chain_settings(p["chain"]), sample_rate=p["rate"])
        elif item.kind == "rate_transcode":
            low = work / "low.wav"
            _sox_rate(src, low, p["rate"], "-v", 16)
            codecs.transcode(low, tmp, _chain_settings(p["chain"]), sample_rate=p["rate"])
        elif item.kind in ("bandlimited", "bl_transcode"):
            y, sr = sf.read(str(src), dtype="float64", always_2d=True)
            q = _tpdf16(_bandlimited(y, sr, p["cutoff"], p["floor"], rng), rng)
            if item.kind == "bandlimited":
                sf.write(str(tmp), q, sr, subtype="PCM_16", format="FLAC")
            else:
                feed = work / "bl.wav"
                sf.write(str(feed), q, sr, subtype="PCM_16")
                codecs.transcode(feed, tmp, _chain_settings(p["chain"]), sample_rate=p["rate"])
        elif item.kind == "rolloff":
            y, sr = sf.read(str(src), dtype="float64", always_2d=True)
            sf.write(str(tmp), _tpdf16(_butter(y, sr, p["order"], p["cutoff"]), rng), sr, subtype="PCM_16",
                     format="FLAC")
        elif item.kind == "resampled":
            bits = 24 if sf.info(str(src)).subtype == "PCM_24" else 16
            if p["back"]:
                mid = work / "mid.flac"
                _resample(src, mid, p["tool"], p["rate"], p["quality"], bits)
                _resample(mid, tmp, p["tool"], rec.sample_rate, p["quality"], bits)
            else:
                _resample(src, tmp, p["tool"], p["rate"], p["quality"], bits)
        elif item.kind == "upsampled":
            if p["tool"] == "sox":
                _sox_rate(src, tmp, p["rate"], p["option"], 24)
            else:
                _ffmpeg_resample(src, tmp, p["rate"], p["option"], 24)
        elif item.kind == "reduced":
            y, sr = sf.read(str(src), dtype="float64", always_2d=True)
            _write_int(tmp, _reduced(y, p["bits"], p["container"], p["treatment"], rng), sr, p["container"])
        else:
            raise ValueError(f"unknown real-world layer kind {item.kind!r}")


def _part(dst: Path) -> Path:
    return dst.with_name(f".part.{dst.name}")


def run_item(item: LayerItem, out: str, source: str, seed: int) -> tuple[str, str]:
    """Worker: make one item into a ``.part.`` file and rename it; returns ``(path, error or '')``."""
    dst = Path(out) / item.path
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _part(dst)
    try:
        make_item(item, Path(out), tmp, Path(source), seed)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise RuntimeError(f"maker wrote nothing to {str(tmp)!r}")
        os.replace(tmp, dst)
        return item.path, ""
    except Exception as exc:  # noqa: BLE001 - a failed file must not abort the build
        tmp.unlink(missing_ok=True)
        return item.path, f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _run(items: list[LayerItem], out: Path, source: Path, seed: int, jobs: int, failures: dict) -> None:
    todo = [it for it in items if not (out / it.path).exists()]
    done = 0

    def record(result):
        nonlocal done
        path, error = result
        done += 1
        if error:
            failures[path] = error
        _log(f"[realworld] {done}/{len(todo)} {'FAILED ' if error else ''}{path}{': ' + error if error else ''}")

    if jobs <= 1:
        for it in todo:
            record(run_item(it, str(out), str(source), seed))
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for fut in as_completed([pool.submit(run_item, it, str(out), str(source), seed) for it in todo]):
            record(fut.result())


def build_layer(out: Path, source: Path, *, seed: int = 0, jobs: int | None = None) -> list[dict]:
    """Build (or resume) the real-world layer from the recordings of ``source`` into ``out``; returns the manifest
    rows (``manifest.csv`` in the corpus's columns, ``layer_info.json`` with commands, counts and failures)."""
    from .build import MANIFEST_COLUMNS, save_manifest

    t0 = time.perf_counter()
    for tool in ("lame", "ffmpeg", "sox"):
        codecs.require_tool(tool)
    recs, skipped = select_recordings(source, seed=seed)
    items = plan_layer(recs)
    out.mkdir(parents=True, exist_ok=True)
    _log(f"[realworld] {len(recs)} recordings, {len(items)} files into {out}")
    failures: dict[str, str] = {}
    jobs = jobs or os.cpu_count() or 1
    originals = [it for it in items if it.kind == "original"]
    _run(originals, out, source, seed, jobs, failures)
    _run([it for it in items if it.kind != "original"], out, source, seed, jobs, failures)
    rows = []
    for it in sorted(items, key=lambda it: it.path):
        path = out / it.path
        if not path.exists():
            continue
        info = sf.info(str(path))
        bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}.get(info.subtype, 0)
        rows.append({"path": it.path, **it.meta, "sample_rate": info.samplerate, "bit_depth": bits,
                     "channels": info.channels, "duration_s": f"{info.frames / info.samplerate:.3f}"})
    save_manifest(out, rows, MANIFEST_COLUMNS)
    seconds = time.perf_counter() - t0
    info = {"source": str(source), "seed": seed, "build_seconds": round(seconds, 1),
            "recordings": {r.path: r.split for r in recs}, "skipped_recordings": skipped,
            "tools": codecs.tool_versions(), "debian_packages": codecs.library_versions(),
            "counts": {"total": len(rows), "by_class": dict(Counter(r["class"] for r in rows)),
                       "by_family": dict(Counter(f"{r['class']}/{r['family']}" for r in rows)),
                       "by_split": dict(Counter(r["split"] for r in rows))},
            "failures": failures}
    (out / "layer_info.json").write_text(json.dumps(info, indent=2, sort_keys=True))
    _log(f"[realworld] done: {len(rows)} files in {seconds:.0f} s; {len(failures)} failed (layer_info.json)")
    return rows
