"""Rows of the real-world development set's manifest, turned into the labels and groups ``evaluate`` scores.

That manifest (``path, class, source, licence, format, sample_rate, channels, duration_s, eff_bits,
spectrum_check, label_confidence, notes``) states what each file is, not what each detector should find, and
has no ``split`` column. File names read ``<publisher>__<rest>``. The fields are derived by these rules:

- ``family`` (the source): the publisher token before the first ``__`` (``deezer``, ``musicgen_out``,
  ``sonic-pi-samples``, ``mirdata``, ``essentia``, ...).
- ``architecture`` (the generator), ``ai`` rows only: ``<name>`` for a publisher named ``<name>_out`` (the file
  a generator's example script writes: ``musicgen_out__...`` -> ``musicgen``); otherwise the second token
  (``deezer__encodec24__000002.mp3`` -> ``encodec24``). ``weights`` is ``trained`` (publishers' models), or
  ``not-neural`` for Griffin-Lim (``griffin*``): labelled ai, kept in their own rows as a stated limit.
- ``postprocess``: the lossy format an ``ai`` file was delivered in (``mp3``), else ``none``.
- ``codec``: the lossy format of the file; for a lossy-class PCM file (a decoded lossy file), the first codec
  its notes name, with ``setting`` ``decoded``; ``none`` otherwise.
- ``source_piece`` (the group for grouped cross-validation): ``deezer/<song>`` for every version of a Deezer
  song (``deezer__<version>__<song>``, the FMA original ``deezer__real__<song>`` included); otherwise
  ``<publisher>/<stem>``, where the stem drops the extension and a variant marker (``.hq``, ``.reencoded``, a
  trailing bit depth ``24bit`` or sample rate ``22050``), so one recording in several formats or qualities is
  one group (Essentia's ``dubstep`` and ``cat_purrrr``, madmom's ``stereo_sample``, pedalboard's
  ``sample_mono_22050Hz`` and its re-encode, librosa's ``.hq`` pairs); clips cut from one recording
  (``clip_<n>_start_<ms>_ms_duration_<ms>_ms``) are one group.
- ``label_ai``: 1 for class ``ai``, else 0.
- ``label_lossy``: 1 when the format is lossy or the class is ``lossy`` (a decoded lossy file); 0 for classes
  ``genuine`` and ``ai`` in PCM or FLAC; for other rows (``peer_fixtures``) unknown, unless the notes call the
  file the lossless side of a pair (``lossless-vs-lossy``): 0.
- ``label_bitpadded``: 0 for lossy formats; for integer PCM (``pcm_s16le``, ``pcm_s24le``, ...) 1 when
  ``eff_bits`` is below the container depth, else 0; for float PCM 0 when ``eff_bits`` >= 24 (fewer bits in
  a float file may be gain, not padding); for a published FLAC (``flac``: its stored depth is not in the
  manifest) 0 when ``eff_bits`` >= 16, taking it as stored at the depth in use; unknown otherwise.
- ``label_upsampled``: unknown for ``peer_fixtures``, 0 for every other class.

Unknown labels are ``None``: those files are left out of that kind's rates and ROC and counted as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

#: Columns that mark the real-world layout (a manifest with these and no ``label_<kind>`` column).
REALWORLD_COLUMNS = ("path", "class", "format")
#: Values of ``format`` that are lossy codecs (as ffprobe names them), mapped to the codec column's spelling.
LOSSY_FORMATS = {"mp3": "mp3", "mp2": "mp2", "aac": "aac", "vorbis": "vorbis", "opus": "opus", "wmav1": "wma",
                 "wmav2": "wma", "ac3": "ac3", "eac3": "eac3"}
#: Publishers whose file names are ``<publisher>__<version>__<song>``, every version of a song one group.
VERSIONED_PUBLISHERS = ("deezer",)
#: Generator name prefixes that are not neural decoders (labelled ai, shown apart).
NON_NEURAL_GENERATORS = ("griffin",)
#: Phrase of the notes that names a PCM file the lossless side of a lossless-vs-lossy pair.
LOSSLESS_PAIR_NOTE = "lossless-vs-lossy"

_INT_PCM = re.compile(r"^pcm_[su](\d+)")
_FLOAT_PCM = re.compile(r"^pcm_f\d+")
_VARIANT = re.compile(r"(\.hq|\.reencoded|(?<=\D)\d{1,2}bit|(?<=\D)(?:8000|11025|16000|22050|24000|32000|44100"
                      r"|48000|88200|96000)(?:Hz)?)$")
_CLIP = re.compile(r"^clip_\d+_start_\d+_ms_duration_\d+_ms$")
_CODEC_WORD = re.compile(r"\b(" + "|".join(sorted(set(LOSSY_FORMATS.values()))) + r")\b", re.IGNORECASE)


def _publisher_and_rest(path: str) -> tuple[str, str]:
    name = PurePosixPath(path).name
    publisher, _, rest = name.partition("__")
    return (publisher, rest) if rest else ("", name)


def _stem(rest: str) -> str:
    """The name after the publisher without its extension and variant markers."""
    stem = rest.rsplit(".", 1)[0] if "." in rest else rest
    while (shorter := _VARIANT.sub("", stem).rstrip("_-.")) != stem and shorter:
        stem = shorter
    return "clip" if _CLIP.match(stem) else stem


def source_piece(path: str) -> str:
    """Group id of a real-world file: one song or recording, whatever its version or format.

    >>> source_piece("ai/deezer__encodec24__000002.mp3"), source_piece("lossy/deezer__real__000002.mp3")
    ('deezer/000002', 'deezer/000002')
    >>> source_piece("peer_fixtures/essentia__cat_purrrr24bit.wav")
    'essentia/cat_purrrr'
    """
    publisher, rest = _publisher_and_rest(path)
    tokens = rest.split("__")
    if publisher in VERSIONED_PUBLISHERS and len(tokens) == 2:
        return f"{publisher}/{tokens[1].split('.')[0]}"
    return f"{publisher}/{_stem(rest)}" if publisher else _stem(rest)


def generator(path: str) -> str:
    """Generator of an AI file from its name (see the module doc); ``unknown`` when the name says none.

    >>> generator("ai/deezer__lac14__000003.mp3"), generator("ai/musicgen_out__ahmedjama__musicgen_out.wav")
    ('lac14', 'musicgen')
    """
    publisher, rest = _publisher_and_rest(path)
    if publisher.endswith("_out"):
        return publisher[: -len("_out")]
    tokens = rest.split("__")
    return tokens[0] if len(tokens) == 2 else "unknown"


def _eff_bits(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        return None


def _bitpadded_label(fmt: str, eff_bits: int | None) -> int | None:
    if fmt in LOSSY_FORMATS:
        return 0
    if eff_bits is None:
        return None
    if m := _INT_PCM.match(fmt):
        return int(eff_bits < int(m.group(1)))
    if _FLOAT_PCM.match(fmt):
        return 0 if eff_bits >= 24 else None  # a float file's bits in use do not tell padding from gain
    return 0 if eff_bits >= 16 else None  # FLAC as published: stored depth not in the manifest


def _lossy_label(fmt: str, cls: str, notes: str) -> int | None:
    if fmt in LOSSY_FORMATS or cls == "lossy":
        return 1
    if cls in ("genuine", "ai") or LOSSLESS_PAIR_NOTE in notes:
        return 0
    return None


def _codec(fmt: str, cls: str, notes: str) -> tuple[str, str]:
    """(codec, setting) of a file: its lossy format, or for a decoded lossy file the codec its notes name."""
    if fmt in LOSSY_FORMATS:
        return LOSSY_FORMATS[fmt], ""
    if cls == "lossy":
        m = _CODEC_WORD.search(notes)
        return (m.group(1).lower() if m else "unknown"), "decoded"
    return "none", ""


def realworld_fields(record: Mapping[str, str]) -> dict:
    """:class:`~musicforensics.pipeline.manifest.ManifestRow` fields of one real-world manifest record.

    >>> f = realworld_fields({"path": "ai/deezer__griffin256__000002.mp3", "class": "ai", "format": "mp3"})
    >>> f["architecture"], f["weights"], f["family"], f["labels"]["ai"], f["labels"]["lossy"]
    ('griffin256', 'not-neural', 'deezer', 1, 1)
    """
    def text(column: str) -> str:
        return (record.get(column) or "").strip()

    path, cls, fmt, notes = text("path"), text("class"), text("format").lower(), text("notes")
    is_ai = cls == "ai"
    arch = generator(path) if is_ai else ""
    codec, setting = _codec(fmt, cls, notes)
    return {
        "path": path, "cls": cls, "family": _publisher_and_rest(path)[0] or "unknown",
        "codec": codec, "setting": setting, "architecture": arch,
        "weights": ("not-neural" if arch.startswith(NON_NEURAL_GENERATORS) else "trained") if is_ai else "",
        "postprocess": LOSSY_FORMATS.get(fmt, "none") if is_ai else "none",
        "source_piece": source_piece(path),
        "labels": {
            "lossy": _lossy_label(fmt, cls, notes.lower()),
            "upsampled": None if cls == "peer_fixtures" else 0,
            "bitpadded": _bitpadded_label(fmt, _eff_bits(text("eff_bits"))),
            "ai": int(is_ai),
        },
    }
