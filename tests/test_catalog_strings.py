"""String inputs and the layers that take them (catalog/text.py), with their state as data:
a vocabulary, bin boundaries given inline or in a file next to the spec (catalog/state.py).

Each case is rendered in every style, built, and called on the same strings (verify's own
sample inputs) as the layer built straight from Keras, which reads a vocabulary file itself:
equal outputs bit for bit, equal dtypes, the shape and parameter count specgen inferred.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import import_file

import specgen
from specgen import verify
from specgen.catalog import excluded
from specgen.catalog import text as text_layers
from specgen.importer import guard as import_guard

keras = pytest.importorskip("keras")

STYLES = ("sequential", "functional", "subclass")
WORDS = ["the", "cat", "sat", "on", "mat"]
# Files written next to each spec: a vocabulary, integer ids, bin boundaries.
FILES = {
    "words.txt": "\n".join(WORDS) + "\n",
    "ids.txt": "7\n3\n11\n",
    "bins.txt": "0.25\n0.5\n",
    "mean.txt": "0.5\n-1\n2.25\n",
    "variance.txt": "4\n0.25\n1e-2\n",
}
WORDS_FILE = {"file": "words.txt"}
# (type, arguments, input shape, input dtype)
CASES = [
    ("StringLookup", {"vocabulary": ["cat", "mat", "THE"], "mask_token": ""}, [3], "string"),
    (
        "StringLookup",
        {"vocabulary": WORDS_FILE, "num_oov_indices": 2, "output_mode": "multi_hot", "salt": 3},
        [4],
        "string",
    ),
    (
        "StringLookup",
        {"vocabulary": ["the", "sat"], "output_mode": "tf_idf", "idf_weights": [0.5, 2.0]},
        [3],
        "string",
    ),
    ("TextVectorization", {"vocabulary": WORDS_FILE, "output_sequence_length": 4}, [], "string"),
    (
        "TextVectorization",
        {
            "vocabulary": ["the", "cat", "the cat", "cat sat"],
            "standardize": "lower",
            "ngrams": 2,
            "output_mode": "count",
        },
        [],
        "string",
    ),
    (
        "TextVectorization",
        {"vocabulary": WORDS, "standardize": None, "split": None, "output_mode": "one_hot"},
        [],
        "string",
    ),
    (
        "TextVectorization",
        {
            "vocabulary": WORDS,
            "output_mode": "multi_hot",
            "max_tokens": 9,
            "pad_to_max_tokens": True,
        },
        [],
        "string",
    ),
    (
        "TextVectorization",
        {"vocabulary": ["t", "h", "e"], "split": "character", "standardize": "strip_punctuation"},
        [1],
        "string",
    ),
    ("Hashing", {"num_bins": 5, "output_mode": "one_hot"}, [1], "string"),
    ("IntegerLookup", {"vocabulary": {"file": "ids.txt"}, "output_mode": "count"}, [4], "int32"),
    ("Discretization", {"bin_boundaries": {"file": "bins.txt"}}, [3], "float32"),
    (
        "Normalization",
        {"mean": {"file": "mean.txt"}, "variance": {"file": "variance.txt"}, "invert": True},
        [3],
        "float32",
    ),
]


def test_every_string_layer_has_a_case():
    assert {c[0] for c in CASES} >= {kind.name for kind in text_layers.LAYERS}


def _write(tmp_path, layer_type: str, args: dict, shape: list, dtype: str):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    spec = {
        "name": f"strings_{layer_type.lower()}",
        "seed": 0,
        "inputs": [{"name": "x", "shape": shape, "dtype": dtype}],
        "layers": [{"name": "probe", "type": layer_type, **args}],
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _direct(tmp_path, layer_type: str, args: dict, shape: list, dtype: str):
    """The layer from Keras alone: a vocabulary file's path goes to Keras, which reads it."""
    args = {k: tuple(v) if k == "ngrams" and isinstance(v, list) else v for k, v in args.items()}
    for key, value in args.items():
        if isinstance(value, dict) and "file" in value:
            path = tmp_path / value["file"]
            args[key] = (
                str(path)
                if key == "vocabulary"
                else json.loads("[" + ",".join(path.read_text().split()) + "]")
            )
    x = keras.Input(shape=tuple(shape), dtype=dtype, name="x")
    return keras.Model(x, getattr(keras.layers, layer_type)(**args, name="probe")(x))


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_every_style_equals_keras_own_layer(case, tmp_path):
    layer_type, args, shape, dtype = case
    path = _write(tmp_path, layer_type, args, shape, dtype)
    model = specgen.compile(path)
    (node,) = model.layers
    built = {}
    for name, text in specgen.render(path, "all").items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for style in STYLES:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # importing and building must not warn
            module = import_file(tmp_path / f"{model.name}_{style}.py")
            built[style] = module.build_model(seed=0)
    direct = _direct(tmp_path, layer_type, args, shape, dtype)
    assert direct.count_params() == node.params == 0
    assert tuple(direct.outputs[0].shape[1:]) == node.out.dims
    x = verify.sample_inputs(model, rows=4, seed=1)
    reference = direct(x)
    expected = np.asarray(reference)
    assert len(np.unique(expected)) > 1  # the inputs hit the state: not all one value
    for style, m in built.items():
        assert [type(layer).__name__ for layer in m.layers][-1] == layer_type, style
        assert m.count_params() == 0, style
        out = m(x)
        assert out.dtype == reference.dtype, style
        np.testing.assert_array_equal(np.asarray(out), expected, err_msg=style)


