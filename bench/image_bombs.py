"""Peak memory (max RSS) of one process reading a decompression bomb: a 1 MB PNG that
declares 20000x20000 pixels (1.2 GB decoded), through the generated scripts' image
decoder (which reads the header and refuses it) against tf.io.decode_image (what
keras.utils.image_dataset_from_directory calls), and against a process that imports
TensorFlow and decodes nothing, each in a fresh process, side by side in this one run.

    python bench/image_bombs.py [--side 20000]
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

READ = """
import resource, sys
sys.path.insert(0, {templates!r})
import tensorflow as tf
import specgen_images
path, how = {path!r}, {how!r}
data = tf.data.Dataset.from_tensor_slices([path]).batch(1)
if how == "specgen":
    data = data.map(specgen_images.image_decoder((8, 8), 3))
elif how == "tf.io.decode_image":
    data = data.map(lambda p: tf.io.decode_image(tf.io.read_file(p[0]), 3))
outcome = "read"
try:
    list(data)
except tf.errors.OpError:
    outcome = "refused"
print(outcome, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _bomb(path: Path, side: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    compress = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * side)
    rows = b"".join(compress.compress(row) for _ in range(side)) + compress.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bomb.png"
        _bomb(path, args.side)
        size = path.stat().st_size / 2**20
        print(f"a {size:.1f} MB PNG declaring {args.side}x{args.side} RGB pixels "
              f"({3 * args.side**2 / 2**30:.1f} GiB decoded): peak RSS")  # fmt: skip
        peaks = {}
        for how in ("nothing (TensorFlow imported)", "specgen", "tf.io.decode_image"):
            code = READ.format(templates=str(ROOT / "templates"), path=str(path), how=how)
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.split()
            peaks[how] = float(out[-1])
            print(f"  {how:32s} {out[-2]:8s} {peaks[how]:7.0f} MB")
        base = peaks["nothing (TensorFlow imported)"]
        guard = peaks["specgen"] / base
        plain = peaks["tf.io.decode_image"] / base
        print(f"  specgen: {guard:.2f}x the peak of decoding nothing; "
              f"tf.io.decode_image: {plain:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
