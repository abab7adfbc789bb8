"""`specgen verify`: build every style a spec allows and prove they are the same model.

The user-facing form of the test suite's proof. This module imports Keras, so nothing else in
specgen imports it; the CLI loads it only for `verify`.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import api
from .ir import Model


def _import(path: Path):
    name = f"_specgen_verify_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _inputs(model: Model, rows: int, rng):
    arrays = {}
    for node in model.inputs:
        if node.dtype.startswith("int"):
            arrays[node.name] = rng.integers(0, 2, size=(rows, *node.dims)).astype(node.dtype)
        else:
            arrays[node.name] = rng.random((rows, *node.dims), dtype="float32")
    return arrays[model.inputs[0].name] if len(arrays) == 1 else arrays


def _same(a, b) -> bool:
    import keras
    import numpy as np

    left, right = keras.tree.flatten(a), keras.tree.flatten(b)
    return len(left) == len(right) and all(
        np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(left, right, strict=True)
    )


def verify(spec, *, steps: int = 3, echo: Callable[[str], None] = print) -> bool:
    """Print a table of checks; True when every style agrees with the first on every check."""
    model = spec if isinstance(spec, Model) else api.compile(spec)
    styles = api.styles_for(model, "all")
    with tempfile.TemporaryDirectory(prefix="specgen-verify-") as folder:
        root = Path(folder)
        for name, text in api.render(model, "all").items():
            (root / name).write_text(text, encoding="utf-8")
        sys.path.insert(0, folder)
        try:
            rows = _checks(model, styles, root, steps)
        finally:
            sys.path.remove(folder)
    width = max(len(label) for label, _ in rows)
    echo((f"{'check'.ljust(width)}  " + "  ".join(s.ljust(10) for s in styles)).rstrip())
    for label, results in rows:
        echo(
            (
                f"{label.ljust(width)}  "
                + "  ".join(("ok" if ok else "DIFFERS").ljust(10) for ok in results)
            ).rstrip()
        )
    ok = all(all(results) for _, results in rows)
    echo(
        f"{'verified' if ok else 'NOT verified'}: {len(styles)} styles of {model.name}"
        + (" are the same model" if ok else " differ")
    )
    return ok


def _checks(
    model: Model, styles: tuple[str, ...], root: Path, steps: int
) -> list[tuple[str, list[bool]]]:
    import keras
    import numpy as np

    modules = {style: _import(root / f"{model.name}_{style}.py") for style in styles}
    built = {style: modules[style].build_model() for style in styles}
    trainable, frozen = model.params
    rng = np.random.default_rng(0)
    x = _inputs(model, 8, rng)
    reference = built[styles[0]]
    rows = [
        (
            f"parameters ({trainable + frozen:,})",
            [m.count_params() == trainable + frozen for m in built.values()],
        ),
        (
            "initial weights",
            [
                all(
                    np.array_equal(a.numpy(), b.numpy())
                    for a, b in zip(reference.weights, m.weights, strict=True)
                )
                for m in built.values()
            ],
        ),
        (
            "outputs",
            [_same(reference(x, training=False), m(x, training=False)) for m in built.values()],
        ),
    ]
    if model.training is not None:
        trainer = _import(root / f"train_{model.name}_{styles[-1]}.py")
        (tx, ty), _ = trainer.synthetic_data(16, 0)
        fresh = {style: modules[style].build_model() for style in styles}
        losses = {}
        for style, m in fresh.items():
            keras.utils.set_random_seed(1)
            trainer.compile_model(m)
            losses[style] = [
                float(keras.tree.flatten(m.train_on_batch(tx, ty))[0]) for _ in range(steps)
            ]
        first = fresh[styles[0]]
        rows.append(
            (
                f"{steps} training steps",
                [
                    losses[s] == losses[styles[0]]
                    and all(
                        np.array_equal(a.numpy(), b.numpy())
                        for a, b in zip(first.weights, fresh[s].weights, strict=True)
                    )
                    for s in styles
                ],
            )
        )
    round_trip = []
    for style, m in built.items():
        path = root / f"{style}.keras"
        m.save(path)
        round_trip.append(
            _same(keras.models.load_model(path)(x, training=False), m(x, training=False))
        )
    rows.append((".keras round trip", round_trip))
    return rows
