"""What every report format says the same way: the format line of a file, the verdict text, counts per verdict,
per-track cells and notes, and the method notes and known limits (plain text; each format escapes it)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from ...results import STATUS_ERROR, STATUS_INCONCLUSIVE, STATUS_OK, TrackReport


def evidence_value_text(value, limit: int) -> str:
    """One evidence value as text: floats to 6 significant digits, lists and dicts as JSON cut at ``limit``
    characters."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= limit else text[:limit] + " ..."
    return str(value)


def describe_format(audio: dict | None) -> str:
    """'FLAC 44.1 kHz/16-bit 2 ch 30.0 s' from an audio record."""
    if not audio:
        return ""
    rate = audio.get("sample_rate") or 0
    bits = audio.get("bit_depth")
    depth = f"/{bits}-bit" if bits else ""
    if audio.get("lossy_codec"):
        depth = f" {audio['lossy_codec']}"
        if audio.get("bitrate_kbps"):
            depth += f" ~{audio['bitrate_kbps']:.0f} kbps"
    return f"{audio.get('container', '')} {rate / 1000:g} kHz{depth} {audio.get('channels', '')} ch {audio.get('duration_s', 0):.1f} s"


def describe_verdicts(report) -> str:
    """Short text of the positive findings with their probability and the headline evidence."""
    if report.status == STATUS_ERROR:
        return report.error or "error"
    parts = []
    for kind in report.findings:
        f = report.verdicts[kind]
        parts.append(f"{kind} p={f.probability:.2f}" + (f" ({f.reason})" if f.reason else ""))
    if not parts and report.status == STATUS_INCONCLUSIVE:
        return "inconclusive: " + "; ".join(report.reasons)
    return "; ".join(parts) if parts else "clean"


#: What the reports say about the methods and their limits (kept short; docs/ has the detail).
METHOD_NOTES = (
    "Every track is read once: a Hann-windowed STFT (16384 samples, hop 8192) gives the long-term average "
    "spectrum (mean over frames and channels of the power in dB) and coarse band energies per time segment. "
    "The detectors judge that summary and the samples; each verdict carries the measured evidence shown here.",
    "Lossy origin: encoders low-pass before quantising, leaving a steep wall at a frequency typical of the codec "
    "and bitrate, with near-digital silence above it (Hennequin et al., ICASSP 2017).",
    "Fake hi-res: an upsampled file has a wall at the original Nyquist frequency; padded bit depth is an exact "
    "test of unused low bits.",
    "AI music: transposed convolutions in neural decoders leave a comb of small spectral peaks spaced "
    "fs / (product of strides) (Afchar et al., ISMIR 2025); the comb view shows the 5-16 kHz residual above "
    "a lower hull of the long-term spectrum.",
)
KNOWN_LIMITS = (
    "No wall to see: LAME V0, AAC at 256 kbps and more, Vorbis q6 and more, and Opus leave little or no "
    "band-limit scar; a clean verdict does not prove a file was never lossy.",
    "Genuine band-limited masters (old analogue tapes, vinyl, cassette, FM captures) roll off near 15-16 kHz "
    "too; a gradual roll-off with a noise floor above it is not a codec wall.",
    "Resampling and pitch shifting move the decoder comb; band-limiting below 8 kHz hides its upper teeth; "
    "decoders without transposed convolutions (e.g. Vocos' iSTFT head) leave no comb at all.",
    "Probabilities are calibrated on our reference corpus; material far from it (other genres, generators "
    "or codecs) may be judged less reliably.",
)


def verdict_counts(reports: Sequence[TrackReport]) -> tuple[list[str], dict[str, Counter]]:
    """Kinds seen in any report and, per kind, counts of detected / not detected / inconclusive."""
    kinds = sorted({k for r in reports for k in r.verdicts})
    counts: dict[str, Counter] = {k: Counter() for k in kinds}
    for r in reports:
        for k in kinds:
            f = r.verdicts.get(k)
            if f is None:
                counts[k]["not run"] += 1
            elif f.inconclusive:
                counts[k]["inconclusive"] += 1
            elif f.detected:
                counts[k]["detected"] += 1
            else:
                counts[k]["not detected"] += 1
    return kinds, counts


def status_counts(reports: Sequence[TrackReport]) -> Counter:
    c = Counter({STATUS_OK: 0, STATUS_INCONCLUSIVE: 0, STATUS_ERROR: 0})
    c.update(r.status for r in reports)
    return c


def verdict_cell(report: TrackReport, kind: str) -> tuple[str, float]:
    """Short text of one verdict and a sort key (probability; -1 when missing, -0.5 when inconclusive)."""
    f = report.verdicts.get(kind)
    if f is None:
        return "", -1.0
    if f.inconclusive:
        return "inconclusive", -0.5
    p = f.probability
    text = ("DETECTED" if f.detected else "no") + ("" if p is None else f" {p:.2f}")
    return text, (p if p is not None else (1.0 if f.detected else 0.0))


def track_note(report: TrackReport) -> str:
    """Error text, inconclusive reasons, or the reasons of the positive findings."""
    if report.error:
        return report.error
    if report.reasons:
        return "; ".join(report.reasons)
    return "; ".join(f"{k}: {report.verdicts[k].reason}" for k in report.findings if report.verdicts[k].reason)


def flagged(reports: Sequence[TrackReport]) -> list[TrackReport]:
    """Reports with at least one positive finding, in input order."""
    return [r for r in reports if r.findings]


@dataclass
class FigureRecord:
    """The summary figure of one flagged track, or why there is none.

    Attributes
    ----------
    png : bytes or None
        PNG data of the summary figure.
    note : str or None
        Why there is no figure (e.g. the audio file is not reachable from here).
    """

    png: bytes | None = None
    note: str | None = None
