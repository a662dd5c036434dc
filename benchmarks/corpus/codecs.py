"""Thin subprocess wrappers over real encoders, decoders and resamplers.

Tools (Debian packages): ``lame`` (MP3), ``ffmpeg`` (native AAC, libvorbis, libopus, native MP2, decoding,
swr/soxr resampling), ``sox`` (soxr-based ``rate -v``), ``flac`` (integrity test). Every call uses
``check=True``; a missing tool raises :class:`ToolMissingError` naming the tool and its Debian package.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PACKAGE = {
    "lame": "lame",
    "ffmpeg": "ffmpeg",
    "ffprobe": "ffmpeg",
    "sox": "sox",
    "flac": "flac",
    "fluidsynth": "fluidsynth",
    "rubberband": "rubberband-cli",
}


class ToolMissingError(RuntimeError):
    """A required command-line tool is not on ``PATH``."""

    def __init__(self, tool: str):
        package = DEBIAN_PACKAGE.get(tool, tool)
        super().__init__(
            f"{tool!r} not found on PATH: install the Debian package {package!r} "
            "(benchmarks/corpus/install.sh does this)"
        )
        self.tool = tool


class ToolFailedError(RuntimeError):
    """A tool ran and exited non-zero; the message carries the command and its stderr tail."""


@dataclass(frozen=True)
class LossySetting:
    """One lossy encoder configuration.

    Attributes
    ----------
    codec : str
        ``mp3``, ``aac``, ``vorbis``, ``opus`` or ``mp2``.
    setting : str
        Short label used in the manifest, e.g. ``cbr128``, ``v0``, ``128k``, ``q6``.
    family : str
        Manifest family (``mp3_cbr``, ``mp3_vbr``, ``aac``, ``vorbis``, ``opus``, ``mp2``).
    """

    codec: str
    setting: str
    family: str

    @property
    def label(self) -> str:
        """``codec_setting`` without the ``cbr``/``k`` decoration, used for double-encode chains."""
        value = self.setting.removeprefix("cbr").removesuffix("k")
        return f"{self.codec}_{value}"


LOSSY_SETTINGS: tuple[LossySetting, ...] = (
    *(LossySetting("mp3", f"cbr{b}", "mp3_cbr") for b in (96, 128, 160, 192, 256, 320)),
    *(LossySetting("mp3", f"v{q}", "mp3_vbr") for q in (0, 2, 5)),
    *(LossySetting("aac", f"{b}k", "aac") for b in (96, 128, 192, 256, 320)),
    *(LossySetting("vorbis", f"q{q}", "vorbis") for q in (0, 2, 4, 5, 6, 8)),
    *(LossySetting("opus", f"{b}k", "opus") for b in (64, 96, 128, 192)),
    *(LossySetting("mp2", f"{b}k", "mp2") for b in (192, 256, 384)),
)
"""Every single-encode lossy configuration in the corpus."""

DOUBLE_CHAINS: tuple[tuple[LossySetting, LossySetting], ...] = (
    (LossySetting("mp3", "cbr128", "mp3_cbr"), LossySetting("aac", "256k", "aac")),
    (LossySetting("aac", "128k", "aac"), LossySetting("mp3", "cbr320", "mp3_cbr")),
    (LossySetting("mp3", "cbr192", "mp3_cbr"), LossySetting("vorbis", "q6", "vorbis")),
    (LossySetting("opus", "96k", "opus"), LossySetting("mp3", "v0", "mp3_vbr")),
)
"""Double encodes (first, second); the manifest's codec is the second's."""

EXTENSION = {"mp3": ".mp3", "aac": ".m4a", "vorbis": ".ogg", "opus": ".opus", "mp2": ".mp2"}
FFMPEG_ENCODER = {"aac": "aac", "vorbis": "libvorbis", "opus": "libopus", "mp2": "libtwolame"}
"""ffmpeg encoders; MP2 uses libtwolame because ffmpeg's native mp2 encoder low-passes near 14 kHz even at
384 kbps (measured), unlike real-world MP2 broadcast/DVD streams."""


def require_tool(tool: str) -> str:
    """Return the absolute path of ``tool`` or raise :class:`ToolMissingError`."""
    exe = shutil.which(tool)
    if exe is None:
        raise ToolMissingError(tool)
    return exe


def run(cmd: list[str]) -> str:
    """Run a command with ``check=True``; return stdout; raise errors that name the tool."""
    exe = require_tool(cmd[0])
    try:
        proc = subprocess.run([exe, *cmd[1:]], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or "").strip()[-800:]
        raise ToolFailedError(f"{cmd[0]} failed (exit {exc.returncode}): {' '.join(cmd)}\n{tail}") from exc
    return proc.stdout


def ffmpeg_command(*args: str) -> list[str]:
    """An FFmpeg command line with ``args``: quiet, never reading stdin, overwriting its output."""
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]


def encode_command(src: Path, dst: Path, setting: LossySetting) -> list[str]:
    """The exact encoder command line for ``setting`` (``src`` is WAV or FLAC)."""
    codec, value = setting.codec, setting.setting
    if codec == "mp3":
        mode = ["--cbr", "-b", value.removeprefix("cbr")] if value.startswith("cbr") else ["-V", value[1:]]
        return ["lame", "--quiet", "--noreplaygain", *mode, str(src), str(dst)]
    args = ["-i", str(src), "-map_metadata", "-1", "-c:a", FFMPEG_ENCODER[codec]]
    if codec == "vorbis":
        args += ["-q:a", value.removeprefix("q")]
    else:
        args += ["-b:a", value]
    return ffmpeg_command(*args, str(dst))


def encode(src: Path, dst: Path, setting: LossySetting) -> None:
    """Encode a WAV/FLAC file to the lossy format of ``setting`` (lame reads WAV only)."""
    run(encode_command(src, dst, setting))


def decode(
    src: Path, dst: Path, *, sample_rate: int | None = None, bit_depth: int = 16, resampler: str = "swr"
) -> None:
    """Decode any ffmpeg-readable file to WAV or FLAC (by ``dst`` suffix) at ``bit_depth`` bits.

    Parameters
    ----------
    src, dst : Path
        Input file; output ``.wav`` or ``.flac``.
    sample_rate : int, optional
        Resample to this rate (Hz) with ffmpeg's ``aresample`` (``resampler`` ``"swr"``, ffmpeg's default,
        or ``"soxr"``); ``None`` keeps the decoded rate (Opus always decodes at 48 kHz).
    bit_depth : int
        16, 24 or 32 (32 = float WAV, only for ``.wav``).
    """
    args = ["-i", str(src), "-map_metadata", "-1"]
    if sample_rate is not None:
        args += ["-af", f"aresample={sample_rate}:resampler={resampler}"]
    args += _sample_format_args(dst, bit_depth)
    run(ffmpeg_command(*args, str(dst)))


def _sample_format_args(dst: Path, bit_depth: int) -> list[str]:
    if dst.suffix == ".flac":
        if bit_depth == 16:
            return ["-c:a", "flac", "-sample_fmt", "s16"]
        if bit_depth == 24:
            return ["-c:a", "flac", "-sample_fmt", "s32", "-bits_per_raw_sample", "24"]
    elif dst.suffix == ".wav":
        codec = {16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_f32le"}.get(bit_depth)
        if codec:
            return ["-c:a", codec]
    raise ValueError(f"unsupported output {dst.suffix!r} at {bit_depth!r} bits")


def transcode(src: Path, dst: Path, chain: tuple[LossySetting, ...], *, sample_rate: int) -> None:
    """Encode ``src`` through each lossy setting in turn and decode to 16-bit FLAC at ``sample_rate``.

    Between encodes the stream is decoded to 16-bit WAV at ``sample_rate`` (Opus' 48 kHz output is resampled
    back with ffmpeg's default swr resampler when the source is 44.1 kHz).
    """
    with tempfile.TemporaryDirectory(prefix="mf_codec_") as tmp:
        current = Path(tmp) / "step0.wav"
        decode(src, current, bit_depth=16)
        for i, setting in enumerate(chain, start=1):
            coded = Path(tmp) / f"step{i}{EXTENSION[setting.codec]}"
            encode(current, coded, setting)
            current = Path(tmp) / f"step{i}.wav"
            decode(coded, current, sample_rate=sample_rate, bit_depth=16)
        decode(current, dst, bit_depth=16)


def sox_resample(src: Path, dst: Path, *, sample_rate: int, bit_depth: int) -> None:
    """Resample with SoX's very-high-quality soxr engine (``rate -v``); SoX dithers when reducing depth.

    ``-G`` lets SoX lower the gain only if the resampled signal would clip.
    """
    run(["sox", "-G", str(src), "-b", str(bit_depth), str(dst), "rate", "-v", str(sample_rate)])


def sox_speed(src: Path, dst: Path, *, factor: float, sample_rate: int, bit_depth: int = 16) -> None:
    """Speed change by resampling (tempo and pitch together: every frequency times ``factor``), brought back
    to ``sample_rate`` by soxr (``speed F rate -v``); the same operation as a pitch change by resampling."""
    run(
        ["sox", "-G", str(src), "-b", str(bit_depth), str(dst), "speed", f"{factor:.6f}"]
        + ["rate", "-v", str(sample_rate)]
    )


def vocoder_tool() -> str:
    """The phase-vocoder pitch shifter used here: ``rubberband`` when installed, else SoX's ``pitch``."""
    return "rubberband" if shutil.which("rubberband") else "sox"


def pitch_shift_command(src: Path, dst: Path, semitones: int, tool: str) -> list[str]:
    """Pitch shift by ``semitones`` keeping the tempo: ``rubberband -p N`` or ``sox pitch 100N``."""
    if tool == "rubberband":
        return ["rubberband", "--quiet", "--pitch", f"{semitones:+d}", str(src), str(dst)]
    return ["sox", "-G", str(src), str(dst), "pitch", str(100 * semitones)]


def ffmpeg_resample(
    src: Path, dst: Path, *, sample_rate: int, bit_depth: int, resampler: str = "swr"
) -> None:
    """Resample with ffmpeg's ``aresample`` filter (default ``swr`` engine, or ``soxr``)."""
    decode(src, dst, sample_rate=sample_rate, bit_depth=bit_depth, resampler=resampler)


def flac_test(path: Path) -> None:
    """Verify a FLAC file's integrity with ``flac --test``."""
    run(["flac", "--test", "--silent", str(path)])


def tool_versions() -> dict[str, str]:
    """First version line of each external tool, or ``"missing"``."""
    probes = {
        "lame": ["lame", "--version"],
        "ffmpeg": ["ffmpeg", "-version"],
        "sox": ["sox", "--version"],
        "flac": ["flac", "--version"],
        "fluidsynth": ["fluidsynth", "--version"],
    }
    versions = {}
    for tool, cmd in probes.items():
        try:
            out = run(cmd)
        except (ToolMissingError, ToolFailedError):
            versions[tool] = "missing"
            continue
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        versions[tool] = lines[0] if lines else "unknown"
    return versions


ENCODER_LIBRARIES = (
    "libmp3lame0",
    "libvorbis0a",
    "libvorbisenc2",
    "libopus0",
    "libtwolame0",
    "libsoxr0",
    "libflac12",
    "fluid-soundfont-gm",
)
"""Debian packages whose versions pin the encoders' behaviour (ffmpeg links the codec libraries)."""


def library_versions() -> dict[str, str]:
    """Debian package versions of the codec libraries (``{}`` when ``dpkg-query`` is unavailable)."""
    if shutil.which("dpkg-query") is None:
        return {}
    versions = {}
    for package in ENCODER_LIBRARIES:
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", package], check=False, capture_output=True, text=True
        )
        versions[package] = proc.stdout.strip() if proc.returncode == 0 else "missing"
    return versions
