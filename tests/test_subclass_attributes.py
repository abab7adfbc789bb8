"""A subclassed model stores its layers as plain attributes (`self.zeta`) wherever Keras then
saves them where a Functional model does, and privately (`self.__alpha`) where it would not:
the weight paths in .weights.h5 and .keras files stay identical between the styles."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import import_file

import specgen
from specgen.model.code import RUNTIME_ATTRIBUTES
from specgen.spec.reserved import KERAS_ATTRIBUTES

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

# Names on both sides of `layers` (Keras walks attributes in name order), and one Keras
# assigns while training.
SPEC = {
    "name": "attrs",
    "seed": 3,
    "inputs": [{"name": "x", "shape": [4]}],
    "layers": [
        {"type": "Dense", "name": "alpha", "units": 3},
        {"type": "Dense", "name": "history", "units": 3},
        {"type": "Dense", "name": "zeta", "units": 2},
    ],
    "training": {"optimizer": {"type": "SGD"}, "loss": "mse", "epochs": 1, "batch_size": 4},
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attrs")
    for name, text in specgen.render(SPEC, "all").items():
        (folder / name).write_text(text, encoding="utf-8")
    source = (folder / "attrs_subclass.py").read_text()
    built = {
        style: import_file(folder / f"attrs_{style}.py", f"_attrs_{style}").build_model()
        for style in ("functional", "subclass")
    }
    return source, built


def _paths(path):
    """Every weight's path in a .weights.h5 file."""
    found = []

    def visit(name, item):
        if isinstance(item, h5py.Dataset):
            found.append(name)

    with h5py.File(path, "r") as store:
        store.visititems(visit)
    assert found
    return sorted(found)


def test_plain_attributes_where_the_weight_paths_stay_those_of_a_functional_model(models, tmp_path):
    source, built = models
    paths = {}
    for style, model in built.items():
        model.save_weights(tmp_path / f"{style}.weights.h5")
        paths[style] = _paths(tmp_path / f"{style}.weights.h5")
    assert paths["subclass"] == paths["functional"]
    assert all(p.startswith("layers/") for p in paths["functional"]), paths
    assert "self.zeta = keras.layers.Dense(" in source
    assert "self.__alpha = keras.layers.Dense(" in source  # sorts before `layers`
    assert "self.__history = keras.layers.Dense(" in source  # fit sets model.history
    # A .keras file reloads, every weight in its place.
    built["subclass"].save(tmp_path / "subclass.keras")
    loaded = keras.models.load_model(tmp_path / "subclass.keras")
    for a, b in zip(built["subclass"].weights, loaded.weights, strict=True):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_training_keeps_every_layer_in_place(models):
    _, built = models
    model = built["subclass"]
    model.compile("sgd", "mse")
    model.fit(np.zeros((4, 4)), np.zeros((4, 2)), verbose=0)
    assert model(np.ones((1, 4))).shape == (1, 2)  # `history` is still a layer inside


def test_runtime_attributes_cover_what_keras_sets_on_a_model():
    """Public attributes a trained, evaluated, predicting and saved model gains, besides the
    reserved names: a plain layer attribute of that name would be overwritten."""

    class Probe(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.zz_probe = keras.layers.Dense(1)

        def call(self, x):
            return self.zz_probe(x)

    model = Probe()
    x, y = np.zeros((4, 2)), np.zeros((4, 1))
    model.compile("adam", "mse", metrics=["mae"])
    model.fit(x, y, verbose=0, validation_split=0.5)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    public = {a for a in {*vars(model), *dir(model)} if not a.startswith("_")}
    assert public - KERAS_ATTRIBUTES - {"zz_probe"} <= RUNTIME_ATTRIBUTES
