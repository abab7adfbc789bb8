"""Property (issue 12): specs whose names collide on purpose (`a_b`/`a__b`, a layer named like
its block, `b`+`out` vs `b_out`, names that become `SEED` or `None`, reserved words) either
fail validation with located errors, or render code that builds in every style."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from conftest import import_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specgen
from specgen.spec.errors import SpecError

keras = pytest.importorskip("keras")

# A small pool makes collisions likely; hostile entries test the reserved lists.
COLLIDING = [
    "a",
    "a_b",
    "a__b",
    "b",
    "out",
    "b_out",
    "b_1",
    "u",
    "u_out",
    "m",
    "s_e_e_d",
    "none",
    "dense",
    "dense_1",
    "d",
]
RESERVED = ["keras", "seed", "inputs", "name", "self", "SEED", "build_model", "x", "summary"]
fresh = st.from_regex(r"n[a-z]{1,3}", fullmatch=True)
names = st.one_of(st.sampled_from(COLLIDING), fresh, fresh, fresh, st.sampled_from(RESERVED))


@st.composite
def specs(draw):
    block_names = draw(st.lists(names, max_size=2, unique=True))
    blocks = {}
    for block in block_names:
        inner = draw(st.sampled_from(["out", "d", "b_out", "x", block]))
        blocks[block] = {"inputs": ["x"], "layers": [{"type": "Dense", "units": 2, "name": inner}]}
        if draw(st.booleans()):
            blocks[block]["outputs"] = [draw(st.sampled_from([inner, "zz"]))]
    layers = []
    kinds = [*block_names, *draw(st.lists(st.sampled_from(["Dense", *block_names]), max_size=2))]
    for kind in draw(st.permutations(kinds or ["Dense"])):
        layer = {"type": kind} if kind != "Dense" else {"type": "Dense", "units": 2}
        if draw(st.booleans()):
            layer["name"] = draw(names)
        layers.append(layer)
    spec = {
        "name": draw(st.sampled_from(["m", "m", "s_e_e_d", "a_b", "b", "none"])),
        "inputs": [{"name": draw(st.sampled_from(["inp", "b", "a_b", "u_out"])), "shape": [3]}],
        "layers": layers,
    }
    if blocks:
        spec["blocks"] = blocks
    if draw(st.integers(0, 3)) == 0:  # the last layer twice, or some other name
        last = layers[-1].get("name", "zz")
        spec["outputs"] = draw(st.lists(st.sampled_from([last, "b_1"]), min_size=1, max_size=2))
    return spec


def _resolves(spec, pointer):
    """The value a JSON pointer names in `spec`; KeyError/IndexError/ValueError when none."""
    value = spec
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def _layers(model):
    # keras.Sequential lists no InputLayer; the other styles do.
    return [
        (la.name, type(la).__name__) for la in model.layers if type(la).__name__ != "InputLayer"
    ]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(specs())
def test_colliding_names_are_refused_or_build(tmp_path_factory, spec):
    errors = specgen.validate(spec)
    for e in errors:  # located: a line, and a pointer that names a place in this spec
        assert isinstance(e, SpecError) and e.line >= 1 and e.message, e
        assert e.pointer == "" or e.pointer.startswith("/"), e
        _resolves(spec, e.pointer)
    if errors:
        return
    folder = tmp_path_factory.mktemp("names")
    x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    built = []
    for name, text in specgen.render(spec, "all").items():
        path = folder / name
        path.write_text(text)
        if name.startswith("specgen_") or name.startswith("train_"):
            continue
        module = import_file(path, f"_names_{uuid.uuid4().hex}")
        model = module.build_model(seed=1)
        outputs = [np.asarray(t) for t in keras.tree.flatten(model(x, training=False))]
        built.append((name, model, outputs))
    assert len(built) >= 2
    # Every style is the same model: the same layers by name and class, the same weights (bit
    # for bit under one seed) and the same outputs, not only as many parameters.
    first_name, first, first_outputs = built[0]
    for name, model, outputs in built[1:]:
        assert _layers(model) == _layers(first), name
        assert [w.path.split("/")[-1] for w in model.weights] == [
            w.path.split("/")[-1] for w in first.weights
        ], name
        for a, b in zip(model.get_weights(), first.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} vs {first_name}")
        for a, b in zip(outputs, first_outputs, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} vs {first_name}")
