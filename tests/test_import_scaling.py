"""Import is linear in the config's size: each nested model is walked once.

Counted, not timed: the number of sub-graph walks for a model nested 13 levels deep equals the
number of models in it (before, every level walked its sub-graph twice: 2**13 walks).
"""

from __future__ import annotations

import pytest

from specgen.importer import guard
from specgen.importer import walk as import_walk

keras = pytest.importorskip("keras")


def _nested(depth: int):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, name="d0")], name="m0")
    for level in range(1, depth + 1):
        x = keras.Input((3,), name=f"i{level}")
        model = keras.Model(x, keras.layers.Dense(3, name=f"d{level}")(model(x)), name=f"m{level}")
    return model


@pytest.mark.parametrize("depth", [6, 13])
def test_each_nested_model_is_walked_once(depth, tmp_path, monkeypatch):
    _nested(depth).save(tmp_path / "nested.keras")
    walks = []
    original = import_walk.Walk.graph

    def counted(self, kind, body, *args, **kwargs):
        walks.append(body.get("name"))
        return original(self, kind, body, *args, **kwargs)

    monkeypatch.setattr(import_walk.Walk, "graph", counted)
    spec = guard.read_and_convert(tmp_path / "nested.keras")
    assert sorted(walks) == sorted(f"m{k}" for k in range(depth + 1))
    # Every level's Dense is kept: the outermost as a layer, the rest inside one block.
    inner = sum(len(b["layers"]) for b in spec.get("blocks", {}).values())
    assert len(spec["layers"]) + inner == depth + 2
