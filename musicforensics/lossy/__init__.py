"""Lossy origin ("fake lossless"): a lossless file whose content went through a lossy codec.

Where things are: the wall is measured in :mod:`musicforensics.spectral.wall` (on the long-term spectrum) and
judged in :mod:`.detector`; holes in :mod:`.holes`, the codec frame grid in :mod:`.grid`, band breaks in
:mod:`.band_breaks`, per-segment walls in :mod:`.segments`; the calibrated decision and the codec family in
:mod:`.decision`; codec tables in :mod:`.codecs`; what the verdict reports in :mod:`.evidence`.
"""

from ..detector import DetectorSpec

#: The lossy-origin detector (finding kind ``lossy``).
SPEC = DetectorSpec(name="lossy", version="7", kinds=("lossy",), order=30,
                    implementation="musicforensics.lossy.detector:LossyDetector",
                    models=("lossy_decision.json", "lossy_family.json", "codec_lowpass.json"), reads_samples=True)
