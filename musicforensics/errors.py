"""The one exception tree of musicforensics.

Every error the library raises on purpose derives from :class:`MusicForensicsError`; messages quote the
offending value with ``!r`` and say what is allowed, so a user can act on them without reading code.
"""

from __future__ import annotations

from pathlib import Path


class MusicForensicsError(Exception):
    """Base class of all musicforensics errors."""


class ParameterError(MusicForensicsError, ValueError):
    """An argument or option has a value outside what is allowed."""


class AudioReadError(MusicForensicsError):
    """A file could not be opened or decoded as audio.

    Parameters
    ----------
    path : path-like
        The file that failed.
    reason : str
        What went wrong, in words a user understands.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path!r}: {reason}")


class UnsupportedAudioError(AudioReadError):
    """The file is audio, but in a form the analysis cannot handle (e.g. zero channels)."""


class OutputExistsError(MusicForensicsError):
    """Refusing to overwrite a file that already exists (pass --force to allow it)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        super().__init__(f"{self.path!r} already exists; refusing to overwrite it (use --force to replace it)")


class StoreError(MusicForensicsError):
    """A result store cannot be opened, read or written (not a store, a newer schema, a locked file...).

    Parameters
    ----------
    path : path-like
        The store file.
    reason : str
        What went wrong.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"result store {self.path!r}: {reason}")


class EngineError(MusicForensicsError):
    """An analysis engine failed as a whole (e.g. the Dask scheduler cannot be reached); per-file failures
    are results, never this."""


class Interrupted(BaseException):
    """The run was stopped from outside: Ctrl-C (SIGINT), SIGTERM, or the reader of standard output went away.

    A ``BaseException`` like :class:`KeyboardInterrupt`, so no ``except Exception`` on the way swallows it; the
    CLI raises it from its signal handlers and its standard-output guard. Engines stop their workers at once,
    result stores mark the scan ``interrupted`` and keep every finished result.

    Parameters
    ----------
    why : str
        What stopped the run (for the message on stderr).
    exit_code : int
        The shell convention for it: 130 for SIGINT, 143 for SIGTERM, 141 for a closed pipe (128 + signal).
    """

    def __init__(self, why: str, exit_code: int) -> None:
        self.why = why
        self.exit_code = int(exit_code)
        super().__init__(why)
