"""Pretrained backbones (`"type": "Application"`): a keras.applications model as one layer,
frozen or partly unfrozen, with weights from a local file or none; never downloaded.

The generated code is built and compared with Keras itself: output shapes and parameter
counts with the catalog's table, the weights with the local file, a frozen backbone with
itself after a training step, and the generated training script runs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import import_file

import specgen

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

BACKBONE = {"model": "MobileNetV2", "alpha": 0.35, "input_shape": [32, 32, 3]}


def _spec(**backbone) -> dict:
    return {
        "name": "backbone_head",
        "inputs": [{"name": "image", "shape": [32, 32, 3]}],
        "layers": [
            {"name": "scale", "type": "Rescaling", "scale": 0.0078125, "offset": -1.0},
            {"name": "backbone", "type": "Application", **BACKBONE, **backbone},
            {"name": "drop", "type": "Dropout", "rate": 0.2},
            {"name": "head", "type": "Dense", "units": 4, "activation": "softmax"},
        ],
        "training": {
            "optimizer": {"type": "Adam", "learning_rate": 0.01},
            "loss": "sparse_categorical_crossentropy",
            "batch_size": 8,
            "epochs": 1,
        },
    }


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A small backbone's weights saved locally, as a user would once with network access."""
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2_035_32.weights.h5"
    keras.utils.set_random_seed(7)
    base = keras.applications.MobileNetV2(
        weights=None, include_top=False, pooling="avg", alpha=0.35, input_shape=(32, 32, 3)
    )
    base.save_weights(path)
    return path, [w.numpy() for w in base.weights]


def _render(spec: dict, folder) -> dict:
    files = specgen.render(specgen.compile(spec), "all")
    for file, text in files.items():
        (folder / file).write_text(text)
    styles = ("functional", "subclass", "sequential")
    return {
        style: folder / f for f in files for style in styles if f == f"{spec['name']}_{style}.py"
    }


def test_frozen_backbone_loads_the_local_file_in_every_style(weights_file, tmp_path):
    path, saved = weights_file
    spec = _spec(pooling="avg", weights=str(path), trainable=False)
    model = specgen.compile(spec)
    node = next(n for n in model.layers if n.name == "backbone")
    assert node.out.dims == (1280,) and node.out.trainable == 0
    assert node.out.non_trainable == 396128 + 14080  # the table's count, checked below
    built = {}
    for style, file in _render(spec, tmp_path).items():
        rebuilt = import_file(file).build_model(seed=1)
        backbone = rebuilt.get_layer("backbone")
        assert backbone.count_params() == node.out.non_trainable
        for got, want in zip(backbone.weights, saved, strict=True):
            np.testing.assert_array_equal(got.numpy(), want)
        trainable = [w.path.removeprefix("backbone_head/") for w in rebuilt.trainable_weights]
        assert trainable == ["head/kernel", "head/bias"]
        built[style] = rebuilt
    # The styles agree weight for weight, in one order.
    for a, b in zip(
        built["functional"].get_weights(), built["subclass"].get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    # A training step moves the head only.
    model = built["subclass"]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = [w.numpy() for w in model.get_layer("backbone").weights]
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype="float32") * 255
    model.fit(x, np.array([0, 1, 2, 3]), epochs=1, verbose=0)
    for got, want in zip(model.get_layer("backbone").weights, before, strict=True):
        np.testing.assert_array_equal(got.numpy(), want)


