"""What the HTML and Markdown reports share: figures of flagged tracks, counts, per-track cells, method notes.

No markup here, so both renderers say the same thing. :func:`collect_figures` is the only part that
computes (it reads the audio of flagged tracks through :mod:`musicforensics.plot`); the renderers only
consume its records.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..results import STATUS_ERROR, STATUS_INCONCLUSIVE, STATUS_OK, TrackReport
from .table import describe_format


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


def resolve_audio(label: str, search_dirs: Sequence[str | os.PathLike] = ()) -> Path | None:
    """The audio file a report's path points to: as given (absolute, or relative to the working folder),
    else relative to each of ``search_dirs`` (e.g. the folder of the JSON results); None when not found."""
    candidates = [Path(label)]
    if not os.path.isabs(label):
        candidates += [Path(d) / label for d in search_dirs]
    for c in candidates:
        try:
            if c.is_file():
                return c
        except OSError:
            continue
    return None


def collect_figures(reports: Sequence[TrackReport], *, config=None, search_dirs: Sequence[str | os.PathLike] = (),
                    max_figures: int = 50, dpi: int = 90,
                    on_figure: Callable[[TrackReport], None] | None = None) -> dict[str, FigureRecord]:
    """Summary figures of the flagged tracks, keyed by report path.

    A track whose audio is not reachable, or whose figure fails, gets a record with a ``note`` saying why;
    past ``max_figures`` the remaining flagged tracks get a note too. ``on_figure`` is called after each.
    """
    from ..errors import MusicForensicsError

    out: dict[str, FigureRecord] = {}
    made = 0
    for r in flagged(reports):
        if r.path in out:
            continue
        path = resolve_audio(r.path, search_dirs)
        if path is None:
            out[r.path] = FigureRecord(note="figure not available: the audio file is not reachable from here")
            continue
        if made >= max_figures:
            out[r.path] = FigureRecord(note=f"figure left out: more than {max_figures} flagged tracks (raise --max-figures)")
            continue
        from .. import plot

        try:
            out[r.path] = FigureRecord(png=plot.summary_png(path, r, config=config, dpi=dpi))
            made += 1
        except MusicForensicsError as exc:
            out[r.path] = FigureRecord(note=f"figure not available: {exc}")
        except Exception as exc:  # a plotting bug must not lose the whole report
            out[r.path] = FigureRecord(note=f"figure failed: {type(exc).__name__}: {exc}")
        if on_figure is not None:
            on_figure(r)
    return out


__all__ = ["resolve_audio", "collect_figures", "FigureRecord", "METHOD_NOTES", "KNOWN_LIMITS", "verdict_counts", "status_counts", "verdict_cell",
           "track_note", "flagged", "describe_format"]
