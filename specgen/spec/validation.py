"""Stage 2: JSON Schema, then the name rules a schema cannot express.

Graph and shape checks need the resolved graph, so they run in `graph`; `specgen.validate`
runs both.
Schema problems become messages that say what was expected, what was received and, for a
misspelt name, the nearest valid one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache

from .. import catalog
from . import limits, resources, state_files
from .errors import SpecError, pointer_join
from .loader import Loaded
from .reserved import why_reserved
from .schema import SCHEMA_FILE
from .schema_check import Problem, Validator

SNAKE = re.compile("^[a-z][a-z0-9_]*$")


@cache
def _validator() -> tuple[Validator, dict]:
    schema = json.loads((resources.data_dir("schemas") / SCHEMA_FILE).read_text("utf-8"))
    return Validator(schema), schema


def _fold(name: str) -> str:
    return name.lower().replace("_", "")


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = sorted((a, b), key=len)
    i = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[i:] == long[i + 1 :]


def nearest(word: object, choices: list) -> str | None:
    """The choice the user most likely meant, or None rather than a far-fetched one.

    In order: the same name but for case and underscores (`conv2d` -> `Conv2D`); the one name
    the word abbreviates (`BatchNorm` -> `BatchNormalization`, `acc` -> `accuracy`); one typo
    away (a letter added, dropped, changed or two swapped: `mpl` -> `mlp`); a close
    spelling (difflib ratio >= 0.75 on folded names: typos such as `filtres` -> `filters`
    match, `TextVectorization` -> `BatchNormalization` at 0.63 does not).
    """
    names = sorted({c for c in choices if isinstance(c, str)})
    if not isinstance(word, str) or not word or not names:
        return None
    folded = {_fold(name): name for name in names}
    key = _fold(word)
    if key in folded:
        return folded[key]
    if len(key) >= 3:
        prefixed = [name for fold, name in folded.items() if fold.startswith(key)]
        if len(prefixed) == 1:
            return prefixed[0]
    edits = [name for fold, name in folded.items() if _one_edit(key, fold)]
    if edits:
        return edits[0]
    import difflib  # only when suggesting a name

    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None


def received(value: object) -> str:
    text = (
        repr(value)
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, default=dict)
    )
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: object, choices: list) -> str:
    guess = nearest(word, choices)
    return f"; did you mean {guess!r}?" if guess else ""


def _same_kind(a: object, b: object) -> bool:
    """Whether two JSON values have one JSON type (numbers are one type; true is not 1)."""
    number = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, number) and isinstance(b, number):
        return True
    return type(a) is type(b)


def _distance(problems: tuple[Problem, ...], anyof: Problem) -> tuple[int, int, int]:
    """How far an anyOf branch is from the value: a branch of another type is farthest (a
    `type`, or an enum or const of other types, failed at the value itself); then one whose
    required keys are missing (another kind of object); then the fewest problems."""
    here = [p for p in problems if p.path == anyof.path]
    other_type = any(
        p.keyword == "type"
        or (p.keyword == "enum" and not any(_same_kind(anyof.instance, o) for o in p.expected))
        or (p.keyword == "const" and not _same_kind(anyof.instance, p.expected))
        for p in here
    )
    missing = any(p.keyword == "required" for p in here)
    return (int(other_type), int(missing), len(problems))


def _closest_branch(anyof: Problem) -> tuple[Problem, ...] | None:
    """The problems of the anyOf branch the value was most likely meant for (the first of
    equals), so that an error names its own fault (`did you mean 'warmup_steps'?`); None when
    every branch wants another type of value."""
    scored = [(_distance(problems, anyof), index) for index, problems in enumerate(anyof.context)]
    if not scored:
        return None
    (other_type, _, _), index = min(scored)
    return None if other_type else anyof.context[index]


def _messages(error: Problem) -> list[tuple[str, str, bool]]:
    """(pointer, message, at_key) for one schema problem."""
    pointer = "".join(pointer_join("", part) for part in error.path)
    kind, value, instance = error.keyword, error.expected, error.instance
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return [
            (pointer_join(pointer, key), f"unknown key {key!r}{_suggest(key, allowed)}", True)
            for key in sorted(set(instance) - set(allowed))
        ]
    if kind == "required":
        missing = [key for key in value if key not in instance]
        return [(pointer, f"missing required key {key!r}", False) for key in missing]
    if kind == "enum":
        title = error.schema.get("title", "value")
        names = [c for c in value if c is not None]
        if len(names) <= 8:
            listed = ", ".join(repr(c) for c in names) + (" or null" if None in value else "")
            message = f"expected {title} {listed}; received {received(instance)}"
            return [(pointer, message + _suggest(instance, names), False)]
        message = f"unknown {title} {received(instance)}{_suggest(instance, names)}"
        guess = nearest(instance, names)
        key = _fold(str(instance))
        if guess is not None and (_fold(guess).startswith(key) or _one_edit(key, _fold(guess))):
            pass  # a case change, an abbreviation or one typo: the fix is clear, a list is noise
        elif len(names) <= 16:
            message += f" (choices: {', '.join(names)})"
        else:
            message += f" (`specgen schema` lists all {len(names)} choices)"
        return [(pointer, message, False)]
    if kind == "type":
        wanted = " or ".join(value) if isinstance(value, list) else value
        return [(pointer, f"expected {wanted}, received {received(instance)}", False)]
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if kind in bounds:
        return [(pointer, f"expected a number {bounds[kind]} {value}, received {instance}", False)]
    if kind in ("minItems", "maxItems"):
        word = "at least" if kind == "minItems" else "at most"
        return [(pointer, f"expected {word} {value} items, received {len(instance)}", False)]
    if kind in ("minLength", "maxLength"):
        word = "at least" if kind == "minLength" else "at most"
        return [(pointer, f"expected {word} {value} characters, received {len(instance)}", False)]
    if kind == "anyOf":
        branch = _closest_branch(error)
        if branch is not None:
            return [message for problem in branch for message in _messages(problem)]
    if kind in ("anyOf", "pattern"):
        expected = error.schema.get("title", kind)
        return [(pointer, f"expected {expected}, received {received(instance)}", False)]
    if kind == "const":
        return [(pointer, f"expected {received(value)}, received {received(instance)}", False)]
    if kind == "uniqueItems":
        return [(pointer, "items must be unique", False)]
    return [(pointer, f"{kind} failed for {received(instance)}", False)]


def schema_errors(loaded: Loaded) -> list[SpecError]:
    validator, schema = _validator()
    errors: list[SpecError] = []
    for error in validator.problems(loaded.data, schema):
        for pointer, message, at_key in _messages(error):
            found = loaded.error(pointer, message, key=at_key)
            if found not in errors:  # a layer's name is checked by two subschemas
                errors.append(found)
    return errors


def layer_problems(layer: dict) -> list[tuple[str, str, bool]]:
    """(relative pointer, message, at_key) for one layer checked against its type's schema."""
    validator, schema = _validator()
    kind = catalog.BY_SPELLING[layer["type"]].name
    return [
        m
        for problem in validator.problems(layer, schema["$defs"][kind])
        for m in _messages(problem)
    ]


