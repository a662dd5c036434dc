"""musicforensics: forensics for music audio.

Was this "lossless" file ever lossy (or fake hi-res)? Was this music made by a neural generator? Every
verdict carries the evidence a person can check. Importing the package is cheap: the heavy modules load
on first use of the functions below.
"""

from __future__ import annotations

import importlib

from ._version import __version__
from .errors import AudioReadError, MusicForensicsError, ParameterError, UnsupportedAudioError

#: Names this package offers from its modules, loaded when first read (``musicforensics --help`` and the store
#: commands then never build the configuration and report dataclasses they do not use).
_LAZY = {"AnalysisConfig": ".config", "SCHEMA_VERSION": ".results"}

__all__ = [
    "__version__", "SCHEMA_VERSION", "AnalysisConfig", "analyze_file", "analyze_signal",
    "MusicForensicsError", "ParameterError", "AudioReadError", "UnsupportedAudioError",
]


def analyze_file(path, *, config=None, label=None):
    """Analyse one audio file; see :func:`musicforensics.pipeline.analysis.analyze_file` (loaded on first use,
    so ``import musicforensics`` stays cheap)."""
    from .pipeline.analysis import analyze_file as _impl

    return _impl(path, config=config, label=label)


def analyze_signal(y, sample_rate, *, config=None, subtype="FLOAT", label="<signal>"):
    """Analyse an in-memory signal; see :func:`musicforensics.pipeline.analysis.analyze_signal`."""
    from .pipeline.analysis import analyze_signal as _impl

    return _impl(y, sample_rate, config=config, subtype=subtype, label=label)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
