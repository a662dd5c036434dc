"""Running the analysis: one file (:mod:`.analysis`), many files on an engine (:mod:`.scan`, :mod:`.engines`,
:mod:`.dask_engine`), result stores (:mod:`.store`, :mod:`.store_engine`), labelled evaluation (:mod:`.manifest`,
:mod:`.evaluation`, :mod:`.metrics`) and AI-model training (:mod:`.training`). The detectors it runs are listed in
:mod:`.registry`."""
