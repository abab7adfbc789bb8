"""A restarted run does not read its data again to check it (issue 20, at scale): what
the start-up passes learnt (every file decodes, each TFRecord file's record count, a
CSV's rows, the data's digest) is kept in the run folder by each file's stamps (path,
size, mtime, ctime, inode), and a file changed in any way is read again, even one
rewritten to its old size and mtime."""

from __future__ import annotations

import json
import os
import sys

import pytest
from test_data_sources import (
    IMAGE_LAYERS,
    TEXT_LAYERS,
    _images,
    _script,
    _shards,
    _spec,
    _table,
    _texts,
    _tfrecord_spec,
)

pytest.importorskip("keras")


def _sources(tmp_path):
    images = _images(tmp_path / "images", 2, 6)
    texts = _texts(tmp_path / "texts", 2, 6)
    table = _table(tmp_path / "table.csv", 40, 2)
    return {
        "image_folder": (
            _spec("img", [{"name": "image", "shape": [8, 8, 3]}], IMAGE_LAYERS,
                  {"image_folder": str(images), "test_split": 0.25}),
            images / "c1" / "3.png",
        ),
        "text_folder": (
            _spec("txt", [{"name": "tokens", "shape": [8], "dtype": "int32"}], TEXT_LAYERS,
                  {"text_folder": str(texts), "test_split": 0.25}),
            texts / "c0" / "2.txt",
        ),
        "tfrecord": (
            _tfrecord_spec(_shards(tmp_path / "shards", 4, 6)),
            tmp_path / "shards" / "part-002.tfrecord",
        ),
        "csv": (
            _spec("csv", [{"name": "x", "shape": [2]}],
                  [{"type": "Dense", "units": 4, "activation": "softmax"}],
                  {"csv": str(table), "label": "kind"}),
            table,
        ),
    }  # fmt: skip


def _data_module(script):
    runtime = script.cli.runtime(script.__package__)
    return sys.modules[runtime.Facts.__module__]


def _train(script, capsys, run_dir, epochs):
    code = script.main(["--run-dir", str(run_dir), "--epochs", str(epochs)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _rewritten(path, bad: bytes):
    """`path` overwritten in place, its size and mtime as they were."""
    stat = os.stat(path)
    data = path.read_bytes()
    path.write_bytes((data[: len(data) - len(bad)] + bad)[: len(data)])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)


SAME_SIZE_DAMAGE = {
    # A PNG whose last 16 bytes (its IEND chunk, CRC) are gone: it does not decode.
    "image_folder": (b"\0" * 16, "cannot read"),
    "text_folder": (b"\xff\xfe", "cannot read"),  # no longer UTF-8
    "tfrecord": (b"\0" * 8, "part-002.tfrecord, record 5"),  # its CRC fails
    "csv": (b"9\n", "outside the class ids"),  # the last row's class id 9
}


def _trained(source, tmp_path, capsys, monkeypatch):
    """(script, the file the tests damage, run folder, output) of one epoch's run."""
    spec, victim = _sources(tmp_path)[source]
    script = _script(spec, tmp_path)
    # Files written a moment ago are never trusted by their stamps (test below); these
    # are, as files a run finds untouched for a while are.
    monkeypatch.setattr(_data_module(script), "RACY_NS", -1)
    code, out, err = _train(script, capsys, tmp_path / "run", 1)
    assert code == 0, err
    return script, victim, tmp_path / "run", out


@pytest.mark.parametrize("source", list(SAME_SIZE_DAMAGE))
def test_a_restart_checks_only_data_that_changed(source, tmp_path, capsys, monkeypatch):
    script, victim, run_dir, out = _trained(source, tmp_path, capsys, monkeypatch)
    assert "Checking" in out, out
    facts = json.loads((run_dir / "data-facts.json").read_text())
    assert len(facts) == 2, facts  # the check's result and the data's digest

    code, out, err = _train(script, capsys, run_dir, 2)
    assert code == 0, err
    assert "Checking" not in out, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert len(summary["history"]["loss"]) == 2  # resumed: the same data, by its digest

    bad, message = SAME_SIZE_DAMAGE[source]
    _rewritten(victim, bad)
    code, out, err = _train(script, capsys, run_dir, 3)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err, err
    if source != "tfrecord":
        assert str(victim) in err, err


def test_files_changed_a_moment_ago_are_not_trusted_by_their_stamps(tmp_path, capsys):
    """A file's ctime ticks coarsely: a change in the same tick as its stamp would leave
    the stamp as it was. Facts about files changed within RACY_NS are not kept."""
    spec, _ = _sources(tmp_path)["tfrecord"]
    script = _script(spec, tmp_path)
    data = _data_module(script)
    assert data.RACY_NS >= 1_000_000_000  # a second: many ticks of any system's clock
    data_before = data.RACY_NS
    try:
        data.RACY_NS = 10**18  # every file changed "a moment ago"
        code, out, err = _train(script, capsys, tmp_path / "run", 1)
        assert code == 0, err
        assert not (tmp_path / "run" / "data-facts.json").exists()
        code, out, err = _train(script, capsys, tmp_path / "run", 2)
        assert code == 0 and "Checking" in out, err
    finally:
        data.RACY_NS = data_before


FORGED = ["x", -1, 0, [0], [3, 3, "3"], [-2, 5, 1], [1.5], None, {"a": 1}, "ab" * 33]


@pytest.mark.parametrize("source", ["tfrecord", "csv", "image_folder"])
def test_forged_or_torn_facts_are_learnt_again(source, tmp_path, capsys, monkeypatch):
    """Whatever the facts file holds, a start learns what is not a valid fact again: the
    same splits and data digest as from the files themselves."""
    script, _, run_dir, _ = _trained(source, tmp_path, capsys, monkeypatch)
    runtime = script.cli.runtime(script.__package__)
    args = script.parse_args(["--run-dir", str(run_dir)])

    def start():
        """(the splits' sizes, the data digest, what was printed) as train() starts."""
        facts = runtime.Facts(str(run_dir))
        train, _, test = runtime.load_data(script.SETTINGS, args, facts)
        digest = runtime._fingerprint(script.SETTINGS, args, facts)["data"]
        return (len(train[0]), len(test[0])), digest, capsys.readouterr().out

    sizes, digest, out = start()
    assert "Checking" not in out, out  # the kept facts, read
    path = run_dir / "data-facts.json"
    kept = json.loads(path.read_text())
    assert len(kept) == 2, kept
    forgeries = [json.dumps(dict.fromkeys(kept, value)) for value in FORGED]
    for text in [*forgeries, '{"other": 1}', "[]", '{"torn": ']:
        path.write_text(text)
        again_sizes, again_digest, again_out = start()
        assert (again_sizes, again_digest) == (sizes, digest), text
        assert "Checking" in again_out, text


def test_a_dangling_link_among_the_files_is_one_error(tmp_path, capsys):
    """A file listed but gone (a link to nothing, a file deleted since) is named, not a
    traceback from the stamps taken of it."""
    spec, _ = _sources(tmp_path)["image_folder"]
    images = tmp_path / "images"
    (images / "c0" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    script = _script(spec, tmp_path)
    code, _, err = _train(script, capsys, tmp_path / "run", 1)
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith(f"error: cannot read {images / 'c0' / 'gone.png'}: "), err
