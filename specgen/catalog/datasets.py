"""Where a training block's data comes from: a built-in data set, an .npz file, image or
text folders, CSV files, TFRecord shards with their features declared, or inline arrays (the
schema of `training.dataset`; the generated scripts read each in specgen_data.py)."""

from __future__ import annotations

from .schema_types import NON_NEGATIVE, NUMBER, STEPS, UNIT

DATASETS = ["mnist", "fashion_mnist", "cifar10", "cifar100", "digits", "synthetic"]
PATH = {"type": "string", "pattern": "^[^\\x00-\\x1f]{1,4096}(?!\\n)$"}
NAMES = {"type": "array", "items": {"type": "string", "maxLength": 256}, "minItems": 1}


def _source(key: str, extra: dict) -> dict:
    """A data source read from files: `{key: path, ...}`, with a held-out test fraction."""
    return {
        "type": "object",
        "properties": {key: PATH, "test_split": UNIT, **extra},
        "required": [key],
        "additionalProperties": False,
    }


def _tfrecord() -> dict:
    """TFRecord shards (a glob) of tf.train.Examples with the features declared here."""
    shape = {"type": "array", "items": STEPS, "maxItems": 8}
    # A string feature is decoded to its shape: an encoded image or an array's raw bytes
    # (model/data_rules.py checks that `decode` and the shape fit).
    decode = {"enum": ["image", "uint8", "float32"]}
    feature = {
        "type": "object",
        "properties": {
            "dtype": {"enum": ["float32", "int64", "string"]},
            "shape": shape,
            "decode": decode,
        },
        "required": ["dtype", "shape"],
        "additionalProperties": False,
    }
    features = {"type": "object", "additionalProperties": feature}
    names = {"features": features, "inputs": NAMES, "targets": NAMES}
    source = _source("tfrecord", names | {"cache": {"type": "boolean"}})
    source["required"] = ["tfrecord", "features", "inputs"]
    return source


def schema() -> dict:
    """The `dataset` of a training block: every source a training script reads."""
    size = {"type": "array", "items": STEPS, "minItems": 2, "maxItems": 2}
    linear = {k: NUMBER for k in ("slope", "intercept")} | {"noise": NON_NEGATIVE}
    linear |= {"train": STEPS, "test": STEPS}
    arrays = {"type": "array", "minItems": 1}
    return {
        "title": "a built-in data set, an .npz path, a folder or CSV source, or inline arrays",
        "anyOf": [
            {"title": "data set", "enum": DATASETS},
            {"type": "string", "pattern": "^[\\s\\S]*\\.npz(?!\\n)$"},
            _source(
                "image_folder",
                {
                    "image_size": size,
                    "color_mode": {"enum": ["grayscale", "rgb", "rgba"]},
                    "label_mode": {"enum": ["int", "categorical", "binary"]},
                    "cache": {"type": "boolean"},
                    # How the model scales pixels 0..255 when no layer says (data_rules).
                    "scaling": {"enum": ["in_model", "none"]},
                },
            ),
            _source(
                "csv",
                {
                    "features": NAMES,
                    "label": {"type": "string", "maxLength": 256},
                    "cache": {"type": "boolean"},
                },
            ),
            _source("text_folder", {"cache": {"type": "boolean"}}),
            _tfrecord(),
            {
                "type": "object",
                "properties": {
                    "synthetic_linear": {
                        "type": "object",
                        "properties": linear,
                        "additionalProperties": False,
                    }
                },
                "required": ["synthetic_linear"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {k: arrays for k in ("x_train", "y_train", "x_test", "y_test")},
                "required": ["x_train", "y_train"],
                "additionalProperties": False,
            },
        ],
    }
