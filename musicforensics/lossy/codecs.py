"""Where lossy codecs put their low-pass wall: the one home of every codec table the lossy verdicts and their
figures use (measured on the reference corpus and read from the encoders' sources; docs/references.md).

* :data:`BITRATE_CLASSES`: the bitrate class a wall frequency implies, per family (upper wall bound, label),
  used when the fitted per-class wall distributions of the family model have nothing to say;
* :data:`CONTAINER_WALL_HZ`: the lowest wall a single generation leaves at a container's average bitrate, so an
  MP3 whose content stops far lower shows an earlier, lower-quality generation;
* :data:`EXPECTED_WALLS_HZ`: the band where a codec setting puts its edge at 44.1 kHz, drawn on the figures.

>>> bitrate_class("mp3", 16200.0)
'128 kbps / V5'
>>> container_expected_wall("mp3", 320.0)
19900.0
>>> expected_wall_band("aac", "128 kbps")
(16900, 17500)
"""

from __future__ import annotations

import re

#: Bitrate class from the wall frequency per family (upper wall bound in Hz, label), at 44.1 kHz.
BITRATE_CLASSES = {
    "mp3": ((15800, "<=96 kbps"), (17150, "128 kbps / V5"), (18200, "160 kbps"), (19250, "192 kbps / V2"),
            (20000, "256 kbps"), (1e9, "320 kbps / V0")),
    "aac": ((16600, "<=96 kbps"), (18300, "128 kbps"), (19900, "192 kbps"), (1e9, ">=256 kbps")),
    "vorbis": ((16000, "q0-q1"), (17800, "q2-q3"), (19600, "q4"), (20900, "q5"), (1e9, ">=q6")),
    "opus": ((1e9, "any (20 kHz band limit)"),),
    "mp2": ((1e9, ">=192 kbps"),),
}
#: Expected lowest wall of a lossy container at its bitrate (kbps upper bound, Hz): content whose wall sits
#: more than GENERATION_MARGIN_HZ below it went through an earlier, lower-quality generation.
CONTAINER_WALL_HZ = {
    "mp3": ((100, 15000), (140, 16400), (176, 17100), (224, 18600), (288, 19300), (1e9, 19900)),
    "vorbis": ((100, 15000), (140, 16500), (176, 17000), (224, 18800), (1e9, 19900)),
    "opus": ((1e9, 19500),),
}
#: How far (Hz) below the container's expected wall the content must stop to show an earlier generation.
GENERATION_MARGIN_HZ = 1500.0
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


def container_expected_wall(codec: str, kbps: float | None) -> float | None:
    """The lowest wall (Hz) one generation of ``codec`` at ``kbps`` leaves (None when the table has no entry)."""
    table = CONTAINER_WALL_HZ.get(codec)
    if table is None or kbps is None:
        return None
    for bound, hz in table:
        if kbps <= bound:
            return float(hz)
    return None


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
