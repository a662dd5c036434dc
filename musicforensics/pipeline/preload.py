"""What the local pool's fork server imports before it forks any worker: the analysis and every numba kernel,
loaded once, so each worker starts warm (no imports, no kernel loading, no first-call dispatch of its own).

``multiprocessing`` preloads modules by name and calls nothing, hence the work at import. Meant for the fork
server alone: the importing process also ignores Ctrl-C (SIGINT), as the fork server does anyway once it runs
(a terminal sends SIGINT to the whole process group; the scan's own process handles it and stops the fork
server with itself). Elsewhere, call :func:`musicforensics.pipeline.analysis.warm_up`.
"""

from __future__ import annotations

import signal

from ..config import one_blas_thread_by_default

signal.signal(signal.SIGINT, signal.SIG_IGN)
one_blas_thread_by_default()  # before NumPy loads: the workers forked from this server inherit it

from .analysis import warm_up  # noqa: E402 - after the signal: Ctrl-C during these imports is the scan's

try:
    warm_up()
except Exception:  # noqa: BLE001 - a failed warm-up only means each worker loads the kernels on its first file
    pass
