"""The committed schema is generated from the catalog, and every spec points to it."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, SPECS, spec_id

import specgen
from specgen.spec.schema import SCHEMA_FILE, SCHEMA_ID, build_schema, dumps


def test_committed_schema_is_current():
    committed = (ROOT / "schemas" / SCHEMA_FILE).read_text("utf-8")
    assert committed == dumps(build_schema()), (
        "schemas/ is stale; regenerate with: specgen schema -o schemas/model-spec.schema.json"
    )


def test_schema_is_draft_2020_12_with_id():
    import jsonschema

    schema = build_schema()
    assert schema["$id"] == SCHEMA_ID
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_specs_point_to_schema_and_validate(spec):
    data = json.loads(spec.read_text("utf-8"))
    assert (spec.parent / data["$schema"]).resolve() == (ROOT / "schemas" / SCHEMA_FILE).resolve()
    assert specgen.validate(spec) == []


def test_schema_is_compact_through_shared_definitions():
    text = dumps(build_schema())
    # 250 kB: the catalog doubled towards all of keras.layers (was 150 kB at 61 layers;
    # each layer costs ~1.2 kB: its definition and its branches in typed and wrapped layers;
    # 255 kB since Pipeline's enum of the ~130 layer types it may hold, ~2.5 kB).
    assert len(text.encode("utf-8")) < 255_000, "editors load the schema on every keystroke"
    schema = json.loads(text)
    for form in ("initializer", "regularizer", "constraint"):
        assert form in schema["$defs"] and f'"#/$defs/{form}"' in text


def test_schema_id_is_a_urn_specgen_owns_no_url():
    assert SCHEMA_ID.startswith("urn:specgen:")
