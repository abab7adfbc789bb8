"""Spec-level checks of calls (`{"name", "call", "inputs"}`), `name:k` references to one
output of a layer with several, and recurrent initial states: each mistake is one error at
its JSON pointer, never a traceback or a model that does not build."""

from __future__ import annotations

import pytest

import specgen


def _spec(*layers, inputs=("a", "b"), **extra) -> dict:
    return {
        "name": "m",
        "inputs": [{"name": n, "shape": [5, 3]} for n in inputs],
        "layers": list(layers),
        **extra,
    }


ENCODER = {"name": "enc", "type": "LSTM", "units": 4, "return_state": True, "inputs": ["a"]}
DENSE = {"name": "d", "type": "Dense", "units": 2, "inputs": ["a"]}


@pytest.mark.parametrize(
    ("spec", "pointer", "words"),
    [
        (
            _spec(
                DENSE,
                {"name": "again", "call": "dd", "inputs": ["b"]},
                {"name": "j", "type": "Add", "inputs": ["d", "again"]},
            ),
            "/layers/1/call",
            "unknown layer 'dd'; did you mean 'd'?",
        ),
        (
            _spec(
                {"name": "again", "call": "d", "inputs": ["b"]},
                DENSE,
                {"name": "j", "type": "Add", "inputs": ["d", "again"]},
            ),
            "/layers/0/call",
            "comes later",
        ),
        (
            _spec(
                {"name": "s", "type": "ops.add", "inputs": ["a", "b"]},
                {"name": "again", "call": "s", "inputs": ["a", "b"]},
                {"name": "j", "type": "Add", "inputs": ["s", "again"]},
            ),
            "/layers/1/call",
            "operation",
        ),
        (
            _spec(
                ENCODER,
                {"name": "out", "type": "Dense", "units": 2, "inputs": ["enc"]},
                inputs=("a",),
            ),
            "/layers/1/inputs/0",
            "'enc' has 3 outputs; use one of them: enc:0, enc:1, enc:2",
        ),
        (
            _spec(
                ENCODER,
                {"name": "out", "type": "Dense", "units": 2, "inputs": ["enc:3"]},
                inputs=("a",),
            ),
            "/layers/1/inputs/0",
            "numbered 0 to 2",
        ),
        (
            _spec(
                DENSE,
                {"name": "out", "type": "Dense", "units": 2, "inputs": ["d:1"]},
                inputs=("a",),
            ),
            "/layers/1/inputs/0",
            "has 1 output(s); write 'd'",
        ),
        (
            _spec(ENCODER, {"name": "dec", "type": "LSTM", "units": 4, "inputs": ["b", "enc:1"]}),
            "/layers/1",
            "an initial state is 2 tensor(s)",
        ),
        (
            _spec(
                ENCODER,
                {"name": "dec", "type": "LSTM", "units": 5, "inputs": ["b", "enc:1", "enc:2"]},
            ),
            "/layers/1",
            "initial state 0 must have shape [5]",
        ),
        (
            _spec(ENCODER, inputs=("a",), outputs=["enc"]),
            "/outputs/0",
            "'enc' has 3 outputs",
        ),
        (
            _spec(
                DENSE,
                {"name": "d_layer", "type": "Dense", "units": 2, "inputs": ["b"]},
                {"name": "again", "call": "d", "inputs": ["d_layer"]},
                {"name": "j", "type": "Add", "inputs": ["d", "again"]},
            ),
            "/layers/2/call",
            "names it 'd_layer'",
        ),
        (
            _spec(
                DENSE,
                {"name": "u", "type": "d_layer", "inputs": ["b"]},
                {"name": "again", "call": "d", "inputs": ["b"]},
                {"name": "j", "type": "Add", "inputs": ["d", "again", "u"]},
                blocks={"d_layer": {"inputs": ["x"], "layers": [{"type": "Dense", "units": 2}]}},
            ),
            "/layers/2/call",
            "names it 'd_layer'",
        ),
    ],
)
def test_mistakes_are_located(spec, pointer, words):
    errors = specgen.validate(spec)
    assert errors, "expected an error"
    assert any(e.pointer == pointer and words in e.message for e in errors), [
        (e.pointer, e.message) for e in errors
    ]


def test_a_call_needs_its_inputs_and_a_name():
    errors = specgen.validate(_spec(DENSE, {"call": "d"}, inputs=("a",)))
    assert any(e.pointer == "/layers/1" and "inputs" in e.message for e in errors)


def test_a_reference_is_a_name_and_a_number():
    errors = specgen.validate(
        _spec(ENCODER, {"name": "o", "type": "Dense", "units": 2, "inputs": ["enc:x"]})
    )
    assert any(e.pointer == "/layers/1/inputs/0" for e in errors)


def test_the_sequential_style_refuses_a_call():
    spec = _spec(
        {"name": "d", "type": "Dense", "units": 3},
        {"name": "again", "call": "d", "inputs": ["d"]},
        inputs=("a",),
    )
    spec["inputs"][0]["shape"] = [3]
    with pytest.raises(specgen.SpecInvalid) as caught:
        specgen.render(spec, "sequential")
    assert "calls layer 'd' again" in str(caught.value)


def test_calls_render_one_layer_in_every_style():
    spec = _spec(
        DENSE,
        {"name": "again", "call": "d", "inputs": ["b"]},
        {"name": "j", "type": "Add", "inputs": ["d", "again"]},
    )
    files = specgen.render(spec, "all")
    functional = files["m_functional.py"]
    assert 'd_layer = keras.layers.Dense(2, name="d")' in functional
    assert "again = d_layer(b)" in functional
    subclass = files["m_subclass.py"]
    assert subclass.count("keras.layers.Dense(") == 1 and "again = self.__d(b)" in subclass


@pytest.mark.parametrize(
    ("op", "args", "words"),
    [
        ("ops.concatenate", {}, "axis 0 is the batch axis"),
        ("ops.mean", {}, "axis null reduces the batch"),
        ("ops.sum", {"axis": 0}, "batch axis"),
        ("ops.transpose", {"axes": [1, 0, 2]}, "keep the batch axis first"),
        ("ops.reshape", {"newshape": [5, -1]}, "batch axis first: -1"),
        ("ops.reshape", {"newshape": [-1, 7]}, "cannot reshape"),
        ("ops.squeeze", {"axis": 1}, "has size 5, not 1"),
        ("ops.get_item", {"key": [0]}, "batch axis must be taken whole"),
        ("ops.get_item", {"key": [{}, 9]}, "out of range"),
        ("ops.einsum", {"subscripts": "ij,jk->ik"}, "has 2 axes; the operand has 3"),
    ],
)
def test_an_op_that_would_touch_the_batch_or_misfit_is_refused(op, args, words):
    spec = {
        "name": "m",
        "inputs": [{"name": "x", "shape": [5, 4]}],
        "layers": [
            {
                "name": "y",
                "type": op,
                "inputs": ["x", "x"] if "concat" in op or "einsum" in op else ["x"],
                **args,
            }
        ],
    }
    errors = specgen.validate(spec)
    assert len(errors) == 1 and errors[0].pointer == "/layers/0", errors
    assert words in errors[0].message
