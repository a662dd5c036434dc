"""What the AI detector collects while the analysis decodes a track: the folds of the channel sum at the fold
plan's lengths (:mod:`.candidates`) and the channel sum itself, for the tests that need it in time order.

:class:`FoldAccumulator` is an observer of the spectral pass (it is called with each block's new samples), so
the coherent comb costs no second decode. The channel sum is kept as float32 up to :data:`MAX_KEPT_SAMPLES`
samples (about 12.7 minutes at 44.1 kHz, 128 MiB); the folds always cover the whole analysed span.
"""

from __future__ import annotations

import numpy as np

from ..spectral.kernels import fold as _k
from .candidates import FoldPlan, fold_plan

#: Most samples of the channel sum kept in memory (float32).
MAX_KEPT_SAMPLES = 1 << 25


class FoldAccumulator:
    """Folds of the channel sum at every length of ``plan``, plus the channel sum (first ``keep`` samples).

    Parameters
    ----------
    plan : FoldPlan
    expected_frames : int
        Frames the pass is expected to deliver (sizes the kept channel sum; it grows if more arrive).
    keep : int
        Most samples of the channel sum to keep.
    """

    def __init__(self, plan: FoldPlan, expected_frames: int, keep: int = MAX_KEPT_SAMPLES) -> None:
        self.plan = plan
        self.sample_rate = plan.sample_rate
        self._folds = [np.zeros(length) for length in plan.lengths]
        self._positions = [0] * len(plan.lengths)
        self._keep = int(keep)
        self._mono = np.empty(min(max(int(expected_frames), 0), self._keep), dtype=np.float32)
        self._scratch = np.empty(0, dtype=np.float32)
        self.frames = 0

    def __call__(self, fresh: np.ndarray) -> None:
        """Take the next ``(frames, channels)`` samples."""
        n = fresh.shape[0]
        if n == 0:
            return
        block = np.ascontiguousarray(fresh, dtype=np.float32)
        kept_to = min(self.frames + n, self._keep)
        if kept_to > self._mono.shape[0]:
            grown = np.empty(min(max(kept_to, 2 * self._mono.shape[0]), self._keep), dtype=np.float32)
            grown[: self.frames] = self._mono[: self.frames]
            self._mono = grown
        whole_block_kept = kept_to == self.frames + n
        if whole_block_kept:
            target = self._mono[self.frames:kept_to]
        else:
            if self._scratch.shape[0] < n:
                self._scratch = np.empty(n, dtype=np.float32)
            target = self._scratch[:n]
        _k.channel_sum(block, target)
        if not whole_block_kept and kept_to > self.frames:
            self._mono[self.frames:kept_to] = target[: kept_to - self.frames]
        for i, acc in enumerate(self._folds):
            self._positions[i] = _k.fold_add(target, acc, self._positions[i])
        self.frames += n

    def folds(self) -> list[np.ndarray]:
        """The folded channel sum at each of the plan's lengths (float64)."""
        return self._folds

    def mono(self) -> np.ndarray:
        """The kept channel sum (float32, read-only view): the whole span, or its first MAX_KEPT_SAMPLES."""
        view = self._mono[: min(self.frames, self._keep)]
        view.flags.writeable = False
        return view

    @property
    def mono_is_complete(self) -> bool:
        """Whether :meth:`mono` covers every analysed sample."""
        return self.frames <= self._keep


def accumulator_for(info, config) -> FoldAccumulator:
    """The accumulator of one track (:class:`~musicforensics.io.info.AudioInfo`) under ``config``: the AI
    detector's observer of the spectral pass."""
    frames = info.frames
    if config.max_seconds is not None:
        frames = min(frames, int(round(config.max_seconds * info.sample_rate)))
    return FoldAccumulator(fold_plan(int(info.sample_rate)), frames)


def warm_up() -> None:
    """Compile (or load) the fold kernels."""
    acc = FoldAccumulator(fold_plan(8000), 64, keep=32)
    acc(np.zeros((64, 2), dtype=np.float32))
