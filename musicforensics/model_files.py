"""The one way models ship: JSON files in ``musicforensics/models/`` (or a file the user names), each with a
``format`` name and ``format_version``, read by :func:`load` and identified by :func:`digest`.

Every fitted number a decision depends on lives in such a file, with its provenance (how it was fitted, on
what); result stores key on the digests of the files a detector reads, so a new model never reuses old
verdicts.

>>> doc, ident = load("lossy_decision.json", expected_format="musicforensics-lossy-decision", versions=(2,))
>>> sorted(doc)[:3], len(ident)
(['features', 'fitted_by', 'format'], 12)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from importlib import resources
from pathlib import Path

from .errors import MusicForensicsError

#: Package folder the shipped model files live in.
PACKAGE_FOLDER = "models"


class ModelError(MusicForensicsError):
    """A model file is missing, unreadable, or not the kind of model expected."""


def digest(text: str) -> str:
    """Short identity of a model file's text: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@functools.lru_cache(maxsize=16)
def _resource_text(name: str) -> str:
    return resources.files("musicforensics").joinpath(PACKAGE_FOLDER, name).read_text(encoding="utf-8")


def read_text(source: str | os.PathLike) -> tuple[str, str]:
    """(text, where) of a model: a bare file name is a shipped model (``models/<name>``), anything with a
    folder part is a path on disk."""
    source = os.fspath(source)
    if os.sep not in source and "/" not in source and not os.path.exists(source):
        try:
            return _resource_text(source), f"musicforensics/{PACKAGE_FOLDER}/{source}"
        except (FileNotFoundError, OSError) as exc:
            raise ModelError(f"{source!r}: no shipped model of that name ({exc})") from None
    try:
        return Path(source).read_text(encoding="utf-8"), source
    except OSError as exc:
        raise ModelError(f"{source!r}: cannot read model file: {exc.strerror or exc}") from None


def load(source: str | os.PathLike, *, expected_format: str, versions: tuple[int, ...] = (1,)) -> tuple[dict, str]:
    """Parse and check a model file; returns (document, digest of its text).

    Raises
    ------
    ModelError
        Unreadable, not JSON, another ``format``, or a ``format_version`` not in ``versions``.
    """
    text, where = read_text(source)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{where!r}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict) or doc.get("format") != expected_format:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise ModelError(f"{where!r}: not a {expected_format} model (format {found!r})")
    if doc.get("format_version") not in versions:
        raise ModelError(f"{where!r}: format_version {doc.get('format_version')!r} unsupported (need one of "
                         f"{list(versions)!r})")
    return doc, digest(text)


def file_digest(source: str | os.PathLike) -> str:
    """:func:`digest` of a model file's text without parsing it (cheap: what result-store keys need)."""
    return digest(read_text(source)[0])
