"""Issue 19, classes 1, 3, 4 and 5: the render cache and the prebuilt templates are trusted only
as far as they can be. Every test turns the cache on explicitly, in its own tmp folder, and
compares with a cold render (no cache at all)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import stat
import subprocess
import sys

import pytest
from conftest import ROOT

from specgen.cli import main
from specgen.emit import cache
from specgen.emit import render as render_module

SPEC = str(ROOT / "specs" / "tiny_regression.json")  # has a training block: shared modules too
KINDS = ("outputs", "formatted", "fingerprints", "templates", "spec-renders", "digests")
EVIL = "import os\nos.system('echo pwned')\n"


def _reset() -> None:
    for memo in (cache._root, cache.folder, cache._warn_once, render_module.environment):
        memo.cache_clear()


@pytest.fixture
def use_cache(monkeypatch):
    def use(where) -> None:
        monkeypatch.setenv("SPECGEN_CACHE_DIR", str(where))
        _reset()

    yield use
    monkeypatch.undo()
    _reset()


def _cli(folder, capsys) -> tuple[int, dict[str, str], str]:
    """exit code, files written, stderr of `specgen render SPEC --out folder --style all`."""
    if folder.exists():
        shutil.rmtree(folder)
    code = main(["render", SPEC, "--style", "all", "--out", str(folder)])
    files = {p.name: p.read_text() for p in sorted(folder.glob("*.py"))} if folder.exists() else {}
    return code, files, capsys.readouterr().err


@pytest.fixture
def cold(use_cache, tmp_path, capsys):
    use_cache("")
    code, files, _ = _cli(tmp_path / "cold", capsys)
    assert code == 0 and files
    return files


def _entries(root):
    return sorted(p for kind in KINDS if (root / kind).is_dir() for p in (root / kind).iterdir())


def _fill(root, use_cache, tmp_path, capsys, cold):
    use_cache(root)
    assert _cli(tmp_path / "fill", capsys)[:2] == (0, cold)
    assert _entries(root)


def _forge_old_style(path) -> None:
    """What round 2's checksum let anyone who could write the folder do."""
    text = json.dumps({"m_functional.py": EVIL})
    path.write_text(f"{hashlib.sha256(text.encode()).hexdigest()}\n{text}")


# --- class 1: a folder or entry others can write, a forged entry, the secret ---------------


def test_a_group_or_world_writable_cache_is_not_used_and_said_once(
    tmp_path, use_cache, capsys, cold
):
    root = tmp_path / "c"
    _fill(root, use_cache, tmp_path, capsys, cold)
    for entry in _entries(root):
        _forge_old_style(entry)
    for mode in (0o777, 0o770):
        root.chmod(mode)
        use_cache(root)
        code, files, err = _cli(tmp_path / "out", capsys)
        assert (code, files) == (0, cold)
        (line,) = [line for line in err.splitlines() if "cache" in line]
        assert "not using the cache" in line and "writable by group/others" in line


def test_a_kind_folder_others_can_write_is_skipped(tmp_path, use_cache, capsys, cold):
    root = tmp_path / "c"
    _fill(root, use_cache, tmp_path, capsys, cold)
    for entry in _entries(root):
        _forge_old_style(entry)
    for kind in KINDS:
        if (root / kind).is_dir():
            (root / kind).chmod(0o777)
    use_cache(root)
    assert _cli(tmp_path / "out", capsys)[:2] == (0, cold)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_cache_or_entry_owned_by_another_user_is_not_used(tmp_path, use_cache, capsys, cold):
    root = tmp_path / "c"
    _fill(root, use_cache, tmp_path, capsys, cold)
    entries = _entries(root)
    os.chown(entries[0], 65534, 65534)  # one entry: skipped, the rest still used
    use_cache(root)
    assert _cli(tmp_path / "out", capsys)[:2] == (0, cold)
    os.chown(root, 65534, 65534)  # the whole folder: not used, said once
    use_cache(root)
    code, files, err = _cli(tmp_path / "out", capsys)
    assert (code, files) == (0, cold) and err.count("not using the cache") == 1


def test_forged_entries_are_never_used(tmp_path, use_cache, capsys, cold):
    """An entry with a plain checksum, or with a MAC under another secret, is a miss."""
    root = tmp_path / "c"
    _fill(root, use_cache, tmp_path, capsys, cold)
    for entry in _entries(root):
        _forge_old_style(entry)
    use_cache(root)
    assert _cli(tmp_path / "out", capsys)[:2] == (0, cold)
    # A MAC under another user's secret: copy the entries of a second cache in.
    other = tmp_path / "other"
    _fill(other, use_cache, tmp_path, capsys, cold)
    payload = json.dumps({"m_functional.py": EVIL}).encode()
    use_cache(other)
    for entry in _entries(root):
        cache.put_bytes(entry.parent.name, entry.name, payload)
        shutil.copy(other / entry.parent.name / entry.name, entry)
    use_cache(root)
    assert _cli(tmp_path / "out", capsys)[:2] == (0, cold)
    # An authentic entry moved to another name (another key) is a miss as well.
    outputs = sorted((root / "outputs").iterdir())
    use_cache(root)
    cache.put("outputs", "0" * 64, json.dumps({"m_functional.py": EVIL}))
    for entry in outputs:
        shutil.copy(root / "outputs" / ("0" * 64), entry)
    assert _cli(tmp_path / "out", capsys)[:2] == (0, cold)


