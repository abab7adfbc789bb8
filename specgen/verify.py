"""`specgen verify`: build every style a spec allows and prove they are one model.

The user-facing form of the test suite's proof: the same weight list, the same outputs for
every calling convention, .weights.h5 files that load across styles, .keras round trips,
model.export(), seeding without side effects, and a refusal to load another spec version.
This module imports Keras, so nothing else in specgen imports it; the CLI loads it only for
`verify`.
"""

from __future__ import annotations

import importlib.util
import math
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import api
from .model.ir import Model

# A `null` (variable) dimension gets the first of these lengths that every layer accepts
# (a valid convolution or pooling needs a long enough input); the last is the fallback.
VARIABLE_LENGTHS = (5, 8, 16, 32, 64, 128, 256)
VARIABLE_LENGTH = VARIABLE_LENGTHS[0]


def _accepts(nodes, dims: dict) -> bool:
    """Whether the shape rules of `nodes` (blocks included) accept these input shapes. A node
    this walk does not follow (a layer called again) ends it: what came before is accepted."""
    from .catalog import outputs, shapes

    for node in nodes:
        if not node.is_block and not hasattr(node, "kind"):
            return True  # a call of a layer again: its shapes are its first call's
        parents = [dims[name] for name in node.inputs]
        try:
            if node.is_block:
                inner = dict(zip(node.block.inputs, parents, strict=True))
                if not _accepts(node.inner, inner):
                    return False
                dims[node.name] = inner[node.block.output]
                continue
            args = dict(node.args)
            if len(parents) > 1 and outputs.state_dims(node.kind.name, args) is not None:
                parents = parents[:1]  # a recurrent layer's extra inputs are its state
            dims[node.name] = node.kind.shape(args, parents).dims
            found = outputs.output_dims(node.kind.name, args, dims[node.name])
            dims.update({f"{node.name}:{k}": d for k, d in enumerate(found or ())})
        except shapes.ShapeError:
            return False
    return True


# The exclusive upper bound of an integer input that no layer bounds.
INTEGER_BOUND = 10
# Layers that take integer indices below an argument of theirs.
_INDEX_BOUNDS = {"Embedding": "input_dim", "ReversibleEmbedding": "input_dim"}
_INDEX_BOUNDS |= {"CategoryEncoding": "num_tokens"}


def integer_bound(model: Model, name: str) -> int:
    """Integers drawn for input `name` span the smallest bound its direct users set."""
    bounds = [
        dict(node.args)[_INDEX_BOUNDS[node.kind.name]]
        for node in model.layers
        if name in node.inputs and not node.is_block and node.kind.name in _INDEX_BOUNDS
    ]
    return min(bounds, default=INTEGER_BOUND)


def variable_length(model: Model) -> int:
    """A length for the model's `null` input dimensions that every layer accepts."""
    for length in VARIABLE_LENGTHS:
        dims = {e.name: tuple(length if d is None else d for d in e.dims) for e in model.inputs}
        if _accepts(model.layers, dims):
            return length
    return VARIABLE_LENGTHS[-1]


# The export runs the same ops in a traced graph, where TensorFlow may fuse or reorder
# float operations (oneDNN, grappler): one float32 rounding step of an output near 1.
EXPORT_ATOL = 1e-6


