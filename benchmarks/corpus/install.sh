#!/usr/bin/env bash
# Install what the reference-corpus builder (benchmarks/corpus) needs. Idempotent: re-running is cheap.
#
# Debian packages: lame, ffmpeg (native AAC, libvorbis, libopus, libtwolame, libsoxr), flac, sox +
#   libsox-fmt-all, fluidsynth, fluid-soundfont-gm (/usr/share/sounds/sf2/FluidR3_GM.sf2), rubberband-cli (the
#   evasion layer's phase-vocoder pitch shifts; without it the builder falls back to sox's pitch effect).
# PyPI packages: music21 (scores), numpy, scipy, soundfile (already runtime deps of musicforensics).
# The AI rows additionally need the neural stack: see benchmarks/corpus/install_neural.sh.
#
# `apt-get update` runs only when a package is missing. Needs root (or sudo) for apt.
set -euo pipefail
PY=${PYTHON:-python3}
DEBS=(lame ffmpeg flac sox libsox-fmt-all fluidsynth fluid-soundfont-gm rubberband-cli)
PIPS=("music21>=9" "numpy>=1.24" "scipy>=1.10" "soundfile>=0.12")

missing=()
for pkg in "${DEBS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "installing Debian packages: ${missing[*]}" >&2
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
else
    echo "Debian packages already installed: ${DEBS[*]}" >&2
fi

if ! "$PY" - "${PIPS[@]}" <<'PYEOF'
import sys
from importlib import metadata
names = [spec.split(">")[0].split("=")[0] for spec in sys.argv[1:]]
try:
    for name in names:
        metadata.version(name)
except metadata.PackageNotFoundError:
    sys.exit(1)
PYEOF
then
    "$PY" -m pip install "${PIPS[@]}"
else
    echo "PyPI packages already installed: ${PIPS[*]}" >&2
fi

# Check the soundfont and the encoders ffmpeg must provide.
test -f /usr/share/sounds/sf2/FluidR3_GM.sf2 || { echo "FluidR3_GM.sf2 missing" >&2; exit 1; }
encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null)
for enc in aac libvorbis libopus libtwolame; do
    grep -qw -- "$enc" <<<"$encoders" || { echo "ffmpeg lacks encoder $enc" >&2; exit 1; }
done
echo "corpus dependencies OK" >&2
