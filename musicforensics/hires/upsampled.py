"""Fake hi-res (``upsampled``): a file stored at a higher rate than its content, e.g. 96 kHz whose spectrum
stops at 22.05 kHz with nothing above (docs/references.md, "fake hi-res").

For every standard rate r below the file's rate (44.1, 48, 88.2, 96, 176.4 kHz) the long-term spectrum
(spine mean dB) is split at r/2: ``above`` is the median level over [r/2 + ABOVE_GUARD_HZ, min(fs/2, r/2 +
ABOVE_SPAN_HZ)], ``content`` the 95th percentile of the 100 Hz-smoothed level over [1 kHz, r/2 - 1 kHz].
The file is upsampled from r when ``above`` is digital silence (within UPS_SILENT_MARGIN_DB of 16-bit
rounding noise in one bin), ``content - above >= UPS_MIN_GAP_DB``, and either

* there is an edge at r/2: the mean level over [r/2 - EDGE_SPAN_HZ, r/2 - ABOVE_GUARD_HZ] stands
  UPS_MIN_EDGE_DB over ``above`` (a resampler cuts at r/2; a genuine hi-res roll-off that has faded into the
  floor before r/2 has no edge there), or
* the band above is digitally silent: the median of the long-term mean power there, read without the spine's
  POWER_FLOOR (-140 dB per bin, which sits above 24-bit rounding noise), is within UPS_DIGITAL_SILENCE_DB of
  24-bit rounding noise. Only arithmetic leaves a band that empty: a real converter's analogue noise floor
  (about -120 dBFS rms at best, ~ -154 dB per bin at n_fft 16384) is 30 dB above 24-bit rounding (-184 dB per
  bin), so music that fades before r/2 over a real noise floor fails it, whatever its edge.

The content gap is relative: when the band above is digitally silent, the content is compared with that
unfloored level (a quiet 16-bit source up-sampled into 24 bits stands only ~20 dB over 16-bit rounding, but
~70 dB over the empty band above).

The smallest such r whose Nyquist is not below the measured wall is reported as the source rate. Genuine
hi-res content with any noise floor above r/2 fails the silence test.

**Interpolating up-samplers** (sox ``rate -q``, a cubic interpolator; FFmpeg's swr with a short filter) leave
images of the content above r/2 instead of silence, so the silence test cannot see them. An interpolator's
first image of a component at f lies at r - f: the fine structure of the spectrum above r/2 mirrors the one
below, bin for bin, around exactly r/2 (:func:`mirror_test`). Per STFT frame of 5 Hz bins (every standard r/2
is a bin centre), the log spectrum detrended over 41 bins at r/2 + k is correlated with r/2 - k for k in
MIRROR_BAND_HZ; the null is the same correlation around r/2 + d for d = +-3..60 bins. Up-sampled from r when
z >= MIRROR_MIN_Z and the correlation itself reaches MIRROR_MIN_CORR (images dominate above r/2): real 48 kHz
recordings score z <= 3.9; FluidSynth renders at 88.2 / 96 kHz (which interpolate 44.1 kHz samples, under a
native-rate noise floor) up to z 24 but a correlation of at most 0.33.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import scipy.fft
from scipy.ndimage import uniform_filter1d

from ..detector import Detector, TrackContext
from ..results import Finding
from ..spectral.wall import find_wall, quantisation_floor_db
from . import UPSAMPLED
from .evidence import MirrorTest, UpsampledEvidence, UpsamplingCandidate

STANDARD_RATES = (44100, 48000, 88200, 96000, 176400)
#: Gap (Hz) left above a candidate Nyquist for the resampler's transition band.
ABOVE_GUARD_HZ = 300.0
#: Width (Hz) of the region above a candidate Nyquist that must be silent.
ABOVE_SPAN_HZ = 12000.0
#: "Silent" = median level above at most this many dB over 16-bit rounding noise per bin (TPDF-dithered
#: 16-bit is +4.8 dB; the genuine 48 kHz renders of the dev split sit at +12..+17 dB above 22.35 kHz).
UPS_SILENT_MARGIN_DB = 8.0
#: Minimum distance between the content and the silence above, dB.
UPS_MIN_GAP_DB = 40.0
#: Minimum edge at the candidate Nyquist, dB: mean level over [r/2 - EDGE_SPAN_HZ, r/2 - ABOVE_GUARD_HZ]
#: minus the level above. A resampler's anti-imaging filter cuts within a few hundred Hz of r/2, so the
#: content just below r/2 stands over the silence; a genuine hi-res render whose natural roll-off has
#: already reached the floor before r/2 is no upsample. Dev split: genuine hi-res renders 3.1-8.5 dB at
#: 44.1 kHz (the 96 kHz render that was flagged: 6.0 dB), true upsamples 14.2-28.3 dB at their source
#: Nyquist; the threshold sits between (docs/lossy.md).
UPS_MIN_EDGE_DB = 11.0
#: "Digitally silent" band above r/2 (no edge needed): median mean power at most this many dB over 24-bit
#: rounding noise per bin (TPDF dither adds 4.8 dB). Dev split: sox upsamples 0.4-0.9 dB, ffmpeg upsamples
#: 1.9-10.8 dB at their source rate; genuine 24-bit and hi-res renders 53-103 dB, 16-bit files >= 48 dB (their
#: own rounding noise). A converter's analogue floor sits >= 30 dB over 24-bit rounding (module docstring).
UPS_DIGITAL_SILENCE_DB = 12.0
#: Power added before the logarithm of the floorless level above (-300 dB: exact zeros stay finite).
TINY_POWER = 1e-30
EDGE_SPAN_HZ = 1500.0
#: Files at or below this rate are not hi-res candidates, Hz.
MIN_RATE = 44100 * 1.01
#: Mirror test: bin width (Hz), seconds read (the middle of the track), frames used at most, detrending width
#: (bins), the band of distances k from r/2 correlated (Hz), the null's centre shifts (bins), and what decides.
MIRROR_BIN_HZ = 5.0
MIRROR_SECONDS = 20.0
MIRROR_MAX_FRAMES = 60
MIRROR_DETREND_BINS = 41
MIRROR_BAND_HZ = (200.0, 6000.0)
MIRROR_SHIFTS = tuple(range(-60, -2, 3)) + tuple(range(3, 61, 3))
MIRROR_MIN_Z = 10.0
MIRROR_MIN_CORR = 0.4
#: Floor of the mirror null's robust spread.
MIRROR_MIN_SPREAD = 0.005
#: Highest standard rate tried as an interpolator's source, and the room (Hz) needed above its Nyquist.
MIRROR_ROOM_HZ = 1000.0


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    if width <= 1:
        return x
    return np.convolve(x, np.ones(width) / width, mode="same")


def upsampling_evidence(freqs: np.ndarray, level_db: np.ndarray, sample_rate: int, n_fft: int,
                        mean_power: np.ndarray | None = None) -> UpsampledEvidence:
    """Per candidate source rate: level above its Nyquist, content below, and the verdict; plus the wall.

    ``level_db`` is the spine's mean dB (floored at POWER_FLOOR); ``mean_power`` its linear mean power, read
    without a floor for the digital-silence test (without it, only the edge test can pass a candidate).
    """
    nyq = sample_rate / 2
    q16 = quantisation_floor_db(16, n_fft)
    q24 = quantisation_floor_db(24, n_fft)
    df = freqs[1] - freqs[0]
    smooth = _smooth(level_db, round(100.0 / df))
    cands = []
    for r in STANDARD_RATES:
        if r >= sample_rate * 0.99:
            continue
        lo, hi = r / 2 + ABOVE_GUARD_HZ, min(nyq - 100.0, r / 2 + ABOVE_SPAN_HZ)
        sel_above = (freqs >= lo) & (freqs <= hi)
        sel_below = (freqs >= 1000.0) & (freqs <= r / 2 - 1000.0)
        if sel_above.sum() < 4 or sel_below.sum() < 4:
            continue
        above = float(np.median(level_db[sel_above]))
        content = float(np.percentile(smooth[sel_below], 95))
        sel_near = (freqs >= r / 2 - EDGE_SPAN_HZ) & (freqs <= r / 2 - ABOVE_GUARD_HZ)
        near = float(np.mean(level_db[sel_near]))
        raw = None if mean_power is None else \
            float(10.0 * np.log10(np.median(mean_power[sel_above]) + TINY_POWER)) - q24
        edge = near - above >= UPS_MIN_EDGE_DB
        digital = raw is not None and raw <= UPS_DIGITAL_SILENCE_DB
        # the gap to the band above, read without the spectrum's floor when that band is digitally silent
        gap = content - (min(above, raw + q24) if digital else above)
        ok = above - q16 <= UPS_SILENT_MARGIN_DB and gap >= UPS_MIN_GAP_DB and (edge or digital)
        cands.append(UpsamplingCandidate(
            rate=r, above_db=round(above, 2), above_re_16bit_db=round(above - q16, 2),
            above_re_24bit_unfloored_db=None if raw is None else round(raw, 2), content_db=round(content, 2),
            edge_db=round(near - above, 2), digital_silence=bool(digital), silent_above=bool(ok),
            content_gap_db=round(gap, 2)))
    wall = find_wall(freqs, level_db, fmin=8000.0, fmax=nyq - 1500.0)
    return UpsampledEvidence(candidates=tuple(cands), wall=None if wall is None else wall.rounded(),
                             q16_floor_db=round(q16, 3))


def source_candidate(ev: UpsampledEvidence) -> UpsamplingCandidate | None:
    """The candidate source rate of :func:`upsampling_evidence` ``ev`` the file was upsampled from (the
    smallest passing rate whose Nyquist is not below the measured wall), or None when it was not upsampled."""
    passing = [c for c in ev.candidates if c.silent_above]
    if not passing:
        return None
    wall_hz = ev.wall.freq_hz if ev.wall else 0.0
    fitting = [c for c in passing if c.rate / 2 >= wall_hz - 300.0]
    return (fitting or passing)[0]


def log_spectra(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Detrended log power spectra (frames, bins) of up to MIRROR_MAX_FRAMES Hann frames of MIRROR_BIN_HZ
    resolution spread over ``x`` (mono): 10 log10 P minus its MIRROR_DETREND_BINS-bin moving mean (the fine
    structure: partials, noise grain)."""
    n = int(round(sample_rate / MIRROR_BIN_HZ))
    if x.size < n + n // 2:
        return np.zeros((0, n // 2 + 1))
    starts = np.arange(0, x.size - n, n // 2)
    if starts.size > MIRROR_MAX_FRAMES:
        starts = starts[np.linspace(0, starts.size - 1, MIRROR_MAX_FRAMES).round().astype(int)]
    window = np.hanning(n).astype(np.float32)
    frames = np.stack([x[s:s + n] for s in starts]).astype(np.float32) * window
    spec = scipy.fft.rfft(frames, axis=1)
    level = 10.0 * np.log10(spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2 + 1e-20)
    return level - uniform_filter1d(level, size=MIRROR_DETREND_BINS, axis=1, mode="nearest")


def _mirror_corr(level: np.ndarray, centre: int, k: np.ndarray) -> float:
    """Mean over frames of the correlation between ``level[:, centre + k]`` and ``level[:, centre - k]``."""
    hi, lo = centre + k, centre - k
    ok = (hi < level.shape[1]) & (lo >= 0)
    if ok.sum() < 20:
        return float("nan")
    a = level[:, hi[ok]]
    b = level[:, lo[ok]]
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1)) + 1e-12
    return float(np.mean((a * b).sum(axis=1) / den))


def mirror_test(level: np.ndarray, rate: int) -> MirrorTest:
    """The mirror correlation around ``rate`` / 2 in detrended log spectra (:func:`log_spectra`), with its null
    and z (module docstring)."""
    centre = int(round(rate / 2 / MIRROR_BIN_HZ))
    k = np.arange(int(MIRROR_BAND_HZ[0] / MIRROR_BIN_HZ), int(MIRROR_BAND_HZ[1] / MIRROR_BIN_HZ))
    at = _mirror_corr(level, centre, k) if level.shape[0] else float("nan")
    null = np.array([_mirror_corr(level, centre + d, k) for d in MIRROR_SHIFTS]) if level.shape[0] else np.zeros(0)
    null = null[np.isfinite(null)]
    if not np.isfinite(at) or null.size < 8:
        return MirrorTest(rate=rate, corr=None, null=None, z=0.0)
    med = float(np.median(null))
    spread = max(1.4826 * float(np.median(np.abs(null - med))), MIRROR_MIN_SPREAD)
    return MirrorTest(rate=rate, corr=round(at, 4), null=round(med, 4), z=round((at - med) / spread, 2))


def mirror_candidates(y: np.ndarray, sample_rate: int) -> tuple[MirrorTest, ...]:
    """:func:`mirror_test` at every standard rate below ``sample_rate`` with MIRROR_ROOM_HZ above its Nyquist, on
    the mono mix of ``y``."""
    rates = [r for r in STANDARD_RATES if r < sample_rate * 0.99 and r / 2 + MIRROR_ROOM_HZ <= sample_rate / 2]
    if not rates:
        return ()
    y = np.asarray(y)
    x = y.mean(axis=1) if y.ndim == 2 else y
    level = log_spectra(np.asarray(x, dtype=np.float32), sample_rate)
    return tuple(mirror_test(level, r) for r in rates)


def mirror_source(tests: tuple[MirrorTest, ...]) -> MirrorTest | None:
    """The interpolator's source rate: the passing test of largest z, or None."""
    passing = [t for t in tests if t.z >= MIRROR_MIN_Z and (t.corr or 0.0) >= MIRROR_MIN_CORR]
    return max(passing, key=lambda t: t.z) if passing else None


class HiresDetector(Detector):
    spec = UPSAMPLED

    def analyze(self, ctx: TrackContext):
        t0 = time.perf_counter()
        sr = ctx.info.sample_rate
        sp = ctx.spectrum
        if sr < MIN_RATE:
            ev = UpsampledEvidence(sample_rate=sr)
            finding = Finding("upsampled", False, 0.0, ev, reason=f"{sr} Hz: not above CD rate", detector=self.name)
            return self.result(findings=[finding], evidence=ev, seconds=time.perf_counter() - t0)
        ev = upsampling_evidence(sp.freqs, sp.mean_db, sr, sp.n_fft, sp.mean_power)
        src = source_candidate(ev)
        if src is not None:
            wall_hz = ev.wall.freq_hz if ev.wall else 0.0
            ev = replace(ev, source_rate_hz=src.rate)
            gap = src.content_db - src.above_db
            prob = float(min(0.999, 0.5 + (gap - UPS_MIN_GAP_DB) / 40.0 + 0.2))
            level = (f"digital silence, {src.above_re_24bit_unfloored_db:.1f} dB over 24-bit rounding"
                     if src.digital_silence else f"{src.above_db:.0f} dB")
            reason = (f"content stops at {wall_hz / 1000:.2f} kHz with silence above {src.rate / 2000:.2f} kHz "
                      f"({level}): upsampled from {src.rate / 1000:g} kHz")
            finding = Finding("upsampled", True, max(0.5, prob), ev, reason=reason, detector=self.name)
        else:
            dur = ctx.analysed_seconds
            length = min(MIRROR_SECONDS, dur)
            tests = mirror_candidates(ctx.excerpt(max(0.0, (dur - length) / 2), length), sr)
            ev = replace(ev, mirror=tests)
            hit = mirror_source(tests)
            if hit is not None:
                ev = replace(ev, source_rate_hz=hit.rate)
                reason = (f"the spectrum above {hit.rate / 2000:.2f} kHz mirrors the one below (correlation "
                          f"{hit.corr:.2f} against {hit.null:.2f} around other centres, z {hit.z:.0f}): images of an "
                          f"interpolating upsampler from {hit.rate / 1000:g} kHz")
                finding = Finding("upsampled", True, 0.99, ev, reason=reason, detector=self.name)
            else:
                top = max(ev.candidates, key=lambda c: c.rate, default=None)
                reason = ("content above every lower rate's Nyquist" if top is not None else "no standard lower rate")
                finding = Finding("upsampled", False, 0.02, ev, reason=reason, detector=self.name)
        return self.result(findings=[finding], evidence=ev, seconds=time.perf_counter() - t0)
