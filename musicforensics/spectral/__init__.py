"""The shared spectral measures: one STFT framing (:mod:`.framing`), the streamed long-term spectrum and sample
statistics (:mod:`.summary`), spectral walls (:mod:`.wall`), the lower hull (:mod:`.hull`), and the numba
kernels with their NumPy twins (:mod:`.kernels`)."""
