"""Spec text never becomes code; allowlists resolve in Keras; writes are all-or-nothing."""

from __future__ import annotations

import ast
import importlib
import os

import pytest
from conftest import ROOT

import specgen
from specgen import catalog
from specgen.emit import write as writing
from specgen.emit.render import docstring_text
from specgen.model import training
from specgen.spec import reserved, schema

NASTY = [
    '"""; import os; os.system("touch canary"); """',
    "ends with a backslash \\",
    "carriage\rreturn # comment\r import os",
    "line\u2028separator and paragraph\u2029separator",
    "nul\x00byte",
    "{{ jinja }} {% raw %} {} f'{x}'",
    "'''single''' \"double\" \\\\ \\n",
    "\ttab and emoji \U0001f600 and bell \x07",
]


@pytest.mark.parametrize("text", NASTY)
def test_docstring_escaper_round_trips(text):
    source = f'"""{docstring_text(text)}"""'
    assert ast.literal_eval(source) == text


@pytest.mark.parametrize("text", NASTY)
def test_description_reaches_the_module_docstring_verbatim(text):
    spec = {
        "name": "m",
        "description": text,
        "inputs": [{"name": "x", "shape": [2]}],
        "layers": [{"type": "Dense", "units": 1}],
    }
    for source in specgen.render(spec, "all").values():
        tree = ast.parse(source)
        assert ast.get_docstring(tree, clean=False).startswith(text)
        assert not any(
            isinstance(node, ast.Import) and node.names[0].name == "os" for node in ast.walk(tree)
        )


def test_hostile_dataset_path_is_a_literal():
    path = "x'); import os; os.system('touch canary') #.npz"
    spec = {
        "name": "m",
        "inputs": [{"name": "x", "shape": [2]}],
        "layers": [{"type": "Dense", "units": 1}],
        "training": {"dataset": path, "optimizer": {"type": "SGD"}, "loss": "mse"},
    }
    source = specgen.render(spec, "functional")["train_m.py"]
    tree = ast.parse(source)
    values = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)]
    assert path in values
    assert "system" not in {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def test_allowlisted_names_resolve_in_keras():
    keras = pytest.importorskip("keras")
    for name in catalog.ACTIVATIONS:
        keras.activations.get(name)
    for name in catalog.INITIALIZERS:
        keras.initializers.get(name)
    for name in catalog.REGULARIZERS:
        keras.regularizers.get(name)
    for name in catalog.CONSTRAINTS:
        keras.constraints.get(name)
    for classes, module in (
        (catalog.INITIALIZER_CLASSES, keras.initializers),
        (catalog.REGULARIZER_CLASSES, keras.regularizers),
        (catalog.CONSTRAINT_CLASSES, keras.constraints),
    ):
        for name in classes:
            assert callable(getattr(module, name))
    for kind in catalog.LAYERS:
        for spelling in kind.spellings:
            if kind.op:  # ops.add -> keras.ops.add
                assert callable(getattr(keras.ops, spelling.removeprefix("ops."))), spelling
            elif kind.name == "Application":  # keras.applications.<model>, a closed enum
                for model in catalog.BY_SPELLING["Application"].args[0].schema["enum"]:
                    assert callable(getattr(keras.applications, model)), model
            elif kind.name != "CustomLayer":  # a user's class, allowed from outside the spec
                module = importlib.import_module(kind.module)  # keras.layers, or Keras's own
                assert callable(getattr(module, spelling)), spelling
    for name in schema.OPTIMIZERS:
        assert callable(getattr(keras.optimizers, name))
    for name in set(training.LOSS_CLASSES.values()):
        assert callable(getattr(keras.losses, name))
    for name in {*training.METRIC_CLASSES.values(), *training.ACCURACY.values()}:
        assert callable(getattr(keras.metrics, name))


def test_reserved_list_covers_the_installed_keras():
    keras = pytest.importorskip("keras")
    public = {n for n in dir(keras.Model) if not n.startswith("_")} | {
        n for n in dir(keras.layers.Layer) if not n.startswith("_")
    }
    missing = sorted(public - reserved.KERAS_ATTRIBUTES)
    assert not missing, f"add to specgen/spec/reserved.py: {missing}"


def test_names_that_differ_only_after_nfkc_are_refused():
    spec = {
        "name": "m",
        "inputs": [{"name": "ﬁeld", "shape": [2]}],
        "layers": [{"type": "Dense", "units": 1}],
    }
    (error,) = specgen.validate(spec)
    assert "not in NFKC normal form; write 'field'" in error.message


def test_a_failed_render_restores_every_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    files = specgen.render(ROOT / "specs" / "cifar100.json", "all")
    first = writing.plan(tmp_path, files)
    writing.write_all(first)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    changed = {name: text.replace("relu", "tanh") for name, text in files.items()}
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_replace(src, dst)

    real_replace = os.replace
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(writing.OutputProblem, match="disk full"):
        writing.write_all(writing.plan(tmp_path, changed))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_writes_stay_inside_the_output_folder(tmp_path):
    with pytest.raises(ValueError):
        writing.plan(tmp_path, {"../escape.py": "x = 1\n"})
