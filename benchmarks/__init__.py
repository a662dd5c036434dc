"""Benchmarks of musicforensics (docs/performance.md). Never unit tests: their numbers depend on the machine.

In-process measurements run with one BLAS thread, as every analysis the command line starts does
(:func:`musicforensics.config.one_blas_thread_by_default`; set before any benchmark module loads NumPy). With
OpenBLAS's default of a thread per core, its idle threads spin after each matrix product and their CPU time
lands in the analysis's process time.
"""

from musicforensics.config import one_blas_thread_by_default

one_blas_thread_by_default()
