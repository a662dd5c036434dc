"""AI-music detection from the deconvolution comb (finding kind ``ai``).

Neural decoders that upsample with transposed convolutions leave a comb of small spectral peaks spaced
``Delta = r / (k1 ... kL)`` Hz (Afchar et al., ISMIR 2025; SCIENCE.md section 2). Two kinds of evidence are
measured on the long-term mean-of-dB spectrum the scan already computed (no second pass over the audio):

* the **comb search** (:func:`musicforensics.dsp.comb.comb_search`): training-free; finds the spacing, the
  teeth that fired, the implied stride product and architecture family, and a z score against a
  harmonic-protected null of jittered combs;
* the **fakeprint** (:mod:`musicforensics.dsp.fakeprint`) fed to a logistic model (:mod:`musicforensics.learned`).

A logistic combiner (fitted on the reference corpus's dev split, shipped in ``models/default_ai.json``) turns
``[min(z, 30), fakeprint logit]`` into the reported probability; ``ai`` is detected at or above the model's
threshold. Set ``MUSICFORENSICS_AI_MODEL=/path/model.json`` (or ``musicforensics peaks --model``) to use
another model.

The fakeprint here is taken from the scan's spectrum: same STFT (16384 / 8192, periodic Hann), converted to
the unnormalised dB scale; frames below -100 dBFS are left out of the mean and the whole analysed span is
used (``--max-seconds 180`` gives the paper's 180 s); files not at 44.1 kHz are linearly interpolated onto
the 44.1 kHz bin grid instead of being resampled. :func:`musicforensics.dsp.fakeprint.fakeprint` is the
paper-faithful version.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..dsp import comb as _comb
from ..dsp import fakeprint as _fp
from ..results import Finding
from .base import Detector, TrackContext

#: Environment variable naming a model file to use instead of the shipped default.
MODEL_ENV = "MUSICFORENSICS_AI_MODEL"
#: Highest frequency the comb needs to see, Hz: files whose Nyquist is below COMB_FMIN_HZ + 1 kHz cannot be
#: judged (too few teeth above the music).
MIN_NYQUIST_HZ = _comb.COMB_FMIN_HZ + 1000.0


@dataclass
class Measurement:
    """What :func:`measure_spectrum` returns: the comb result and the fakeprint (4087 values)."""

    comb: _comb.CombResult
    fakeprint: np.ndarray


def fakeprint_from_summary(spectrum) -> np.ndarray:
    """The fakeprint computed from a :class:`~musicforensics.dsp.spectrum.SpectralSummary` (see module doc)."""
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
def _model(path: str | None):
    from ..learned import load_model

    model = load_model(path)
    return model, model.digest


def current_model():
    """The model in use: ``$MUSICFORENSICS_AI_MODEL`` or the shipped default; returns (model, short id)."""
    return _model(os.environ.get(MODEL_ENV) or None)


def _describe(comb: _comb.CombResult) -> str:
    if comb.delta_hz is None:
        return "no decoder-like comb"
    fam = comb.family
    arch = f"; likely {fam}" if fam else ""
    prod = f", stride product {comb.stride_product}" if comb.stride_product else ""
    return (f"comb every {comb.delta_hz:.2f} Hz ({len(comb.teeth)} teeth fired, z = {comb.z:.1f}{prod}{arch})")


class DeconvDetector(Detector):
    name = "deconv"
    version = "2"
    kinds = ("ai",)
    order = 60

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
        model, model_id = current_model()
        logit = model.fakeprint_logit(m.fakeprint)
        prob = model.probability(m.comb.z, logit)
        detected = prob >= model.threshold
        evidence = m.comb.to_dict() | {
            "fakeprint_logit": round(logit, 3), "model": model.source, "model_id": model_id,
            "threshold": model.threshold,
        }
        what = _describe(m.comb)
        if detected:
            reason = f"{what}: neural-decoder upsampling artefact"
        elif m.comb.delta_hz is not None:
            reason = f"best candidate {what}: below the detection threshold"
        else:
            reason = f"{what} (best z {m.comb.z:.1f})"
        finding = Finding("ai", bool(detected), prob, evidence, reason=reason, detector=self.name)
        return self.result(findings=[finding], evidence={"model_id": model_id}, seconds=time.perf_counter() - t0)

    def identity(self) -> str:
        """Version plus the digest of the AI model in use (``--model`` / ``$MUSICFORENSICS_AI_MODEL``)."""
        return f"{self.version}+{current_model()[1]}"

    def warm_up(self) -> None:
        _fp.warm_up()
        _comb.warm_up()


DETECTOR = DeconvDetector
