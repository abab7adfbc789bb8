"""`specgen verify`: build every style a spec allows and prove they are one model.

The user-facing form of the test suite's proof: the same weight list, the same outputs for
every calling convention, .weights.h5 files that load across styles, .keras round trips,
model.export(), seeding without side effects, and a refusal to load another spec version.
This module imports Keras, so nothing else in specgen imports it; the CLI loads it only for
`verify`.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import api
from .model.ir import Model
from .verify_compare import (  # noqa: F401 - verify's vocabulary, used as verify.<name>
    Differs,
    compare,
    exact_graphs,
    first_finding,
    same_outputs,
    same_weights,
)
from .verify_inputs import (  # noqa: F401
    INTEGER_BOUND,
    VARIABLE_LENGTH,
    VARIABLE_LENGTHS,
    calling_conventions,
    integer_bound,
    sample_inputs,
    variable_length,
)


def _import(path: Path):
    name = f"_specgen_verify_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def verify(spec, *, steps: int = 3, echo: Callable[[str], None] = print) -> bool:
    """Print a table of checks; True when every style agrees with the first on every check."""
    model = spec if isinstance(spec, Model) else api.compile(spec)
    styles = api.styles_for(model, "all")
    with tempfile.TemporaryDirectory(prefix="specgen-verify-") as folder:
        root = Path(folder)
        for name, text in api.render(model, "all").items():
            (root / name).write_text(text, encoding="utf-8")
        sys.path.insert(0, folder)
        notes: list[str] = []
        try:
            with exact_graphs():
                rows = _checks(model, styles, root, steps, notes)
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
    for note in notes:
        echo(f"note: {note}")
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


def _checks(model: Model, styles: tuple[str, ...], root: Path, steps: int, notes: list) -> list:
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
        return first_finding(
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
        (
            "export() = predict() (default rewrites)",
            lambda s: _served_as_predicted(built[s], root / s, x, served, expected, notes),
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


def _inference(m, x, expected) -> bool | Differs:
    """Called without `training`, twice, through predict() and evaluate(): the same
    deterministic outputs as model(x, training=False), bit for bit. Layers that train by
    default (augmentation) or draw noise would make these differ."""
    import keras
    import numpy as np

    first = m(x)
    found = first_finding(
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
    return first_finding(
        compare(flat_expected, flat_got, "the export's serve(x)"),
        compare(keras.tree.flatten(got), keras.tree.flatten(again), "serve(x) called again"),
    )


def _served_as_predicted(m, folder: Path, x, served_x, expected, notes: list) -> bool | Differs:
    """With TensorFlow's default graph rewrites (the remapper on), the export (exported
    above, loaded afresh) serves bit for bit what predict() returns: both are traced graphs,
    rewritten alike. How far both then are from eager model(x) is a note, not a finding."""
    import keras
    import numpy as np
    import tensorflow as tf

    with exact_graphs(remapping=True):
        loaded = tf.saved_model.load(str(folder))
        got = loaded.serve(tf.nest.map_structure(tf.constant, served_x))
        predicted = m.predict(x, verbose=0, batch_size=len(keras.tree.flatten(x)[0]))
    gap = max(
        (
            float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64")), initial=0))
            for a, b in zip(
                keras.tree.flatten(expected), keras.tree.flatten(predicted), strict=True
            )
        ),
        default=0.0,
    )
    if gap and not any(note.startswith("TensorFlow's default") for note in notes):
        notes.append(
            f"TensorFlow's default graph rewrites move traced calls (predict, evaluate, the"
            f" export) up to {gap:.3g} from eager model(x): grappler's remapper fuses"
            " MatMul, BiasAdd and an activation into one kernel that rounds apart; the"
            " checks above ran with it off, where every call agrees bit for bit"
        )
    flat = keras.tree.flatten
    return compare(flat(predicted), flat(got), "the export's serve(x)", against="predict(x)")


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
