"""Real models: keras.applications families and tutorial patterns import, render in every style
they allow, and give the original's outputs with the original's weights.

Each original is built at a small input size with weights=None, then every weight is perturbed
(so a dropped argument such as a BatchNormalization epsilon or a ReLU max_value shows in the
outputs). The rebuilt model loads the weights by `set_weights(original.get_weights())`.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import import_file

import specgen
from specgen.catalog import allow_import as custom
from specgen.emit.format import _ruff
from specgen.importer import convert as importer
from specgen.importer import guard as import_guard

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

TOLERANCE = 1e-6
A = keras.applications
slow = pytest.mark.slow


def _tutorial_bilstm():
    tokens = keras.Input((12,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(50, 8, trainable=False, name="pretrained")(tokens)
    forward = keras.layers.LSTM(6, return_sequences=True, name="fw")
    backward = keras.layers.GRU(6, return_sequences=True, go_backwards=True, name="bw")
    x = keras.layers.Bidirectional(forward, backward_layer=backward, name="bi")(x)
    x = keras.layers.GlobalMaxPooling1D(name="pool")(x)
    out = keras.layers.Dense(3, activation="softmax", dtype="float32", name="out")(x)
    return keras.Model(tokens, out, name="bilstm")


def _tutorial_transformer():
    seq = keras.Input((10, 16), name="seq")
    mem = keras.Input((7, 12), name="memory")
    att = keras.layers.MultiHeadAttention(
        num_heads=2, key_dim=4, value_dim=3, attention_axes=(1,), name="mha"
    )(seq, mem, mem * 0.5)
    x = keras.layers.Add(name="res1")([seq, att])
    x = keras.layers.LayerNormalization(epsilon=1e-3, name="ln1")(x)
    ff = keras.layers.Dense(32, activation="relu", name="ff1")(x)
    ff = keras.layers.Dropout(0.1, name="drop")(ff)
    ff = keras.layers.Dense(16, name="ff2")(ff)
    x = keras.layers.LayerNormalization(name="ln2")(keras.layers.Add(name="res2")([x, ff]))
    return keras.Model([seq, mem], x, name="encoder_block")


def _tutorial_activations():
    x0 = keras.Input((6, 6, 3), name="image")
    x = keras.layers.RandomFlip(seed=3, name="flip")(x0)
    x = keras.layers.RandomRotation(0.1, seed=4, name="rotate")(x)
    x = keras.layers.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.5, 2.0, 0.5], name="norm")(x)
    x = keras.layers.Conv2D(4, 3, name="conv")(x)
    x = keras.layers.PReLU(shared_axes=[1, 2], name="prelu")(x)
    x = keras.layers.LeakyReLU(0.2, name="leaky")(x)
    x = keras.layers.ELU(0.7, name="elu")(x)
    x = keras.layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2, name="relu")(x)
    x = keras.layers.Reshape((16, 4), name="seq")(x)
    x = keras.layers.TimeDistributed(keras.layers.Dense(5), name="td")(x)
    x = keras.layers.Dropout(0.3, noise_shape=(None, 1, 5), name="drop")(x)
    return keras.Model(x0, keras.layers.Softmax(axis=1, name="soft")(x), name="activations")


def _tutorial_transfer():
    base = A.MobileNetV2(
        weights=None, input_shape=(32, 32, 3), alpha=0.35, include_top=False, name="base"
    )
    base.trainable = False
    image = keras.Input((32, 32, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="scale")(image)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(0.2, name="drop")(x)
    return keras.Model(image, keras.layers.Dense(4, name="head")(x), name="transfer")


MODELS = {
    "VGG16": lambda: A.VGG16(weights=None, input_shape=(32, 32, 3), classes=5),
    "ResNet50": lambda: A.ResNet50(weights=None, input_shape=(32, 32, 3), classes=5),
    "ResNet50V2": lambda: A.ResNet50V2(weights=None, input_shape=(32, 32, 3), classes=5),
    "DenseNet121": lambda: A.DenseNet121(weights=None, input_shape=(32, 32, 3), classes=5),
    "MobileNet": lambda: A.MobileNet(weights=None, input_shape=(32, 32, 3), alpha=0.25, classes=5),
    "MobileNetV2": lambda: A.MobileNetV2(
        weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=5
    ),
    "MobileNetV3Small": lambda: A.MobileNetV3Small(
        weights=None, input_shape=(32, 32, 3), alpha=0.75, classes=5
    ),
    "EfficientNetB0": lambda: A.EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=5),
    "EfficientNetV2B0": lambda: A.EfficientNetV2B0(
        weights=None, input_shape=(32, 32, 3), classes=5
    ),
    "Xception": lambda: A.Xception(weights=None, input_shape=(71, 71, 3), classes=5),
    "InceptionV3": lambda: A.InceptionV3(weights=None, input_shape=(75, 75, 3), classes=5),
    "NASNetMobile": lambda: A.NASNetMobile(weights=None, input_shape=(32, 32, 3), classes=5),
    "ConvNeXtTiny": lambda: A.ConvNeXtTiny(weights=None, input_shape=(32, 32, 3), classes=5),
    "InceptionResNetV2": lambda: A.InceptionResNetV2(
        weights=None, input_shape=(75, 75, 3), classes=5
    ),
    "Transfer": _tutorial_transfer,
    "BiLSTM": _tutorial_bilstm,
    "TransformerBlock": _tutorial_transformer,
    "Activations": _tutorial_activations,
}
SLOW = {
    "InceptionResNetV2",
    "ConvNeXtTiny",
    "DenseNet121",
    "Xception",
    "InceptionV3",
    "NASNetMobile",
    "EfficientNetV2B0",
    "ResNet50V2",
}


def _perturb(model, rng) -> None:
    """Every float weight moved off its initial value; variances stay positive."""
    weights = []
    for w in model.weights:
        value = np.asarray(w.numpy())
        if value.dtype.kind == "f":
            value = value + rng.normal(0, 0.05, value.shape).astype(value.dtype)
            if "variance" in w.path:
                value = np.abs(value) + 0.5
        weights.append(value)
    model.set_weights(weights)


def _inputs(model, rng):
    arrays = {}
    for tensor in model.inputs:
        shape = (2, *tensor.shape[1:])
        if "int" in str(tensor.dtype):
            arrays[tensor.name] = rng.integers(0, 40, shape).astype("int32")
        else:
            arrays[tensor.name] = rng.random(shape, dtype="float32") * 2
    return next(iter(arrays.values())) if len(arrays) == 1 else arrays


def _run(name: str, tmp_path):
    keras.utils.set_random_seed(0)
    original = MODELS[name]()
    rng = np.random.default_rng(0)
    _perturb(original, rng)
    original.save(tmp_path / "orig.keras")
    spec = import_guard.read_and_convert(tmp_path / "orig.keras")  # as `specgen import`
    # Keras's own helper layers (ConvNeXt's LayerScale, InceptionResNetV2's CustomScaleLayer)
    # are catalog entries: no model of keras.applications needs an opt-in.
    assert importer.custom_modules(spec) == []
    model = specgen.compile(spec)
    files = specgen.render(model, "all")
    for file, text in files.items():
        (tmp_path / file).write_text(text)
    lint = subprocess.run(
        [_ruff(), "check", "--isolated", "--select", "E,F,W,I,UP,B", "--ignore", "E501"]
        + [str(tmp_path / file) for file in files],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout  # the same rules as the golden files
    x = _inputs(original, rng)
    expected = [np.asarray(t) for t in keras.tree.flatten(original(x, training=False))]
    report = {"top_layers": len(spec["layers"])}
    report["blocks"] = {k: len(b["layers"]) for k, b in spec.get("blocks", {}).items()}
    for file, text in files.items():
        (tmp_path / file).write_text(text)
        style = file.removesuffix(".py").rsplit("_", 1)[1]
        report[f"lines_{style}"] = text.count("\n")
        rebuilt = import_file(tmp_path / file).build_model()
        rebuilt.set_weights(original.get_weights())
        got = [np.asarray(t) for t in keras.tree.flatten(rebuilt(x, training=False))]
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(got, expected, strict=True))
        assert diff <= TOLERANCE, f"{name} {style}: max abs diff {diff}"
        report[f"diff_{style}"] = diff
        assert [w.trainable for w in rebuilt.weights] == [w.trainable for w in original.weights]
    return report


@pytest.mark.parametrize("name", [pytest.param(n, marks=slow) if n in SLOW else n for n in MODELS])
def test_zoo_model_imports_and_equals_original(name, tmp_path):
    report = _run(name, tmp_path)
    print(name, report)
    if name in FOLDED:  # repeated units read as one block each, used by name
        assert report["blocks"] and report["top_layers"] <= FOLDED[name]


# Import folds repeated units into blocks: at most this many top-level entries remain.
FOLDED = {
    "DenseNet121": 80,
    "ResNet50": 50,
    "NASNetMobile": 470,
    "EfficientNetB0": 60,
    "InceptionResNetV2": 140,
    "MobileNetV3Small": 70,
}


CUSTOM_SPEC = {
    "name": "scaled",
    "inputs": [{"name": "x", "shape": [4]}],
    "layers": [
        {
            "name": "scale",
            "type": "CustomLayer",
            "class": "keras.src.applications.convnext.LayerScale",
            "config": {"init_values": 0.5, "projection_dim": 4},
            "params": 4,
        },
        {"name": "out", "type": "Dense", "units": 2},
    ],
}


def test_custom_layer_needs_an_opt_in_outside_the_spec(tmp_path, monkeypatch, capsys):
    from specgen.cli import main

    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "scaled.json"
    spec.write_text(json.dumps(CUSTOM_SPEC))
    assert main(["render", str(spec), "--out", "gen"]) == 1
    err = capsys.readouterr().err
    assert "module 'keras.src.applications.convnext' is not allowed" in err
    assert "--allow-import keras.src.applications.convnext" in err
    assert not (tmp_path / "gen").exists()
    module = "keras.src.applications.convnext"
    assert main(["--allow-import", module, "render", str(spec), "--out", "gen"]) == 0
    text = (tmp_path / "gen" / "scaled_functional.py").read_text()
    assert "import keras.src.applications.convnext\n" in text
    assert "keras.src.applications.convnext.LayerScale(" in text
    built = import_file(tmp_path / "gen" / "scaled_functional.py").build_model()
    assert built.count_params() == 4 + 10


def test_pyproject_table_allows_a_module(tmp_path, monkeypatch):
    from specgen.catalog import allow_import as custom_module

    (tmp_path / "pyproject.toml").write_text(
        '[tool.specgen]\nallow-import = ["keras.src.applications"]\n'
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    custom_module._pyproject.cache_clear()
    try:
        assert specgen.validate(CUSTOM_SPEC) == []
    finally:
        custom_module._pyproject.cache_clear()


def test_import_keeps_compile_settings_and_names_custom_modules(tmp_path, capsys):
    from keras.src.applications.convnext import LayerScale

    from specgen.cli import main

    x = keras.Input((4,), name="x")
    y = keras.layers.Dense(2, name="out")(LayerScale(0.5, 4, name="scale")(x))
    model = keras.Model(x, y, name="scaled")
    model.compile(
        optimizer=keras.optimizers.Adam(0.003),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.save(tmp_path / "m.keras")
    assert main(["import", str(tmp_path / "m.keras"), "-o", str(tmp_path / "s.json")]) == 0
    err = capsys.readouterr().err
    assert "from_logits" not in err, "the spec keeps the loss's arguments"
    assert "--allow-import" not in err, "Keras's own LayerScale is a catalog entry"
    spec = json.loads((tmp_path / "s.json").read_text())
    assert spec["training"] == {
        "optimizer": {"type": "Adam", "learning_rate": 0.003},
        "loss": {"type": "SparseCategoricalCrossentropy", "from_logits": True},
        "metrics": ["accuracy"],
    }
    assert spec["layers"][0] == {
        "name": "scale",
        "type": "LayerScale",
        "init_values": 0.5,
        "projection_dim": 4,
    }
    assert specgen.compile(spec).layers[0].params == 4  # the catalog's rule: one per channel


def _helpers_model():
    """ConvNeXt's and InceptionResNetV2's helper layers, as keras.applications calls them."""
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    x = keras.Input((5, 5, 4), name="image")
    h = keras.layers.Conv2D(4, 3, padding="same", name="conv")(x)
    h = LayerScale(0.3, 4, name="gamma")(h)
    h = StochasticDepth(0.25, name="drop_path")(h)
    y = CustomScaleLayer(0.17, name="residual")([x, h])
    return keras.Model(x, keras.layers.Dense(3, name="out")(y), name="helpers")


def test_keras_helper_layers_import_without_opt_in_and_equal_the_original(tmp_path):
    keras.utils.set_random_seed(0)
    original = _helpers_model()
    _perturb(original, np.random.default_rng(0))
    spec = importer.to_spec(json.loads(original.to_json()))
    assert [e["type"] for e in spec["layers"]] == [
        "Conv2D",
        "LayerScale",
        "StochasticDepth",
        "CustomScaleLayer",
        "Dense",
    ]
    assert importer.custom_modules(spec) == []
    x = np.random.default_rng(1).random((2, 5, 5, 4), dtype="float32")
    expected = np.asarray(original(x, training=False))
    files = specgen.render(specgen.compile(spec), "all")
    assert set(files) == {"helpers_functional.py", "helpers_subclass.py"}  # a skip: no chain
    for file, text in files.items():
        assert "import keras.src.applications.convnext\n" in text
        (tmp_path / file).write_text(text)
        rebuilt = import_file(tmp_path / file).build_model()
        assert [type(layer) for layer in rebuilt.layers[-5:]] == [
            type(layer) for layer in original.layers[-5:]
        ]
        rebuilt.set_weights(original.get_weights())
        np.testing.assert_array_equal(np.asarray(rebuilt(x, training=False)), expected)


def test_a_users_class_named_like_a_keras_helper_still_needs_an_opt_in():
    """Matched by the module Keras saved, never by the class name alone."""

    @keras.saving.register_keras_serializable(package="mine")
    class LayerScale(keras.layers.Layer):
        def __init__(self, init_values, projection_dim, **kwargs):
            super().__init__(**kwargs)
            self.init_values, self.projection_dim = init_values, projection_dim

        def call(self, x):
            return x * self.init_values

        def get_config(self):
            config = super().get_config()
            return {**config, "init_values": self.init_values, "projection_dim": 4}

    x = keras.Input((4,), name="x")
    model = keras.Model(x, LayerScale(0.5, 4, name="scale")(x), name="mine")
    spec = importer.to_spec(json.loads(model.to_json()))
    assert spec["layers"][0]["type"] == "CustomLayer"
    assert spec["layers"][0]["class"] == f"{__name__}.LayerScale"
    assert importer.custom_modules(spec) == [__name__]
    assert specgen.validate(spec)  # refused until the user allows the module
    with custom.allowing(__name__):
        assert specgen.validate(spec) == []


def test_every_helper_layer_of_keras_applications_is_catalogued_by_its_module():
    """Every Layer class the keras.applications modules define (outside keras.layers) is a
    catalog entry constructed from that module."""
    import importlib
    import inspect
    import pkgutil

    import keras.src.applications as applications

    from specgen import catalog

    found = {}
    for info in pkgutil.iter_modules(applications.__path__):
        if info.name.endswith("_test"):
            continue
        module = importlib.import_module(f"{applications.__name__}.{info.name}")
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, keras.layers.Layer)
                and cls.__module__ == module.__name__
            ):
                found[name] = module.__name__
    assert found == {
        "LayerScale": "keras.src.applications.convnext",
        "StochasticDepth": "keras.src.applications.convnext",
        "CustomScaleLayer": "keras.src.applications.inception_resnet_v2",
    }
    assert {name: catalog.BY_SPELLING[name].module for name in found} == found


def test_a_block_holding_operations_builds_in_every_style(tmp_path):
    spec = {
        "name": "ops_block",
        "seed": 0,
        "inputs": [{"name": "x", "shape": [3]}],
        "blocks": {
            "shift": {
                "inputs": ["x"],
                "params": {"by": 3.0},
                "layers": [
                    {"name": "d", "type": "Dense", "units": 3},
                    {"name": "s", "type": "ops.add", "inputs": ["d"], "x2": {"param": "by"}},
                ],
            }
        },
        "layers": [{"name": "a", "type": "shift"}, {"name": "b", "type": "shift", "by": 1.5}],
    }
    files = specgen.render(spec, "all")
    assert len(files) == 3  # the block is a layer class, so Sequential takes it too
    data = np.random.default_rng(0).random((2, 3), dtype="float32")
    outputs = []
    for name, text in files.items():
        assert "keras.ops.add(d, self.by)" in text
        (tmp_path / name).write_text(text)
        outputs.append(np.asarray(import_file(tmp_path / name).build_model()(data)))
    for other in outputs[1:]:
        np.testing.assert_array_equal(other, outputs[0])


def test_operations_refuse_the_sequential_style():
    spec = {
        "name": "ops_chain",
        "inputs": [{"name": "x", "shape": [3]}],
        "layers": [{"name": "shift", "type": "ops.add", "x2": 3.0}],
    }
    model = specgen.compile(spec)
    assert set(specgen.render(model, "all")) == {"ops_chain_functional.py", "ops_chain_subclass.py"}
    assert "is an operation (ops.add), not a layer" in model.chain_break()[1]


def test_efficientnet_b7_imports_and_renders_through_the_cli(tmp_path):
    """An 800-layer import renders as a user runs it. How fast is bench/'s business: no
    wall-clock figure here (it would measure this CPU), and the cache stays off (a test never
    reads or leaves entries in the user's ~/.cache)."""
    import subprocess
    import sys

    from conftest import ROOT

    keras.utils.set_random_seed(0)
    original = A.EfficientNetB7(weights=None, input_shape=(32, 32, 3), classes=3)
    assert len(original.layers) > 800
    spec = importer.to_spec(json.loads(original.to_json()))
    (tmp_path / "b7.json").write_text(json.dumps(spec))
    subprocess.run(
        [sys.executable, "-m", "specgen.cli", "render", "b7.json", "--style", "all", "--out", "g"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SPECGEN_CACHE_DIR": ""},
        check=True,
    )
    lines = (tmp_path / "g" / "efficientnetb7_functional.py").read_text().count("\n")
    print(f"EfficientNetB7: {len(original.layers)} layers, {lines} lines")
    assert {p.name for p in (tmp_path / "g").glob("efficientnetb7_*.py")} == {
        f"efficientnetb7_{style}.py" for style in ("sequential", "functional", "subclass")
    }


def test_import_folds_repeated_units_unless_flat(tmp_path):
    from specgen.cli import main

    x = inputs = keras.Input((6,), name="x")
    for i, units in enumerate((8, 8, 12)):
        h = keras.layers.Dense(units, activation="relu", name=f"unit{i}_up")(x)
        h = keras.layers.Dense(6, name=f"unit{i}_down")(h)
        h = keras.layers.LayerNormalization(name=f"unit{i}_norm")(h)
        x = keras.layers.Add(name=f"unit{i}_add")([x, h])
    for units in (5, 4, 2):  # a head long enough to be a segment of its own
        x = keras.layers.Dense(units, name=f"head{units}")(x)
    model = keras.Model(inputs, x, name="units")
    model.save(tmp_path / "m.keras")
    assert main(["import", str(tmp_path / "m.keras"), "-o", str(tmp_path / "s.json")]) == 0
    spec = json.loads((tmp_path / "s.json").read_text())
    assert list(spec["blocks"]) == ["unit"]
    assert spec["blocks"]["unit"]["params"] == {"up_units": 8}
    assert [e["type"] for e in spec["layers"]] == ["unit"] * 3 + ["Dense"] * 3
    assert spec["layers"][2]["up_units"] == 12
    rebuilt = specgen.render(spec, "functional")["units_functional.py"]
    (tmp_path / "units.py").write_text(rebuilt)
    built = import_file(tmp_path / "units.py").build_model()
    built.set_weights(model.get_weights())
    data = np.random.default_rng(0).random((3, 6), dtype="float32")
    np.testing.assert_array_equal(np.asarray(built(data)), np.asarray(model(data)))
    flat = tmp_path / "flat.json"
    assert main(["import", str(tmp_path / "m.keras"), "-o", str(flat), "--flat"]) == 0
    assert "blocks" not in json.loads(flat.read_text())


# Each at its default (full) input size, with its ImageNet head: VGG's 4096-wide classifier
# depends on the 224x224 input, NASNetLarge is built for 331x331. About 45 s together on one
# CPU (NASNetLarge ~30 s: two builds of 1,041 layers); the other constructors run at small
# sizes above, where their weights do not depend on the input size.
FULL_SIZE = ("VGG16", "VGG19", "NASNetLarge")


@slow
@pytest.mark.parametrize("name", FULL_SIZE)
def test_full_size_model_imports_from_its_config_with_keras_weights(name, tmp_path):
    """Config only (no weights file, no forward pass at full size): the spec's parameter
    count, and the rebuilt model's weights, shape by shape in order, are Keras's own."""
    keras.utils.set_random_seed(0)
    original = getattr(A, name)(weights=None)
    spec = importer.to_spec(json.loads(original.to_json()))
    model = specgen.compile(spec)
    assert sum(model.params) == original.count_params()
    files = specgen.render(model, "all")
    assert {f"{spec['name']}_{s}.py" for s in ("functional", "subclass")} <= set(files)
    file = tmp_path / f"{spec['name']}_functional.py"
    file.write_text(files[file.name])
    rebuilt = import_file(file).build_model()
    assert rebuilt.count_params() == original.count_params()
    assert [tuple(w.shape) for w in rebuilt.weights] == [tuple(w.shape) for w in original.weights]
    assert [w.trainable for w in rebuilt.weights] == [w.trainable for w in original.weights]
