"""How `specgen verify` compares: bit for bit unless a tolerance is given, a finding in
words (which call, which output, how far), and the graph rewrites it runs under."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def exact_graphs(remapping: bool = False):
    """Grappler's remapper off (or on) while inside. In a traced graph (predict, evaluate,
    an export's serve) the remapper fuses MatMul, BiasAdd and an activation into one kernel
    (_FusedMatMul) whose activation rounds apart from the separate op's: a sigmoid output
    one float32 step (up to 1.2e-7) from eager model(x). With it off a traced graph runs the
    eager ops, and every call agrees bit for bit."""
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options().get("remapping", True)
    tf.config.optimizer.set_experimental_options({"remapping": remapping})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": before})


def same_outputs(a, b, atol: float = 0.0) -> bool:
    """Same structure (one tensor, or a dict in the same key order) and values within atol."""
    import keras
    import numpy as np

    if isinstance(a, dict) != isinstance(b, dict) or (isinstance(a, dict) and list(a) != list(b)):
        return False
    left, right = keras.tree.flatten(a), keras.tree.flatten(b)
    return len(left) == len(right) and all(
        np.allclose(np.asarray(x), np.asarray(y), rtol=0, atol=atol)
        if atol
        else np.array_equal(np.asarray(x), np.asarray(y))
        for x, y in zip(left, right, strict=True)
    )


class Differs(str):
    """A check's finding that two results differ, in words: which call, which output, how
    far (an error a check raised is a plain str)."""


def compare(
    expected, got, call: str, atol: float = 0.0, against: str = "model(x, training=False)"
) -> bool | Differs:
    """True when `got` is `expected` (`against`'s result: same structure, values within
    atol); else why not."""
    import keras
    import numpy as np

    def shape_of(value):
        return f"a dict of {list(value)}" if isinstance(value, dict) else "one tensor"

    if isinstance(expected, dict) != isinstance(got, dict) or (
        isinstance(expected, dict) and list(expected) != list(got)
    ):
        return Differs(f"{call} returns {shape_of(got)}, not {shape_of(expected)}")
    left, right = keras.tree.flatten(expected), keras.tree.flatten(got)
    names = list(expected) if isinstance(expected, dict) else [None] * len(left)
    if len(left) != len(right):
        return Differs(f"{call} returns {len(right)} tensors, not {len(left)}")
    for name, x, y in zip(names, left, right, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        output = "the output" if name is None else f"output {name!r}"
        if x.shape != y.shape:
            return Differs(f"{call}: {output} has shape {y.shape}, not {x.shape}")
        gap = np.abs(x.astype("float64") - y.astype("float64"))
        if gap.size and not (gap.max() <= atol):
            where = np.unravel_index(int(np.nanargmax(gap)), gap.shape)
            return Differs(
                f"{call}: {output} differs from {against} by up to"
                f" {gap.max():.3g} (at index {tuple(int(i) for i in where)}; allowed {atol})"
            )
    return True


def same_weights(a, b) -> bool:
    import numpy as np

    left, right = a.get_weights(), b.get_weights()
    return len(left) == len(right) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(left, right, strict=True)
    )


def first_finding(*results: bool | Differs) -> bool | Differs:
    """The first finding of several comparisons, or True."""
    return next((r for r in results if r is not True), True)
