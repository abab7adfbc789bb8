"""GPU throughput of generated model modules, float32 against mixed precision.

The generated model modules import only `keras`, so they run on any Keras 3 backend. This
benchmark builds one generated module per style, compiles it with `model.fit` and times
steady-state training samples/s (the epochs after the first, which pays for tracing) under
the float32, mixed_float16 and mixed_bfloat16 policies. The baseline is float32 measured in
the same run, interleaved round by round; the best of N rounds is kept.

    KERAS_BACKEND=jax python3 bench/gpu_mixed_precision.py --rounds 3

It needs a GPU to say anything useful; on a CPU it still runs (small numbers).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import keras
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)

    def on_train_begin(self, logs=None):
        self.seconds = []


def samples_per_sec(module, policy, x, y, batch, epochs):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = module.build_model()
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="sparse_categorical_crossentropy",
            steps_per_execution=8,
        )
        timer = EpochTimer()
        model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[timer])
        steady = sum(timer.seconds[1:])
        out = model(x[:2])
        out_dtype = str(keras.backend.standardize_dtype(out.dtype))
        return len(x) * (epochs - 1) / steady, out_dtype
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default="cifar100_cnn")
    parser.add_argument("--styles", default="functional,subclass")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    first = load(ROOT / "generated" / f"{args.spec}_functional.py").build_model()
    shape = tuple(first.inputs[0].shape[1:])
    classes = int(first.outputs[0].shape[-1])
    x = rng.random((args.rows, *shape), dtype=np.float32)
    y = rng.integers(0, classes, args.rows)

    best: dict[tuple[str, str], float] = {}
    dtypes: dict[tuple[str, str], str] = {}
    for _ in range(args.rounds):
        for style in args.styles.split(","):
            module = load(ROOT / "generated" / f"{args.spec}_{style}.py")
            for policy in POLICIES:
                rate, dtype = samples_per_sec(module, policy, x, y, args.batch, args.epochs)
                key = (style, policy)
                best[key] = max(best.get(key, 0.0), rate)
                dtypes[key] = dtype
    print(f"backend: {keras.backend.backend()}; {len(x):,} rows, batch {args.batch}")
    print(f"{'style':<12}{'policy':<16}{'samples/s':>12}{'vs float32':>12}  output dtype")
    for (style, policy), rate in sorted(best.items()):
        ratio = rate / best[(style, "float32")]
        print(f"{style:<12}{policy:<16}{rate:>12,.0f}{ratio:>11.2f}x  {dtypes[(style, policy)]}")
    print(json.dumps({f"{s}/{p}": round(r) for (s, p), r in sorted(best.items())}))


if __name__ == "__main__":
    main()
