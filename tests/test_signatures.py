"""Training objects are written with their arguments in Keras's constructor order."""

from __future__ import annotations

import inspect

import pytest

import specgen
from specgen.catalog import training as cat
from specgen.model import training
from specgen.model.signatures import SIGNATURES, keras_order

keras = pytest.importorskip("keras")

CLASSES = {
    "optimizers": cat.OPTIMIZERS,
    "optimizers.schedules": cat.SCHEDULES,
    "losses": cat.LOSSES,
    "metrics": cat.METRICS,
    "callbacks": cat.CALLBACKS,
}


def test_every_catalog_class_has_the_installed_keras_signature():
    expected = {}
    for module, table in CLASSES.items():
        namespace = keras
        for part in module.split("."):
            namespace = getattr(namespace, part)
        for cls in table:
            parameters = inspect.signature(getattr(namespace, cls).__init__).parameters
            expected[f"{module}.{cls}"] = tuple(
                p for p in parameters if p not in ("self", "kwargs")
            )
    assert expected == SIGNATURES


def test_rendered_arguments_follow_the_signature():
    spec = {
        "name": "m",
        "inputs": [{"name": "x", "shape": [2]}],
        "layers": [{"type": "Dense", "units": 1}],
        "training": {
            "optimizer": {
                "type": "AdamW",
                "beta_1": 0.8,
                "weight_decay": 0.01,
                "learning_rate": {
                    "type": "CosineDecay",
                    "warmup_steps": 2,
                    "decay_steps": 10,
                    "initial_learning_rate": 0.1,
                    "alpha": 0.1,
                },
            },
            "loss": "mse",
            "callbacks": [{"type": "EarlyStopping", "patience": 2, "monitor": "loss"}],
        },
    }
    plan = training.build(specgen.compile(spec))
    assert plan.optimizer == (
        "keras.optimizers.AdamW(learning_rate=keras.optimizers.schedules.CosineDecay("
        "initial_learning_rate=0.1, decay_steps=10, alpha=0.1, warmup_steps=2),"
        " weight_decay=0.01, beta_1=0.8)"
    )
    assert plan.callbacks == ("keras.callbacks.EarlyStopping(monitor='loss', patience=2)",)


def test_an_argument_keras_does_not_declare_goes_last():
    assert keras_order("losses.Huber", ["zz", "name", "delta"]) == ["delta", "name", "zz"]
