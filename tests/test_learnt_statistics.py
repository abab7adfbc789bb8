"""A Normalization layer given no mean and variance learns them from the training split in
one streamed pass before the first epoch, and a text folder's vocabulary is kept in the
run folder (issue 20 item 3): the same statistics in every
style, kept by checkpoints and model.keras, reused (not relearnt) by a resumed run. (A run
folder refuses to resume on other data: the statistics cannot go stale under it.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import import_file
from test_data_sources import TEXT_LAYERS, _spec, _table, _texts
from test_training import _render

import specgen

keras = pytest.importorskip("keras")

LAYERS = [
    {"name": "norm", "type": "Normalization"},
    {"type": "Dense", "units": 4, "activation": "softmax"},
]


def _statistics(run_dir):
    layer = keras.models.load_model(run_dir / "model.keras").get_layer("norm")
    return [np.ravel(v) for v in (layer.mean, layer.variance)]


def _train(script, run_dir, *argv):
    summary, _ = script.train(script.parse_args(["--quiet", "--run-dir", str(run_dir), *argv]))
    return summary


def test_normalization_learns_the_training_split_and_a_resumed_run_keeps_it(tmp_path, capsys):
    table = _table(tmp_path / "table.csv", 300, 5)
    dataset = {"csv": str(table), "label": "kind", "test_split": 0.2}
    spec = _spec("norm", [{"name": "x", "shape": [5]}], LAYERS, dataset, epochs=1)
    assert specgen.validate(spec) == []
    script = import_file(_render(spec, tmp_path, "all"))
    runtime = script.cli.runtime(script.__package__)
    train, _, _ = runtime.load_data(script.SETTINGS, script.parse_args(["--quiet"]))
    rows = np.concatenate([x for x, _ in runtime.evaluation_dataset(train, 64)])
    assert len(rows) == len(train[0]) > 200
    histories = {}
    for style in ("functional", "sequential", "subclass"):
        histories[style] = _train(script, tmp_path / style, "--style", style)["history"]
        mean, variance = _statistics(tmp_path / style)
        # adapt() sums float32 batch moments: a few float32 steps of the values (~1..5).
        np.testing.assert_allclose(mean, rows.astype(np.float64).mean(0), rtol=1e-5)
        np.testing.assert_allclose(variance, rows.astype(np.float64).var(0), rtol=1e-5)
    assert histories["sequential"] == histories["functional"] == histories["subclass"]
    # Resumed, a run restores the statistics with the weights: no second pass.
    before = _statistics(tmp_path / "functional")
    capsys.readouterr()
    script.train(script.parse_args(["--run-dir", str(tmp_path / "functional"), "--epochs", "2"]))
    assert "Learning the mean and variance" not in capsys.readouterr().out
    for kept, learnt in zip(_statistics(tmp_path / "functional"), before, strict=True):
        np.testing.assert_array_equal(kept, learnt)
    script.train(script.parse_args(["--run-dir", str(tmp_path / "fresh"), "--epochs", "1"]))
    assert "Learning the mean and variance of norm from 2" in capsys.readouterr().out


def test_a_normalization_that_learns_must_read_a_model_input(tmp_path):
    layers = [{"type": "Dense", "units": 3}, *LAYERS]
    spec = _spec("deep", [{"name": "x", "shape": [5]}], layers, "synthetic")
    (error,) = specgen.validate(spec)
    assert error.pointer == "/layers/1", error
    assert "must read one model input" in error.message, error
    blocked = _spec("blocked", [{"name": "x", "shape": [5]}],
                    [{"name": "scaled", "type": "scale"}, LAYERS[1]], "synthetic")  # fmt: skip
    blocked["blocks"] = {
        "scale": {"inputs": ["x"], "layers": [{"name": "n", "type": "Normalization"}]}
    }
    (error,) = specgen.validate(blocked)  # a block reads its inputs, never the data
    assert error.pointer == "/blocks/scale/layers/0", error
    assert "must read one model input" in error.message, error
    given = [{**layers[0]}, {**LAYERS[0], "mean": [0.0] * 3, "variance": [1.0] * 3}, LAYERS[1]]
    assert specgen.validate(_spec("deep", [{"name": "x", "shape": [5]}], given, "synthetic")) == []


def test_a_resumed_text_run_reads_its_vocabulary_from_the_run_folder(tmp_path, capsys):
    """The vocabulary pass runs once per run: a resumed run reads the vocabulary the
    run folder keeps for the same training files (names, sizes, mtimes), the same
    words in the same order; other files learn their own."""
    texts = _texts(tmp_path / "texts", 2, 10)
    dataset = {"text_folder": str(texts), "test_split": 0.25}
    inputs = [{"name": "tokens", "shape": [8], "dtype": "int32"}]
    script = import_file(_render(_spec("txt", inputs, TEXT_LAYERS, dataset, epochs=1), tmp_path))
    runtime = script.cli.runtime(script.__package__)
    run = ["--run-dir", str(tmp_path / "run")]
    learnt = runtime.load_data(script.SETTINGS, script.parse_args(run))[0][0].raw
    assert "Learning the vocabulary of 15 texts" in capsys.readouterr().out
    script.train(script.parse_args(run))
    capsys.readouterr()
    script.train(script.parse_args([*run, "--epochs", "2"]))
    assert "Learning the vocabulary" not in capsys.readouterr().out
    read = runtime.load_data(script.SETTINGS, script.parse_args(run))[0][0].raw
    assert "Learning the vocabulary" not in capsys.readouterr().out
    assert read.get_vocabulary() == learnt.get_vocabulary() and len(learnt.get_vocabulary()) == 8
    kept_file = tmp_path / "run" / "vocabulary.json"
    kept = json.loads(kept_file.read_text(encoding="utf-8"))
    for bad in (["purr", "purr"], "texts/c0/0.txt", None):  # a str names a file to read
        kept_file.write_text(json.dumps({**kept, "vocabulary": bad}), encoding="utf-8")
        read = runtime.load_data(script.SETTINGS, script.parse_args(run))[0][0].raw
        assert "Learning the vocabulary of 15 texts" in capsys.readouterr().out, bad
        assert read.get_vocabulary() == learnt.get_vocabulary()
    (texts / "c0" / "0.txt").write_text("entirely unseen words", encoding="utf-8")
    script.train(script.parse_args([*run, "--fresh"]))
    assert "Learning the vocabulary of 15 texts" in capsys.readouterr().out
    kept = json.loads((tmp_path / "run" / "vocabulary.json").read_text(encoding="utf-8"))
    assert "unseen" in kept["vocabulary"]
