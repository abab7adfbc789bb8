"""TFRecord features stored as strings, the way real image sets store them: an encoded
image ("decode": "image") or an array's raw bytes ("uint8", "float32"), decoded to the
declared shape while the records stream (issue 20)."""

from __future__ import annotations

import numpy as np
import pytest
from test_data_sources import _fit_equals_tape, _main, _script, _spec

import specgen

tf = pytest.importorskip("tensorflow")

SHAPE = [4, 4, 3]
LAYERS = [{"type": "Flatten"}, {"type": "Dense", "units": 4, "activation": "softmax"}]


def _encoded(pixels, decode):
    if decode == "image":
        return tf.io.encode_png(pixels).numpy()
    return pixels.astype(decode).tobytes()


def _feature(value):
    if isinstance(value, bytes):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def _write(path, records):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for image, label in records:
            feature = {"image": _feature(image), "label": _feature(label)}
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())


def _shards(folder, decode, shards=6, per_shard=8, seed=0):
    """{file: its images' pixels (uint8, in record order)} of `shards` files."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for shard in range(shards):
        path = folder / f"part-{shard:03d}.tfrecord"
        labels = rng.integers(0, 4, per_shard)
        pixels = rng.integers(0, 256, (per_shard, *SHAPE), dtype=np.uint8)
        pixels[..., 0] //= (labels[:, None, None] + 1).astype(np.uint8)  # a signal to learn
        _write(path, [(_encoded(p, decode), int(c)) for p, c in zip(pixels, labels, strict=True)])
        written[str(path)] = pixels
    return written


def _record_spec(folder, decode, **extra):
    image = {"dtype": "string", "decode": decode, "shape": SHAPE}
    dataset = {"tfrecord": str(folder / "*.tfrecord"), "inputs": ["image"],
               "features": {"image": image, "label": {"dtype": "int64", "shape": []}},
               "targets": ["label"], "test_split": 0.34, **extra}  # fmt: skip
    return _spec("encoded", [{"name": "x", "shape": SHAPE}], LAYERS, dataset)


@pytest.mark.parametrize("decode", ["image", "uint8", "float32"])
def test_string_features_decode_to_the_pixels_written(decode, tmp_path):
    """Every record of the test split decodes to its pixels, exactly (PNG is lossless,
    raw bytes are the array), in file order; both loops train on the same batches."""
    written = _shards(tmp_path / "shards", decode)
    script = _script(_record_spec(tmp_path / "shards", decode), tmp_path)
    runtime = script.cli.runtime(script.__package__)
    train, _, test = runtime.load_data(script.SETTINGS, script.parse_args(["--quiet"]))
    assert type(test[0]).__name__ == "Records", "never materialised"
    read = np.concatenate([x for x, _ in runtime.evaluation_dataset(test, 8)])
    expected = np.concatenate([written[file] for file in test[0].files])
    assert read.dtype == np.float32 and read.shape == expected.shape
    np.testing.assert_array_equal(read, expected.astype(np.float32))
    batches = runtime.Batches(train, 8, 1)
    seen = np.concatenate([x for x, _ in batches.dataset])
    rows = np.concatenate([written[file] for file in train[0].files])
    assert sorted(map(bytes, seen.astype(np.uint8))) == sorted(map(bytes, rows))
    _fit_equals_tape(script, tmp_path)


def test_cached_string_features_are_the_uncached_batches(tmp_path):
    """`"cache": true` stores the decoded pixels: the same global batches, every epoch."""
    _shards(tmp_path / "shards", "image")
    read = {}
    for cache in (False, True):
        folder = tmp_path / str(cache)
        folder.mkdir()
        script = _script(_record_spec(tmp_path / "shards", "image", cache=cache), folder)
        runtime = script.cli.runtime(script.__package__)
        args = script.parse_args(["--quiet", "--run-dir", str(folder / "run")])
        train, _, _ = runtime.load_data(script.SETTINGS, args)
        assert (train[0].cache is not None) == cache
        batches = runtime.Batches(train, 8, 1)
        for epoch in (0, 1):
            batches.select(epoch)
            read[cache, epoch] = [np.asarray(x) for x, _ in batches.dataset]
    for epoch in (0, 1):
        assert len(read[True, epoch]) == len(read[False, epoch]) > 1
        for cached, decoded in zip(read[True, epoch], read[False, epoch], strict=True):
            np.testing.assert_array_equal(cached, decoded)
    assert not all(
        np.array_equal(a, b) for a, b in zip(read[False, 0], read[False, 1], strict=True)
    ), "each epoch its own order"


def test_a_record_that_does_not_decode_is_named(tmp_path, capsys):
    for decode, bad in [("image", b"not a png"), ("uint8", b"\x00" * 5)]:
        folder = tmp_path / decode
        _shards(folder, decode, shards=3)
        good = _encoded(np.zeros(SHAPE, np.uint8), decode)
        # Past the first batch of the checking pass, which parses 256 records at once.
        _write(folder / "part-001.tfrecord", [(good, 0)] * 299 + [(bad, 1), (good, 0)])
        script = _script(_record_spec(folder, decode), folder)
        code, err, _ = _main(script, capsys, folder / "run")
        assert code == 1 and err.count("\n") == 1, err
        assert err.startswith("error: ") and "part-001.tfrecord, record 299:" in err, err
        assert not any(s in err for s in ("{{", "[Op:", "user code")), err  # TF's own


@pytest.mark.parametrize(
    ("feature", "pointer", "message"),
    [
        ({"dtype": "string", "shape": SHAPE}, "image", 'needs "decode"'),
        ({"dtype": "float32", "shape": SHAPE, "decode": "image"}, "image/decode",
         "only a string feature is decoded"),
        ({"dtype": "string", "shape": [16, 3], "decode": "image"}, "image/shape",
         "[height, width, channels]"),
    ],
)  # fmt: skip
def test_a_string_feature_says_how_it_decodes(feature, pointer, message, tmp_path):
    spec = _record_spec(tmp_path, "image")
    spec["training"]["dataset"]["features"]["image"] = feature
    (error,) = specgen.validate(spec)
    assert error.pointer == f"/training/dataset/features/{pointer}", error
    assert message in error.message, error


def test_a_run_folder_refuses_to_resume_on_changed_shards(tmp_path, capsys):
    """The run's fingerprint holds the shards' bytes, as it holds a folder's files: a
    resumed run never mixes epochs of two data sets."""
    _shards(tmp_path / "shards", "uint8")
    script = _script(_record_spec(tmp_path / "shards", "uint8", test_split=0.5), tmp_path)
    argv = ["--quiet", "--run-dir", str(tmp_path / "run"), "--epochs"]
    assert script.main([*argv, "1"]) == 0
    _shards(tmp_path / "shards", "uint8", seed=1)  # the same files, other records
    capsys.readouterr()
    assert script.main([*argv, "2"]) == 1
    err = capsys.readouterr().err
    assert "holds the run of another data content" in err and "--fresh" in err, err
