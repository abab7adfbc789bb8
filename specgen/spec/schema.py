"""The JSON Schema of a spec, generated from the catalog.

`specgen schema -o schemas/model-spec.schema.json` rewrites the committed file; a test fails
when it is stale, so editors and the validator always agree with the catalog.
"""

from __future__ import annotations

import copy
import json
import re

from .. import catalog
from ..catalog import pipeline
from ..catalog import training as training_catalog

# SCHEMA_ID is a URN, not a URL: specgen owns no web address, and a URL it does not own would be
# a promise (and a place for someone else to serve a schema). Editors get the schema from a
# file that `specgen schema -o` writes, mapped by `$schema` or by their settings (README).
from .resources import SCHEMA_FILE, SCHEMA_ID  # noqa: F401 - re-exported

# Kept for callers that list the allowlists; the tables live in training_catalog.
OPTIMIZERS = sorted(training_catalog.OPTIMIZERS)

# Every pattern matches the whole string: `^...(?!\n)$`. Python's `$` (used by jsonschema and
# by schema_check) also matches before a trailing newline, so "m\n" would pass `^[a-z]+$` and
# reach a file name; `(?!\n)$` means the end in both Python and ECMA-262 (editors) regexes.
IDENTIFIER = {
    "title": "a Python identifier",
    "type": "string",
    "pattern": "^[^\\W\\d_]\\w*(?!\\n)$",
    "maxLength": 64,
}
# A layer's input: a name, or `name:k` for the k-th output of a layer with several outputs
# (an LSTM with return_state=True gives `encoder:0`, `encoder:1`, `encoder:2`).
REFERENCE = {
    "title": "a layer or input name, or name:k for its k-th output",
    "type": "string",
    "pattern": "^[^\\W\\d_]\\w*(:[0-9]{1,2})?(?!\\n)$",
    "maxLength": 67,
}
SNAKE_CASE = {
    "title": "a snake_case identifier",
    "type": "string",
    "pattern": "^[a-z][a-z0-9_]*(?!\\n)$",
}


def _layer_def(kind: catalog.LayerKind) -> dict:
    properties = {
        "type": {"enum": list(kind.spellings)},
        "name": {"$ref": "#/$defs/identifier"},
        "inputs": {"$ref": "#/$defs/tensors"},
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
    # A copy: sharing rewrites subschemas in place, and the catalog's own dicts sit inside.
    return share_definitions(copy.deepcopy(_full_schema()))


def _full_schema() -> dict:
    layer_types = sorted(s for kind in catalog.LAYERS for s in kind.spellings)
    # TimeDistributed wraps a layer with weights or a shape rule of its own, never an op.
    wrapped = sorted(
        s
        for kind in catalog.LAYERS
        if not kind.op
        and kind.call == "one"
        and not any(a.kind in ("layer", "layers") for a in kind.args)
        for s in kind.spellings
    )
    held = pipeline.members(catalog.LAYERS)  # what a Pipeline's `layers` may hold
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
            "output_structure": {
                "title": "how several outputs are returned: a dict by name, or a list in order",
                "enum": ["dict", "list"],
            },
            "blocks": {"type": "object", "additionalProperties": {"$ref": "#/$defs/block"}},
            "training": {"$ref": "#/$defs/training"},
        },
        "required": ["name", "inputs", "layers"],
        "additionalProperties": False,
        "$defs": {
            "identifier": IDENTIFIER,
            "keras_name": catalog.KERAS_NAME,  # a layer's own, where it is not an identifier
            "references": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/identifier"},
            },
            "tensors": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/reference"}},
            "reference": REFERENCE,
            "call": {
                "title": "a call of an earlier layer or block use again, with its weights",
                "type": "object",
                "properties": {
                    "name": {"$ref": "#/$defs/identifier"},
                    "call": {"$ref": "#/$defs/identifier"},
                    "inputs": {"$ref": "#/$defs/tensors"},
                },
                "required": ["name", "call", "inputs"],
                "additionalProperties": False,
            },
            "input": {
                "type": "object",
                "properties": {
                    "name": {"$ref": "#/$defs/identifier"},
                    "shape": {
                        "type": "array",
                        "items": {"anyOf": [catalog.POS_INT, {"type": "null"}]},
                    },
                    "dtype": {
                        "title": "dtype",
                        "enum": ["float32", "float16", "int32", "int64", "string"],
                    },
                    "keras_name": {"$ref": "#/$defs/keras_name"},
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
                "if": {"required": ["call"]},
                "then": {"$ref": "#/$defs/call"},
                "else": {"$ref": "#/$defs/typed_layer"},
            },
            "typed_layer": {
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
                    "inputs": {"$ref": "#/$defs/tensors"},
                    "keras_name": {"$ref": "#/$defs/keras_name"},
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
            "pipeline_layer": {  # a typed layer of the kinds a Pipeline may hold
                "type": "object",
                "properties": {"type": {"title": "layer type", "enum": held}},
                "required": ["type"],
                "allOf": [{"$ref": "#/$defs/typed_layer"}],
            },
            "training": training_catalog.schema(),
            **{kind.name: _layer_def(kind) for kind in catalog.LAYERS},
        },
    }


SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
SCHEMA_VALUES = ("additionalProperties", "items", "if", "then", "else", "not")
SCHEMA_LISTS = ("anyOf", "allOf", "oneOf")


def _subschemas(schema: dict):
    """(container, key) of every subschema in a schema position (never an enum's or a const's
    value, never a `properties` map itself), depth first."""
    for keyword, value in schema.items():
        if keyword in SCHEMA_MAPS and isinstance(value, dict):
            children = [(value, key) for key in value]
        elif keyword in SCHEMA_VALUES and isinstance(value, dict):
            children = [(schema, keyword)]
        elif keyword in SCHEMA_LISTS:
            children = [(value, index) for index in range(len(value))]
        else:
            continue
        for container, key in children:
            if isinstance(container[key], dict):
                yield container, key
                yield from _subschemas(container[key])


def _def_name(schema: dict, taken: set[str]) -> str:
    # The title's first word names the form ("initializer name or {...}" -> initializer).
    words = re.findall(r"[a-z]\w*", str(schema.get("title", "shared")).lower())
    words = [w for w in words if w not in ("a", "an", "the")] or ["shared"]
    base = words[0] if words[0] not in taken else "_".join(words[:2])
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def share_definitions(schema: dict, min_size: int = 200) -> dict:
    """Move every subschema that occurs more than once (and is not tiny) into `$defs` once, and
    point each use at it with `$ref`: the catalog repeats the initializer, regularizer and
    constraint forms for every argument that takes one (890 KB inlined). Largest savings first,
    so a shared form's inner parts are shared with it."""
    defs = schema["$defs"]
    while True:
        uses: dict[str, list] = {}
        for container, key in _subschemas(schema):
            if not (container is defs and key in defs):  # a definition is not one of its uses
                uses.setdefault(json.dumps(container[key], sort_keys=True), []).append(
                    (container, key)
                )
        repeated = [(len(text) * (len(found) - 1), text, found) for text, found in uses.items()]
        repeated = [r for r in repeated if len(r[2]) > 1 and len(r[1]) >= min_size]
        if not repeated:
            return schema
        _, text, found = max(repeated, key=lambda r: (r[0], r[1]))
        name = _def_name(json.loads(text), set(defs))
        defs[name] = found[0][0][found[0][1]]
        for container, key in found:
            container[key] = {"$ref": f"#/$defs/{name}"}


def dumps(schema: dict) -> str:
    """JSON indented one space a level, with every object or array that fits in 100 columns
    on one line: readable, and under 250 KB (editors load the schema on every keystroke)."""
    return _dumps(schema, 0) + "\n"


def _dumps(value: object, indent: int) -> str:
    flat = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if indent + len(flat) <= 100 or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 1)
    if isinstance(value, dict):
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dumps(v, indent + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + _dumps(v, indent + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
