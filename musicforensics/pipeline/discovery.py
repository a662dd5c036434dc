"""Find the audio files a scan covers: recursive, name-sorted, symbolic-link-loop safe, each real file once."""

from __future__ import annotations

import os
import stat
from typing import Iterable, Iterator, Sequence

from ..config import AUDIO_EXTENSIONS
from .work import ScanItem


def _is_audio_name(name: str, extensions: Sequence[str]) -> bool:
    return os.path.splitext(name)[1].lower() in extensions


def discover(paths: Iterable[str], *, extensions: Sequence[str] = AUDIO_EXTENSIONS) -> list[ScanItem]:
    """List the files a scan of ``paths`` covers.

    A file named explicitly is always included (a non-audio file then gets a per-file error). Folders are
    walked recursively, following symbolic links but never entering the same real folder twice (so link
    loops end), keeping files whose extension is in ``extensions``. Labels join the argument as given with
    the path below it, so an absolute argument yields absolute labels. The same real file is listed once.
    Missing paths and unreadable folders become items carrying an error.

    Examples
    --------
    >>> [item.label for item in discover(["sample_audio"])][:2]
    ['sample_audio/ai_dac44_random.flac', 'sample_audio/bitpadded_24bit.flac']
    """
    items: list[ScanItem] = []
    seen_files: set[str] = set()
    seen_dirs: set[str] = set()
    exts = tuple(e.lower() for e in extensions)

    def add(label: str, full: str) -> None:
        real = os.path.realpath(full)
        if real in seen_files:
            return
        seen_files.add(real)
        items.append(ScanItem(label=label, path=full))

    for arg in paths:
        arg = os.fspath(arg)
        try:
            st = os.stat(arg)
        except OSError as exc:
            items.append(ScanItem(label=arg, path=arg, error=f"cannot open: {exc.strerror or exc}"))
            continue
        if not stat.S_ISDIR(st.st_mode):
            add(arg, arg)
            continue
        for label, full, error in _walk(arg, exts, seen_dirs):
            if error:
                items.append(ScanItem(label=label, path=full, error=error))
            else:
                add(label, full)
    return items


def _walk(root: str, exts: tuple[str, ...], seen_dirs: set[str]) -> Iterator[tuple[str, str, str | None]]:
    """Depth-first, name-sorted walk yielding (label, path, error)."""
    real = os.path.realpath(root)
    if real in seen_dirs:
        return
    seen_dirs.add(real)
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield root, root, f"cannot list folder: {exc.strerror or exc}"
        return
    for entry in entries:
        full = os.path.join(root, entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(full, exts, seen_dirs)
        elif _is_audio_name(entry.name, exts):
            yield full, full, None
