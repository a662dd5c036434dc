"""Render music21 corpus pieces to audio: score -> notes -> Standard MIDI File -> fluidsynth.

The score is flattened to a list of timed notes at a fixed tempo, written as a type-1 MIDI file with one
track per part (General MIDI program chosen by an :class:`Arrangement`), optionally with a channel-10 drum
track, and rendered to 32-bit float WAV by the ``fluidsynth`` command-line synthesiser with the FluidR3 GM
soundfont (Debian ``fluid-soundfont-gm``). fluidsynth's default reverb and chorus stay on.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
"""General MIDI soundfont shipped by Debian ``fluid-soundfont-gm``."""

TICKS_PER_QUARTER = 480
MIDI_TEMPO_US = 500_000  # 120 qpm: 960 ticks per second, so seconds map to ticks exactly
TICKS_PER_SECOND = TICKS_PER_QUARTER * 1_000_000 / MIDI_TEMPO_US
DRUM_CHANNEL = 9  # General MIDI channel 10 (zero-based 9)
TARGET_PEAK_DBFS = -1.0
FADE_OUT_S = 0.05

# music21 bundled-corpus pieces that parse quickly (< ~1.5 s each) and have several parts or a clear tune.
PIECE_POOL: tuple[str, ...] = (
    "bach/bwv66.6",
    "bach/bwv1.6",
    "bach/bwv10.7",
    "bach/bwv101.7",
    "bach/bwv102.7",
    "bach/bwv103.6",
    "bach/bwv104.6",
    "bach/bwv108.6",
    "bach/bwv11.6",
    "bach/bwv110.7",
    "bach/bwv111.6",
    "bach/bwv112.5",
    "bach/bwv113.8",
    "bach/bwv114.7",
    "bach/bwv115.6",
    "bach/bwv116.6",
    "bach/bwv117.4",
    "bach/bwv119.9",
    "bach/bwv12.7",
    "bach/bwv121.6",
    "bach/bwv122.6",
    "bach/bwv123.6",
    "bach/bwv124.6",
    "bach/bwv125.6",
    "mozart/k155/movement1",
    "mozart/k155/movement2",
    "mozart/k156/movement1",
    "mozart/k80/movement1",
    "haydn/opus1no1/movement1",
    "beethoven/opus18no1/movement3",
    "joplin/maple_leaf_rag",
    "schubert/Lindenbaum",
    "handel/rinaldo/Lascia_chio_pianga",
    "chopin/mazurka06-2",
    "corelli/opus3no1/1grave",
    "verdi/laDonnaEMobile",
    "cpebach/h186",
    "monteverdi/madrigal.3.1",
    "monteverdi/madrigal.4.1",
    "schoenberg/opus19/movement2",
    "josquin/adieuMesAmours",
    "ryansMammoth/7thRegimentReel",
    "trecento/Fava_Dicant_nunc_iudei",
    "luca/gloria",
    "lusitano/allor_che_ignuda",
)


@dataclass(frozen=True)
class Arrangement:
    """A General MIDI orchestration for a piece.

    Attributes
    ----------
    name : str
        Short name (``piano``, ``strings``, ...).
    programs : tuple of int
        GM programs (0-127), cycled over the score's parts from the top voice down.
    drums : bool
        Add a channel-10 drum-kit track (kick, snare, hi-hats, crash/ride).
    light_percussion : bool
        Add a soft shaker/tambourine track; FluidR3's piano and brass samples have almost nothing above
        15 kHz (measured -85 dB re total), so this gives those arrangements real high-frequency content.
    family : str
        Manifest family of the genuine render: ``plain``, ``synth`` or ``drums``.
    """

    name: str
    programs: tuple[int, ...]
    drums: bool
    family: str
    light_percussion: bool = False


ARRANGEMENTS: dict[str, Arrangement] = {
    a.name: a
    for a in (
        Arrangement("piano", (1, 1, 1, 1), False, "plain", light_percussion=True),
        Arrangement("harpsichord", (6, 6, 6, 6), False, "plain"),
        Arrangement("strings", (40, 40, 41, 42, 43), False, "plain"),
        Arrangement("organ", (19, 19, 19, 19), False, "plain"),
        Arrangement("brass", (56, 60, 57, 58), False, "plain", light_percussion=True),
        Arrangement("guitar", (25, 24, 24, 32), False, "plain"),
        Arrangement("synth", (81, 90, 89, 87, 80), False, "synth"),
        Arrangement("synth_drums", (80, 88, 94, 38), True, "drums"),
        Arrangement("band_drums", (0, 27, 25, 33), True, "drums"),
    )
}

SOLO_PROGRAMS: tuple[int, ...] = (0, 40, 24, 73, 71)
"""Solo instruments for quiet hard negatives: piano, violin, nylon guitar, flute, clarinet."""


@dataclass(frozen=True)
class Note:
    """One MIDI note: onset and duration in seconds, MIDI pitch, velocity, zero-based channel."""

    start: float
    duration: float
    pitch: int
    velocity: int
    channel: int


def load_score(piece: str):
    """Parse a music21 bundled-corpus piece, taking the first score of an opus.

    Parameters
    ----------
    piece : str
        Corpus path without extension, e.g. ``"bach/bwv66.6"``.

    Returns
    -------
    music21.stream.Score
    """
    from music21 import corpus, stream

    score = corpus.parse(piece)
    if isinstance(score, stream.Opus):
        score = score.scores[0]
    return score


def score_parts(score) -> list[list[tuple[float, float, int]]]:
    """Flatten each part of a score to ``(offset_ql, duration_ql, midi_pitch)`` tuples.

    Ties are merged; chords contribute one tuple per pitch; grace notes (zero duration) are dropped.
    """
    parts = []
    for part in score.parts:
        events = []
        for element in part.stripTies().flatten().notes:
            duration = float(element.quarterLength)
            if duration <= 0:
                continue
            for pitch in element.pitches:
                events.append((float(element.offset), duration, int(pitch.midi)))
        if events:
            parts.append(sorted(events))
    return parts


def notes_from_parts(
    parts: list[list[tuple[float, float, int]]],
    *,
    programs: tuple[int, ...],
    tempo_qpm: float,
    duration_s: float,
    rng: np.random.Generator,
) -> tuple[list[Note], dict[int, int]]:
    """Time the parts' notes at ``tempo_qpm``, looping the piece until ``duration_s`` is filled.

    Returns the notes and a ``channel -> GM program`` map. Velocities are humanised with ``rng``.
    """
    seconds_per_ql = 60.0 / tempo_qpm
    length_ql = max(off + dur for part in parts for off, dur, _ in part)
    channels = [c for c in range(16) if c != DRUM_CHANNEL][: len(parts)]
    program_map = {ch: programs[i % len(programs)] for i, ch in enumerate(channels)}
    notes: list[Note] = []
    loop = 0
    while loop * length_ql * seconds_per_ql < duration_s:
        base = loop * length_ql
        for ch, part in zip(channels, parts):
            level = 88 if ch == channels[0] else 72
            for off, dur, pitch in part:
                start = (base + off) * seconds_per_ql
                if start >= duration_s:
                    break
                vel = int(np.clip(level + rng.integers(-10, 11), 30, 120))
                notes.append(Note(start, dur * seconds_per_ql * 0.95, pitch, vel, ch))
        loop += 1
    return notes, program_map


def select_voices(notes: list[Note], program_map: dict[int, int], voices: str) -> list[Note]:
    """The notes of the top part (``"top"``: the lowest melodic channel) or of everything else (``"others"``)."""
    if voices not in ("top", "others"):
        raise ValueError(f"voices must be 'all', 'top' or 'others', not {voices!r}")
    top = min(program_map)
    return [n for n in notes if (n.channel == top) == (voices == "top")]


def drum_notes(duration_s: float, *, tempo_qpm: float, rng: np.random.Generator) -> list[Note]:
    """A rock-style kit groove on channel 10: kick on 1/3, snare on 2/4, 8th-note hats, crash every 4 bars.

    Hi-hats, open hats, crash and ride put broadband energy up to the top of the soundfont's samples.
    """
    beat = 60.0 / tempo_qpm
    notes = []
    n_eighths = int(duration_s / (beat / 2)) + 1
    for i in range(n_eighths):
        t = i * beat / 2
        if t >= duration_s:
            break
        beat_in_bar, on_beat = divmod(i % 8, 2)
        hat = 46 if (i % 8 == 7) else 42
        notes.append(Note(t, beat / 2, hat, int(70 + rng.integers(0, 30)), DRUM_CHANNEL))
        if on_beat == 0 and beat_in_bar in (0, 2):
            notes.append(Note(t, beat / 2, 36, 110, DRUM_CHANNEL))
        if on_beat == 0 and beat_in_bar in (1, 3):
            notes.append(Note(t, beat / 2, 38, 100, DRUM_CHANNEL))
        if i % 32 == 0:
            notes.append(Note(t, 2 * beat, 49, 100, DRUM_CHANNEL))
        elif i % 8 == 0 and rng.random() < 0.5:
            notes.append(Note(t, beat, 51, 80, DRUM_CHANNEL))
    return notes


def light_percussion_notes(duration_s: float, *, tempo_qpm: float, rng: np.random.Generator) -> list[Note]:
    """Soft maracas on 8th notes and a tambourine on beats 2 and 4 (channel 10)."""
    beat = 60.0 / tempo_qpm
    notes = []
    for i in range(int(duration_s / (beat / 2)) + 1):
        t = i * beat / 2
        notes.append(Note(t, beat / 2, 70, int(30 + rng.integers(0, 20)), DRUM_CHANNEL))
        if i % 4 == 2:
            notes.append(Note(t, beat / 2, 54, int(35 + rng.integers(0, 15)), DRUM_CHANNEL))
    return notes


def _vlq(value: int) -> bytes:
    """Encode a MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def _track_chunk(events: list[tuple[int, bytes]]) -> bytes:
    """Build an ``MTrk`` chunk from ``(absolute_tick, message)`` events (sorted stably here)."""
    data = bytearray()
    now = 0
    for tick, message in sorted(events, key=lambda e: e[0]):
        data += _vlq(tick - now) + message
        now = tick
    data += b"\x00\xff\x2f\x00"  # end of track
    return b"MTrk" + struct.pack(">I", len(data)) + bytes(data)


