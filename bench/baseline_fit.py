"""The baseline: the CIFAR-100 model written by hand, trained with a plain `model.fit`.

Default `compile` (no steps_per_execution, no jit choice), batch 32, synthetic CIFAR-shaped
data, no validation. Prints one JSON line with steady-state samples/s: training samples
divided by the seconds of the epochs after the first, as the generated scripts report it.
"""

import argparse
import json
import time

import keras
import numpy as np


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(42)
    model = keras.Sequential(
        [
            keras.Input(shape=(32, 32, 3)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(100, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.001),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(42)
    x = rng.random((args.samples, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 100, size=(args.samples,))
    timer = EpochTimer()
    model.fit(x, y, batch_size=32, epochs=args.epochs, verbose=0, callbacks=[timer])
    steady = timer.seconds[1:] or timer.seconds
    print(
        json.dumps(
            {"loop": "baseline", "samples_per_sec": args.samples * len(steady) / sum(steady)}
        )
    )


if __name__ == "__main__":
    main()
