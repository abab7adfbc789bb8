"""The JSON Schema of a spec, generated from the catalog.

`specgen schema -o schemas/model-spec.schema.json` rewrites the committed file; a test fails
when it is stale, so editors and the validator always agree with the catalog.
"""

from __future__ import annotations

import json

from . import catalog

SCHEMA_ID = "https://specgen.dev/schemas/model-spec.schema.json"
SCHEMA_FILE = "model-spec.schema.json"

DATASETS = ["mnist", "fashion_mnist", "cifar10", "cifar100", "digits", "synthetic"]
OPTIMIZERS = "Adadelta Adafactor Adagrad Adam AdamW Adamax Ftrl Lion Nadam RMSprop SGD".split()
LOSSES = (
    "binary_crossentropy binary_focal_crossentropy categorical_crossentropy"
    " categorical_focal_crossentropy categorical_hinge cosine_similarity hinge huber kl_divergence"
    " log_cosh mean_absolute_error mean_absolute_percentage_error mean_squared_error"
    " mean_squared_logarithmic_error poisson sparse_categorical_crossentropy squared_hinge"
    " mae mape mse msle"
).split()
METRICS = (
    "accuracy binary_accuracy categorical_accuracy sparse_categorical_accuracy"
    " top_k_categorical_accuracy sparse_top_k_categorical_accuracy auc precision recall"
    " mean_squared_error mean_absolute_error root_mean_squared_error mae mse"
).split()

# Every pattern matches the whole string: `^...(?!\n)$`. Python's `$` (used by jsonschema and
# by schema_check) also matches before a trailing newline, so "m\n" would pass `^[a-z]+$` and
# reach a file name; `(?!\n)$` means the end in both Python and ECMA-262 (editors) regexes.
IDENTIFIER = {
    "title": "a Python identifier",
    "type": "string",
    "pattern": "^[^\\W\\d_]\\w*(?!\\n)$",
    "maxLength": 64,
}
SNAKE_CASE = {
    "title": "a snake_case identifier",
    "type": "string",
    "pattern": "^[a-z][a-z0-9_]*(?!\\n)$",
}
NUMBER_ARRAY = {"type": "array", "minItems": 1}


