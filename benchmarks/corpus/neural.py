"""AI-like audio from real neural-decoder architectures (no pretrained weights).

The deconvolution comb (Afchar et al., ISMIR 2025; docs/references.md) is a property of the
architecture: transposed convolutions with strides k1..kL leave peaks spaced fs / prod(k) in the long-term
average spectrum whatever the weights.  Pretrained weights cannot be downloaded here, so this module builds
the published architectures from the packages' own model classes (DAC, EnCodec, SNAC, Vocos) plus a
HiFi-GAN V1 generator written from the paper, and runs audio through encoder -> decoder with either

* ``weights="random"``: seeded random initialisation, or
* ``weights="trained"``: a brief, seeded, time-budgeted reconstruction training (multi-scale STFT L1 +
  waveform L1, Adam) on short crops of ``training_audio`` (or built-in synthetic tones/noise), cached as
  ``cache_dir/<arch>_trained_seed<seed>.pt``.

Deviations from the published systems (deliberate):
* the vector quantiser is bypassed (decoder runs on the encoder's continuous latents): with random or
  briefly-trained codebooks the quantiser only destroys the signal; the decoder, which makes the comb, is
  unchanged;
* Vocos / HiFi-GAN take a log-mel spectrogram computed here (HTK mel filterbank in torch), because their
  feature extractors import torchaudio;
* the installed PyPI torchaudio wheels are CUDA builds for older torch and cannot load with torch 2.13+cpu,
  and descript-audiotools needs torchaudio, so while importing the model packages, *missing* modules
  (torchaudio, audiotools, argbind, huggingface_hub) are replaced by inert placeholders that only satisfy
  import-time references in code paths never run here (file I/O, pretrained download, CLI).  The
  placeholders are removed from ``sys.modules`` straight after, and real installed modules always win.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import time
import types
from math import gcd
from pathlib import Path

import numpy as np

__all__ = ["ARCHITECTURES", "autoencode", "available", "build_model", "comb_prominence", "ltas_db"]

_DBFS_TARGET = 10 ** (-1.0 / 20.0)  # -1 dBFS peak

# name -> metadata.  "strides" are the decoder's upsampling strides in order (input side first); for
# Vocos there are none (iSTFT head) so expected_delta_hz is None.
ARCHITECTURES: dict[str, dict] = {
    "dac44": {
        "strides": (8, 8, 4, 2),
        "sample_rate": 44100,
        "family": "dac",
        "package": "descript-audio-codec",
    },
    "dac24": {
        "strides": (8, 5, 4, 2),
        "sample_rate": 24000,
        "family": "dac",
        "package": "descript-audio-codec",
    },
    "encodec24": {"strides": (8, 5, 4, 2), "sample_rate": 24000, "family": "encodec", "package": "encodec"},
    "encodec48": {"strides": (8, 5, 4, 2), "sample_rate": 48000, "family": "encodec", "package": "encodec"},
    "encodec32": {"strides": (8, 5, 4, 4), "sample_rate": 32000, "family": "encodec", "package": "encodec"},
    "snac24": {"strides": (8, 8, 4, 2), "sample_rate": 24000, "family": "snac", "package": "snac"},
    "snac32": {"strides": (8, 8, 3, 2), "sample_rate": 32000, "family": "snac", "package": "snac"},
    "snac44": {"strides": (8, 8, 3, 2), "sample_rate": 44100, "family": "snac", "package": "snac"},
    "hifigan22": {
        "strides": (8, 8, 2, 2),
        "sample_rate": 22050,
        "family": "hifigan",
        "package": "(in-module)",
    },
    "vocos24": {"strides": (), "sample_rate": 24000, "family": "vocos", "package": "vocos"},
}
for _meta in ARCHITECTURES.values():
    _meta["expected_delta_hz"] = (
        _meta["sample_rate"] / float(np.prod(_meta["strides"])) if _meta["strides"] else None
    )
# Measured here (not in the paper): with random weights the Vocos iSTFT head's overlap-add leaves a strong
# line comb at its frame rate fs / hop = 24000 / 256 = 93.75 Hz.  Kept out of expected_delta_hz (no
# transposed convolutions), recorded for evaluation.
ARCHITECTURES["vocos24"]["frame_comb_hz"] = 24000 / 256.0

# Configs of the published checkpoints (DAC: descript-audio-codec conf/final/*.yml; EnCodec:
# EncodecModel.encodec_model_{24,48}khz; MusicGen 32 kHz: audiocraft/facebook/encodec_32khz; SNAC:
# hubertsiuzdak/snac_{24,32,44}khz config.json; Vocos: charactr/vocos-mel-24khz config.yaml).
_DAC_CFG = {
    "dac44": {
        "encoder_dim": 64,
        "encoder_rates": [2, 4, 8, 8],
        "decoder_dim": 1536,
        "decoder_rates": [8, 8, 4, 2],
        "n_codebooks": 9,
        "codebook_size": 1024,
        "codebook_dim": 8,
        "sample_rate": 44100,
    },
    "dac24": {
        "encoder_dim": 64,
        "encoder_rates": [2, 4, 5, 8],
        "decoder_dim": 1536,
        "decoder_rates": [8, 5, 4, 2],
        "n_codebooks": 32,
        "codebook_size": 1024,
        "codebook_dim": 8,
        "sample_rate": 24000,
    },
}
_SNAC_CFG = {
    "snac24": {
        "sampling_rate": 24000,
        "encoder_dim": 48,
        "encoder_rates": [2, 4, 8, 8],
        "decoder_dim": 1024,
        "decoder_rates": [8, 8, 4, 2],
        "attn_window_size": None,
        "codebook_size": 4096,
        "codebook_dim": 8,
        "vq_strides": [4, 2, 1],
        "noise": True,
        "depthwise": True,
    },
    "snac32": {
        "sampling_rate": 32000,
        "encoder_dim": 64,
        "encoder_rates": [2, 3, 8, 8],
        "decoder_dim": 1536,
        "decoder_rates": [8, 8, 3, 2],
        "attn_window_size": 32,
        "codebook_size": 4096,
        "codebook_dim": 8,
        "vq_strides": [8, 4, 2, 1],
        "noise": True,
        "depthwise": True,
    },
}
# SNAC 44 kHz has the 32 kHz model's architecture at another rate
_SNAC_CFG["snac44"] = {**_SNAC_CFG["snac32"], "sampling_rate": 44100}

_INSTALL_HINT = "run benchmarks/corpus/install_neural.sh"


# --------------------------------------------------------------------------------------------------
# availability and import shims
# --------------------------------------------------------------------------------------------------


def available() -> tuple[bool, str]:
    """(True, "") if torch and the model packages import, else (False, reason)."""
    try:
        import torch  # noqa: F401
    except Exception:  # noqa: BLE001
        return False, f"torch not installed: {_INSTALL_HINT}"
    missing = []
    for mod in ("einops", "dac", "encodec", "snac", "vocos"):
        if importlib.util.find_spec(mod) is None:
            missing.append(mod)
    if missing:
        return False, f"model packages missing ({', '.join(missing)}): {_INSTALL_HINT}"
    try:
        _import_models()
    except Exception as exc:  # noqa: BLE001
        return False, f"model packages fail to import ({type(exc).__name__}: {exc}): {_INSTALL_HINT}"
    return True, ""


_SHIM_ROOTS = ("torchaudio", "audiotools", "argbind", "huggingface_hub")


def _shim_getattr_factory(modname: str):
    cache: dict[str, object] = {}

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in cache:
            return cache[name]
        if name == "BaseModel":
            import torch

            obj = type("BaseModel", (torch.nn.Module,), {"INTERN": [], "EXTERN": []})
        elif name == "bind":

            def obj(*args, **kwargs):  # argbind.bind: used as a (parametrised) decorator
                if len(args) == 1 and callable(args[0]) and not kwargs:
                    return args[0]
                return lambda f: f
        elif name[:1].isupper():

            def _init(self, *a, **k):
                raise RuntimeError(f"{modname}.{name} is an import placeholder (package not installed)")

            obj = type(name, (), {"__init__": _init, "INTERN": [], "EXTERN": []})
        else:  # treat as a submodule (e.g. audiotools.ml, torchaudio.functional) or a function
            obj = importlib.import_module(f"{modname}.{name}")
        cache[name] = obj
        return obj

    return __getattr__


class _ShimFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots):
        self.roots = tuple(roots)
        self.created: list[str] = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        mod = types.ModuleType(spec.name)
        mod.__path__ = []
        mod.__getattr__ = _shim_getattr_factory(spec.name)
        mod.__dict__["_IS_IMPORT_PLACEHOLDER"] = True
        self.created.append(spec.name)
        return mod

    def exec_module(self, module):
        return None


@contextlib.contextmanager
def _import_shims():
    roots = []
    for root in _SHIM_ROOTS:
        if root in sys.modules:
            continue
        try:
            importlib.import_module(root)
        except Exception:  # noqa: BLE001 - missing or broken (e.g. CUDA torchaudio wheel)
            for key in [k for k in sys.modules if k == root or k.startswith(root + ".")]:
                del sys.modules[key]
            roots.append(root)
    finder = _ShimFinder(roots)
    if roots:
        sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        if roots:
            sys.meta_path.remove(finder)
            for name in finder.created:
                sys.modules.pop(name, None)


_MODELS: dict[str, object] = {}


def _import_models() -> dict[str, object]:
    """Import the real model classes once."""
    if _MODELS:
        return _MODELS
    with _import_shims():
        from dac.model.dac import DAC
        from encodec.model import EncodecModel
        from encodec.modules import SEANetDecoder, SEANetEncoder
        from snac import SNAC
        from vocos.heads import ISTFTHead
        from vocos.models import VocosBackbone
    _MODELS.update(
        DAC=DAC,
        EncodecModel=EncodecModel,
        SEANetEncoder=SEANetEncoder,
        SEANetDecoder=SEANetDecoder,
        SNAC=SNAC,
        ISTFTHead=ISTFTHead,
        VocosBackbone=VocosBackbone,
    )
    return _MODELS


def _set_threads() -> None:
    import torch

    n = int(os.environ.get("MUSICFORENSICS_TORCH_THREADS", "0")) or max(1, min(4, os.cpu_count() or 1))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


# --------------------------------------------------------------------------------------------------
# model wrappers: forward(wav (B, C, T)) -> (B, C, T), same length
# --------------------------------------------------------------------------------------------------


def _torch_modules():
    import torch
    from torch import nn

    class DACAutoencoder(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.model = _import_models()["DAC"](**cfg)
            self.sr = cfg["sample_rate"]
            self.in_channels = 1

        def forward(self, wav):
            n = wav.shape[-1]
            x = self.model.preprocess(wav, self.sr)
            return self.model.decoder(self.model.encoder(x))[..., :n]

    class EncodecAutoencoder(nn.Module):
        def __init__(self, arch):
            super().__init__()
            M = _import_models()
            if arch == "encodec24":  # EncodecModel.encodec_model_24khz(pretrained=False)
                m = M["EncodecModel"]._get_model(
                    [1.5, 3.0, 6, 12.0, 24.0],
                    24000,
                    1,
                    causal=True,
                    model_norm="weight_norm",
                    audio_normalize=False,
                )
                enc, dec, self.normalize, self.in_channels = m.encoder, m.decoder, False, 1
            elif arch == "encodec48":  # EncodecModel.encodec_model_48khz(pretrained=False): stereo
                m = M["EncodecModel"]._get_model(
                    [3.0, 6.0, 12.0, 24.0],
                    48000,
                    2,
                    causal=False,
                    model_norm="time_group_norm",
                    audio_normalize=True,
                    segment=1.0,
                )
                enc, dec, self.normalize, self.in_channels = m.encoder, m.decoder, True, 2
            elif arch == "encodec32":  # audiocraft MusicGen compression model (facebook/encodec_32khz)
                kw = {
                    "channels": 1,
                    "dimension": 128,
                    "n_filters": 64,
                    "n_residual_layers": 1,
                    "ratios": [8, 5, 4, 4],
                    "norm": "weight_norm",
                    "kernel_size": 7,
                    "last_kernel_size": 7,
                    "residual_kernel_size": 3,
                    "dilation_base": 2,
                    "causal": False,
                    "pad_mode": "constant",
                    "true_skip": True,
                    "compress": 2,
                    "lstm": 2,
                }
                enc, dec = M["SEANetEncoder"](**kw), M["SEANetDecoder"](**kw)
                self.normalize, self.in_channels = False, 1
            else:
                raise KeyError(arch)
            self.encoder, self.decoder = enc, dec
            self.hop = int(np.prod(ARCHITECTURES[arch]["strides"]))

        def forward(self, wav):
            n = wav.shape[-1]
            pad = (-n) % self.hop
            x = torch.nn.functional.pad(wav, (0, pad))
            scale = None
            if self.normalize:  # as EncodecModel._encode_frame
                scale = x.mean(dim=1, keepdim=True).pow(2).mean(dim=2, keepdim=True).sqrt() + 1e-8
                x = x / scale
            y = self.decoder(self.encoder(x))
            if scale is not None:
                y = y * scale
            return y[..., :n]

    class SNACAutoencoder(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.model = _import_models()["SNAC"](**cfg)
            self.in_channels = 1

        def forward(self, wav):
            n = wav.shape[-1]
            x = self.model.preprocess(wav)
            return self.model.decoder(self.model.encoder(x))[..., :n]

    class LogMel(nn.Module):
        """log(clip(mel magnitude, 1e-5)); HTK mel filterbank without norm (torchaudio defaults)."""

        def __init__(self, sr, n_fft, hop, n_mels, fmin=0.0, fmax=None):
            super().__init__()
            self.n_fft, self.hop = n_fft, hop
            fmax = fmax or sr / 2.0
            mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
            imel = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)
            pts = imel(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
            freqs = np.linspace(0, sr / 2.0, n_fft // 2 + 1)
            lo, ce, hi = pts[:-2, None], pts[1:-1, None], pts[2:, None]
            fb = np.maximum(0.0, np.minimum((freqs - lo) / (ce - lo), (hi - freqs) / (hi - ce)))
            self.register_buffer("fb", torch.tensor(fb, dtype=torch.float32), persistent=False)
            self.register_buffer("win", torch.hann_window(n_fft), persistent=False)

        def forward(self, wav):  # (B, T) -> (B, n_mels, frames)
            spec = torch.stft(
                wav,
                self.n_fft,
                self.hop,
                window=self.win,
                center=True,
                pad_mode="reflect",
                return_complex=True,
            ).abs()
            return torch.log(torch.clamp(self.fb @ spec, min=1e-5))

    class VocosAutoencoder(nn.Module):
        """charactr/vocos-mel-24khz: mel(100) -> VocosBackbone(512, 1536, 8) -> ISTFTHead(1024, 256)."""

        def __init__(self):
            super().__init__()
            M = _import_models()
            self.mel = LogMel(24000, 1024, 256, 100)
            self.backbone = M["VocosBackbone"](
                input_channels=100, dim=512, intermediate_dim=1536, num_layers=8
            )
            self.head = M["ISTFTHead"](dim=512, n_fft=1024, hop_length=256, padding="same")
            self.in_channels = 1

        def forward(self, wav):
            b, c, n = wav.shape
            feats = self.mel(wav.reshape(b * c, n))
            y = self.head(self.backbone(feats))
            y = y[..., :n]
            if y.shape[-1] < n:
                y = torch.nn.functional.pad(y, (0, n - y.shape[-1]))
            return y.reshape(b, c, n)

    from torch.nn.utils.parametrizations import weight_norm

    class _ResBlock1(nn.Module):
        def __init__(self, ch, k, dil):
            super().__init__()
            self.convs1 = nn.ModuleList(
                [weight_norm(nn.Conv1d(ch, ch, k, 1, dilation=d, padding=(k * d - d) // 2)) for d in dil]
            )
            self.convs2 = nn.ModuleList(
                [weight_norm(nn.Conv1d(ch, ch, k, 1, dilation=1, padding=(k - 1) // 2)) for _ in dil]
            )

        def forward(self, x):
            for c1, c2 in zip(self.convs1, self.convs2):
                xt = c2(torch.nn.functional.leaky_relu(c1(torch.nn.functional.leaky_relu(x, 0.1)), 0.1))
                x = xt + x
            return x

    class HiFiGANV1(nn.Module):
        """HiFi-GAN V1 generator (Kong et al. 2020, config_v1.json): 80 mels @ 22.05 kHz, hop 256."""

        def __init__(
            self,
            n_mels=80,
            rates=(8, 8, 2, 2),
            kernels=(16, 16, 4, 4),
            ch=512,
            rb_kernels=(3, 7, 11),
            rb_dil=((1, 3, 5),) * 3,
        ):
            super().__init__()
            self.conv_pre = weight_norm(nn.Conv1d(n_mels, ch, 7, 1, padding=3))
            self.ups = nn.ModuleList()
            self.resblocks = nn.ModuleList()
            for i, (u, k) in enumerate(zip(rates, kernels)):
                cin, cout = ch // 2**i, ch // 2 ** (i + 1)
                self.ups.append(weight_norm(nn.ConvTranspose1d(cin, cout, k, u, padding=(k - u) // 2)))
                for kk, dd in zip(rb_kernels, rb_dil):
                    self.resblocks.append(_ResBlock1(cout, kk, dd))
            self.conv_post = weight_norm(nn.Conv1d(cout, 1, 7, 1, padding=3))
            self.nk = len(rb_kernels)
            for mod in self.modules():  # init_weights: N(0, 0.01)
                if isinstance(mod, (nn.Conv1d, nn.ConvTranspose1d)):
                    w = mod.parametrizations.weight
                    with torch.no_grad():
                        v = torch.randn_like(w.original1) * 0.01
                        w.original1.copy_(v)
                        w.original0.copy_(
                            torch.linalg.vector_norm(v, dim=tuple(range(1, v.dim())), keepdim=True)
                        )

        def forward(self, x):
            x = self.conv_pre(x)
            for i, up in enumerate(self.ups):
                x = up(torch.nn.functional.leaky_relu(x, 0.1))
                xs = sum(self.resblocks[i * self.nk + j](x) for j in range(self.nk))
                x = xs / self.nk
            return torch.tanh(self.conv_post(torch.nn.functional.leaky_relu(x)))

    class HiFiGANAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.mel = LogMel(22050, 1024, 256, 80, fmin=0.0, fmax=8000.0)
            self.gen = HiFiGANV1()
            self.in_channels = 1

        def forward(self, wav):
            b, c, n = wav.shape
            y = self.gen(self.mel(wav.reshape(b * c, n)))[..., :n]
            if y.shape[-1] < n:
                y = torch.nn.functional.pad(y, (0, n - y.shape[-1]))
            return y.reshape(b, c, n)

    return {
        "DAC": DACAutoencoder,
        "Encodec": EncodecAutoencoder,
        "SNAC": SNACAutoencoder,
        "Vocos": VocosAutoencoder,
        "HiFiGAN": HiFiGANAutoencoder,
    }


def build_model(architecture: str, seed: int):
    """Seeded, randomly initialised autoencoder for ``architecture`` (torch.nn.Module, eval mode)."""
    import torch

    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {architecture!r}; known: {sorted(ARCHITECTURES)}")
    _set_threads()
    W = _torch_modules()
    fam = ARCHITECTURES[architecture]["family"]
    torch.manual_seed(int(seed))
    with _import_shims():  # in case model code imports lazily
        if fam == "dac":
            model = W["DAC"](_DAC_CFG[architecture])
        elif fam == "encodec":
            model = W["Encodec"](architecture)
        elif fam == "snac":
            model = W["SNAC"](_SNAC_CFG[architecture])
        elif fam == "vocos":
            model = W["Vocos"]()
        elif fam == "hifigan":
            model = W["HiFiGAN"]()
        else:  # pragma: no cover
            raise KeyError(fam)
    return model.eval()


# --------------------------------------------------------------------------------------------------
# brief training
# --------------------------------------------------------------------------------------------------


def _synthetic_training_audio(sr: int, seed: int, n_clips: int = 8, seconds: float = 2.0) -> list[np.ndarray]:
    """Seeded tones/chords/noise clips (mono float32) for training when no audio is given."""
    rng = np.random.default_rng(seed + 7919)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    clips = []
    for i in range(n_clips):
        y = np.zeros(n)
        kind = i % 4
        if kind in (0, 1):  # harmonic notes / chords with decaying envelopes
            n_notes = rng.integers(2, 6)
            for _ in range(n_notes):
                f0 = 55.0 * 2 ** (rng.integers(0, 48) / 12.0)
                start = rng.uniform(0, seconds * 0.6)
                env = np.where(t >= start, np.exp(-(t - start) * rng.uniform(0.5, 4.0)), 0.0)
                for h in range(1, 12):
                    if f0 * h > sr / 2 * 0.9:
                        break
                    y += (
                        env
                        * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
                        / h ** rng.uniform(0.8, 2)
                    )
        elif kind == 2:  # percussive noise bursts
            for start in np.arange(0, seconds, rng.choice([0.25, 0.5])):
                env = np.where(t >= start, np.exp(-(t - start) * rng.uniform(10, 40)), 0.0)
                y += env * rng.standard_normal(n) * rng.uniform(0.2, 1.0)
        else:  # coloured noise + tone
            white = rng.standard_normal(n)
            spec = np.fft.rfft(white) / np.maximum(np.arange(n // 2 + 1), 1) ** rng.uniform(0.3, 1.0)
            y = np.fft.irfft(spec, n)
            y /= np.abs(y).max() + 1e-9
            y += 0.5 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t)
        y = y / (np.abs(y).max() + 1e-9) * rng.uniform(0.3, 0.9)
        clips.append(y.astype(np.float32))
    return clips


def _mstft_loss(y, x):
    import torch

    loss = (y - x).abs().mean()
    for n_fft in (2048, 1024, 512, 256, 128):
        win = torch.hann_window(n_fft, device=x.device)
        sy = torch.stft(y, n_fft, n_fft // 4, window=win, return_complex=True).abs()
        sx = torch.stft(x, n_fft, n_fft // 4, window=win, return_complex=True).abs()
        loss = loss + (sy - sx).abs().mean() + (torch.log(sy + 1e-5) - torch.log(sx + 1e-5)).abs().mean()
    return loss


def train_model(
    architecture: str,
    seed: int,
    training_audio: list[np.ndarray] | None = None,
    training_sr: int | None = None,
    *,
    max_steps: int = 400,
    max_seconds: float = 150.0,
    crop_seconds: float = 0.25,
    batch: int = 2,
    lr: float = 5e-4,
    verbose: bool = False,
):
    """Briefly train the autoencoder to reconstruct crops.  Returns (model, info dict)."""
    import torch

    meta = ARCHITECTURES[architecture]
    sr = meta["sample_rate"]
    model = build_model(architecture, seed).train()
    if training_audio:
        clips = []
        for a in training_audio:
            a = np.asarray(a, dtype=np.float32)
            a = a[:, None] if a.ndim == 1 else a
            a = _resample(a, int(training_sr or sr), sr)
            clips.extend(a[:, c] for c in range(a.shape[1]))
    else:
        clips = _synthetic_training_audio(sr, seed)
    hop = int(np.prod(meta["strides"])) if meta["strides"] else 256
    if sum(p.numel() for p in model.parameters()) > 40e6:  # DAC, SNAC 32/44, EnCodec 32: ~4x costlier
        crop_seconds, batch = crop_seconds / 2, 1
    crop = max(hop * 4, round(crop_seconds * sr / hop) * hop)
    clips = [np.pad(c, (0, max(0, crop - len(c)))) for c in clips]
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.8, 0.99))
    t0 = time.perf_counter()
    losses = []
    step = 0
    while step < max_steps and time.perf_counter() - t0 < max_seconds:
        xs = []
        for _ in range(batch):
            c = clips[rng.integers(len(clips))]
            s = rng.integers(0, len(c) - crop + 1)
            seg = c[s : s + crop]
            pk = np.abs(seg).max()
            seg = seg / pk * rng.uniform(0.3, 0.9) if pk > 1e-4 else seg
            xs.append(seg)
        x = torch.tensor(np.stack(xs), dtype=torch.float32)[:, None, :]
        if model.in_channels == 2:
            x = x.repeat(1, 2, 1)
        y = model(x)
        n = min(y.shape[-1], x.shape[-1])  # some decoders (DAC 24 kHz) return a few samples fewer
        y, x = y[..., :n], x[..., :n]
        loss = _mstft_loss(y.reshape(-1, y.shape[-1]), x.reshape(-1, x.shape[-1]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
        if verbose and step % 20 == 0:
            print(
                f"  {architecture} step {step} loss {np.mean(losses[-20:]):.3f} "
                f"{time.perf_counter() - t0:.0f}s",
                flush=True,
            )
    info = {
        "steps": step,
        "seconds": time.perf_counter() - t0,
        "crop": crop,
        "batch": batch,
        "loss_first": float(np.mean(losses[:10])) if losses else None,
        "loss_last": float(np.mean(losses[-10:])) if losses else None,
    }
    return model.eval(), info


def _audio_digest(training_audio) -> str:
    if not training_audio:
        return "synthetic"
    h = hashlib.sha1()
    for a in training_audio:
        a = np.ascontiguousarray(a, dtype=np.float32)
        h.update(str(a.shape).encode())
        h.update(a[:: max(1, a.size // 100000)].tobytes())
    return h.hexdigest()


def _trained_model(architecture: str, seed: int, cache_dir: Path, training_audio, training_sr):
    import torch

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{architecture}_trained_seed{seed}.pt"
    if path.exists():
        model = build_model(architecture, seed)
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(blob["state_dict"])
        return model.eval()
    # Budget: at most MUSICFORENSICS_NEURAL_TRAIN_STEPS steps (default 300) and
    # MUSICFORENSICS_NEURAL_TRAIN_SECONDS of wall time (default 150); info["steps"] records what ran.
    budget = float(os.environ.get("MUSICFORENSICS_NEURAL_TRAIN_SECONDS", "150"))
    steps = int(os.environ.get("MUSICFORENSICS_NEURAL_TRAIN_STEPS", "300"))
    model, info = train_model(
        architecture, seed, training_audio, training_sr, max_steps=steps, max_seconds=budget
    )
    tmp = path.with_suffix(".pt.tmp")
    torch.save(
        {
            "state_dict": model.state_dict(),
            "info": info,
            "architecture": architecture,
            "seed": seed,
            "training_audio": _audio_digest(training_audio),
        },
        tmp,
    )
    os.replace(tmp, path)
    return model


# --------------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------------


def _resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(audio, sr_out // g, sr_in // g, axis=0).astype(np.float32)


def run_model(
    model, audio: np.ndarray, chunk_seconds: float = 10.0, overlap_seconds: float = 0.25, sr: int = 44100
) -> np.ndarray:
    """Run ``model`` on (frames, channels) float32 at its native rate; long input in crossfaded chunks."""
    import torch

    frames, channels = audio.shape
    mc = getattr(model, "in_channels", 1)
    chunk = int(chunk_seconds * sr)
    ov = int(overlap_seconds * sr)

    def fwd(seg: np.ndarray) -> np.ndarray:  # seg (n, channels) -> (n, channels)
        x = torch.from_numpy(np.ascontiguousarray(seg.T))  # (channels, n)
        if mc == 1:
            y = model(x[:, None, :])[:, 0, :]
        else:  # stereo model (encodec48): pairs of channels
            xs = x if channels == 2 else x[:1].repeat(2, 1)
            y = model(xs[None])[0]
            y = y if channels == 2 else y.mean(0, keepdim=True)
        y = y.T.contiguous().numpy().astype(np.float32)
        if y.shape[0] < seg.shape[0]:  # e.g. DAC 24 kHz returns a few samples short
            y = np.pad(y, ((0, seg.shape[0] - y.shape[0]), (0, 0)))
        return y[: seg.shape[0]]

    with torch.inference_mode():
        if frames <= chunk + ov:
            return fwd(audio)
        out = np.zeros((frames, channels), np.float32)
        fade_in = np.linspace(0.0, 1.0, ov, dtype=np.float32)[:, None]
        start = 0
        while start < frames:
            end = min(frames, start + chunk + ov)
            y = fwd(audio[start:end])
            if start > 0:
                y[:ov] *= fade_in
            if end < frames:
                y[-ov:] *= fade_in[::-1]
            out[start:end] += y
            if end >= frames:
                break
            start = end - ov
        return out


_LAST_MODEL: dict[tuple, object] = {}


def autoencode(
    audio: np.ndarray,
    sr: int,
    *,
    architecture: str,
    weights: str,
    seed: int,
    cache_dir: Path,
    training_audio: list[np.ndarray] | None = None,
    training_sr: int | None = None,
) -> tuple[np.ndarray, int]:
    """Encode+decode ``audio`` (float32 (frames, channels) at ``sr``) with a neural decoder architecture.

    Returns (float32 (frames', channels) peak-normalised to -1 dBFS, native sample rate).
    ``weights``: "random" (seeded init) or "trained" (brief seeded training, cached in ``cache_dir``).
    ``training_audio``: optional list of arrays ((frames,) or (frames, channels)) at ``training_sr``
    (default ``sr``) for the "trained" weights; built-in synthetic material when None.  The cache file
    name does not depend on the training audio: train once per (architecture, seed) per cache_dir.
    """
    ok, why = available()
    if not ok:
        raise RuntimeError(why)
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {architecture!r}; known: {sorted(ARCHITECTURES)}")
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    native = ARCHITECTURES[architecture]["sample_rate"]
    x = _resample(audio, int(sr), native)
    if weights not in ("random", "trained"):
        raise ValueError(f"weights must be 'random' or 'trained', not {weights!r}")
    key = (architecture, weights, int(seed), str(Path(cache_dir).resolve()) if weights == "trained" else "")
    model = _LAST_MODEL.get(key)
    if model is None:
        _LAST_MODEL.clear()  # keep one model in memory (DAC 44.1 kHz is ~300 MB)
        if weights == "random":
            model = build_model(architecture, seed)
        else:
            model = _trained_model(architecture, seed, Path(cache_dir), training_audio, training_sr or sr)
        _LAST_MODEL[key] = model
    import torch

    torch.manual_seed(int(seed) + 1)  # SNAC's decoder injects noise at inference: make it reproducible
    y = run_model(model, x, sr=native)
    y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    y = y - y.mean(axis=0, keepdims=True)
    peak = float(np.abs(y).max())
    if peak > 0:
        y = y * (_DBFS_TARGET / peak)
    return y.astype(np.float32), native


# --------------------------------------------------------------------------------------------------
# measurement helpers (used by the tests and the verification script)
# --------------------------------------------------------------------------------------------------


def ltas_db(y: np.ndarray, n_fft: int = 16384, hop: int | None = None) -> np.ndarray:
    """Long-term average spectrum: mean over channels and frames of the Hann power spectrum in dB."""
    y = np.asarray(y, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    hop = hop or n_fft // 2
    if y.shape[0] < n_fft:
        y = np.pad(y, ((0, n_fft - y.shape[0]), (0, 0)))
    win = np.hanning(n_fft)
    n_frames = 1 + (y.shape[0] - n_fft) // hop
    acc = np.zeros(n_fft // 2 + 1)
    for c in range(y.shape[1]):
        for i in range(n_frames):
            seg = y[i * hop : i * hop + n_fft, c] * win
            acc += 10 * np.log10(np.abs(np.fft.rfft(seg)) ** 2 + 1e-20)
    return acc / (n_frames * y.shape[1])


def comb_prominence(
    y: np.ndarray,
    sr: int,
    delta_hz: float,
    *,
    n_fft: int = 16384,
    fmin: float = 0.0,
    fmax: float | None = None,
    teeth: list[int] | None = None,
) -> dict:
    """Prominence (dB) of LTAS peaks at multiples of ``delta_hz`` over neighbouring bins.

    For each tooth k: peak = max LTAS within +-1 bin of k*delta; floor = median LTAS over bins 3..10 away
    on both sides (capped at delta/3 so neighbours of the next tooth are excluded).  Also returns the same
    statistic at the half-way points (k+0.5)*delta as a null.  Result: {"teeth": [(f, prom)], "mean",
    "null_mean", "contrast" (= mean - null_mean), "median", "null_median", "median_contrast"}.  Longer
    n_fft (32768) resolves the fine teeth of short clips better: the teeth are stationary lines.
    """
    spec = ltas_db(y, n_fft)
    binhz = sr / n_fft
    fmax = fmax or sr / 2 * 0.95
    span = max(3, min(10, int(delta_hz / binhz / 3)))

    def prom(f):
        b = f / binhz
        c = round(b)
        if c - span < 0 or c + span >= len(spec):
            return None
        peak = spec[max(0, c - 1) : c + 2].max()
        neigh = np.r_[spec[c - span : c - 2], spec[c + 3 : c + span + 1]]
        return float(peak - np.median(neigh))

    ks = (
        teeth
        if teeth is not None
        else [k for k in range(1, int(fmax / delta_hz) + 1) if k * delta_hz >= fmin]
    )
    tooth = [(k * delta_hz, prom(k * delta_hz)) for k in ks]
    tooth = [(f, p) for f, p in tooth if p is not None]
    null = [prom((k + 0.5) * delta_hz) for k in ks]
    null = [p for p in null if p is not None]
    nan = float("nan")
    mean = float(np.mean([p for _, p in tooth])) if tooth else nan
    median = float(np.median([p for _, p in tooth])) if tooth else nan
    null_mean = float(np.mean(null)) if null else nan
    null_median = float(np.median(null)) if null else nan
    return {
        "teeth": tooth,
        "mean": mean,
        "null_mean": null_mean,
        "contrast": mean - null_mean,
        "median": median,
        "null_median": null_median,
        "median_contrast": median - null_median,
    }


# --------------------------------------------------------------------------------------------------
# verification / benchmark:  python -m benchmarks.corpus.neural --out results.json [arch ...]
# --------------------------------------------------------------------------------------------------


def _test_music(sr: int, seconds: float, seed: int = 123) -> np.ndarray:
    """Stereo music-like signal (notes with harmonics, percussion noise), float32 (frames, 2)."""
    clips = _synthetic_training_audio(sr, seed, n_clips=4, seconds=seconds)
    left = clips[0] + 0.5 * clips[2] + 0.3 * clips[3]
    right = clips[1] + 0.5 * clips[2] + 0.3 * clips[3]
    y = np.stack([left, right], axis=1)
    return (y / np.abs(y).max() * 0.8).astype(np.float32)


def _log_spectral_distance(x: np.ndarray, y: np.ndarray, n_fft: int = 2048) -> float:
    """Mean |dB difference| of STFT magnitudes (mono mixes), each peak-normalised; lower = closer."""
    from scipy.signal import stft

    n = min(len(x), len(y))
    a, b = x[:n].mean(axis=1), y[:n].mean(axis=1)
    a, b = a / (np.abs(a).max() + 1e-9), b / (np.abs(b).max() + 1e-9)
    _, _, A = stft(a, nperseg=n_fft)
    _, _, B = stft(b, nperseg=n_fft)
    da, db = 20 * np.log10(np.abs(A) + 1e-4), 20 * np.log10(np.abs(B) + 1e-4)
    return float(np.mean(np.abs(da - db)))


def _comb_summary(y: np.ndarray, sr: int, delta: float) -> dict:
    band = comb_prominence(y, sr, delta, n_fft=32768, fmin=5000, fmax=16000)
    first = comb_prominence(y, sr, delta, n_fft=32768, teeth=[1, 2, 3, 4, 5, 6, 7, 8])
    wrong = comb_prominence(y, sr, delta * 1.37, n_fft=32768, fmin=5000, fmax=16000)
    return {
        "band_median": round(band["median"], 2),
        "band_null_median": round(band["null_median"], 2),
        "band_median_contrast": round(band["median_contrast"], 2),
        "band_mean_contrast": round(band["contrast"], 2),
        "wrong_spacing_median_contrast": round(wrong["median_contrast"], 2),
        "first_teeth": [round(p, 1) for _, p in first["teeth"]],
    }


def _verify(
    archs: list[str],
    out: Path,
    cache_dir: Path,
    seconds: float = 10.0,
    trained_seconds: float = 4.0,
    phases: tuple[str, ...] = ("random", "trained"),
) -> None:
    """Phase 1: random weights on ``seconds`` of stereo (forward time + comb) for every architecture;
    phase 2: train (cached) and measure on ``trained_seconds`` of stereo."""
    import json

    import torch

    results = json.loads(out.read_text()) if out.exists() else {}
    for weights in phases:
        for arch in archs:
            meta = ARCHITECTURES[arch]
            sr = meta["sample_rate"]
            delta = meta["expected_delta_hz"] or sr / 256.0  # vocos: probe its iSTFT hop rate (93.75 Hz)
            x = _test_music(sr, seconds if weights == "random" else trained_seconds)
            row = results.setdefault(arch, {})
            row.update(
                {
                    "strides": list(meta["strides"]),
                    "expected_delta_hz": meta["expected_delta_hz"],
                    "probed_delta_hz": delta,
                    "threads": torch.get_num_threads(),
                }
            )
            if weights == "trained":
                t0 = time.perf_counter()
                _trained_model(arch, 0, cache_dir, None, None)
                blob = torch.load(
                    cache_dir / f"{arch}_trained_seed0.pt", map_location="cpu", weights_only=False
                )
                row["train_wall_s"] = round(time.perf_counter() - t0, 1)
                row["train_info"] = blob["info"]
            load0 = os.getloadavg()[0]
            t0, c0 = time.perf_counter(), time.process_time()
            y, nsr = autoencode(x, sr, architecture=arch, weights=weights, seed=0, cache_dir=cache_dir)
            row[f"{weights}_seconds_stereo"] = len(x) / sr
            row[f"{weights}_forward_wall_s"] = round(time.perf_counter() - t0, 1)
            row[f"{weights}_forward_cpu_s"] = round(time.process_time() - c0, 1)
            row[f"{weights}_loadavg"] = round(load0, 1)
            row[f"{weights}_comb"] = _comb_summary(y, nsr, delta)
            row[f"{weights}_lsd_db"] = round(_log_spectral_distance(x, y), 2)
            print(
                arch,
                weights,
                json.dumps(row[f"{weights}_comb"]),
                "lsd",
                row[f"{weights}_lsd_db"],
                "fwd",
                row[f"{weights}_forward_wall_s"],
                "train",
                row.get("train_info"),
                flush=True,
            )
            out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archs", nargs="*", default=list(ARCHITECTURES))
    ap.add_argument("--out", type=Path, default=Path("neural_verify.json"))
    ap.add_argument("--cache-dir", type=Path, default=Path(".cache/neural"))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--trained-seconds", type=float, default=4.0)
    ap.add_argument("--phases", default="random,trained")
    args = ap.parse_args()
    _verify(
        args.archs,
        args.out,
        args.cache_dir,
        args.seconds,
        args.trained_seconds,
        tuple(args.phases.split(",")),
    )
