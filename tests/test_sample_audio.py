"""The committed sample clips get the verdicts sample_audio/README.md promises (real material, known truth)."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicforensics import analyze_file

SAMPLES = Path(__file__).parents[1] / "sample_audio"

# file -> the finding kinds it must carry (every other kind must be absent)
EXPECTED = {
    "genuine_bach_chorale.flac": set(),
    "genuine_rolloff_analogue.flac": set(),
    "lossy_mp3_128.flac": {"lossy"},
    "lossy_aac_128.flac": {"lossy"},
    "lossy_opus_96.flac": {"lossy"},
    "lossy_container_mp3_320.mp3": set(),
    "upsampled_96k.flac": {"upsampled"},
    "bitpadded_24bit.flac": {"bitpadded"},
    "ai_dac44_random.flac": {"ai"},
}


def test_every_sample_is_listed():
    present = {p.name for p in SAMPLES.iterdir() if p.suffix in (".flac", ".mp3", ".wav")}
    assert present == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_verdicts(name):
    report = analyze_file(SAMPLES / name)
    assert report.status == "ok", report.error or report.reasons
    assert set(report.findings) == EXPECTED[name], {k: (v.probability, v.reason) for k, v in report.verdicts.items()}


def test_lossy_container_is_reported_as_a_fact():
    report = analyze_file(SAMPLES / "lossy_container_mp3_320.mp3")
    assert report.audio["lossy_codec"] == "mp3"
    assert report.facts["lossy_container"]["codec"] == "mp3"
    assert 300 < report.facts["lossy_container"]["bitrate_kbps"] < 340
