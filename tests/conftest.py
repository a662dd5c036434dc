"""Shared test fixtures: a seeded rng, synthetic signal factories, and tool- and data-availability gates.

Tools from Debian (lame, ffmpeg, flac, sox, fluidsynth, chromium) are installed by .ci/run. Outside CI a
test that needs a missing tool, or the real-world development set (``../shared/realworld`` beside the
repository, or ``MUSICFORENSICS_REALWORLD``), skips with a clear reason; with CI=true it fails instead, so CI
never silently skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Environment variable naming the real-world development set's folder (default ``../shared/realworld``).
REALWORLD_ENV = "MUSICFORENSICS_REALWORLD"


def unavailable(message: str):
    """Skip the test, or fail it under CI=true, where CI must run it."""
    if IN_CI:
        pytest.fail(f"CI=true but {message}")
    pytest.skip(message)


def require_tool(name: str) -> str:
    """Path of the executable ``name``; skip (or fail under CI=true) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name!r} is not installed (Debian package needed; .ci/run installs it)")
    return path


def require_module(name: str):
    """Import ``name``; skip (or fail under CI=true) when it is not installed."""
    try:
        return __import__(name)
    except ImportError:
        unavailable(f"Python package {name!r} is not installed")


def require_realworld() -> Path:
    """Folder of the real-world development set (with its manifest.csv); skip (or fail under CI=true) when absent."""
    folder = Path(os.environ.get(REALWORLD_ENV) or REPO_ROOT.parent / "shared" / "realworld")
    if not (folder / "manifest.csv").is_file():
        unavailable(f"real-world development set not found: no {str(folder / 'manifest.csv')!r} "
                    f"(set {REALWORLD_ENV} to its folder)")
    return folder


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: tests are repeatable."""
    return np.random.default_rng(20261122)


def tone_mix(sr: int, seconds: float, *, freqs=(220.0, 440.0, 1760.0), noise_db: float = -40.0,
             channels: int = 2, seed: int = 0) -> np.ndarray:
    """Sum of sines (amplitude 0.2 each) plus white noise at ``noise_db`` dBFS RMS; (frames, channels)."""
    r = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = sum(0.2 * np.sin(2 * np.pi * f * t) for f in freqs)
    y = np.repeat(y[:, None], channels, axis=1)
    y = y + 10 ** (noise_db / 20) * r.standard_normal(y.shape)
    return y / max(1.0, np.abs(y).max() / 0.9)


def write_wav(path: Path, y: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
    import soundfile as sf

    sf.write(str(path), y, sr, subtype=subtype)
    return path


@pytest.fixture
def make_signal():
    """Factory for :func:`tone_mix`."""
    return tone_mix


@pytest.fixture
def write_audio(tmp_path):
    """Write (frames, channels) samples into tmp_path under ``name``; returns the path."""

    def _write(name: str, y: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
        return write_wav(tmp_path / name, y, sr, subtype)

    return _write
