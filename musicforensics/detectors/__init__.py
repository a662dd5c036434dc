"""Detectors, one module each. A module defining ``DETECTOR`` (a :class:`~.base.Detector` subclass) is
registered automatically; :func:`available` lists them in run order."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from ..errors import ParameterError
from .base import Detector, TrackContext

__all__ = ["Detector", "TrackContext", "available", "select", "kinds"]


@lru_cache(maxsize=1)
def available() -> tuple[Detector, ...]:
    """One instance of every detector module's ``DETECTOR``, sorted by (order, name)."""
    found = []
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("_") or mod.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        cls = getattr(module, "DETECTOR", None)
        if cls is not None:
            found.append(cls())
    return tuple(sorted(found, key=lambda d: (d.order, d.name)))


def select(names: tuple[str, ...] | list[str] = ()) -> tuple[Detector, ...]:
    """The detectors named (all when empty); an unknown name raises :class:`ParameterError`."""
    every = available()
    if not names:
        return every
    known = {d.name: d for d in every}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ParameterError(f"unknown detector(s) {unknown!r}; available: {sorted(known)!r}")
    return tuple(d for d in every if d.name in set(names))


def kinds() -> tuple[str, ...]:
    """Every finding kind some detector reports, sorted."""
    return tuple(sorted({k for d in available() for k in d.kinds}))