def test_the_generated_script_trains_a_frozen_backbone(weights_file, tmp_path):
    path, _ = weights_file
    _render(_spec(pooling="avg", weights=str(path), trainable=False), tmp_path)
    run = subprocess.run(
        [sys.executable, "train_backbone_head.py", "--style", "functional", "--data", "synthetic"]
        + ["--samples", "32", "--epochs", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "loss" in json.loads(run.stdout.strip().splitlines()[-1])["history"]


def test_unfreeze_trains_the_named_layers_only(tmp_path):
    spec = _spec(pooling="avg", trainable=False, unfreeze=["Conv_1", "Conv_1_bn"])
    rebuilt = import_file(_render(spec, tmp_path)["functional"]).build_model(seed=1)
    trainable = [w.path for w in rebuilt.trainable_weights]
    assert trainable == [
        "Conv_1/kernel",
        "Conv_1_bn/gamma",
        "Conv_1_bn/beta",
        "head/kernel",
        "head/bias",
    ]


def _count(weights) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


@pytest.mark.parametrize(
    "backbone",
    [
        {"unfreeze": ["Conv_1", "Conv_1_bn", "block_16_project"]},
        {"alpha": 1.0, "unfreeze": ["block_16_project_BN", "out_relu"], "trainable": True},
        {
            "model": "VGG16",
            "include_top": True,
            "classes": 3,
            "unfreeze": ["block5_conv3", "fc2", "predictions"],
        },
    ],
)
def test_unfreeze_counts_in_specgen_summary_equal_keras_summary(backbone, tmp_path):
    """`specgen summary` splits a partly unfrozen backbone's parameters as Keras does: the
    named layers' trainable weights train (a BatchNormalization's moving statistics never
    do), every other weight is frozen."""
    from specgen.model.summary import table

    spec = _spec(**{"trainable": False, **backbone})
    spec["layers"] = spec["layers"][:2]
    spec.pop("training")
    if backbone.get("model") == "VGG16":
        spec["layers"][1].pop("alpha")
    model = specgen.compile(spec)
    rebuilt = import_file(_render(spec, tmp_path)["functional"]).build_model()
    trainable, frozen = _count(rebuilt.trainable_weights), _count(rebuilt.non_trainable_weights)
    assert 0 < trainable < rebuilt.count_params()
    assert model.params == (trainable, frozen)
    text = table(model)
    assert f"Trainable params: {trainable:,}" in text
    assert f"Non-trainable params: {frozen:,}" in text


def test_the_layer_table_adds_up_to_the_catalogs_counts():
    """The per-layer counts behind `unfreeze` agree with each variant's totals."""
    from specgen.catalog import applications

    layers = json.loads(
        (applications.Path(applications.__file__).parent / "application_layers.json").read_text()
    )
    for model, (_, variants) in applications.TABLE.items():
        for alpha, (_, trainable, frozen) in variants.items():
            table = layers[model]["-" if alpha is None else repr(alpha)]
            assert sum(t for t, _ in table.values()) == trainable, (model, alpha)
            assert sum(f for _, f in table.values()) == frozen, (model, alpha)


@pytest.mark.parametrize(
    "backbone",
    [
        {"include_top": True, "classes": 3},
        {"pooling": "max"},
        {"input_shape": [75, 75, 3]},
        {"model": "VGG16", "include_top": True, "classes": 3, "input_shape": [64, 64, 3]},
    ],
)
def test_shapes_and_counts_are_keras_own(backbone, tmp_path):
    spec = _spec(**backbone)
    spec["inputs"][0]["shape"] = backbone.get("input_shape", [32, 32, 3])
    spec["layers"] = spec["layers"][:2]
    spec.pop("training")
    if backbone.get("model") == "VGG16":
        backbone = {**backbone, "alpha": None}
        spec["layers"][1].pop("alpha")
    node = specgen.compile(spec).layers[1]
    rebuilt = import_file(_render(spec, tmp_path)["functional"]).build_model()
    layer = rebuilt.get_layer("backbone")
    assert tuple(layer.output.shape[1:]) == node.out.dims
    assert layer.count_params() == node.out.trainable + node.out.non_trainable
    assert sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights) == node.out.non_trainable


def test_imagenet_weights_are_refused_in_one_line():
    errors = specgen.validate(_spec(weights="imagenet"))
    assert len(errors) == 1 and errors[0].pointer == "/layers/1"
    assert "never downloads" in errors[0].message and "\n" not in errors[0].message