def write_midi(path: Path, notes: list[Note], program_map: dict[int, int]) -> None:
    """Write notes as a type-1 Standard MIDI File (one track per channel, tempo 120 qpm).

    Parameters
    ----------
    path : Path
        Output ``.mid`` path.
    notes : list of Note
        Notes with times in seconds.
    program_map : dict
        ``channel -> GM program``; the drum channel needs no entry.
    """
    tempo = b"\x00\xff\x51\x03" + MIDI_TEMPO_US.to_bytes(3, "big")
    tracks = [b"MTrk" + struct.pack(">I", len(tempo) + 4) + tempo + b"\x00\xff\x2f\x00"]
    for channel in sorted({n.channel for n in notes}):
        events: list[tuple[int, bytes]] = []
        if channel in program_map:
            events.append((0, bytes([0xC0 | channel, program_map[channel]])))
        for n in (n for n in notes if n.channel == channel):
            on = round(n.start * TICKS_PER_SECOND)
            off = max(on + 1, round((n.start + n.duration) * TICKS_PER_SECOND))
            # note-offs sort before note-ons at the same tick thanks to the stable sort on tick only
            events.append((off, bytes([0x80 | channel, n.pitch, 0])))
            events.append((on, bytes([0x90 | channel, n.pitch, n.velocity])))
        tracks.append(_track_chunk(events))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TICKS_PER_QUARTER)
    path.write_bytes(header + b"".join(tracks))