def _named_places(data: dict):
    """(pointer, name, namespace) of every name that becomes a Python identifier in generated
    code; names in one namespace must be unique."""
    for i, entry in enumerate(data.get("inputs", [])):
        yield f"/inputs/{i}/name", entry["name"], "model"
    for i, layer in enumerate(data.get("layers", [])):
        if "name" in layer:
            yield f"/layers/{i}/name", layer["name"], "model"
    for block, spec in data.get("blocks", {}).items():
        yield f"/blocks/{block}", block, "blocks"
        for i, name in enumerate(spec.get("inputs", [])):
            yield f"/blocks/{block}/inputs/{i}", name, block
        for name in spec.get("params", {}):
            yield f"/blocks/{block}/params/{name}", name, block
        for i, layer in enumerate(spec.get("layers", [])):
            if "name" in layer:
                yield f"/blocks/{block}/layers/{i}/name", layer["name"], block


def name_errors(loaded: Loaded) -> list[SpecError]:
    errors = []
    seen: dict[tuple[str, str], str] = {}
    for pointer, name, namespace in _named_places(loaded.data):
        if (
            not isinstance(name, str)
            or not name.isidentifier()
            or (namespace == "blocks" and not SNAKE.match(name))
        ):
            want = "a snake_case identifier" if namespace == "blocks" else "a Python identifier"
            errors.append(
                loaded.error(
                    pointer, f"expected {want}, received {name!r}", key=namespace == "blocks"
                )
            )
            continue
        normal = unicodedata.normalize("NFKC", name)
        if normal != name:
            errors.append(
                loaded.error(pointer, f"name {name!r} is not in NFKC normal form; write {normal!r}")
            )
        reason = why_reserved(normal)
        if reason:
            errors.append(loaded.error(pointer, f"name {name!r} is reserved ({reason})"))
        if (namespace, normal) in seen:
            errors.append(
                loaded.error(
                    pointer, f"duplicate name {name!r} (first at {seen[namespace, normal]})"
                )
            )
        seen.setdefault((namespace, normal), pointer)
    return errors


def check(loaded: Loaded) -> list[SpecError]:
    """Loader problems, schema errors, then name errors (only on a schema-valid spec)."""
    if loaded.data is None and loaded.errors:  # it did not parse; JSON null did
        return list(loaded.errors)
    if not isinstance(loaded.data, dict):
        return [
            *loaded.errors,
            loaded.error(
                "", f"expected a JSON object at the top level, received {received(loaded.data)}"
            ),
        ]
    if too_big := _size_errors(loaded):
        return [*loaded.errors, *too_big]  # not worth validating value by value
    errors = loaded.errors + schema_errors(loaded)
    return errors or state_files.inline(loaded) or name_errors(loaded)


def _size_errors(loaded: Loaded) -> list[SpecError]:
    data, found = loaded.data, []
    places = [("/layers", data.get("layers"))]
    blocks = data.get("blocks")
    if isinstance(blocks, dict):
        places += [
            (pointer_join(pointer_join("/blocks", b), "layers"), s.get("layers"))
            for b, s in blocks.items()
            if isinstance(s, dict)
        ]
    for pointer, layers in places:
        if isinstance(layers, list) and len(layers) > limits.MAX_LAYERS:
            found.append(
                loaded.error(pointer, f"{len(layers):,} layers; the limit is {limits.MAX_LAYERS:,}")
            )
    return found