def _import(path: Path):
    name = f"_specgen_verify_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def sample_inputs(model: Model, rows: int, seed: int = 0):
    """Random inputs for `model`: one array, or a dict keyed by input name."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = {}
    length = variable_length(model)
    for node in model.inputs:
        shape = (rows, *(length if d is None else d for d in node.dims))
        if node.dtype == "string":
            words, per = string_words(model, node.name)
            picks = np.array(words)[rng.integers(0, len(words), size=(math.prod(shape), per))]
            arrays[node.name] = np.array([" ".join(p) for p in picks]).reshape(shape)
        elif node.dtype.startswith("int"):
            high = integer_bound(model, node.name)
            arrays[node.name] = rng.integers(0, high, size=shape).astype(node.dtype)
        else:
            arrays[node.name] = rng.random(shape, dtype="float32")
    return arrays[model.inputs[0].name] if len(arrays) == 1 else arrays


def string_words(model: Model, name: str) -> tuple[list[str], int]:
    """Words for a string input and how many make one string (a sentence for a
    TextVectorization, one word for a lookup): the vocabularies of the layers that read it,
    a word of none of them (out of vocabulary) and one in capitals (standardize lowers it)."""
    words, per = ["Zzyzx", "THE"], 1
    for node in model.layers:
        args = dict(getattr(node, "args", ()))
        if name in node.inputs:
            words += [str(w) for w in args.get("vocabulary", ())]
            kind = getattr(getattr(node, "kind", None), "name", None)
            per = 3 if kind == "TextVectorization" else per
    return words, per


def calling_conventions(model: Model, x) -> dict:
    """One tensor; or a dict keyed by input name, a list and a tuple in spec order."""
    if not isinstance(x, dict):
        return {"tensor": x}
    ordered = [x[name] for name in model.input_names]
    return {"dict": x, "list": ordered, "tuple": tuple(ordered)}


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


def compare(expected, got, call: str, atol: float = 0.0) -> bool | Differs:
    """True when `got` is `expected` (same structure, values within atol); else why not."""
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
                f"{call}: {output} differs from model(x, training=False) by up to"
                f" {gap.max():.3g} (at index {tuple(int(i) for i in where)}; allowed {atol})"
            )
    return True


def same_weights(a, b) -> bool:
    import numpy as np

    left, right = a.get_weights(), b.get_weights()
    return len(left) == len(right) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(left, right, strict=True)
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
        cells = "  ".join(_cell(result).ljust(10) for result in results)
        echo(f"{label.ljust(width)}  {cells}".rstrip())
    for label, results in rows:
        for style, result in zip(styles, results, strict=True):
            if isinstance(result, str):
                echo(f"{label} ({style}): {result}")
    ok = all(result is True for _, results in rows for result in results)
    echo(
        f"{'verified' if ok else 'NOT verified'}: {len(styles)} styles of {model.name}"
        + (" are the same model" if ok else " differ")
    )
    return ok


def _build(module):
    """The module's default build (its SEED); a spec without a seed is seeded with 0 here."""
    return module.build_model() if module.SEED is not None else module.build_model(seed=0)


def _cell(result: bool | str) -> str:
    if result is True:
        return "ok"
    return "DIFFERS" if result is False or isinstance(result, Differs) else "ERROR"


def _run(check: Callable[[str], bool | Differs], style: str) -> bool | str:
    """A check's verdict, or the error it raised: one failing check must not hide the rest
    (and a valid spec must never end `verify` with an internal error)."""
    try:
        result = check(style)
        return result if isinstance(result, Differs) else bool(result)
    except Exception as error:  # noqa: BLE001 - reported in the table, then as text
        return f"{type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}"


def _checks(model: Model, styles: tuple[str, ...], root: Path, steps: int) -> list:
    import keras

    seed = 0 if model.seed is None else model.seed
    modules = {style: _import(root / f"{model.name}_{style}.py") for style in styles}
    built = {style: _build(modules[style]) for style in styles}
    reference = built[styles[0]]
    x = sample_inputs(model, 4)
    expected = reference(x, training=False)
    trainable, frozen = model.params
    # An exported artifact takes one tensor, or a list in the spec's input order.
    served = list(calling_conventions(model, x).values())[-1]
    served = list(served) if isinstance(served, tuple) else served
    reloaded = {}

    def reload(style):
        built[style].save(root / f"{style}.keras")
        reloaded[style] = keras.models.load_model(root / f"{style}.keras")
        return _all(
            compare(expected, reloaded[style](x, training=False), "reloaded(x, training=False)"),
            compare(expected, reloaded[style](x), "reloaded(x)"),
        )

    def loads_everywhere(style):
        path = root / f"{style}.weights.h5"
        built[style].save_weights(path)
        for other in styles:
            fresh = modules[other].build_model(seed=seed + 1)
            fresh.load_weights(path)
            if not same_weights(built[style], fresh):
                return False
        return True

    checks = [
        (
            f"parameters ({trainable + frozen:,})",
            lambda s: built[s].count_params() == trainable + frozen,
        ),
        ("initial weights", lambda s: same_weights(reference, built[s])),
        (
            "outputs (dict/list/tuple)",
            lambda s: all(
                same_outputs(expected, built[s](v, training=False))
                for v in calling_conventions(model, x).values()
            ),
        ),
        ("inference (model(x), predict, evaluate)", lambda s: _inference(built[s], x, expected)),
        (".weights.h5 into every style", loads_everywhere),
        (".keras round trip", reload),
        ("export()", lambda s: _exports(built[s], root / s, served, expected)),
        (
            "export() after .keras reload",
            lambda s: _exports(reloaded[s], root / f"{s}-reloaded", served, expected),
        ),
        ("refuses other spec versions", lambda s: _refuses(built[s])),
        ("seeding side effects", lambda s: _seeding_ok(modules[s])),
    ]
    rows = [(label, [_run(check, s) for s in styles]) for label, check in checks]
    if model.training is not None:
        try:
            trained = _training(model, modules, root, steps, seed)
        except Exception as error:  # noqa: BLE001 - reported like any check
            trained = [f"{type(error).__name__}: {error}"[:300]] * len(styles)
        rows.append((f"{steps} training steps", trained))
    return rows


