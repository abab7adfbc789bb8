"""Issue 12: what a render may write. Links, foreign files, modes, two specs claiming one file,
and all-or-none under SIGINT, SIGTERM, SIGKILL and concurrent renders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

import specgen
from specgen.cli import main
from specgen.emit import write as writing

SPEC = {
    "name": "m",
    "inputs": [{"name": "x", "shape": [2]}],
    "layers": [{"type": "Dense", "units": 1, "activation": "relu"}],
}
OTHER = {**SPEC, "layers": [{"type": "Dense", "units": 1, "activation": "tanh"}]}


def files(spec=SPEC):
    return specgen.render(spec, "all")


def write(folder, spec=SPEC, force=False):
    return writing.write_all(writing.plan(folder, files(spec)), force=force)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_link_at_a_target_is_never_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "m_functional.py").symlink_to(secret)
    with pytest.raises(writing.OutputConflict, match="symbolic link"):
        write(out)
    write(out, force=True)  # --force replaces the link itself, never what it points to
    assert secret.read_text() == "keep me"
    assert not (out / "m_functional.py").is_symlink()


def test_an_output_linked_to_another_output_gets_its_own_code(tmp_path):
    write(tmp_path)
    target = tmp_path / "m_subclass.py"
    target.unlink()
    target.symlink_to(tmp_path / "m_functional.py")
    write(tmp_path, force=True)
    assert "keras.Model):" in target.read_text()
    assert "keras.Model):" not in (tmp_path / "m_functional.py").read_text()


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_target_that_is_not_a_regular_file_is_refused_even_with_force(tmp_path, kind):
    target = tmp_path / "m_functional.py"
    target.mkdir() if kind == "folder" else os.mkfifo(target)
    with pytest.raises(writing.OutputProblem, match="refusing to replace"):
        write(tmp_path, force=True)


def test_rerendering_keeps_the_file_mode(tmp_path):
    write(tmp_path)
    target = tmp_path / "m_functional.py"
    target.chmod(0o644)
    write(tmp_path, OTHER)
    assert target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o640)
    write(tmp_path, SPEC)
    assert target.stat().st_mode & 0o777 == 0o640


def test_two_specs_claiming_one_file_is_an_error_naming_both(tmp_path, capsys):
    training = json.loads((ROOT / "specs" / "tiny_regression.json").read_text())
    first = tmp_path / "a.json"
    # train_functional.py: the first's functional module, the second's training script.
    first.write_text(json.dumps({**training, "name": "train"}))
    second = tmp_path / "b.json"
    second.write_text(json.dumps({**training, "name": "functional"}))
    same = tmp_path / "c.json"
    same.write_text(second.read_text())
    for specs in ([first, second], [second, same]):
        assert main(["render", *map(str, specs), "--out", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert str(specs[0]) in err and str(specs[1]) in err and "also writes" in err
        assert main(["render", *map(str, specs), "--out", str(tmp_path / "o"), "--check"]) == 1
        capsys.readouterr()
    assert not (tmp_path / "out").exists()
    # The same file named twice renders once.
    assert main(["render", str(second), str(second), "--out", str(tmp_path / "out")]) == 0


def test_leftover_temporaries_are_removed_by_the_next_render(tmp_path):
    write(tmp_path)
    (tmp_path / f".m_functional.py{writing.TEMP_MARK}abcd.tmp").write_text("half")
    write(tmp_path, OTHER)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files(OTHER))


CHILD = """
import os, signal, sys
# A shell starts a background job with SIGINT ignored, and the child would inherit that:
# the test is about a process that SIGINT stops.
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {root!r})
import specgen
from specgen.emit import write as w
spec = {spec!r}
files = specgen.render(spec, "all")
real = os.replace
count = [0]
def replace(src, dst):
    if str(dst).endswith(".py"):
        count[0] += 1
        if count[0] == 2:
            os.kill(os.getpid(), signal.{signal})
    return real(src, dst)
