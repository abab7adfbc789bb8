"""Rendering speed: a code generator must start in milliseconds and scale linearly.

1. `specgen render` as a whole process against `python -c "import tensorflow"`, interleaved,
   best of N, and the ratio (goal: >= 20x faster).
2. The in-process API rendering the CIFAR-100 spec in all styles (goal: < 50 ms).
3. 20 / 200 / 2,000-layer chains rendered as a whole process (goal: 2,000 in < 2 s), and the
   2,000-layer functional module built in Keras (--no-build skips it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import specgen  # noqa: E402

CIFAR = ROOT / "specs" / "cifar100.json"


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def chain(layers: int) -> dict:
    body = [{"type": "Dense", "units": 8, "activation": "relu"} for _ in range(layers - 1)]
    return {
        "name": f"chain_{layers}",
        "seed": 0,
        "inputs": [{"name": "features", "shape": [8]}],
        "layers": [*body, {"type": "Dense", "units": 1}],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="specgen-bench-"))
    specgen_cli = [sys.executable, "-m", "specgen.cli"]
    render = [
        *specgen_cli,
        "render",
        str(CIFAR),
        "--style",
        "subclass",
        "--out",
        str(out),
        "--force",
    ]
    tf_import = [sys.executable, "-c", "import tensorflow"]
    renders, imports = [], []
    for _ in range(args.rounds):
        renders.append(seconds(render))
        imports.append(seconds(tf_import))
    best_render, best_import = min(renders), min(imports)
    print(f"specgen render (whole process)   {best_render * 1000:8.1f} ms  (best of {args.rounds})")
    print(f"python -c 'import tensorflow'    {best_import * 1000:8.1f} ms")
    print(
        f"ratio                            {best_import / best_render:8.1f}x faster (goal >= 20x)"
    )

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

    print("\nchain length   render (whole process)   per layer")
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
                ]
            )
            for _ in range(3)
        )
        print(f"{layers:12d}   {best * 1000:18.1f} ms   {best / layers * 1e6:8.1f} us")
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