def test_a_file_is_read_into_the_generated_code_as_a_literal(tmp_path):
    """The generated module never opens the file: its words are in the code, and a changed
    file changes the code (the golden record shows it)."""
    path = _write(tmp_path, "StringLookup", {"vocabulary": WORDS_FILE}, [2], "string")
    before = specgen.render(path, "functional")
    (text,) = before.values()
    assert '("the", "cat", "sat", "on", "mat")' in text and "words.txt" not in text
    (tmp_path / "words.txt").write_text("the\ndog\n", encoding="utf-8")
    (after,) = specgen.render(path, "functional").values()
    assert '("the", "dog")' in after


# More arguments: the inferred shape against Keras's own layer (no render).
SPREAD = [
    ("StringLookup", {"vocabulary": WORDS, "output_mode": "one_hot"}, [1]),
    ("StringLookup", {"vocabulary": WORDS, "output_mode": "one_hot"}, [3]),
    ("StringLookup", {"vocabulary": WORDS, "mask_token": "", "output_mode": "count"}, [2]),
    (
        "StringLookup",
        {
            "vocabulary": WORDS,
            "max_tokens": 8,
            "pad_to_max_tokens": True,
            "output_mode": "multi_hot",
        },
        [2],
    ),
    ("TextVectorization", {"vocabulary": WORDS}, []),
    ("TextVectorization", {"vocabulary": WORDS, "output_sequence_length": 3}, [1]),
    ("TextVectorization", {"vocabulary": WORDS, "split": None, "output_mode": "multi_hot"}, []),
    ("TextVectorization", {"vocabulary": WORDS, "ngrams": [1, 3], "output_mode": "count"}, []),
    (
        "TextVectorization",
        {"vocabulary": WORDS, "output_mode": "tf_idf", "idf_weights": [1.0] * 5},
        [],
    ),
    ("Hashing", {"num_bins": 3}, [2]),
]


@pytest.mark.parametrize("case", SPREAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(SPREAD)])
def test_inferred_shape_matches_keras_across_arguments(case, tmp_path):
    layer_type, args, shape = case
    (node,) = specgen.compile(_write(tmp_path, layer_type, args, shape, "string")).layers
    direct = _direct(tmp_path, layer_type, args, shape, "string")
    assert tuple(direct.outputs[0].shape[1:]) == node.out.dims
    assert direct.count_params() == node.params


def _errors(tmp_path, layers: list, inputs=None, blocks=None) -> list[tuple[str, str]]:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    spec = {"name": "bad", "inputs": inputs or [{"name": "x", "shape": [2], "dtype": "string"}]}
    spec["layers"] = layers
    if blocks:
        spec["blocks"] = blocks
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return [(e.pointer, e.message) for e in specgen.validate(path)]


