"""The one way musicforensics writes a file: never over a file that exists (unless asked), never half-written.

* :func:`write_new` writes ``path`` atomically: a temporary file in the same folder, then a hard link (which
  fails if the name was taken meanwhile) or, with ``force``, a rename over the old file; a crash leaves the old
  file as it was and no partial new one;
* :func:`write_unique` writes ``name`` into a folder, or ``name-2``, ``name-3`` ... when it is taken
  (figures: several tracks share a file name);
* :func:`check_new` refuses early, before any work, what :func:`write_new` would refuse at the end.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_unique(folder, "a.png", b"1").name, write_unique(folder, "a.png", b"2").name
('a.png', 'a-2.png')
>>> write_new(folder / "a.png", b"3")
Traceback (most recent call last):
musicforensics.errors.OutputExistsError: ...
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import OutputExistsError, ParameterError

#: Largest suffix :func:`write_unique` tries before giving up.
MAX_UNIQUE = 10_000


def check_new(path: str | os.PathLike | None, *, force: bool, what: str = "--output") -> None:
    """Fail early when ``path`` exists and ``force`` is off, or when its folder is missing (None: nothing)."""
    if path is None:
        return
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    if not path.parent.exists():
        raise ParameterError(f"{what} {str(path)!r}: folder {str(path.parent)!r} does not exist")


def write_new(path: str | os.PathLike, data: str | bytes, *, force: bool = False) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically, never replacing an existing file unless
    ``force``. The new file gets the user's usual permissions (0666 minus the umask). Returns the path.

    Raises
    ------
    OutputExistsError
        ``path`` exists (or appeared while writing) and ``force`` is off.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600
        if force:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if someone created the file meanwhile: nothing is clobbered
            os.unlink(tmp)
    except FileExistsError:
        os.unlink(tmp)
        raise OutputExistsError(path) from None
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_unique(directory: str | os.PathLike, name: str, data: bytes | str) -> Path:
    """Write ``data`` as ``directory/name``, or as ``stem-2.ext``, ``stem-3.ext`` ... when the name is taken.

    Each name is created exclusively (``O_EXCL``), so a file that appears meanwhile is not clobbered either.
    Returns the path written.
    """
    directory = Path(directory)
    stem, ext = os.path.splitext(name)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    for n in range(1, MAX_UNIQUE):
        candidate = directory / (name if n == 1 else f"{stem}-{n}{ext}")
        try:
            with open(candidate, "xb") as fh:
                fh.write(payload)
            return candidate
        except FileExistsError:
            continue
    raise OutputExistsError(directory / name)
