"""Images that would take the machine's memory (issue 20, hostile inputs): a file's header
says how many pixels it decodes to, and one declaring more than MAX_IMAGE_PIXELS (PIL's
decompression bomb limit) is refused before anything is decoded, by name, as is a file
of a format decode_image reads but an image folder does not (WebP, JPEG XL). Every
crafted header here declares its pixels over little data, so that decoding it without
the guard fails too, after allocating at most 1.6 GB: the messages tell the two apart."""

from __future__ import annotations

import io
import struct
import sys
import zlib

import numpy as np
import pytest
from test_data_sources import IMAGE_LAYERS, _images, _main, _script, _spec
from test_record_features import _record_spec, _shards, _write

Image = pytest.importorskip("PIL.Image")
tf = pytest.importorskip("tensorflow")

BOMB = "declares more than MAX_IMAGE_PIXELS (178,956,970) pixels"
FOREIGN = "not a PNG, JPEG, GIF or BMP image"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data))
    return struct.pack(">I", len(data)) + kind + data + crc


def _png(width: int, height: int) -> bytes:
    """A PNG header declaring width x height RGB pixels, then a few rows' data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + 3 * width) * 2)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows)


def _gif(frames: list[tuple[int, int]]) -> bytes:
    """A GIF of a 1x1 screen (which TensorFlow's decoder ignores) holding frames of
    these sizes, each with one short LZW sub-block, a comment extension between them."""
    out = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0" * 6  # 2 colours
    for width, height in frames:
        out += b"\x21\xfe\x03abc\x00"  # a comment: an extension's sub-blocks skipped
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
        out += b"\x02\x02\x4c\x01\x00"  # LZW code size 2, one sub-block, terminator
    return out + b"\x3b"


def _jpeg(width: int, height: int, junk: bytes = b"") -> bytes:
    """A real 8x8 JPEG whose frame header (SOF0) is made to declare width x height,
    `junk` put after its first segment."""
    stream = io.BytesIO()
    Image.new("RGB", (8, 8)).save(stream, "JPEG")
    data = bytearray(stream.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    first = 4 + int.from_bytes(data[4:6], "big")  # past SOI and APP0
    return bytes(data[:first] + junk + data[first:])


def _bmp(width: int, height: int) -> bytes:
    """A BMP header declaring width x height (negative: top-down) 24-bit pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, 54) + info + b"\0" * 64


def _encoded(fmt: str, pixels: np.ndarray, **save) -> bytes:
    stream = io.BytesIO()
    Image.fromarray(pixels).save(stream, fmt, **save)
    return stream.getvalue()


@pytest.fixture(scope="module")
def images_module(tmp_path_factory):
    """specgen_images as a rendered folder holds it."""
    folder = tmp_path_factory.mktemp("render")
    spec = _spec("img", [{"name": "image", "shape": [8, 8, 3]}], IMAGE_LAYERS,
                 {"image_folder": str(folder / "none")})  # fmt: skip
    script = _script(spec, folder)
    runtime = script.cli.runtime(script.__package__)
    return sys.modules[runtime.load_data.__module__.replace("_data", "_images")]


def test_headers_declare_what_tensorflow_decodes(images_module):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    frames = [Image.fromarray(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8))
              for _ in range(4)]  # fmt: skip
    animated = io.BytesIO()
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:])
    top_down = bytearray(_encoded("BMP", pixels))
    top_down[22:26] = struct.pack("<i", -7)
    cases = {
        "png": (_encoded("PNG", pixels), 35),
        "jpeg": (_encoded("JPEG", pixels), 35),
        "gif": (_encoded("GIF", pixels), 35),
        "bmp": (_encoded("BMP", pixels), 35),
        "top-down bmp": (bytes(top_down), 35),
        # Every frame's raster is decoded, a byte a pixel: counted as RGB pixels.
        "4-frame gif": (animated.getvalue(), 4 * 9 * 11 // 3),
        "crafted gif": (_gif([(3, 2), (5, 4)]), 5 * 4),  # the largest frame's, if more
        # libjpeg skips bytes between segments and reads a length under 2 as 2.
        "jpeg, a stray byte": (_jpeg(7, 5, b"\0"), 35),
        "jpeg, a length of 0": (_jpeg(7, 5, b"\xff\xe1\x00\x00"), 35),
        "jpeg, no frame": (b"\xff\xd8\xff\xda\x00\x02\xff\xd9", -1),
        "webp": (_encoded("WEBP", pixels), -1),
        "text": (b"hello", -1),
        "empty": (b"", -1),
    }
    for name, (data, expected) in cases.items():
        declared = int(images_module.declared_pixels(tf.constant([data]))[0])
        assert declared == expected, (name, declared)
    # Lossless: exactly as written (the top-down BMP's rows, stored bottom-up, flipped).
    for name, written in [("png", pixels), ("gif", pixels), ("bmp", pixels),
                          ("top-down bmp", pixels[::-1])]:  # fmt: skip
        data, _ = cases[name]
        decoded = images_module.decode_images(tf.constant([data]), (7, 5), 3)[0].numpy()
        np.testing.assert_array_equal(decoded, written, err_msg=name)


BOMBS = {
    "png.png": _png(20000, 20000),
    "jpeg.jpg": _jpeg(15000, 12000),
    "stray.jpg": _jpeg(15000, 12000, b"\0\xff\x00"),  # libjpeg skips it to the frame
    "gif.gif": _gif([(10000, 8000)] * 7),  # 7 frames, each under the limit
    "bmp.bmp": _bmp(15000, -12000),
}


@pytest.mark.parametrize(("name", "message"), [*((n, BOMB) for n in BOMBS), ("x.png", FOREIGN)])
def test_an_image_folder_refuses_a_bomb_by_name(name, message, tmp_path, capsys):
    images = _images(tmp_path / "images", 2, 3)
    rng = np.random.default_rng(1)
    data = BOMBS.get(name) or _encoded("WEBP", rng.integers(0, 256, (8, 8, 3), np.uint8))
    (images / "c1" / name).write_bytes(data)
    spec = _spec("img", [{"name": "image", "shape": [8, 8, 3]}], IMAGE_LAYERS,
                 {"image_folder": str(images), "test_split": 0.25})  # fmt: skip
    code, err, _ = _main(_script(spec, tmp_path), capsys, tmp_path / "run")
    assert code == 1 and err.count("\n") == 1, err
    assert err == f"error: cannot read {images / 'c1' / name}: {message}\n", err


def test_a_record_holding_a_bomb_is_named(tmp_path, capsys):
    folder = tmp_path / "shards"
    _shards(folder, "image", shards=3)
    good = _encoded("PNG", np.zeros((4, 4, 3), np.uint8))
    _write(folder / "part-001.tfrecord", [(good, 0), (BOMBS["png.png"], 1), (good, 0)])
    script = _script(_record_spec(folder, "image"), folder)
    code, err, _ = _main(script, capsys, folder / "run")
    assert code == 1 and err.count("\n") == 1, err
    assert err == f"error: {folder / 'part-001.tfrecord'}, record 1: {BOMB}\n", err