LOOKUP = {"name": "look", "type": "StringLookup", "vocabulary": WORDS}
REFUSED = [
    ([{"type": "Dense", "units": 2}], None, "/layers/0", "which holds strings"),
    (
        [LOOKUP],
        [{"name": "x", "shape": [2], "dtype": "float32"}],
        "/layers/0",
        "takes strings: its input must be a model input of dtype 'string'",
    ),
    ([{**LOOKUP, "invert": True}], None, "/layers/0", "invert=True"),
    ([{**LOOKUP, "sparse": True}], None, "/layers/0", "sparse=True gives a non-dense tensor"),
    ([{**LOOKUP, "vocabulary": ["a", "[UNK]"]}], None, "/layers/0", "may not hold the OOV"),
    ([{**LOOKUP, "output_mode": "tf_idf"}], None, "/layers/0", "idf_weights go with"),
    ([{**LOOKUP, "max_tokens": 5}], None, "/layers/0", "max_tokens 5 is less than"),
    (
        [{"type": "TextVectorization", "vocabulary": WORDS, "standardize": "my_module.clean"}],
        [{"name": "x", "shape": [], "dtype": "string"}],
        "/layers/0/standardize",
        "lower_and_strip_punctuation",
    ),
    (
        [{"type": "TextVectorization", "vocabulary": WORDS, "output_mode": "multi_hot"}],
        None,
        "/layers/0",
        "expected a shape [] (one text per example)",
    ),
    (
        [{**LOOKUP, "vocabulary": {"file": "../words.txt"}}],
        None,
        "/layers/0/vocabulary/file",
        "expected a path relative to the spec's folder (no '..', no leading '/')",
    ),
    (
        [{**LOOKUP, "vocabulary": {"file": "/etc/hostname"}}],
        None,
        "/layers/0/vocabulary/file",
        "received '/etc/hostname'",
    ),
    (
        [{**LOOKUP, "vocabulary": {"file": "missing.txt"}}],
        None,
        "/layers/0/vocabulary/file",
        "no such file",
    ),
    (
        [{**LOOKUP, "vocabulary": {"file": "twice.txt"}}],
        None,
        "/layers/0/vocabulary/file",
        "line 3 repeats line 1: 'a'",
    ),
    (
        [{"type": "IntegerLookup", "vocabulary": {"file": "words.txt"}}],
        [{"name": "x", "shape": [2], "dtype": "int32"}],
        "/layers/0/vocabulary/file",
        "line 1 is not an integer: 'the'",
    ),
    (
        [{"type": "Dense", "units": 2}],
        [{"name": "x", "shape": [2], "dtype": "string"}],
        "/layers/0",
        "strings go to StringLookup, TextVectorization, Hashing",
    ),
    (
        [{"type": "coder", "inputs": ["x"]}, {"type": "Flatten"}],
        [{"name": "x", "shape": [2], "dtype": "int32"}],
        "/blocks/coder/layers/0",
        "a block's inputs are numbers",
    ),
]
BLOCK = {"coder": {"inputs": ["t"], "layers": [{"type": "StringLookup", "vocabulary": WORDS}]}}


@pytest.mark.parametrize("case", REFUSED, ids=[f"{i}-{c[3][:24]}" for i, c in enumerate(REFUSED)])
def test_a_spec_that_keras_cannot_build_is_refused_at_its_place(case, tmp_path):
    layers, inputs, pointer, message = case
    (tmp_path / "twice.txt").write_text("a\nb\na\n", encoding="utf-8")
    found = _errors(tmp_path, layers, inputs, BLOCK if "coder" in str(layers) else None)
    assert any(p == pointer and message in m for p, m in found), found


def test_a_string_input_has_no_training_script(tmp_path):
    spec = {
        "name": "trained",
        "inputs": [{"name": "x", "shape": [2], "dtype": "string"}],
        "layers": [{**LOOKUP, "output_mode": "count"}, {"type": "Dense", "units": 1}],
        "training": {"optimizer": {"type": "Adam"}, "loss": "mse", "epochs": 1, "batch_size": 2},
    }
    found = [(e.pointer, e.message) for e in specgen.validate(spec)]
    assert [p for p, _ in found] == ["/inputs/0/dtype"], found
    assert "the training script's data sources give numbers" in found[0][1]


def test_a_file_may_not_leave_the_spec_folder_by_a_link(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n", encoding="utf-8")
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "link.txt").symlink_to(outside)
    found = _errors(tmp_path / "spec", [{**LOOKUP, "vocabulary": {"file": "link.txt"}}])
    assert found == [
        ("/layers/0/vocabulary/file", "'link.txt': the file must stay inside the spec's folder")
    ]


