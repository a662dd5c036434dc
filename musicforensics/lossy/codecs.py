"""Where lossy codecs put their low-pass wall: the one home of every codec table the lossy verdicts and their
figures use (measured with the real encoders and read from their sources; docs/references.md).

* :func:`lowpass_table`: per sample rate (22.05, 32, 44.1, 48 kHz), where LAME, FFmpeg's AAC, libvorbis,
  libopus, twolame and FFmpeg's MP2 encoder put their low-pass at each setting, and the rate they actually
  coded at (``models/codec_lowpass.json``, measured by ``benchmarks/measure_codec_lowpass.py``);
  :func:`settings_near` and :func:`wall_only_settings` match a measured wall against it;
* :data:`BITRATE_CLASSES`: the bitrate class a wall frequency implies at 44.1 / 48 kHz, per family (upper wall
  bound, label), used when the fitted per-class wall distributions of the family model have nothing to say;
* :func:`container_expected_wall`: the lowest wall a single generation leaves at a container's average bitrate
  and rate, so an MP3 whose content stops far lower shows an earlier, lower-quality generation;
* :data:`EXPECTED_WALLS_HZ`: the band where a codec setting puts its edge at 44.1 kHz, drawn on the figures.

>>> bitrate_class("mp3", 16200.0)
'128 kbps / V5'
>>> container_expected_wall("mp3", 320.0, 44100)
20230.4
>>> container_expected_wall("mp3", 66.0, 22050)
10116.6
>>> expected_wall_band("aac", "128 kbps")
(16900, 17500)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .. import model_files

#: Bitrate class from the wall frequency per family (upper wall bound in Hz, label), at 44.1 kHz.
BITRATE_CLASSES = {
    "mp3": ((15800, "<=96 kbps"), (17150, "128 kbps / V5"), (18200, "160 kbps"), (19250, "192 kbps / V2"),
            (20000, "256 kbps"), (1e9, "320 kbps / V0")),
    "aac": ((16600, "<=96 kbps"), (18300, "128 kbps"), (19900, "192 kbps"), (1e9, ">=256 kbps")),
    "vorbis": ((16000, "q0-q1"), (17800, "q2-q3"), (19600, "q4"), (20900, "q5"), (1e9, ">=q6")),
    "opus": ((1e9, "any (20 kHz band limit)"),),
    "mp2": ((1e9, ">=192 kbps"),),
}
#: The measured low-pass table (a model file: its digest keys result stores).
LOWPASS_TABLE = "codec_lowpass.json"
#: A measured wall matches a table setting within [wall - MATCH_BELOW_HZ, wall + MATCH_ABOVE_HZ]: on music the
#: settings measured on noise read 0-0.8 kHz lower (quiet tops, VBR), and a wall estimate jitters by ~0.25 kHz.
MATCH_BELOW_HZ = 800.0
MATCH_ABOVE_HZ = 250.0
#: The table's encoder of each container codec (the one a single generation is judged with).
CONTAINER_ENCODERS = {"mp3": "lame", "vorbis": "libvorbis", "opus": "libopus", "aac": "ffmpeg aac", "mp2": "twolame"}
#: A container's average bitrate may exceed the setting's nominal one by this factor (headers, VBR).
CONTAINER_KBPS_SLACK = 1.05
#: How far (Hz) below the container's expected wall the content must stop to show an earlier generation.
GENERATION_MARGIN_HZ = 1500.0


@dataclass(frozen=True)
class LowpassSetting:
    """One encoder setting at one input rate: where it put its low-pass (None: no wall below Nyquist - 300 Hz)
    and the rate it coded at (LAME resamples at low bitrates)."""

    family: str
    encoder: str
    setting: str
    nominal_kbps: int | None
    coded_rate: int
    wall_hz: float | None

    @property
    def label(self) -> str:
        return f"{self.encoder} {self.setting}"


@functools.cache
def lowpass_table() -> dict[int, tuple[LowpassSetting, ...]]:
    """The measured low-pass of every setting, per input rate (Hz)."""
    doc = model_files.load(LOWPASS_TABLE, expected_format="musicforensics-codec-lowpass")[0]
    return {int(rate): tuple(LowpassSetting(r["family"], r["encoder"], r["setting"], r.get("nominal_kbps"),
                                            int(r["coded_rate"]), r.get("wall_hz")) for r in rows)
            for rate, rows in doc["rates"].items()}


#: Tolerance below a wall-only setting's low-pass when deciding whether a converter's edge could be that codec's
#: instead, Hz: those settings (LAME's internally resampled CBR-like low bitrates) read within 0.1 kHz of the
#: noise measurement on music, so only the wall estimate's jitter remains.
TIGHT_MATCH_BELOW_HZ = 250.0


def settings_near(sample_rate: int, wall_hz: float, *, below_hz: float = MATCH_BELOW_HZ) -> list[LowpassSetting]:
    """Table settings at ``sample_rate`` whose low-pass matches a wall measured at ``wall_hz``: within
    [low-pass - ``below_hz``, low-pass + MATCH_ABOVE_HZ] (empty at a rate the table does not cover)."""
    return [s for s in lowpass_table().get(int(sample_rate), ())
            if s.wall_hz is not None and s.wall_hz - below_hz <= wall_hz <= s.wall_hz + MATCH_ABOVE_HZ]


def wall_only_settings(sample_rate: int, wall_hz: float, *,
                       below_hz: float = MATCH_BELOW_HZ) -> list[LowpassSetting]:
    """Matching settings whose decode keeps no codec grid, so that their wall is all the evidence there can be:
    those that coded at another rate (a decode brought back to the file's rate is resampled) and Opus (decoded
    at 48 kHz and resampled, or at 48 kHz without an exact test)."""
    return [s for s in settings_near(sample_rate, wall_hz, below_hz=below_hz)
            if s.coded_rate != sample_rate or s.family == "opus"]
#: Where codecs put their low-pass edge at 44.1 kHz, Hz (lo, hi), per (family, setting): LAME 3.100, FFmpeg's
#: native AAC encoder, libvorbis 1.3.7, libopus and twolame. Drawn on the figures when the verdict names a
#: codec and a bitrate class but the family model has no band of its own.
EXPECTED_WALLS_HZ: dict[tuple[str, str], tuple[float, float]] = {
    ("mp3", "96"): (15100, 15500), ("mp3", "128"): (16500, 17100), ("mp3", "160"): (17200, 17800),
    ("mp3", "192"): (18700, 19200), ("mp3", "256"): (19400, 19900), ("mp3", "320"): (20100, 20600),
    ("mp3", "v2"): (18700, 19200), ("mp3", "v5"): (16500, 17100),
    ("aac", "96"): (15700, 16300), ("aac", "128"): (16900, 17500), ("aac", "192"): (19100, 19700),
    ("vorbis", "q0"): (15000, 16300), ("vorbis", "q2"): (16400, 17700), ("vorbis", "q3"): (17000, 18300),
    ("vorbis", "q4"): (18800, 20100), ("vorbis", "q5"): (20200, 21500),
    ("opus", ""): (19800, 20200), ("mp2", ""): (20600, 20900),
}
#: Codec families the tables know, in the order names are matched.
FAMILIES = ("mp3", "aac", "vorbis", "opus", "mp2")


def bitrate_class(family: str, wall_hz: float | None) -> str:
    """Bitrate class of ``family`` implied by the wall (the top class when there is no wall)."""
    table = BITRATE_CLASSES.get(family, ((1e9, "unknown"),))
    f = 1e12 if wall_hz is None else wall_hz
    for bound, label in table:
        if f <= bound:
            return label
    return table[-1][1]


def container_expected_wall(codec: str, kbps: float | None, sample_rate: int) -> float | None:
    """The lowest wall (Hz) one generation of ``codec`` at an average ``kbps`` leaves at ``sample_rate``: the
    lowest low-pass of the container encoder's settings at that rate whose nominal bitrate is within
    CONTAINER_KBPS_SLACK of ``kbps`` or below it, from the highest such bitrate down (a higher bitrate never cuts
    lower). None when the table has no setting there (or no bitrate is known)."""
    encoder = CONTAINER_ENCODERS.get(codec)
    if encoder is None or kbps is None:
        return None
    rows = [s for s in lowpass_table().get(int(sample_rate), ()) if s.encoder == encoder and s.nominal_kbps
            and s.nominal_kbps <= kbps * CONTAINER_KBPS_SLACK]
    if not rows:
        return None
    top = max(s.nominal_kbps for s in rows)
    walls = [s.wall_hz if s.wall_hz is not None else sample_rate / 2 for s in rows if s.nominal_kbps == top]
    return float(min(walls))


def expected_wall_band(codec: str | None, bitrate_class: str | None) -> tuple[float, float] | None:
    """Band (Hz) where ``codec`` at ``bitrate_class`` puts its low-pass edge, from :data:`EXPECTED_WALLS_HZ`."""
    if not codec:
        return None
    fam = str(codec).lower()
    fam = next((f for f in FAMILIES if f in fam), fam)
    setting = str(bitrate_class or "").lower().replace("kbps", "").replace("kbit/s", "").replace("cbr", "")
    setting = setting.replace("k", "").strip() if not setting.startswith("q") else setting.strip()
    match = re.search(r"(v\d|q\d|\d{2,3})", setting)
    key = (fam, match.group(1) if match else "")
    return EXPECTED_WALLS_HZ.get(key) or EXPECTED_WALLS_HZ.get((fam, ""))


def bitrate_class_band(codec: str | None, label: str | None) -> tuple[float, float] | None:
    """Wall band (Hz) of a bitrate class as :data:`BITRATE_CLASSES` defines it (None for an open-ended class)."""
    if not codec or not label:
        return None
    lower = None
    for bound, name in BITRATE_CLASSES.get(str(codec).lower(), ()):
        if name == label:
            if bound >= 1e8:  # open-ended top class: no upper edge; the measured table says more
                return None
            return (bound - 1500.0 if lower is None else lower, bound)
        lower = bound
    return None