def require_fluidsynth() -> str:
    """Return the ``fluidsynth`` executable path or raise naming the missing Debian package."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RuntimeError(
            "fluidsynth not found on PATH: install the Debian package 'fluidsynth' "
            "(see benchmarks/corpus/install.sh)"
        )
    return exe


def render_midi(midi_path: Path, *, sample_rate: int, soundfont: Path = DEFAULT_SOUNDFONT) -> np.ndarray:
    """Render a MIDI file with fluidsynth to float32 audio of shape ``(frames, 2)``.

    Parameters
    ----------
    midi_path : Path
        Input Standard MIDI File.
    sample_rate : int
        Synthesis rate in Hz (fluidsynth accepts up to 96000).
    soundfont : Path
        SF2 soundfont.
    """
    exe = require_fluidsynth()
    if not soundfont.exists():
        raise RuntimeError(f"soundfont {str(soundfont)!r} not found: install Debian 'fluid-soundfont-gm'")
    with tempfile.TemporaryDirectory(prefix="mf_render_") as tmp:
        wav = Path(tmp) / "render.wav"
        cmd = [
            exe,
            "-ni",
            "-q",
            "-g",
            "0.6",
            "-r",
            str(sample_rate),
            "-O",
            "float",
            "-T",
            "wav",
            "-F",
            str(wav),
            str(soundfont),
            str(midi_path),
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    if sr != sample_rate:
        raise RuntimeError(f"fluidsynth rendered at {sr} Hz, asked for {sample_rate} Hz")
    return audio


def finish(
    audio: np.ndarray,
    *,
    sample_rate: int,
    duration_s: float,
    peak_dbfs: float = TARGET_PEAK_DBFS,
    skip_silence: bool = True,
) -> np.ndarray:
    """Trim to ``duration_s``, skip leading silence (unless ``skip_silence`` is false, which keeps stems of one
    piece aligned), fade out and normalise the peak to ``peak_dbfs``."""
    energy = np.abs(audio).max(axis=1)
    above = np.nonzero(energy > 1e-4)[0]
    start = int(above[0]) if above.size and skip_silence else 0
    out = audio[start : start + round(duration_s * sample_rate)].astype(np.float64)
    fade = min(len(out), int(FADE_OUT_S * sample_rate))
    if fade:
        out[-fade:] *= np.linspace(1.0, 0.0, fade)[:, None]
    return normalise(out, peak_dbfs=peak_dbfs)


def normalise(audio: np.ndarray, *, peak_dbfs: float) -> np.ndarray:
    """Scale so the absolute peak sits at ``peak_dbfs`` dBFS (silence is returned unchanged)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 0:
        return audio.astype(np.float32)
    return (audio * (10 ** (peak_dbfs / 20) / peak)).astype(np.float32)