os.replace = replace
w.write_all(w.plan(w.Path({folder!r}), files))
print("returned")
"""


def run_child(folder, sig, spec=OTHER):
    code = CHILD.format(root=str(ROOT), spec=spec, signal=sig, folder=str(folder))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_during_the_renames_wait_for_the_whole_set(tmp_path, sig):
    write(tmp_path)
    result = run_child(tmp_path, sig)
    assert result.returncode != 0 and b"returned" not in result.stdout
    assert snapshot(tmp_path) == {k: v.encode() for k, v in files(OTHER).items()}


def test_after_sigkill_mid_commit_the_next_render_finishes_it(tmp_path):
    write(tmp_path)
    result = run_child(tmp_path, "SIGKILL")
    assert result.returncode == -signal.SIGKILL
    assert (tmp_path / writing.JOURNAL).exists()  # killed between two renames
    new, old = files(OTHER), files(SPEC)
    on_disk = {p.name: p.read_text() for p in tmp_path.glob("*.py")}
    assert any(on_disk[n] == new[n] for n in new) and any(on_disk[n] == old[n] for n in old)
    write(tmp_path, OTHER)  # the next render: recovers, then finds nothing stale
    assert snapshot(tmp_path) == {k: v.encode() for k, v in new.items()}


def test_concurrent_renders_never_mix_their_files(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, {root!r})
        import specgen
        from specgen.emit import write as w
        files = specgen.render({spec!r}, "all")
        for _ in range(4):
            w.write_all(w.plan(w.Path({folder!r}), files))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code.format(root=str(ROOT), spec=s, folder=str(tmp_path))]
        )
        for s in (SPEC, OTHER)
    ]
    assert [p.wait() for p in procs] == [0, 0]
    on_disk = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert on_disk in ({k: v for k, v in files(s).items()} for s in (SPEC, OTHER))


def test_plot_and_schema_do_not_clobber_foreign_files(tmp_path, capsys):
    spec = str(ROOT / "specs" / "tiny_regression.json")
    mine = tmp_path / "notes.txt"
    mine.write_text("my notes")
    for args in (["schema", "-o", str(mine)], ["plot", spec, "-o", str(tmp_path / "n.dot")]):
        if args[0] == "plot":
            (tmp_path / "n.dot").write_text("my graph")
        assert main(args) == 1
        assert "use --force" in capsys.readouterr().err
    assert mine.read_text() == "my notes" and (tmp_path / "n.dot").read_text() == "my graph"
    # Their own earlier output is replaced; --force replaces anything that is a regular file.
    assert main(["plot", spec, "-o", str(tmp_path / "p.dot")]) == 0
    (tmp_path / "p.dot").write_text((tmp_path / "p.dot").read_text() + "// old\n")
    assert main(["plot", spec, "-o", str(tmp_path / "p.dot")]) == 0
    assert main(["schema", "-o", str(mine), "--force"]) == 0
    assert main(["schema", "-o", str(mine)]) == 0
    assert main(["schema", "-o", str(tmp_path / "missing" / "s.json")]) == 1
    assert main(["schema", "-o", str(tmp_path)]) == 1
    assert "is a folder" in capsys.readouterr().err.splitlines()[-1]


def test_environment_problems_are_one_line_exit_1(tmp_path, capsys):
    spec = str(ROOT / "specs" / "tiny_regression.json")
    (tmp_path / "file").write_text("x")
    assert main(["render", spec, "--out", str(tmp_path / "file")]) == 1
    assert main(["render", spec, "--out", str(tmp_path), "--templates", "/missing"]) == 1
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(str(tmp_path) in line or "/missing" in line for line in err)


def _read_only(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


# Real refusals, no fake: the kernel's own (/proc takes no new files, /sys/kernel refuses even
# root) and a read-only folder (mode bits bind any user but root).
UNWRITABLE = {
    "proc": (lambda tmp_path: "/proc", "cannot write files here (No such file or directory)"),
    "sys": (lambda tmp_path: "/sys/kernel", "not writable ("),
    "read-only": (_read_only, "not writable (Permission denied)"),
}


@pytest.mark.parametrize("case", UNWRITABLE)
def test_an_unwritable_folder_is_one_line_naming_it(case, tmp_path, capsys):
    make, message = UNWRITABLE[case]
    if case == "read-only" and os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder: mode bits do not bind root")
    if case == "sys" and not os.path.isdir("/sys/kernel"):
        pytest.skip("no /sys/kernel here")
    folder = make(tmp_path)

    def ours():  # /proc's own entries come and go with other processes
        return sorted(n for n in os.listdir(folder) if "specgen" in n or n.endswith(".py"))

    before = ours()
    spec = str(ROOT / "specs" / "tiny_regression.json")
    assert main(["render", spec, "--out", str(folder)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{folder}: {message}"), line  # the folder given, no temporary file
    assert ours() == before


def _cli(args, cwd, umask):
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SPECGEN_CACHE_DIR": ""}
    return subprocess.run(
        [sys.executable, "-m", "specgen.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(umask),
    )


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], ids=oct)
def test_new_files_get_0666_less_the_umask(umask, tmp_path):
    """As the README says, and as `open` would give them: rendered files and `schema -o`."""
    spec = str(ROOT / "specs" / "tiny_regression.json")
    out = _cli(["render", spec, "--style", "all", "--out", "g"], tmp_path, umask)
    assert out.returncode == 0, out.stderr
    out = _cli(["schema", "-o", "schema.json"], tmp_path, umask)
    assert out.returncode == 0, out.stderr
    written = [*(tmp_path / "g").iterdir(), tmp_path / "schema.json"]
    assert len(written) > 5
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in written} == {
        p.name: oct(0o666 & ~umask) for p in written
    }
