"""One root cause, one error; the likely fix first; no far-fetched suggestions."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

import specgen
from specgen.spec.validation import nearest

CIFAR = json.loads((ROOT / "specs" / "cifar100.json").read_text())


def _errors(change) -> list[str]:
    spec = json.loads(json.dumps(CIFAR))
    change(spec)
    return [f"{e.pointer}: {e.message}" for e in specgen.validate(spec)]


def test_lowercase_type_is_one_error_naming_the_class():
    def lower(spec):
        spec["layers"][0]["type"] = "conv2d"

    assert _errors(lower) == [
        "/layers/0/type: unknown layer type or block 'conv2d'; did you mean 'Conv2D'?"
    ]


def test_a_shape_error_is_not_repeated_downstream():
    def window(spec):
        spec["layers"][0]["kernel_size"] = 64

    (only,) = _errors(window)
    assert (
        only.startswith("/layers/0: layer 'conv1' (Conv2D): window 64 is larger")
        and "received shape" not in only
    )


@pytest.mark.parametrize(
    "word, choices, expected",
    [
        ("conv2d", ["Conv1D", "Conv2D", "Conv2DTranspose"], "Conv2D"),
        ("BatchNorm", ["BatchNormalization", "LayerNormalization"], "BatchNormalization"),
        ("acc", ["accuracy", "auc", "precision"], "accuracy"),
        ("filtres", ["filters", "kernel_size"], "filters"),
        ("TextVectorization", ["BatchNormalization", "Dense"], None),
        ("mpl", ["mlp", "res_block"], "mlp"),
        ("Dens", ["Dense", "Dropout"], "Dense"),
    ],
)
def test_suggestions(word, choices, expected):
    assert nearest(word, choices) == expected


def test_unknown_names_list_few_choices_or_point_to_the_schema():
    def names(spec):
        spec["training"]["loss"] = "xentropy"
        spec["training"]["metrics"] = ["hits"]

    loss, metric = _errors(names)
    assert (
        loss.startswith("/training/loss: unknown loss 'xentropy'")
        and "`specgen schema` lists all" in loss
    )
    assert metric.startswith("/training/metrics/0: unknown metric 'hits' (choices: accuracy,")


def test_unknown_layer_type_makes_no_silly_guess():
    def text(spec):
        spec["layers"][0]["type"] = "SentencePieceTokenizer"

    (only,) = _errors(text)
    assert "did you mean" not in only and "`specgen schema` lists all" in only
