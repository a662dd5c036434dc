"""Analysis defaults and the frozen :class:`AnalysisConfig` every stage reads.

The CLI takes its defaults from here (a test checks they match), and :meth:`AnalysisConfig.cache_key`
identifies a configuration in result stores and caches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

from .errors import ParameterError

#: Environment variables that set the thread count of NumPy's BLAS (OpenBLAS, MKL, OpenMP builds).
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread_by_default() -> None:
    """Ask NumPy's BLAS for one thread, unless the user set a count: a scan runs one analysis per core already,
    and BLAS threads on top of it made two workers slower than one (measured: docs/performance.md). Takes
    effect only in a process that has not loaded NumPy yet (BLAS reads it once); results do not depend on it."""
    import os

    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")

#: Frame length of the long-term STFT, in samples. 16384 at 44.1 kHz is the fakeprint resolution
#: (2.69 Hz bins; Afchar et al., ISMIR 2025) and resolves codec walls to a few Hz.
DEFAULT_N_FFT = 16384
#: Hop of the long-term STFT, in samples (50 % overlap of a Hann window: constant overlap-add).
DEFAULT_HOP = 8192
#: Width of the coarse bands of the per-segment band-energy matrix, in Hz.
DEFAULT_BAND_HZ = 250.0
#: Length of one time segment of the band-energy matrix, in seconds.
DEFAULT_SEGMENT_SECONDS = 2.0
#: Samples per channel read from disk at a time; bounds memory whatever the file length. Large blocks make the
#: spectral pass cheaper: the decoder runs less often between FFT batches and evicts their data less often
#: (3-minute files, work on top of decoding in decodes: 0.73-0.97 with 2^18-frame blocks, 0.56-0.86 with 2^20;
#: docs/performance.md). The pass caps a block at MAX_BLOCK_SAMPLES over all channels.
DEFAULT_BLOCK_FRAMES = 1 << 20
#: Largest block of the spectral pass in samples over all channels (2^21: 8 MB as float32, 16 MB as float64),
#: so files with many channels keep the memory of a stereo block.
MAX_BLOCK_SAMPLES = 1 << 21
#: Shortest track the detectors will judge, in seconds; shorter ones are INCONCLUSIVE.
DEFAULT_MIN_DURATION_S = 1.0
#: Frames whose peak is below this level (dBFS) count as silent and are left out of spectral means.
DEFAULT_SILENCE_DBFS = -100.0
#: Seconds from the middle of the analysed span that the spectral pass keeps in memory (float32, exact for
#: <= 24-bit PCM) so detectors that need raw samples (lossy holes and frame grid) do not decode again.
DEFAULT_EXCERPT_SECONDS = 30.0
#: Power floor added before taking logarithms (10*log10(1e-14) = -140 dB, below 24-bit quantisation noise).
POWER_FLOOR = 1e-14
#: Audio file extensions a scan picks up (lower case, with the dot).
AUDIO_EXTENSIONS = (
    ".flac", ".wav", ".wave", ".rf64", ".w64", ".aif", ".aiff", ".aifc", ".caf",
    ".ogg", ".oga", ".opus", ".mp3", ".mp2", ".au", ".snd",
    # read through ffmpeg when it is installed (musicforensics/io/ffmpeg.py)
    ".m4a", ".mp4", ".aac", ".m4b", ".alac", ".wma", ".webm", ".mka",
)


@dataclass(frozen=True)
class AnalysisConfig:
    """Every parameter that changes an analysis result.

    Attributes
    ----------
    n_fft : int
        Long-term STFT frame length in samples.
    hop : int
        Long-term STFT hop in samples.
    band_hz : float
        Coarse band width (Hz) of the per-segment band-energy matrix.
    segment_seconds : float
        Segment length (s) of the band-energy matrix.
    block_frames : int
        Samples per channel per disk read.
    min_duration_s : float
        Tracks shorter than this are INCONCLUSIVE.
    silence_dbfs : float
        Frames quieter than this (peak, dBFS) are excluded from spectral means.
    max_seconds : float or None
        Analyse only the first ``max_seconds`` of each file (None: whole file).
    detectors : tuple of str
        Names of the detectors to run (empty: all registered).
    excerpt_seconds : float
        Length (s) of the middle excerpt kept in memory during the pass (a speed/memory trade-off; it
        does not change results, so it is not part of the cache key).
    ai_model : str or None
        An AI model file (``musicforensics train``) to use instead of the shipped one. Not part of the cache
        key: result stores key on the digest of the model's content instead (the same model under another
        path reuses its results; another model never does).

    Examples
    --------
    >>> cfg = AnalysisConfig(max_seconds=60.0)
    >>> cfg.with_(n_fft=8192).n_fft
    8192
    >>> AnalysisConfig(hop=3).cache_key() != AnalysisConfig().cache_key()
    True
    """

    n_fft: int = DEFAULT_N_FFT
    hop: int = DEFAULT_HOP
    band_hz: float = DEFAULT_BAND_HZ
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    block_frames: int = DEFAULT_BLOCK_FRAMES
    min_duration_s: float = DEFAULT_MIN_DURATION_S
    silence_dbfs: float = DEFAULT_SILENCE_DBFS
    max_seconds: float | None = None
    detectors: tuple[str, ...] = field(default_factory=tuple)
    excerpt_seconds: float = DEFAULT_EXCERPT_SECONDS
    ai_model: str | None = None

    def __post_init__(self) -> None:
        if self.n_fft < 256 or self.n_fft & (self.n_fft - 1):
            raise ParameterError(f"n_fft={self.n_fft!r}: must be a power of two >= 256")
        if not 0 < self.hop <= self.n_fft:
            raise ParameterError(f"hop={self.hop!r}: must be in 1..n_fft ({self.n_fft})")
        if self.band_hz <= 0:
            raise ParameterError(f"band_hz={self.band_hz!r}: must be > 0")
        if self.segment_seconds <= 0:
            raise ParameterError(f"segment_seconds={self.segment_seconds!r}: must be > 0")
        if self.block_frames < self.n_fft:
            raise ParameterError(f"block_frames={self.block_frames!r}: must be >= n_fft ({self.n_fft})")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ParameterError(f"max_seconds={self.max_seconds!r}: must be > 0 or None")

    def with_(self, **changes) -> "AnalysisConfig":
        """Return a copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain-data view, for JSON output (``ai_model`` only when one is set)."""
        data = asdict(self)
        data["detectors"] = list(self.detectors)
        if data["ai_model"] is None:
            del data["ai_model"]
        return data

    def cache_key(self) -> str:
        """Short stable hash of the parameters that change results (block size excluded: it does not)."""
        data = self.to_dict()
        for speed_or_model_only in ("block_frames", "excerpt_seconds", "ai_model"):
            data.pop(speed_or_model_only, None)
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
