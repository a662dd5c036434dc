"""Private numba kernels: the only place numba is imported.

Each kernel is a plain loop with no validation (the public wrappers in :mod:`musicforensics.dsp` validate),
compiled lazily with ``cache=True`` (set ``NUMBA_CACHE_DIR`` where the package folder is read-only), and has
a NumPy twin in :mod:`musicforensics.dsp._reference` (``_reference_comb`` and ``_reference_lossy`` for the
``comb`` and ``lossy`` kernels) that the tests compare it with.
"""
