"""What each streamed source's input pipeline costs on its own (no model): samples/s of a
generated script's training batches (Batches.dataset, the order of (seed, epoch), as fit
and the tape loop read it), against the pipelines a Keras user writes by hand for the same
files, measured side by side in this one run:

- an image folder against `keras.utils.image_dataset_from_directory` (shuffled, seeded);
- TFRecord shards against `TFRecordDataset` over the files, `shuffle(1024)`, `batch`,
  `parse_example` (what the lanes add: a deterministic order and sharding by file);
- every source against the same images as an in-memory .npz.

    python bench/data_pipelines.py [--images 4000] [--size 32] [--batch 32] [--epochs 5]
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from data_streaming import folder_arrays, script_for, spec, write_images, write_tfrecords  # noqa: E402


def _epochs(make, epochs: int) -> float:
    """Samples/s: the median epoch after the first (which builds and warms up)."""
    seconds, rows = [], 0
    for epoch in range(epochs):
        dataset = make(epoch)
        start, rows = time.perf_counter(), 0
        for batch in dataset:
            rows += len(batch[1])
        seconds.append(time.perf_counter() - start)
    return rows / statistics.median(seconds[1:])


def _generated(name: str, source, folder: Path, batch: int, argv=()):
    """(a function of the epoch giving the script's training batches, its row count)."""
    script = script_for(spec(name, ARGS.size, source), folder / name)
    sys.path.insert(0, str(script.parent))
    module = importlib.import_module(script.stem)
    runtime = module.cli.runtime(module.__package__)
    args = module.parse_args(["--quiet", "--run-dir", str(folder / name / "run"), *argv])
    train, _, _ = runtime.load_data(module.SETTINGS, args)
    batches = runtime.Batches(train, batch, 1)
    sys.path.remove(str(script.parent))

    def make(epoch):
        batches.select(epoch)
        return batches.dataset

    return make


def main() -> int:
    import keras
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images = tmp / "images"
        write_images(images, ARGS.images, ARGS.size)
        x, y = folder_arrays(images)
        npz = tmp / "same.npz"
        np.savez(npz, x_train=x, y_train=y, x_test=x[:1], y_test=y[:1])
        shape = [ARGS.size, ARGS.size, 3]
        label = {"dtype": "int64", "shape": []}
        kinds = {"float lists": {"dtype": "float32", "shape": shape},
                 "PNG bytes": {"dtype": "string", "decode": "image", "shape": shape}}  # fmt: skip
        patterns = {
            kind: write_tfrecords(tmp / kind.replace(" ", "_"), x, y, 8, png=kind != "float lists")
            for kind in kinds
        }
        batch, epochs = ARGS.batch, ARGS.epochs
        rates = {}
        make = _generated("npz", "synthetic", tmp, batch, ["--data", str(npz)])
        rates["npz (in memory)"] = _epochs(make, epochs)
        make = _generated("folder", {"image_folder": str(images), "test_split": 0.1}, tmp, batch)
        rates["image folder"] = _epochs(make, epochs)

        def by_keras(epoch):
            return keras.utils.image_dataset_from_directory(
                images, image_size=shape[:2], batch_size=batch, seed=epoch, verbose=False
            ).prefetch(tf.data.AUTOTUNE)

        rates["  image_dataset_from_directory"] = _epochs(by_keras, epochs)
        for kind, feature in kinds.items():
            source = {"tfrecord": patterns[kind], "features": {"image": feature, "label": label},
                      "inputs": ["image"], "targets": ["label"], "test_split": 0.125}  # fmt: skip
            make = _generated(kind.split()[0].lower(), source, tmp, batch)
            rates[f"tfrecord, {kind}"] = _epochs(make, epochs)
            encoded = "decode" in feature
            parsing = {
                "image": tf.io.FixedLenFeature(
                    [] if encoded else shape, tf.string if encoded else tf.float32
                ),
                "label": tf.io.FixedLenFeature([], tf.int64),
            }

            def parse(serialized, parsing=parsing, png=encoded):
                example = tf.io.parse_example(serialized, parsing)
                image = example["image"]
                if png:
                    image = tf.map_fn(
                        lambda b: tf.cast(tf.io.decode_png(b, channels=3), tf.float32),
                        image,
                        fn_output_signature=tf.TensorSpec(shape, tf.float32),
                    )
                return image, example["label"]

            def by_hand(epoch, pattern=patterns[kind], parse=parse):
                files = tf.data.Dataset.list_files(pattern, shuffle=True, seed=epoch)
                return (
                    files.interleave(tf.data.TFRecordDataset, num_parallel_calls=tf.data.AUTOTUNE)
                    .shuffle(1024, seed=epoch)
                    .batch(batch)
                    .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
                    .prefetch(tf.data.AUTOTUNE)
                )

            rates[f"  by hand: TFRecordDataset, {kind}"] = _epochs(by_hand, epochs)
    base = rates["npz (in memory)"]
    print(
        f"input pipelines alone: {ARGS.images} {ARGS.size}x{ARGS.size} images, batch {batch},"
        f" median of epochs 2..{epochs}; indented: the hand-written reference for the line above"
    )
    names = list(rates)
    for index, (name, rate) in enumerate(rates.items()):
        line = f"  {name:40s} {rate:9.0f} samples/s  {rate / base:5.2f}x npz"
        following = names[index + 1] if index + 1 < len(names) else ""
        if not name.startswith(" ") and following.startswith(" "):
            line += f"  {rate / rates[following]:5.2f}x its reference"
        print(line)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=5)
    ARGS = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