def test_a_file_needs_a_spec_read_from_a_file():
    spec = {
        "name": "from_dict",
        "inputs": [{"name": "x", "shape": [2], "dtype": "string"}],
        "layers": [{**LOOKUP, "vocabulary": {"file": "words.txt"}}],
    }
    ((pointer, message),) = [(e.pointer, e.message) for e in specgen.validate(spec)]
    assert pointer == "/layers/0/vocabulary/file" and "load the spec from a file" in message


def test_the_cli_refuses_a_bad_state_file_with_one_located_line(tmp_path, capsys):
    from specgen import cli

    (tmp_path / "v.txt").write_text("a\na\n", encoding="utf-8")
    spec = {
        "name": "cli_probe",
        "inputs": [{"name": "x", "shape": [2], "dtype": "string"}],
        "layers": [{**LOOKUP, "vocabulary": {"file": "v.txt"}}],
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    assert cli.main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:" in err and "/layers/0/vocabulary/file" in err and "line 2 repeats" in err
    assert "Traceback" not in err


# Importing: a saved text model comes back as a spec; code in standardize/split is refused.
def _text_model():
    text = keras.Input(shape=(), dtype="string", name="text")
    tags = keras.Input(shape=(2,), dtype="string", name="tags")
    ids = keras.layers.TextVectorization(
        vocabulary=WORDS, output_sequence_length=4, standardize="lower", name="vec"
    )(text)
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(
        keras.layers.Embedding(7, 3, name="emb")(ids)
    )
    hot = keras.layers.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot", name="look")(
        tags
    )
    joined = keras.layers.Concatenate(name="join")([pooled, hot])
    return keras.Model([text, tags], keras.layers.Dense(2, name="out")(joined), name="texts")


def test_a_saved_text_model_imports_and_equals_the_original(tmp_path):
    keras.utils.set_random_seed(0)
    original = _text_model()
    original.save(tmp_path / "original.keras")
    spec = import_guard.read_and_convert(tmp_path / "original.keras")
    assert spec["inputs"][0] == {"name": "text", "shape": [], "dtype": "string"}
    model = specgen.compile(spec)
    x = verify.sample_inputs(model, rows=3, seed=2)
    expected = np.asarray(original(x))
    files = specgen.render(model, "all")
    assert sorted(f for f in files if not f.startswith("train_")) == [
        "texts_functional.py",
        "texts_subclass.py",
    ]
    for name in ("texts_functional.py", "texts_subclass.py"):
        (tmp_path / name).write_text(files[name], encoding="utf-8")
        rebuilt = import_file(tmp_path / name).build_model()
        rebuilt.set_weights(original.get_weights())
        np.testing.assert_array_equal(np.asarray(rebuilt(x)), expected, err_msg=name)


@keras.saving.register_keras_serializable(package="specgen_test")
def _clean(text):
    return text


@pytest.mark.parametrize("key", ["standardize", "split"])
def test_a_function_in_standardize_or_split_is_refused_never_deserialized(key, tmp_path):
    text = keras.Input(shape=(), dtype="string", name="text")
    layer = keras.layers.TextVectorization(vocabulary=WORDS, name="vec", **{key: _clean})
    keras.Model(text, layer(text)).save(tmp_path / "code.keras")
    with pytest.raises(import_guard.ImportProblem) as caught:
        import_guard.read_and_convert(tmp_path / "code.keras")
    (problem,) = caught.value.problems
    assert f"layer 'vec': TextVectorization argument {key} holds a serialized" in problem
    assert "refused, never deserialized" in problem


def test_an_adapted_vocabulary_is_refused_by_name(tmp_path):
    text = keras.Input(shape=(), dtype="string", name="text")
    layer = keras.layers.TextVectorization(name="vec")
    layer.adapt(np.array(["the cat", "sat"]))
    keras.Model(text, layer(text)).save(tmp_path / "adapted.keras")
    with pytest.raises(import_guard.ImportProblem) as caught:
        import_guard.read_and_convert(tmp_path / "adapted.keras")
    assert "TextVectorization has no vocabulary in its config" in str(caught.value.problems)