def test_an_entry_others_can_write_is_skipped(tmp_path, use_cache, capsys, cold):
    root = tmp_path / "c"
    _fill(root, use_cache, tmp_path, capsys, cold)
    use_cache(root)
    name = sorted((root / "outputs").iterdir())[0].name
    cache.put("outputs", name, json.dumps({"m_functional.py": EVIL}))  # authentic...
    (root / "outputs" / name).chmod(0o666)  # ...but anyone could have written it
    assert cache.get("outputs", name) is None
    assert _cli(tmp_path / "out", capsys)[:2] == (0, cold)


@pytest.mark.parametrize("how", ["readable", "link", "short", "folder", "fifo", "other owner"])
def test_a_secret_that_is_not_private_is_refused(tmp_path, use_cache, capsys, cold, how):
    root = tmp_path / "c"
    _fill(root, use_cache, tmp_path, capsys, cold)
    secret = root / cache.SECRET
    if how == "readable":
        secret.chmod(0o644)
    elif how == "link":
        (tmp_path / "elsewhere").write_bytes(secret.read_bytes())
        secret.unlink()
        secret.symlink_to(tmp_path / "elsewhere")
    elif how == "short":
        secret.write_bytes(b"x")
    elif how == "folder":
        secret.unlink()
        secret.mkdir()
    elif how == "fifo":
        secret.unlink()
        os.mkfifo(secret, 0o600)
    elif os.geteuid() == 0:
        os.chown(secret, 65534, 65534)
    else:
        pytest.skip("chown needs root")
    use_cache(root)
    code, files, err = _cli(tmp_path / "out", capsys)
    assert (code, files) == (0, cold)
    assert err.count("not using the cache") == 1 and "secret" in err


