"""Property: random valid specs with hostile text in every string field render into code that
compiles, imports and builds with no side effect, and whose styles stay the same model."""

from __future__ import annotations

import ast
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import import_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specgen

keras = pytest.importorskip("keras")

CANARY = Path(f"/tmp/specgen-canary-{uuid.uuid4().hex}")
PAYLOADS = [
    f'"""\nimport os; open("{CANARY}", "w")\n"""',
    f"'); open('{CANARY}', 'w') #",
    f"\\\r\nopen('{CANARY}', 'w')\r#",
    "{{ model }} {% if true %}x{% endif %} {}",
    "\u2028\u2029\x00\x1b[31m",
]
hostile = st.sampled_from(PAYLOADS) | st.text(max_size=30)
identifiers = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)

LAYER_CHOICES = [
    lambda d: {
        "type": "Dense",
        "units": d(st.integers(1, 6)),
        "activation": d(st.sampled_from(["relu", "tanh", None])),
    },
    lambda d: {"type": "Dropout", "rate": d(st.floats(0, 0.9))},
    lambda d: {"type": "BatchNormalization"},
    lambda d: {"type": "Activation", "activation": d(st.sampled_from(["sigmoid", "softplus"]))},
    lambda d: {"type": "LayerNormalization"},
]


@st.composite
def specs(draw):
    layers = [draw(st.sampled_from(LAYER_CHOICES))(draw) for _ in range(draw(st.integers(1, 4)))]
    layers.append({"type": "Dense", "units": draw(st.integers(1, 3))})
    names = draw(
        st.lists(identifiers, min_size=len(layers) + 1, max_size=len(layers) + 1, unique=True)
    )
    for layer, name in zip(layers, names[1:], strict=True):
        if draw(st.booleans()):
            layer["name"] = f"l_{name}"
    return {
        "name": f"p_{uuid.uuid4().hex[:8]}",
        "description": draw(hostile),
        "seed": draw(st.integers(0, 1000)),
        "inputs": [{"name": f"in_{names[0]}", "shape": [draw(st.integers(1, 5))]}],
        "layers": layers,
        "training": {
            "dataset": draw(hostile).replace("\x00", "") + ".npz",
            "optimizer": {"type": "SGD", "learning_rate": 0.01},
            "loss": "mse",
        },
    }


@pytest.fixture(autouse=True)
def _no_dead_modules():
    """Hypothesis reads every module in sys.modules for constants to draw; after the rest of
    the suite, one of them can be a weak proxy whose object is gone (ReferenceError inside
    Hypothesis, not in specgen): such entries are dropped first."""
    # A copy taken in one step: TensorFlow's threads may import while this loop runs.
    for name, module in sys.modules.copy().items():
        try:
            getattr(module, "__file__", None)
        except ReferenceError:
            sys.modules.pop(name, None)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(specs())
def test_hostile_specs_render_safe_equivalent_code(tmp_path_factory, spec):
    assert specgen.validate(spec) == []
    files = specgen.render(spec, "all")
    folder = tmp_path_factory.mktemp("prop")
    for name, text in files.items():
        compile(text, name, "exec")
        ast.parse(text)
        (folder / name).write_text(text, encoding="utf-8")
    models = [
        import_file(folder / f"{spec['name']}_{style}.py").build_model()
        for style in ("sequential", "functional", "subclass")
    ]
    import_file(folder / f"train_{spec['name']}.py")  # importable, no side effects
    assert not CANARY.exists()
    x = np.random.default_rng(0).random((3, spec["inputs"][0]["shape"][0]), dtype=np.float32)
    reference = models[0]
    for other in models[1:]:
        for a, b in zip(reference.weights, other.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(np.asarray(reference(x)), np.asarray(other(x)))
