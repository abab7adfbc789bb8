"""specgen's own schema validator agrees with the jsonschema package (the reference)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from conftest import INVALID, ROOT, SPECS, spec_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specgen.spec.schema import SCHEMA_FILE
from specgen.spec.schema_check import Validator

SCHEMA = json.loads((ROOT / "schemas" / SCHEMA_FILE).read_text())
OURS = Validator(SCHEMA)
_base = jsonschema.Draft202012Validator
REFERENCE = jsonschema.validators.extend(
    _base,
    type_checker=_base.TYPE_CHECKER.redefine(
        "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool)
    ),
)(SCHEMA)


def _pointers_reference(doc) -> set[tuple]:
    return {tuple(e.absolute_path) for e in REFERENCE.iter_errors(doc)}


def _pointers_ours(doc) -> set[tuple]:
    return {p.path for p in OURS.problems(doc, SCHEMA)}


def _refuse(constant):
    raise ValueError(constant)


def _documents():
    for path in [*SPECS, *sorted(INVALID.glob("*.json"))]:
        try:  # specgen's loader refuses NaN before any schema check, so skip non-JSON too
            yield path, json.loads(path.read_text("utf-8"), parse_constant=_refuse)
        except (ValueError, UnicodeDecodeError):
            continue


@pytest.mark.parametrize(
    "path, doc", list(_documents()), ids=lambda v: spec_id(v) if hasattr(v, "stem") else ""
)
def test_same_verdict_and_pointers_as_jsonschema(path, doc):
    assert _pointers_ours(doc) == _pointers_reference(doc)


def test_schema_itself_is_valid_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 300)
    | st.floats(-2, 2, allow_nan=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated_specs(draw):
    """A real spec with one value somewhere replaced by an arbitrary JSON value."""
    doc = json.loads(draw(st.sampled_from(SPECS)).read_text())
    node = doc
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, dict | list) or not child or draw(st.booleans()):
            node[key] = draw(json_values)
            return doc
        node = child


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_agrees_with_jsonschema_on_random_mutations(doc):
    assert _pointers_ours(doc) == _pointers_reference(doc)


def test_dispatch_on_type_gives_the_problems_of_every_if_evaluated(monkeypatch):
    """The allOf index by "type" (Validator._type_index) is a shortcut, never a change."""
    documents = [doc for _, doc in _documents()]
    fast = [list(OURS.problems(doc, SCHEMA)) for doc in documents]
    assert OURS._dispatch and any(index for index in OURS._dispatch.values())
    generic = Validator(SCHEMA)
    monkeypatch.setattr(generic, "_type_index", lambda parts: None)
    assert [list(generic.problems(doc, SCHEMA)) for doc in documents] == fast
    assert any(fast)  # the invalid documents do have problems