def _all(*results: bool | Differs) -> bool | Differs:
    """The first finding of several comparisons, or True."""
    return next((r for r in results if r is not True), True)


def _inference(m, x, expected) -> bool | Differs:
    """Called without `training`, twice, through predict() and evaluate(): the same
    deterministic outputs as model(x, training=False), bit for bit. Layers that train by
    default (augmentation) or draw noise would make these differ."""
    import keras
    import numpy as np

    first = m(x)
    found = _all(
        compare(expected, first, "model(x)"),
        compare(first, m(x), "model(x) called again"),
        compare(
            expected,
            m.predict(x, verbose=0, batch_size=len(keras.tree.flatten(x)[0])),
            "predict(x)",
        ),
    )
    if found is not True:
        return found
    # evaluate() runs the test step: a mean squared error of 0.0 against the inference
    # outputs holds only when the outputs are the same.
    names = list(expected) if isinstance(expected, dict) else None
    m.compile(loss={n: "mse" for n in names} if names else "mse")
    try:
        loss = m.evaluate(x, expected, verbose=0, return_dict=True)["loss"]
    finally:
        m.compiled = False  # leave the model as built (uncompiled) for the other checks
    if float(np.asarray(loss)) != 0.0:
        return Differs(f"evaluate(x, model(x, training=False)): mse is {float(loss):.3g}, not 0")
    return True


def _exports(m, folder: Path, x, expected) -> bool | Differs:
    import keras
    import tensorflow as tf

    m.export(str(folder), verbose=False)
    served = keras.layers.TFSMLayer(str(folder), call_endpoint="serve")
    inputs = tf.nest.map_structure(tf.constant, x)
    got, again = served(inputs), served(inputs)
    flat_expected, flat_got = keras.tree.flatten(expected), keras.tree.flatten(got)
    return _all(
        compare(flat_expected, flat_got, "the export's serve(x)", atol=EXPORT_ATOL),
        compare(keras.tree.flatten(got), keras.tree.flatten(again), "serve(x) called again"),
    )


def _refuses(m) -> bool:
    """Every specgen class in the model refuses a config saved from another spec."""
    other = "0" * 64
    for layer in [m, *m._flatten_layers()]:
        if not type(layer).__module__.startswith("_specgen_verify"):
            continue  # a Keras class: its config rebuilds the saved architecture
        if "model_sha256" not in layer.get_config():
            continue  # InferenceSequential: a keras.Sequential, rebuilt from its layers
        mine = layer.get_config()["model_sha256"]
        try:
            type(layer).from_config({**layer.get_config(), "model_sha256": other})
        except ValueError as error:
            if other not in str(error) or mine not in str(error):
                return False
        else:
            return False
    return True


def _seeding_ok(module) -> bool:
    """build_model() leaves the caller's streams alone, a seed alone fixes the weights
    (whatever the caller's state), and unseeded builds differ."""
    import keras
    import numpy as np

    def streams():
        return random.random(), float(np.random.random()), float(keras.random.uniform(()))

    keras.utils.set_random_seed(123)
    before = streams()
    keras.utils.set_random_seed(123)
    unseeded = module.build_model(seed=None)
    seeded = module.build_model(seed=7)
    untouched = streams() == before
    keras.utils.set_random_seed(321)
    same_seed_same_weights = same_weights(seeded, module.build_model(seed=7))
    fresh = not unseeded.get_weights() or not same_weights(unseeded, module.build_model(seed=None))
    return untouched and same_seed_same_weights and fresh


def _training(model, modules, root, steps, seed) -> list[bool]:
    import keras

    trainer = _import(root / f"train_{model.name}.py")
    (tx, ty), _ = trainer.synthetic_data(16, 0)
    fresh = {style: _build(module) for style, module in modules.items()}
    losses = {}
    for style, m in fresh.items():
        keras.utils.set_random_seed(1)
        trainer.compile_model(m)
        losses[style] = [
            float(keras.tree.flatten(m.train_on_batch(tx, ty))[0]) for _ in range(steps)
        ]
    first = next(iter(fresh))
    return [losses[s] == losses[first] and same_weights(fresh[first], fresh[s]) for s in fresh]
