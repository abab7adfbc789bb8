"""Audio preprocessing layers (keras/src/layers/preprocessing): MelSpectrogram over
(batch, samples) and STFTSpectrogram over (batch, samples, channels), whose Fourier kernels are
weights (initialized by Keras's STFT initializer, trainable like any kernel). Each entry sits
beside its shape rule.
"""

from __future__ import annotations

from . import shapes
from .base import BOOL, POS_INT, Arg, LayerKind, _named

POSITIVE = {"type": "number", "exclusiveMinimum": 0}
NON_NEGATIVE = {"type": "number", "minimum": 0}
WINDOWS = ["hann", "hamming"]  # Keras's own (MelSpectrogram); scipy would take more


def _mel(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    shapes.check_rank(x, 1, "batch, samples")
    stride = args.get("sequence_stride", 512)
    # Keras's static time axis; the frames centre-padded STFT makes.
    frames = None if x[0] is None else (x[0] + stride + 1) // stride
    return shapes.Shape((args.get("num_mel_bins", 128), frames))


def _stft(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    shapes.check_rank(x, 2, "batch, samples, channels")
    channels = shapes.known(x[-1], "the channel axis", x)
    frame = args.get("frame_length", 256)
    step = args.get("frame_step") or frame // 2
    fft = args.get("fft_length") or 1 << (frame - 1).bit_length()
    if step > frame:
        raise shapes.ShapeError(f"frame_step {step} may not exceed frame_length {frame}")
    if fft < frame or fft & (fft - 1):
        raise shapes.ShapeError(
            f"fft_length {fft} must be a power of two, at least frame_length {frame}"
        )
    mode = args.get("mode", "log")
    bins = (fft // 2 + 1) * (2 if mode == "stft" else 1)
    time = shapes.window(x[0], frame, step, 1, args.get("padding", "valid"), 1)
    out = (time, bins, channels) if args.get("expand_dims") else (time, bins * channels)
    kernels = (mode != "imag") + (mode != "real")
    return shapes.Shape(out, kernels * frame * (fft // 2 + 1))


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "MelSpectrogram",
        (
            Arg("fft_length", POS_INT),
            Arg("sequence_stride", POS_INT),
            Arg("sequence_length", {"anyOf": [POS_INT, {"type": "null"}]}),
            Arg("window", _named("window", WINDOWS, nullable=True)),
            Arg("sampling_rate", POS_INT),
            Arg("num_mel_bins", POS_INT),
            Arg("min_freq", NON_NEGATIVE),
            Arg("max_freq", {"anyOf": [POSITIVE, {"type": "null"}]}),
            Arg("power_to_db", BOOL),
            Arg("top_db", POSITIVE),
            Arg("mag_exp", POSITIVE),
            Arg("min_power", POSITIVE),
            Arg("ref_power", POSITIVE),
        ),
        _mel,
    ),
    LayerKind(
        "STFTSpectrogram",
        (
            Arg(
                "mode",
                _named("mode", ["log", "magnitude", "psd", "real", "imag", "angle", "stft"]),
            ),
            Arg("frame_length", POS_INT),
            Arg("frame_step", {"anyOf": [POS_INT, {"type": "null"}]}),
            Arg("fft_length", {"anyOf": [POS_INT, {"type": "null"}]}),
            Arg("window", _named("window", WINDOWS, nullable=True)),
            Arg("periodic", BOOL),
            Arg("scaling", _named("scaling", ["density", "spectrum"], nullable=True)),
            Arg("padding", _named("padding", ["valid", "same"])),
            Arg("expand_dims", BOOL),
        ),
        _stft,
    ),
)
