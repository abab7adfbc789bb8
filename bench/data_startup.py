"""What a training script does before its first step, at scale: list the data, check
every file or record (and count the records), hash the data for the run's fingerprint.
A first start reads everything; a restart on unchanged files reads only what the first
left in RUN_DIR/data-facts.json (a stat of each file). Measured side by side in this one
run, for an image folder and for the same images as TFRecord shards (PNG bytes).

    python bench/data_startup.py [--images 20000] [--size 32]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from data_streaming import folder_arrays, script_for, spec, write_images, write_tfrecords  # noqa: E402


def _start(script: Path, run_dir: Path) -> float:
    """Seconds from nothing read to the data checked and the run's fingerprint known,
    as train() gets there; the facts are then kept as train() keeps them."""
    sys.path.insert(0, str(script.parent))
    module = importlib.import_module(script.stem)
    runtime = module.cli.runtime(module.__package__)
    args = module.parse_args(["--quiet", "--run-dir", str(run_dir)])
    start = time.perf_counter()
    facts = runtime.Facts(args.run_dir)
    runtime.load_data(module.SETTINGS, args, facts)
    runtime._fingerprint(module.SETTINGS, args, facts)
    seconds = time.perf_counter() - start
    run_dir.mkdir(parents=True, exist_ok=True)
    facts.keep()
    sys.path.remove(str(script.parent))
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "images"
        write_images(folder, args.images, args.size)
        x, y = folder_arrays(folder)
        shape = [args.size, args.size, 3]
        sources = {
            "image folder": {"image_folder": str(folder), "test_split": 0.1},
            "tfrecord, PNG bytes": {
                "tfrecord": write_tfrecords(tmp / "records", x, y, 16, png=True),
                "features": {
                    "image": {"dtype": "string", "decode": "image", "shape": shape},
                    "label": {"dtype": "int64", "shape": []},
                },
                "inputs": ["image"],
                "targets": ["label"],
                "test_split": 0.125,
            },  # fmt: skip
        }
        time.sleep(2.5)  # the facts of files changed in the last 2 s are not kept
        megabytes = sum(f.stat().st_size for f in folder.rglob("*.png")) / 2**20
        print(f"start-up before the first step: {args.images} {args.size}x{args.size} "
              f"PNGs ({megabytes:.0f} MB), 2 restarts on unchanged files")  # fmt: skip
        for index, (name, source) in enumerate(sources.items()):
            script = script_for(spec(f"start{index}", args.size, source), tmp / f"s{index}")
            run_dir = tmp / f"run{index}"
            first = _start(script, run_dir)
            again = min(_start(script, run_dir) for _ in range(2))
            print(f"  {name:22s} first start {first:7.2f} s, restart {again:6.2f} s "
                  f"({first / again:5.1f}x faster)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
