"""Rendering speed: a code generator must start in milliseconds and scale linearly.

1. `specgen render` of one spec as a whole process against `python -c "import tensorflow"`,
   interleaved, best of N, and the ratios (goal: >= 40x faster). specgen runs as users get it:
   a wheel built from this checkout (with its prebuilt templates, specgen/emit/prebuilt.py) and
   installed into a temporary folder, bytecode compiled as pip compiles it. Measured with
   specgen's cache warm (a re-render) and cold (the cache off, as on a fresh CI machine), and
   cold from the source checkout (no prebuilt templates). Then where one cold render's time
   goes.
2. The in-process API rendering the CIFAR-100 spec in all styles (goal: < 50 ms).
3. 20 / 200 / 2,000-layer chains rendered as a whole process (goal: 2,000 in < 2 s), and the
   2,000-layer functional module built in Keras (--no-build skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import specgen  # noqa: E402

CIFAR = ROOT / "specs" / "cifar100.json"


# As an installed package runs: pip compiles bytecode at install time, so the benchmark lets
# Python write and reuse it even where PYTHONDONTWRITEBYTECODE is set (TensorFlow's is
# precompiled in site-packages either way).
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def seconds(command: list[str], env: dict | None = None, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env or BASE_ENV, cwd=cwd)
    return time.perf_counter() - start


def chain(layers: int) -> dict:
    body = [{"type": "Dense", "units": 8, "activation": "relu"} for _ in range(layers - 1)]
    return {
        "name": f"chain_{layers}",
        "seed": 0,
        "inputs": [{"name": "features", "shape": [8]}],
        "layers": [*body, {"type": "Dense", "units": 1}],
    }


def install_wheel(folder: Path) -> Path:
    """Build this checkout's wheel and install it (no dependencies) into folder/site."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    dist, site = folder / "dist", folder / "site"
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("specgen-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="specgen-bench-"))
    site = install_wheel(out)
    installed = dict(BASE_ENV, PYTHONPATH=str(site))
    checkout = dict(BASE_ENV, PYTHONPATH=str(ROOT), SPECGEN_CACHE_DIR="")
    specgen_cli = [sys.executable, "-m", "specgen.cli"]
    render = [*specgen_cli, "render", str(CIFAR), "--style", "subclass"]
    render += ["--out", str(out / "generated"), "--force"]
    tf_import = [sys.executable, "-c", "import tensorflow"]
    rows = {
        "warm cache": (render, installed),
        "cold, no cache": (render, dict(installed, SPECGEN_CACHE_DIR="")),
        "cold, checkout": (render, checkout),
    }
    seconds(render, installed)  # fill the cache
    times: dict[str, list[float]] = {label: [] for label in rows}
    imports = []
    for _ in range(args.rounds):
        for label, (command, env) in rows.items():
            times[label].append(seconds(command, env, cwd=out))
        imports.append(seconds(tf_import))
    best_import = min(imports)
    bare = min(seconds([sys.executable, "-c", "pass"]) for _ in range(args.rounds))
    print(f"python -c 'import tensorflow'          {best_import * 1000:8.1f} ms", end="")
    print(f"  (best of {args.rounds})")
    for label, measured in times.items():
        best = min(measured)
        print(
            f"specgen render ({label:14s})   {best * 1000:8.1f} ms  "
            f"{best_import / best:6.1f}x faster (goal >= 40x)"
        )
    print(f"python -c pass (interpreter + site)    {bare * 1000:8.1f} ms")
    cold_env = dict(installed, SPECGEN_CACHE_DIR="")
    print(f"\nwhere a cold one-spec render's time goes (in process, best of {args.rounds} runs):")
    phases: dict[str, float] = {}
    for _ in range(args.rounds):
        lines = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("render_phases.py")), str(CIFAR)],
            check=True,
            capture_output=True,
            text=True,
            env=cold_env,
        ).stdout.splitlines()
        for label, ms in (line.split("\t") for line in lines):
            phases[label] = min(phases.get(label, float("inf")), float(ms))
    for label, ms in phases.items():
        print(f"  {label:52s} {ms:7.1f} ms")
    print(f"  {'sum':52s} {sum(phases.values()):7.1f} ms")

    specgen.render(CIFAR, "all")  # warm: templates compiled, schema loaded
    times = []
    for _ in range(20):
        start = time.perf_counter()
        specgen.render(CIFAR, "all")
        times.append(time.perf_counter() - start)
    print(
        f"\nspecgen.render(cifar100, 'all') in process: {min(times) * 1000:.1f} ms best, "
        f"{sorted(times)[len(times) // 2] * 1000:.1f} ms median of 20 (goal < 50 ms)"
    )

    print("\nchain length   render (whole process, installed, no cache)   per layer")
    for layers in (20, 200, 2000):
        spec = out / f"chain_{layers}.json"
        spec.write_text(json.dumps(chain(layers)))
        best = min(
            seconds(
                [
                    *specgen_cli,
                    "render",
                    str(spec),
                    "--style",
                    "functional",
                    "--out",
                    str(out),
                    "--force",
                ],
                cold_env,
            )
            for _ in range(3)
        )
        print(f"{layers:12d}   {best * 1000:40.1f} ms   {best / layers * 1e6:8.1f} us")
    if not args.no_build:
        start = time.perf_counter()
        build = (
            "import sys; sys.path.insert(0, sys.argv[1]); import chain_2000_functional as m;"
            " print(m.build_model().count_params())"
        )
        count = subprocess.run(
            [sys.executable, "-c", build, str(out)], check=True, capture_output=True, text=True
        ).stdout.strip()
        print(
            f"\n2,000-layer functional module built in Keras: {count} params,"
            f" {time.perf_counter() - start:.1f} s (process)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