def test_the_secret_is_made_0600_and_entries_are_private(tmp_path, use_cache, capsys, cold):
    root = tmp_path / "c"
    _fill(root, use_cache, tmp_path, capsys, cold)
    assert stat.S_IMODE((root / cache.SECRET).stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert all(not e.stat().st_mode & 0o077 for e in _entries(root))


# --- class 5: entries that cannot be read ---------------------------------------------------

CHILD_RENDER = (
    "import json, resource, sys, specgen\n"
    "cap = int(sys.argv[2])\n"
    "if cap: resource.setrlimit(resource.RLIMIT_AS, (cap, cap))\n"
    "json.dump(specgen.render(sys.argv[1], 'all'), sys.stdout)\n"
)


def _child(cache_dir, cap=0, tree=ROOT, spec=SPEC, templates=None):
    code = CHILD_RENDER
    if templates is not None:
        code = code.replace("'all')", f"'all', templates={str(templates)!r})")
    env = {"SPECGEN_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(tree), "PATH": os.defpath}
    result = subprocess.run(
        [sys.executable, "-c", code, spec, str(cap)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_fifos_in_place_of_entries_are_skipped_not_waited_on(tmp_path):
    cold = _child("")
    root = tmp_path / "c"
    assert _child(root) == cold
    entries = _entries(root)
    for entry in entries:
        entry.unlink()
        os.mkfifo(entry, 0o600)
    assert _child(root) == cold  # timeout=120 turns a hang into a failure


def test_a_huge_entry_under_a_memory_cap_is_skipped(tmp_path):
    cold = _child("")
    root = tmp_path / "c"
    assert _child(root) == cold
    for entry in _entries(root):
        with open(entry, "r+b") as stream:
            stream.truncate(2 * 1024**3)  # sparse: 2 GiB to read, no disk used
    assert _child(root, cap=3 * 1024**3) == cold  # reading one would need 2 GiB more


# --- class 3: keys from the content of every input ------------------------------------------


@pytest.fixture
def tree(tmp_path):
    """A copy of specgen's source tree, which the tests edit as a developer would."""
    copy = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "prebuilt")
    for name in ("specgen", "templates", "schemas"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    return copy


def _edit(path, old, new) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_a_template_included_from_a_subfolder_is_part_of_the_key(tmp_path):
    override = tmp_path / "templates"
    (override / "parts").mkdir(parents=True)
    packaged = (ROOT / "templates" / "functional.py.jinja").read_text()
    (override / "functional.py.jinja").write_text(
        packaged.replace("import keras\n", "import keras\n{% include 'parts/extra.jinja' %}\n", 1)
    )
    (override / "parts" / "extra.jinja").write_text("# v1\n")
    root = tmp_path / "c"
    assert "# v1" in _child(root, templates=override)
    (override / "parts" / "extra.jinja").write_text("# v2\n")
    warm = _child(root, templates=override)
    assert "# v2" in warm and "# v1" not in warm
    assert warm == _child("", templates=override)


@pytest.mark.parametrize(
    "what",
    ["schema", "header code", "ruff arguments", "environment settings"],
)
def test_every_input_is_part_of_the_key(tmp_path, tree, what):
    """Edit one input of a warm cache's render; the warm render equals a cold one, and the
    edit is a miss (a new entry), not an entry made before it."""
    root = tmp_path / "c"
    _child(root, tree=tree)
    before = set(os.listdir(root / "outputs"))
    if what == "schema":
        _edit(tree / "schemas" / "model-spec.schema.json", "{", "{ ")
    elif what == "header code":
        path = tree / "specgen" / "emit" / "header.py"
        _edit(
            path,
            'return hashlib.sha256(_tree_text(tree).encode("utf-8"))',
            "return hashlib.sha256(b'2' + _tree_text(tree).encode())",
        )  # noqa: E501
    elif what == "ruff arguments":
        _edit(
            tree / "specgen" / "emit" / "format.py", '"py311")', '"py311", "--line-length", "40")'
        )
    else:
        _edit(
            tree / "specgen" / "emit" / "keys.py",
            '"lstrip_blocks": True',
            '"lstrip_blocks": False',
        )
    warm = _child(root, tree=tree)
    assert warm == _child("", tree=tree)
    assert set(os.listdir(root / "outputs")) - before


def test_the_bytecode_cache_keys_on_the_environments_settings(tmp_path, use_cache):
    """Jinja's own FileSystemBytecodeCache keys on the template's name and source only: an
    Environment with other settings would run code compiled for the first one."""
    import jinja2

    use_cache(tmp_path / "c")
    loader = jinja2.DictLoader({"t.jinja": "  {% if 1 %}x{% endif %}\n"})
    made = []
    for lstrip in (True, False, True):
        env = jinja2.Environment(loader=loader, trim_blocks=True, lstrip_blocks=lstrip)
        env.bytecode_cache = render_module._bytecode_cache(jinja2, env)
        made.append(env.get_template("t.jinja").render())
    fresh = [
        jinja2.Environment(loader=loader, trim_blocks=True, lstrip_blocks=lstrip)
        .get_template("t.jinja")
        .render()
        for lstrip in (True, False, True)
    ]
    assert made == fresh and fresh[0] != fresh[1]
    assert len(os.listdir(tmp_path / "c" / "templates")) == 2  # one entry per settings


# --- a bounded fuzz over the entries: never exit 3, never an output a cold render differs from


def _mutate(entry, rng) -> str:
    hows = ["random", "truncate", "flip", "mode", "empty", "folder", "link", "fifo"]
    how = rng.choice(hows + (["owner"] if os.geteuid() == 0 else []))
    data = entry.read_bytes() if entry.is_file() and not entry.is_symlink() else b""
    entry.unlink()
    if how == "random":
        entry.write_bytes(rng.randbytes(rng.randrange(1, 4096)))
    elif how == "truncate":
        entry.write_bytes(data[: rng.randrange(0, max(1, len(data)))])
    elif how == "flip" and data:
        at = rng.randrange(len(data))
        entry.write_bytes(data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :])
    elif how == "mode":
        entry.write_bytes(data)
        entry.chmod(rng.choice([0o666, 0o620, 0o602]))
    elif how == "folder":
        entry.mkdir()
    elif how == "link":
        entry.symlink_to("/dev/zero")
    elif how == "fifo":
        os.mkfifo(entry, 0o600)
    elif how == "owner":
        entry.write_bytes(data)
        os.chown(entry, 65534, 65534)
    else:
        entry.write_bytes(b"")
    return how


@pytest.mark.parametrize("seed", range(3))
def test_fuzzed_entries_never_change_the_output_or_crash(tmp_path, use_cache, capsys, cold, seed):
    rng = random.Random(seed)
    root = tmp_path / "c"
    _fill(root, use_cache, tmp_path, capsys, cold)
    for _ in range(4):
        entries = [e for e in _entries(root) if e.is_file() and not e.is_symlink()]
        for entry in rng.sample(entries, k=max(1, len(entries) // 2)):
            _mutate(entry, rng)
        use_cache(root)
        assert _cli(tmp_path / "out", capsys)[:2] == (0, cold)


@pytest.mark.parametrize("where", ["/dev/null/specgen", "FILE"])
def test_a_cache_folder_that_cannot_be_made_is_said_once(tmp_path, use_cache, capsys, cold, where):
    if where == "FILE":
        where = tmp_path / "file"
        where.write_text("")
    use_cache(where)
    code, files, err = _cli(tmp_path / "out", capsys)
    assert (code, files) == (0, cold) and err.count("not using the cache") == 1
