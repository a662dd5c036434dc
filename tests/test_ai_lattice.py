"""The lattice contrast read where a comb's teeth are (musicforensics/ai/lattice.py comb_extent, the second
reading in judge.check_comb): a codec that folds lower bands into its upper band, against a loop."""

import json
import subprocess
import sys

import numpy as np
import pytest

from musicforensics.ai.lattice import EXTENT_BAND_HZ, FullSpectrum, comb_extent, lattice_contrast
from tests.conftest import require_realworld, require_tool

FS = 44100
BIN_HZ = 0.25
DELTA = FS / 160  # 275.6 Hz
TOP = 21000.0


def _spectrum(teeth_top: float, *, lattice_m: int = 0, lattice_lo: float = 4000.0, lattice_hi: float = 0.0,
              seed: int = 0) -> FullSpectrum:
    """A whitened noise spectrum (exponential ratios) with teeth (ratio 20) at n DELTA from 4 kHz to
    ``teeth_top`` and, for ``lattice_m``, lines (ratio 20) at the mid-gap points of DELTA / lattice_m between
    ``lattice_lo`` and ``lattice_hi``."""
    rng = np.random.default_rng(seed)
    ratio = rng.exponential(size=int(FS / 2 / BIN_HZ) + 1)
    for n in range(1, int(teeth_top / DELTA) + 1):
        if n * DELTA >= 4000:
            ratio[int(round(n * DELTA / BIN_HZ))] = 20.0
    if lattice_m:
        fine = DELTA / lattice_m
        for j in range(int(lattice_lo / fine), int(lattice_hi / fine) + 1):
            if 0.25 <= (j % lattice_m) / lattice_m <= 0.75:
                ratio[int(round(j * fine / BIN_HZ))] = 20.0
    return FullSpectrum(ratio=ratio, power=ratio, bin_hz=BIN_HZ)


def test_the_extent_ends_where_the_teeth_stop_standing_out():
    assert comb_extent(_spectrum(8000.0), DELTA, TOP) == 8000.0
    assert comb_extent(_spectrum(TOP), DELTA, TOP) == TOP
    assert comb_extent(_spectrum(0.0), DELTA, TOP) == 4000.0  # no teeth: nothing above the band's bottom


def test_folded_lines_above_the_teeth_dilute_the_contrast_and_the_extent_restores_it():
    # teeth to 8 kHz; above, lines between the teeth (a lower band folded up by a non-multiple of the spacing)
    folded = _spectrum(8000.0, lattice_m=3, lattice_lo=8000.0, lattice_hi=TOP)
    whole = lattice_contrast(folded, DELTA, TOP)
    extent = comb_extent(folded, DELTA, TOP)
    narrow = lattice_contrast(folded, DELTA, extent)
    assert whole.c_min < 3.0 <= narrow.c_min
    assert extent <= TOP - EXTENT_BAND_HZ


def test_a_loop_lit_only_low_stays_explained_in_the_narrow_band():
    # a loop lights its finer lattice wherever it lights the teeth
    loop = _spectrum(8000.0, lattice_m=3, lattice_lo=4000.0, lattice_hi=8000.0)
    extent = comb_extent(loop, DELTA, TOP)
    assert extent == 8000.0
    assert lattice_contrast(loop, DELTA, extent).c_min < 3.0


@pytest.mark.slow
def test_a_real_decoder_output_through_opus_at_32_kbit_is_detected(tmp_path):
    """libopus at 32 kbit/s keeps the EnCodec teeth of this FMA song below 8 kHz only and folds lower bands
    above: over the whole band the lattice contrast was 2.1 (explained as music), read up to 8 kHz 3.9."""
    ffmpeg = require_tool("ffmpeg")
    source = require_realworld() / "ai" / "deezer__encodec3__000002.mp3"
    if not source.is_file():
        pytest.fail(f"{source} is missing from the real-world set")
    target = tmp_path / "encodec.opus"
    subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-c:a", "libopus", "-b:a",
                    "32k", str(target)], check=True)
    out = subprocess.run([sys.executable, "-m", "musicforensics", "ai", str(target), "-f", "jsonl"],
                         capture_output=True, text=True, check=False)
    verdict = json.loads(out.stdout.splitlines()[0])["verdicts"]["ai"]
    assert verdict["detected"], verdict["reason"]
    assert any(c.get("lattice_top_hz") for c in verdict["evidence"]["checks"])


def test_the_checks_stop_at_the_first_that_explains_a_comb(monkeypatch):
    """A comb the lattice contrast explains is not read for MPEG images or template consistency (the costliest
    check); a comb it does not explain is."""
    from musicforensics.ai import judge
    from musicforensics.ai.candidates import fold_plan
    from musicforensics.ai.coherent import CombScore
    from musicforensics.ai.model import load_model
    from musicforensics.ai.segments import Consistency

    plan = fold_plan(FS)
    candidate = next(c for c in plan.candidates if abs(c.delta_hz - DELTA) < 1e-6)
    score = CombScore(candidate=candidate, z=20.0, z_low=0.0, teeth=60, lit=60, top_hz=TOP)
    rule = load_model(None).rule
    calls = []

    def consistency(*args, **kwargs):
        calls.append("consistency")
        return Consistency(kappa=0.9, blocks=6, z_incoherent=40.0)

    def images(*args, **kwargs):
        calls.append("images")
        return None

    monkeypatch.setattr(judge, "template_consistency", consistency)
    monkeypatch.setattr(judge, "image_share", images)
    mono = np.zeros(FS * 20, dtype=np.float32)
    # a loop lights the lattice DELTA / 7 (no candidate spacing, so not skipped as a level of the same family)
    loop = judge.check_comb(score, plan, mono, _spectrum(TOP, lattice_m=7, lattice_hi=TOP), rule)
    assert loop.why.startswith("lattice contrast") and "; " not in loop.why
    assert loop.consistency is None and loop.image_concentration is None and calls == []
    decoder = judge.check_comb(score, plan, mono, _spectrum(TOP), rule)
    assert decoder.why == "" and decoder.consistency == 0.9 and calls == ["images", "consistency"]