def test_a_vocabulary_file_keras_read_is_not_in_the_config_and_is_refused(tmp_path):
    (tmp_path / "words.txt").write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    tags = keras.Input(shape=(2,), dtype="string", name="tags")
    layer = keras.layers.StringLookup(vocabulary=str(tmp_path / "words.txt"), name="look")
    keras.Model(tags, layer(tags)).save(tmp_path / "path.keras")
    with pytest.raises(import_guard.ImportProblem) as caught:
        import_guard.read_and_convert(tmp_path / "path.keras")
    (problem,) = caught.value.problems
    assert (
        "StringLookup has no vocabulary in its config (Keras keeps one adapted or read" in problem
    )


def test_an_adapted_normalization_still_imports_with_its_statistics_as_weights(tmp_path):
    x = keras.Input(shape=(3,), name="x")
    layer = keras.layers.Normalization(name="norm")
    layer.adapt(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], dtype="float32"))
    keras.Model(x, layer(x)).save(tmp_path / "norm.keras")
    spec = import_guard.read_and_convert(tmp_path / "norm.keras")
    assert spec["layers"] == [{"name": "norm", "type": "Normalization", "axis": [-1]}]


def test_every_public_keras_layer_is_catalogued_or_excluded_for_a_reason_that_holds():
    from specgen import catalog

    named = {s for kind in catalog.LAYERS for s in kind.spellings}
    public = {n for n in dir(keras.layers) if n[0].isupper()}
    assert sorted(public - named) == sorted(excluded.EXCLUDED)
    # The reasons given for the two image layers are Keras's behaviour, checked here.
    image = keras.Input(shape=(4, 4, 3))
    with pytest.raises(ValueError, match="part of a cycle"):
        keras.Model(image, keras.layers.Equalization()(image))
    pixels = np.random.default_rng(0).random((1, 4, 4, 3)).astype("float32")
    same = keras.layers.MaxNumBoundingBoxes(max_number=2)(pixels)
    np.testing.assert_array_equal(np.asarray(same), pixels)


def test_verify_draws_strings_from_the_vocabularies_that_read_them(tmp_path):
    """A lookup gets one word per string, a TextVectorization a sentence of three; the words
    are its vocabulary's, one out of vocabulary and one in capitals."""
    spec = {
        "name": "samples",
        "inputs": [
            {"name": "tag", "shape": [5], "dtype": "string"},
            {"name": "text", "shape": [], "dtype": "string"},
        ],
        "layers": [
            {
                "name": "look",
                "type": "StringLookup",
                "vocabulary": ["cat", "mat"],
                "inputs": ["tag"],
            },
            {"name": "vec", "type": "TextVectorization", "vocabulary": ["sat"], "inputs": ["text"]},
        ],
        "outputs": ["look", "vec"],
    }
    x = verify.sample_inputs(specgen.compile(spec), rows=40, seed=0)
    assert x["tag"].shape == (40, 5) and x["text"].shape == (40,)
    assert set(x["tag"].ravel()) == {"cat", "mat", "Zzyzx", "THE"}
    sentences = [s.split(" ") for s in x["text"]]
    assert {len(s) for s in sentences} == {3}
    assert {w for s in sentences for w in s} == {"sat", "Zzyzx", "THE"}


def test_the_render_cache_never_serves_a_spec_whose_state_file_changed(tmp_path):
    """The command line caches renders by the spec's bytes; a spec that reads a file renders
    what the file holds now."""
    import subprocess
    import sys

    from conftest import ROOT

    path = _write(tmp_path, "StringLookup", {"vocabulary": WORDS_FILE}, [2], "string")
    env = {"SPECGEN_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT), "PATH": ""}
    out = tmp_path / "out"
    command = [sys.executable, "-m", "specgen.cli", "render", str(path), "--out", str(out)]
    texts = []
    for words in ("the\ncat\n", "the\ndog\n"):
        (tmp_path / "words.txt").write_text(words, encoding="utf-8")
        subprocess.run(command, capture_output=True, check=True, env=env, cwd=ROOT)
        texts.append((out / "strings_stringlookup_functional.py").read_text(encoding="utf-8"))
    assert '("the", "cat")' in texts[0] and '("the", "dog")' in texts[1]