def render_piece(
    piece: str,
    *,
    arrangement: Arrangement,
    sample_rate: int,
    duration_s: float,
    seed: int,
    solo_program: int | None = None,
    voices: str = "all",
    soundfont: Path = DEFAULT_SOUNDFONT,
) -> np.ndarray:
    """Render ``duration_s`` seconds of a corpus piece, normalised to -1 dBFS peak.

    Parameters
    ----------
    piece : str
        music21 corpus path, e.g. ``"bach/bwv66.6"``.
    arrangement : Arrangement
        Orchestration (ignored for the programs when ``solo_program`` is given).
    sample_rate : int
        Output rate in Hz.
    duration_s : float
        Excerpt length in seconds (the piece loops when shorter).
    seed : int
        Seeds tempo and velocity humanisation, so a piece renders identically at every rate.
    solo_program : int, optional
        Render only the top part with this GM program and no drums (quiet solo hard negatives).
    voices : str
        ``"all"`` (the mix), ``"top"`` (only the top part, with its arrangement program) or ``"others"``
        (every other part and the percussion). Notes are timed and humanised for the whole piece first and a
        stem keeps its leading silence, so ``top`` and ``others`` of one piece line up.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(frames, 2)``.
    """
    rng = np.random.default_rng(seed)
    tempo = float(rng.uniform(84, 126))
    parts = score_parts(load_score(piece))
    if not parts:
        raise RuntimeError(f"music21 piece {piece!r} has no notes")
    programs = arrangement.programs
    drums, light = arrangement.drums, arrangement.light_percussion
    if solo_program is not None:
        parts, programs, drums, light = parts[:1], (solo_program,), False, False
    notes, program_map = notes_from_parts(
        parts, programs=programs, tempo_qpm=tempo, duration_s=duration_s + 1.0, rng=rng
    )
    if drums:
        notes += drum_notes(duration_s + 1.0, tempo_qpm=tempo, rng=rng)
    if light:
        notes += light_percussion_notes(duration_s + 1.0, tempo_qpm=tempo, rng=rng)
    if voices != "all":
        notes = select_voices(notes, program_map, voices)
    with tempfile.TemporaryDirectory(prefix="mf_midi_") as tmp:
        midi = Path(tmp) / "piece.mid"
        write_midi(midi, notes, program_map)
        audio = render_midi(midi, sample_rate=sample_rate, soundfont=soundfont)
    return finish(audio, sample_rate=sample_rate, duration_s=duration_s, skip_silence=voices == "all")
