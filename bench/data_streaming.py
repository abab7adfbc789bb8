"""Streaming data sources: peak memory and samples/s of the generated training script.

1. Peak memory (max RSS of the training process) of one epoch from an image folder of N
   and of 8N images. Goal: the larger at most 1.25x the smaller's peak.
2. Samples/s of a model trained from the same 8N images as an image folder, as TFRecord
   shards (float lists, and PNG bytes as real image sets store them) and as an in-memory
   .npz, run in interleaved rounds in this one run, best round kept. Goal: each streamed
   source at least 0.8x the .npz. Two models: specs/cifar100.json's CNN (a small model
   that a real run trains) and a tiny one (one 8-filter convolution: data-bound, so its
   ratios are what the pipelines themselves cost).

    python bench/data_streaming.py [--images 500] [--size 32] [--rounds 2] [--epochs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import specgen  # noqa: E402

CLASSES = 4


def write_images(folder: Path, count: int, size: int, seed: int = 0) -> np.ndarray:
    """`count` PNGs in CLASSES class folders; returns their labels in writing order."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, count)
    for index, label in enumerate(labels):
        (folder / f"c{label}").mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"c{label}" / f"{index:06d}.png")
    return labels


def folder_arrays(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    xs, ys = [], []
    for label in range(CLASSES):
        for path in sorted((folder / f"c{label}").glob("*.png")):
            xs.append(np.asarray(Image.open(path), dtype=np.float32))
            ys.append(label)
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


def write_tfrecords(
    folder: Path, x: np.ndarray, y: np.ndarray, shards: int, png: bool = False
) -> str:
    """Each image as a float list, or (`png`) as the bytes of a PNG file."""
    import tensorflow as tf

    def pixels(image):
        if png:
            encoded = tf.io.encode_png(image.astype(np.uint8)).numpy()
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded]))
        return tf.train.Feature(float_list=tf.train.FloatList(value=image.ravel()))

    folder.mkdir(parents=True, exist_ok=True)
    for shard in range(shards):
        path = folder / f"part-{shard:03d}.tfrecord"
        with tf.io.TFRecordWriter(str(path)) as writer:
            for image, label in zip(x[shard::shards], y[shard::shards], strict=True):
                feature = {
                    "image": pixels(image),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                }
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())
    return str(folder / "part-*.tfrecord")


TINY = [
    {"type": "Conv2D", "filters": 8, "kernel_size": 3, "strides": 2, "activation": "relu"},
    {"type": "GlobalAveragePooling2D"},
    {"type": "Dense", "units": CLASSES, "activation": "softmax"},
]


def cifar_cnn() -> list[dict]:
    """specs/cifar100.json's layers, with CLASSES outputs."""
    layers = json.loads((ROOT / "specs" / "cifar100.json").read_text())["layers"]
    return [*layers[:-1], {**layers[-1], "units": CLASSES}]


def spec(name: str, size: int, dataset, layers=TINY) -> dict:
    return {
        "name": name,
        "seed": 1,
        "inputs": [{"name": "image", "shape": [size, size, 3]}],
        "layers": [{"type": "Rescaling", "scale": 1 / 255}, *layers],
        "training": {"dataset": dataset, "optimizer": {"type": "Adam"},
                     "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
                     "epochs": 1, "batch_size": 32},
    }  # fmt: skip


def script_for(model: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in specgen.render(model, "functional").items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / f"train_{model['name']}.py"


def run(script: Path, *argv: str) -> tuple[dict, float]:
    """(the script's JSON summary, its peak RSS in MB)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    with tempfile.TemporaryDirectory() as run_dir:  # a fresh run (and cache) each time
        command = [sys.executable, str(script), "--quiet", "--run-dir", run_dir, *argv]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        stdout, stderr = process.stdout.read(), process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(stderr.decode()[-3000:])
    return json.loads(stdout.decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"memory: one epoch from an image folder ({args.size}x{args.size} PNGs)")
        peaks = {}
        for scale in (1, 8):
            count = args.images * scale
            folder = tmp / f"images{scale}"
            write_images(folder, count, args.size, seed=scale)
            model = spec(f"mem{scale}", args.size, {"image_folder": str(folder),
                                                    "test_split": 0.1})  # fmt: skip
            _, peaks[scale] = run(script_for(model, tmp / f"mem{scale}"), "--epochs", "1")
            print(f"  {count:6d} images: peak {peaks[scale]:7.0f} MB")
        ratio = peaks[8] / peaks[1]
        verdict = "meets" if ratio <= 1.25 else "MISSES"
        print(f"  8x the images: {ratio:.2f}x the peak ({verdict} the goal <= 1.25x)")

        folder = tmp / "images8"
        x, y = folder_arrays(folder)
        cut = len(x) - len(x) // 10
        npz = tmp / "same.npz"
        np.savez(npz, x_train=x[:cut], y_train=y[:cut], x_test=x[cut:], y_test=y[cut:])
        shape = [args.size, args.size, 3]
        label = {"dtype": "int64", "shape": []}
        records = {}
        for kind, png, image in [
            ("float lists", False, {"dtype": "float32", "shape": shape}),
            ("PNG bytes", True, {"dtype": "string", "decode": "image", "shape": shape}),
        ]:
            pattern = write_tfrecords(tmp / kind.replace(" ", "_"), x, y, 8, png)
            records[f"tfrecord, {kind}"] = {
                "tfrecord": pattern, "features": {"image": image, "label": label},
                "inputs": ["image"], "targets": ["label"], "test_split": 0.125,
            }  # fmt: skip
        folder_source = {"image_folder": str(folder), "test_split": 0.1}
        sources = {
            "npz (in memory)": ("synthetic", ["--data", str(npz)]),
            "image folder": (folder_source, []),
            "image folder, cache": ({**folder_source, "cache": True}, []),
            **{name: (source, []) for name, source in records.items()},
        }
        models = {"cifar100.json's CNN": cifar_cnn(), "tiny (data-bound)": TINY}
        for title, layers in models.items():
            print(f"samples/s training {title} on {len(x)} images:")
            scripts = {
                name: script_for(spec("speed", args.size, source, layers), tmp / f"s{i}")
                for i, (name, (source, _)) in enumerate(sources.items())
            }
            best = dict.fromkeys(sources, 0.0)
            for index in range(args.rounds):  # interleaved: the machine's speed drifts
                this = {}
                for name, (_, argv) in sources.items():
                    summary, _ = run(scripts[name], "--epochs", str(args.epochs), *argv)
                    this[name] = summary["samples_per_sec"]
                    best[name] = max(best[name], this[name])
                base = this["npz (in memory)"]
                figures = ", ".join(
                    f"{name} {value:.0f} ({value / base:.2f}x)" for name, value in this.items()
                )
                print(f"  round {index + 1}: {figures}", flush=True)
            print(f"  best of {args.rounds} interleaved rounds:")
            base = best["npz (in memory)"]
            for name, value in best.items():
                verdict = (
                    ""
                    if name.startswith("npz")
                    else ("  meets >= 0.8x" if value >= 0.8 * base else "  MISSES >= 0.8x")
                )
                print(f"    {name:25s} {value:9.0f}  {value / base:5.2f}x{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
