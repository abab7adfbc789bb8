"""The JSON Schema of a spec, generated from the catalog.

`specgen schema -o schemas/model-spec.schema.json` rewrites the committed file; a test fails
when it is stale, so editors and the validator always agree with the catalog.
"""

from __future__ import annotations

import json

from . import catalog, training_catalog

SCHEMA_ID = "https://specgen.dev/schemas/model-spec.schema.json"
SCHEMA_FILE = "model-spec.schema.json"

# Kept for callers that list the allowlists; the tables live in training_catalog.
OPTIMIZERS = sorted(training_catalog.OPTIMIZERS)

IDENTIFIER = {
    "title": "a Python identifier",
    "type": "string",
    "pattern": "^[^\\W\\d_]\\w*$",
    "maxLength": 64,
}
SNAKE_CASE = {"title": "a snake_case identifier", "type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
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


def build_schema() -> dict:
    layer_types = sorted(s for kind in catalog.LAYERS for s in kind.spellings)
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
                            {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
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
            "training": training_catalog.schema(),
            **{kind.name: _layer_def(kind) for kind in catalog.LAYERS},
        },
    }


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
