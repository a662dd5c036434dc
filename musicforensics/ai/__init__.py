"""AI-music detection: the comb of small spectral peaks that neural decoders' transposed convolutions leave.

Where things are: the comb is searched and scored in :mod:`.comb` (against the decoder catalogue of
:mod:`.decoders`), the fakeprint is taken in :mod:`.fakeprint`, the calibrated model lives in :mod:`.model`,
the detector that turns them into the ``ai`` verdict in :mod:`.detector`, and what it reports in
:mod:`.evidence`.
"""

from ..detector import DetectorSpec

#: The AI-music detector (finding kind ``ai``; named ``deconv`` before schema 1.1, still accepted).
SPEC = DetectorSpec(name="ai", version="7", kinds=("ai",), order=60,
                    implementation="musicforensics.ai.detector:AIDetector",
                    models=("default_ai.json",), model_option="ai_model", aliases=("deconv",),
                    observer="musicforensics.ai.fold:accumulator_for")