def _layer_def(kind: catalog.LayerKind) -> dict:
    properties = {
        "type": {"enum": list(kind.spellings)},
        "name": {"$ref": "#/$defs/identifier"},
        "inputs": {"$ref": "#/$defs/references"},
    }
    properties.update({arg.name: dict(arg.schema) for arg in kind.args})
    definition = {
        "title": kind.name,
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    required = [arg.name for arg in kind.args if arg.required]
    if required:
        definition["required"] = required
    return definition


def _per_output(schema: dict) -> dict:
    """One setting for every output, or a dict keyed by output name."""
    return {"anyOf": [schema, {"type": "object", "additionalProperties": schema}]}


def _training() -> dict:
    dataset = {
        "title": "a built-in data set, an .npz path, synthetic_linear or inline arrays",
        "anyOf": [
            {"title": "data set", "enum": DATASETS},
            {"type": "string", "pattern": "^[\\s\\S]*\\.npz(?!\\n)$"},
            {
                "type": "object",
                "properties": {
                    "synthetic_linear": {
                        "type": "object",
                        "properties": {
                            "slope": catalog.FLOAT,
                            "intercept": catalog.FLOAT,
                            "noise": {"type": "number", "minimum": 0},
                            "train": catalog.POS_INT,
                            "test": catalog.POS_INT,
                        },
                        "additionalProperties": False,
                    }
                },
                "required": ["synthetic_linear"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {k: NUMBER_ARRAY for k in ("x_train", "y_train", "x_test", "y_test")},
                "required": ["x_train", "y_train"],
                "additionalProperties": False,
            },
        ],
    }
    optimizer = {
        "type": "object",
        "properties": {
            "type": {"title": "optimizer", "enum": OPTIMIZERS},
            "learning_rate": {"type": "number", "exclusiveMinimum": 0},
            **{k: {"type": "number", "minimum": 0} for k in ("momentum", "weight_decay", "rho")},
            **{k: {"type": "number", "exclusiveMinimum": 0} for k in ("clipnorm", "clipvalue")},
            **{
                k: {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
                for k in ("beta_1", "beta_2")
            },
            "epsilon": {"type": "number", "exclusiveMinimum": 0},
            "nesterov": catalog.BOOL,
            "amsgrad": catalog.BOOL,
        },
        "required": ["type"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "dataset": dataset,
            "optimizer": optimizer,
            "loss": _per_output({"title": "loss", "enum": LOSSES}),
            "metrics": _per_output(
                {
                    "type": "array",
                    "items": {"title": "metric", "enum": METRICS},
                    "uniqueItems": True,
                }
            ),
            "epochs": catalog.POS_INT,
            "batch_size": catalog.POS_INT,
        },
        "required": ["optimizer", "loss"],
        "additionalProperties": False,
    }


def build_schema() -> dict:
    layer_types = sorted(s for kind in catalog.LAYERS for s in kind.spellings)
    # TimeDistributed wraps a layer with weights or a shape rule of its own, never an op.
    wrapped = sorted(
        s
        for kind in catalog.LAYERS
        if not kind.op and kind.call == "one" and not any(a.kind == "layer" for a in kind.args)
        for s in kind.spellings
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "specgen model spec (v1)",
        "type": "object",
        "properties": {
            "$schema": {"type": "string"},
            "name": SNAKE_CASE | {"maxLength": 40},
            "description": {"type": "string", "maxLength": 4000},
            "seed": catalog.SEED,
            "inputs": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/input"}},
            "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/layer"}},
            "outputs": {"$ref": "#/$defs/references"},
            "blocks": {"type": "object", "additionalProperties": {"$ref": "#/$defs/block"}},
            "training": {"$ref": "#/$defs/training"},
        },
        "required": ["name", "inputs", "layers"],
        "additionalProperties": False,
        "$defs": {
            "identifier": IDENTIFIER,
            "references": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/identifier"},
            },
            "input": {
                "type": "object",
                "properties": {
                    "name": {"$ref": "#/$defs/identifier"},
                    "shape": {
                        "type": "array",
                        "items": {"anyOf": [catalog.POS_INT, {"type": "null"}]},
                    },
                    "dtype": {"title": "dtype", "enum": ["float32", "float16", "int32", "int64"]},
                },
                "required": ["name", "shape"],
                "additionalProperties": False,
            },
            "block": {
                "type": "object",
                "properties": {
                    "description": {"type": "string", "maxLength": 4000},
                    "params": {"type": "object"},
                    "inputs": {"$ref": "#/$defs/references"},
                    "layers": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["type"],
                            "properties": {
                                "type": {"title": "layer type", "enum": layer_types},
                                "name": {"$ref": "#/$defs/identifier"},
                                "inputs": {"$ref": "#/$defs/references"},
                            },
                        },
                    },
                    "outputs": {"$ref": "#/$defs/references", "maxItems": 1},
                },
                "required": ["inputs", "layers"],
                "additionalProperties": False,
            },
            "layer": {
                "type": "object",
                "properties": {
                    "type": {
                        "title": "layer type (a keras.layers class) or block name (snake_case)",
                        "anyOf": [
                            {"title": "layer type", "enum": layer_types},
                            {"type": "string", "pattern": "^[a-z][a-z0-9_]*(?!\\n)$"},
                        ],
                    },
                    "name": {"$ref": "#/$defs/identifier"},
                    "inputs": {"$ref": "#/$defs/references"},
                },
                "required": ["type"],
                "allOf": [
                    {
                        "if": {
                            "properties": {"type": {"enum": list(kind.spellings)}},
                            "required": ["type"],
                        },
                        "then": {"$ref": f"#/$defs/{kind.name}"},
                    }
                    for kind in catalog.LAYERS
                ],
            },
            "recurrent_layer": {
                "type": "object",
                "properties": {
                    "type": {"title": "recurrent layer type", "enum": list(catalog.RECURRENT_TYPES)}
                },
                "required": ["type"],
                "allOf": [
                    {
                        "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                        "then": {"$ref": f"#/$defs/{name}"},
                    }
                    for name in catalog.RECURRENT_TYPES
                ],
            },
            "wrapped_layer": {
                "type": "object",
                "properties": {"type": {"title": "layer type", "enum": wrapped}},
                "required": ["type"],
                "allOf": [
                    {
                        "if": {"properties": {"type": {"enum": list(kind.spellings)}}},
                        "then": {"$ref": f"#/$defs/{kind.name}"},
                    }
                    for kind in catalog.LAYERS
                    if set(kind.spellings) & set(wrapped)
                ],
            },
            "training": _training(),
            **{kind.name: _layer_def(kind) for kind in catalog.LAYERS},
        },
    }


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
