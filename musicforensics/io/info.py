"""Container facts about an audio file (:class:`AudioInfo`) and the libsndfile subtype tables behind them.

No I/O here: :mod:`.audio` and :mod:`.ffmpeg` fill these records from libsndfile and from ffprobe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: Bits per sample of each integer/float PCM subtype (None: a compressed, lossy subtype).
SUBTYPE_BITS = {
    "PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
    "FLOAT": 32, "DOUBLE": 64, "ALAC_16": 16, "ALAC_20": 20, "ALAC_24": 24, "ALAC_32": 32,
}
#: Subtypes that store floating-point samples.
FLOAT_SUBTYPES = frozenset({"FLOAT", "DOUBLE"})
#: Subtypes whose samples passed through a lossy codec: reading them is a fact, not a detection.
LOSSY_SUBTYPES = {
    "MPEG_LAYER_I": "mp1", "MPEG_LAYER_II": "mp2", "MPEG_LAYER_III": "mp3",
    "VORBIS": "vorbis", "OPUS": "opus", "GSM610": "gsm", "IMA_ADPCM": "adpcm", "MS_ADPCM": "adpcm",
    "G721_32": "g721", "G723_24": "g723", "G723_40": "g723", "ULAW": "ulaw", "ALAW": "alaw",
}

#: Subtypes whose decoded samples float32 holds exactly: integers of up to 24 bits, and the codecs whose
#: libsndfile decoders produce 32-bit floats (checked: float32 and float64 reads agree bit for bit).
#: Reading these as float32 costs less than float64 downstream and changes no result.
FLOAT32_EXACT_SUBTYPES = frozenset({
    "PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "FLOAT", "ALAC_16", "ALAC_20", "ALAC_24", "ULAW", "ALAW",
    "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS", "OPUS",
})

@dataclass(frozen=True)
class AudioInfo:
    """Container facts about one audio file.

    Attributes
    ----------
    container : str
        libsndfile major format, e.g. ``"FLAC"``, ``"WAV"``, ``"MP3"``, ``"OGG"``.
    subtype : str
        libsndfile subtype, e.g. ``"PCM_24"``, ``"FLOAT"``, ``"VORBIS"``.
    sample_rate : int
        Samples per second per channel (Hz).
    channels : int
        Channel count.
    frames : int
        Samples per channel.
    bit_depth : int or None
        Bits per stored sample for PCM/float subtypes; None for lossy codecs.
    is_float : bool
        True when samples are stored as floating point.
    lossy_codec : str or None
        Codec of a lossy container (``"mp3"``, ``"vorbis"``, ``"opus"``, ...), else None.
    file_size : int
        Size on disk, bytes.
    """

    container: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int
    bit_depth: int | None
    is_float: bool
    lossy_codec: str | None
    file_size: int

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def bitrate_kbps(self) -> float | None:
        """Average bitrate of the whole file in kbit/s (size over duration), None when empty."""
        if self.duration_s <= 0:
            return None
        return self.file_size * 8 / self.duration_s / 1000

    def to_dict(self) -> dict:
        """Plain-data view including derived fields, for JSON output."""
        data = asdict(self)
        data["duration_s"] = round(self.duration_s, 6)
        rate = self.bitrate_kbps
        data["bitrate_kbps"] = None if rate is None else round(rate, 1)
        return data
