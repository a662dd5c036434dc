"""The ``ai`` verdict: the deconvolution comb of neural decoders, and the fakeprint, in one calibrated
probability.

Neural decoders that upsample with transposed convolutions leave a comb of small spectral peaks spaced
``Delta = r / (k1 ... kL)`` Hz (Afchar et al., ISMIR 2025; docs/references.md). Two kinds of evidence are
measured on the long-term mean-of-dB spectrum the analysis already computed (no second pass over the audio):

* the **comb search** (:func:`musicforensics.ai.comb.comb_search`): training-free; finds the spacing, the teeth
  that fired, the implied stride product and architecture family, and a z score against a harmonic-protected
  null of jittered combs;
* the **fakeprint** (:mod:`musicforensics.ai.fakeprint`) fed to a logistic model (:mod:`musicforensics.ai.model`).

A logistic combiner (fitted on the reference corpus's dev split, shipped in ``models/default_ai.json``) turns
``[min(z, 30), fakeprint logit]`` into the reported probability; ``ai`` is detected at or above the model's
threshold. ``AnalysisConfig.ai_model`` (``musicforensics ai --model FILE``) selects another model.

The fakeprint here is taken from the analysis's spectrum: same STFT (16384 / 8192, periodic Hann), converted
to the unnormalised dB scale; frames below -100 dBFS are left out of the mean and the whole analysed span is
used (``--max-seconds 180`` gives the paper's 180 s); files not at 44.1 kHz are linearly interpolated onto
the 44.1 kHz bin grid instead of being resampled. :func:`musicforensics.ai.fakeprint.fakeprint` is the
paper-faithful version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..detector import Detector, TrackContext
from ..results import Finding, MappingEvidence
from . import SPEC
from . import comb as _comb
from . import fakeprint as _fp
from .evidence import AIEvidence, SpacingMatch, Tooth
from .model import AIModel, load_model

#: Highest frequency the comb needs to see, Hz: files whose Nyquist is below COMB_FMIN_HZ + 1 kHz cannot be
#: judged (too few teeth above the music).
MIN_NYQUIST_HZ = _comb.COMB_FMIN_HZ + 1000.0


@dataclass
class Measurement:
    """What :func:`measure_spectrum` returns: the comb result and the fakeprint (4087 values)."""

    comb: _comb.CombResult
    fakeprint: np.ndarray


def fakeprint_from_summary(spectrum) -> np.ndarray:
    """The fakeprint computed from a :class:`~musicforensics.spectral.summary.SpectralSummary` (see module doc)."""
    window_sum = spectrum.n_fft / 2.0  # periodic Hann
    offset = 20.0 * np.log10(window_sum / 2.0)  # normalised (full-scale sine = 0 dB) -> unnormalised |X|^2
    lo, hi = _fp.band_bins()
    target = np.arange(lo, hi) * _fp.FAKEPRINT_RATE / _fp.FAKEPRINT_N_FFT
    if spectrum.sample_rate == _fp.FAKEPRINT_RATE and spectrum.n_fft == _fp.FAKEPRINT_N_FFT:
        band = spectrum.mean_db[lo:hi] + offset
    else:
        band = np.interp(target, spectrum.freqs, spectrum.mean_db) + offset
    return _fp.hull_residual(band)


def measure_spectrum(spectrum) -> Measurement:
    """Comb search and fakeprint of one long-term spectrum."""
    comb = _comb.comb_search(spectrum.mean_db, spectrum.sample_rate, spectrum.n_fft)
    return Measurement(comb=comb, fakeprint=fakeprint_from_summary(spectrum))


@lru_cache(maxsize=4)
def model_for(source: str | None) -> AIModel:
    """The AI model of a file (None: the shipped default), loaded once per process."""
    return load_model(source)


def evidence_of(comb: _comb.CombResult, logit: float, model: AIModel) -> AIEvidence:
    """The :class:`~.evidence.AIEvidence` of a comb search, a fakeprint logit and the model used."""
    return AIEvidence(
        comb_z=round(comb.z, 3), delta_hz=None if comb.delta_hz is None else round(comb.delta_hz, 4),
        band_hz=tuple(round(b, 1) for b in comb.band_hz), plausible_spacing=comb.plausible,
        stride_product=comb.stride_product, family=comb.family, harmonic_score=round(comb.harmonic, 3),
        teeth=tuple(Tooth(t["freq_hz"], t["prominence_db"]) for t in comb.teeth),
        rejected_harmonic_spacings=tuple(comb.rejected),
        matches=tuple(SpacingMatch(m["rate_hz"], m["stride_product"], m["delta_hz"], tuple(m["decoders"]))
                      for m in comb.matches[:4]),
        dense_z=round(comb.dense_z, 3), on_codec_grid=comb.codec_grid,
        strongest_spacing_hz=None if comb.coarse_delta_hz is None else round(comb.coarse_delta_hz, 4),
        fakeprint_logit=round(logit, 3), model=model.source, model_id=model.digest, threshold=model.threshold,
    )


def _describe(comb: _comb.CombResult) -> str:
    if comb.delta_hz is None:
        return "no decoder-like comb"
    fam = comb.family
    arch = f"; likely {fam}" if fam else ""
    prod = f", stride product {comb.stride_product}" if comb.stride_product else ""
    return (f"comb every {comb.delta_hz:.2f} Hz ({len(comb.teeth)} teeth fired, z = {comb.z:.1f}{prod}{arch})")


class AIDetector(Detector):
    spec = SPEC

    def analyze(self, ctx: TrackContext):
        t0 = time.perf_counter()
        spectrum = ctx.spectrum
        if spectrum.sample_rate / 2.0 < MIN_NYQUIST_HZ:
            f = Finding.undecided("ai", f"sample rate {spectrum.sample_rate} Hz: the comb needs content up to "
                                  f"{MIN_NYQUIST_HZ:.0f} Hz", detector=self.name)
            return self.result(findings=[f], seconds=time.perf_counter() - t0)
        if spectrum.n_active_frames == 0:
            f = Finding.undecided("ai", "no frame above the silence threshold", detector=self.name)
            return self.result(findings=[f], seconds=time.perf_counter() - t0)
        m = measure_spectrum(spectrum)
        model = model_for(self.config.ai_model)
        logit = model.fakeprint_logit(m.fakeprint)
        prob = model.probability(m.comb.z, logit)
        detected = prob >= model.threshold
        what = _describe(m.comb)
        if detected:
            reason = f"{what}: neural-decoder upsampling artefact"
        elif m.comb.delta_hz is not None:
            reason = f"best candidate {what}: below the detection threshold"
        else:
            reason = f"{what} (best z {m.comb.z:.1f})"
        finding = Finding("ai", bool(detected), prob, evidence_of(m.comb, logit, model), reason=reason,
                          detector=self.name)
        return self.result(findings=[finding], evidence=MappingEvidence({"model_id": model.digest}),
                           seconds=time.perf_counter() - t0)

    def warm_up(self) -> None:
        _fp.warm_up()
        _comb.warm_up()
