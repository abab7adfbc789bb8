"""A small JSON Schema (2020-12) validator for the keywords specgen's own schema uses.

Why not the jsonschema package at run time: importing it costs ~110 ms, more than the rest of a
render, and its if/then dispatch made a 2,000-layer spec take seconds. Tests check that this
validator and jsonschema agree on every spec, valid and invalid. An unsupported keyword in the
schema is a bug and raises, so the two can never silently diverge.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

IGNORED = frozenset({"$schema", "$id", "title", "description", "$defs", "default"})
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    # A float is never an integer here, even 3.0: Keras wants ints where ints belong.
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


@dataclass(frozen=True)
class Problem:
    path: tuple[str | int, ...]
    keyword: str
    expected: object  # the keyword's value in the schema
    instance: object
    schema: dict
    # anyOf: each branch's own problems, one tuple a branch, in the schema's order.
    context: tuple[tuple[Problem, ...], ...] = field(default=())


@cache
def _compiled(text: str) -> re.Pattern:
    return re.compile(text)


def _equal(a: object, b: object) -> bool:
    """JSON equality: true is not 1 (Python says it is), 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _type_names(part: object) -> list[str] | None:
    """The type names an allOf part's `if` selects, when it has exactly the catalog's shape."""
    if not isinstance(part, dict) or set(part) != {"if", "then"}:
        return None
    condition = part["if"]
    if not isinstance(condition, dict) or set(condition) - {"properties", "required"}:
        return None
    if condition.get("required", ["type"]) != ["type"]:
        return None
    properties = condition.get("properties")
    if not isinstance(properties, dict) or set(properties) != {"type"}:
        return None
    test = properties["type"]
    if not isinstance(test, dict) or len(test) != 1:
        return None
    names = [test["const"]] if "const" in test else test.get("enum")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return names


class Validator:
    def __init__(self, root: dict):
        self.root = root
        self._refs: dict[str, dict] = {}  # the schema shares its forms through $ref: resolve once
        self._dispatch: dict[int, dict[str, list[dict]] | None] = {}  # id(allOf list) -> index

    def resolve(self, ref: str) -> dict:
        found = self._refs.get(ref)
        if found is not None:
            return found
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, received {ref!r}")
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        self._refs[ref] = node
        return node

    def is_valid(self, instance: object, schema: dict) -> bool:
        return next(self.problems(instance, schema), None) is None

    def problems(self, instance: object, schema: dict, path: tuple = ()) -> Iterator[Problem]:
        for keyword, value in schema.items():
            check = getattr(self, "_" + keyword.lstrip("$"), None)
            if check is None:
                if keyword in IGNORED or keyword in ("then", "else"):
                    continue
                raise ValueError(f"schema keyword {keyword!r} is not supported")
            yield from check(value, instance, schema, path)

    def _ref(self, ref, instance, schema, path):
        yield from self.problems(instance, self.resolve(ref), path)

    def _type(self, wanted, instance, schema, path):
        names = wanted if isinstance(wanted, list) else [wanted]
        if not any(TYPES[name](instance) for name in names):
            yield Problem(path, "type", wanted, instance, schema)

    def _const(self, value, instance, schema, path):
        if not _equal(instance, value):
            yield Problem(path, "const", value, instance, schema)

    def _enum(self, options, instance, schema, path):
        if not any(_equal(instance, option) for option in options):
            yield Problem(path, "enum", options, instance, schema)

    def _properties(self, properties, instance, schema, path):
        if isinstance(instance, dict):
            for key, subschema in properties.items():
                if key in instance:
                    yield from self.problems(instance[key], subschema, (*path, key))

    def _additionalProperties(self, allowed, instance, schema, path):
        if not isinstance(instance, dict):
            return
        extra = [key for key in instance if key not in schema.get("properties", {})]
        if allowed is False and extra:
            yield Problem(path, "additionalProperties", allowed, instance, schema)
        elif isinstance(allowed, dict):
            for key in extra:
                yield from self.problems(instance[key], allowed, (*path, key))

    def _required(self, keys, instance, schema, path):
        if isinstance(instance, dict) and any(key not in instance for key in keys):
            yield Problem(path, "required", keys, instance, schema)

    def _items(self, subschema, instance, schema, path):
        if isinstance(instance, list):
            for index, item in enumerate(instance):
                yield from self.problems(item, subschema, (*path, index))

    def _uniqueItems(self, unique, instance, schema, path):
        if unique and isinstance(instance, list):
            seen = []
            for item in instance:
                if any(_equal(item, other) for other in seen):
                    yield Problem(path, "uniqueItems", unique, instance, schema)
                    return
                seen.append(item)

    def _bound(keyword, passes, applies):  # noqa: N805 - a factory used in the class body
        def check(self, bound, instance, schema, path):
            if applies(instance) and not passes(instance, bound):
                yield Problem(path, keyword, bound, instance, schema)

        return check

    _number = TYPES["number"]
    _minimum = _bound("minimum", lambda v, b: v >= b, _number)
    _maximum = _bound("maximum", lambda v, b: v <= b, _number)
    _exclusiveMinimum = _bound("exclusiveMinimum", lambda v, b: v > b, _number)
    _exclusiveMaximum = _bound("exclusiveMaximum", lambda v, b: v < b, _number)
    _minItems = _bound("minItems", lambda v, b: len(v) >= b, TYPES["array"])
    _maxItems = _bound("maxItems", lambda v, b: len(v) <= b, TYPES["array"])
    _minLength = _bound("minLength", lambda v, b: len(v) >= b, TYPES["string"])
    _maxLength = _bound("maxLength", lambda v, b: len(v) <= b, TYPES["string"])
    # fullmatch: every schema pattern anchors the whole string (tests/test_safety.py checks).
    _pattern = _bound(
        "pattern", lambda v, b: _compiled(b).fullmatch(v) is not None, TYPES["string"]
    )
    del _bound, _number

    def _anyOf(self, options, instance, schema, path):
        context = []
        for option in options:
            found = tuple(self.problems(instance, option, path))
            if not found:
                return
            context.append(found)
        yield Problem(path, "anyOf", options, instance, schema, tuple(context))

    def _allOf(self, parts, instance, schema, path):
        kind = instance.get("type") if isinstance(instance, dict) else None
        index = self._type_index(parts) if isinstance(kind, str) else None
        if index is not None:  # only the `then` of this type's `if` can apply
            for part in index.get(kind, ()):
                yield from self.problems(instance, part["then"], path)
            return
        for part in parts:
            yield from self.problems(instance, part, path)

    def _type_index(self, parts: list) -> dict[str, list[dict]] | None:
        """{type name: parts} when every part of an allOf is `{"if": {"properties": {"type":
        {"const" or "enum": names}}, "required"?: ["type"]}, "then": ...}`, the layer catalog's
        shape; else None. For an object with a string "type", such an `if` holds exactly when
        the name is listed, so the other ~80 conditions need not be evaluated one by one
        (a 2,000-layer spec evaluated 166,000)."""
        key = id(parts)
        if key not in self._dispatch:
            index: dict[str, list[dict]] | None = {}
            for part in parts:
                names = _type_names(part)
                if names is None:
                    index = None
                    break
                for name in names:
                    index.setdefault(name, []).append(part)
            self._dispatch[key] = index
        return self._dispatch[key]

    def _if(self, condition, instance, schema, path):
        branch = "then" if self.is_valid(instance, condition) else "else"
        if branch in schema:
            yield from self.problems(instance, schema[branch], path)
