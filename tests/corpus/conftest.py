"""Fixtures for the corpus-builder tests: external-tool gating that never silently skips in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """True when the environment variable ``CI`` is set to true (``true``, ``1`` or ``yes``)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_tool(tool: str) -> str:
    """Return the path of ``tool``; skip the test when it is missing, but fail under ``CI=true``.

    The corpus needs Debian tools (lame, ffmpeg, sox, flac, fluidsynth); ``benchmarks/corpus/install.sh``
    installs them.
    """
    exe = shutil.which(tool)
    if exe is None:
        message = f"{tool!r} not on PATH (install with benchmarks/corpus/install.sh)"
        if in_ci():
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return exe


def require_module(name: str):
    """Import and return a Python module; skip when missing, fail under ``CI=true``."""
    try:
        return __import__(name)
    except ImportError as exc:
        message = f"Python package {name!r} not importable ({exc}); install with benchmarks/corpus/install.sh"
        if in_ci():
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)


@pytest.fixture
def need_tool():
    """The :func:`require_tool` gate as a fixture (test modules cannot import a sub-directory conftest)."""
    return require_tool


@pytest.fixture
def corpus_tools():
    """Require every external tool and Python package the corpus builder uses."""
    for tool in ("fluidsynth", "lame", "ffmpeg", "sox"):
        require_tool(tool)
    require_module("music21")
    from benchmarks.corpus import render

    if not render.DEFAULT_SOUNDFONT.exists():
        message = f"soundfont {str(render.DEFAULT_SOUNDFONT)!r} missing (Debian fluid-soundfont-gm)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
