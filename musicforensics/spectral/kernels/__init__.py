"""The numba kernels: the only package that imports numba.

Each kernel is a plain loop with no validation (the functions that call it validate), compiled lazily with
``cache=True``, and has a NumPy twin in :mod:`.twins` that the tests compare it with. :mod:`.spectral` serves
the streamed pass and the sample statistics, :mod:`.comb` the hull and the comb search, :mod:`.fold` the coherent comb's folds, :mod:`.lossy` the lossy
detector's excerpt features.

Compiled kernels are cached on disk in a per-user folder, never in the package's own folder (an installed
package must not write into its installation: a stale cache folder left behind by an uninstall can shadow a
later install). The folder is ``$NUMBA_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/musicforensics/numba``
(``~/.cache/musicforensics/numba``), else, when that cannot be created, a folder in the system's temporary
directory. :func:`cache_dir` says which one is in use.
"""

from __future__ import annotations

import os
import sys
import tempfile

#: Environment variable numba reads for its cache folder (honoured when the user sets it).
CACHE_ENV = "NUMBA_CACHE_DIR"


def _writable_dir(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def _choose_cache_dir() -> str:
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return chosen
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "musicforensics", "numba")
    if not _writable_dir(path):
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        path = os.path.join(tempfile.gettempdir(), f"musicforensics-numba-{uid}")
    return path


def configure_cache() -> str:
    """Point numba's on-disk cache at :func:`_choose_cache_dir` (before the kernels compile); returns it.

    Setting the environment variable also carries the choice into worker processes started later.
    """
    path = _choose_cache_dir()
    os.environ[CACHE_ENV] = path
    numba = sys.modules.get("numba")
    if numba is not None:  # imported by someone else first: numba read its configuration already
        numba.config.CACHE_DIR = path
    return path


def cache_dir() -> str:
    """The folder numba's kernel cache lives in."""
    return os.environ.get(CACHE_ENV) or _choose_cache_dir()


configure_cache()
