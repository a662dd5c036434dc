"""Labelled reference corpus for musicforensics benchmarks.

``render`` turns music21 corpus pieces into audio with fluidsynth, ``codecs`` wraps the real encoders and
resamplers (lame, ffmpeg, sox), ``neural`` runs neural-decoder autoencoders, and ``build`` plans and writes
the corpus with its ``manifest.csv``. Run ``python -m benchmarks.corpus.build --help``.
"""
