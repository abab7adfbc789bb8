"""Images for the generated training scripts (rendered once per folder): an encoded
PNG, JPEG, GIF or BMP decoded to float32 pixels of the model's size, once its header
says how many pixels it holds. A small file can declare billions (an image of one colour
compresses 1000:1: 1 MB of PNG is 1.2 GB of pixels); decoding it would take the
machine's memory."""

import numpy as np
import tensorflow as tf

# PIL's decompression bomb limit (twice its warning's): 716 MB as RGBA bytes, more than
# any camera's photo.
MAX_IMAGE_PIXELS = 178_956_970
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # an image folder's files
COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}  # by the input's channels

_HEAD = 32  # bytes: the longest fixed-place header read (BMP's, 26)


def decode_image(encoded, size, channels):
    """A PNG, JPEG, GIF or BMP file's bytes as float32 pixels of `size`, values as
    stored (0..255); one of another format, or declaring over MAX_IMAGE_PIXELS, is an
    InvalidArgumentError that says so, raised before anything is decoded."""
    pixels = declared_pixels(encoded)
    known = tf.debugging.Assert(pixels >= 0, ["not a PNG, JPEG, GIF or BMP image"])
    bounded = tf.debugging.Assert(
        pixels <= MAX_IMAGE_PIXELS,
        [f"declares more than MAX_IMAGE_PIXELS ({MAX_IMAGE_PIXELS:,}) pixels"],
    )
    with tf.control_dependencies([known, bounded]):
        image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
    image = tf.image.resize(image, size)
    image.set_shape((*size, channels))
    return image


def image_decoder(size, channels):
    """A batch of image files' paths -> their pixels, float32 [n, *size, channels]."""
    one = tf.TensorSpec((*size, channels), tf.float32)

    def decode(paths):
        return tf.map_fn(
            lambda path: decode_image(tf.io.read_file(path), size, channels),
            paths,
            fn_output_signature=one,
        )

    return decode


def declared_pixels(encoded):
    """The pixels an encoded image's header says TensorFlow will decode (int64; every
    frame of a GIF), or -1 for bytes of no format that decode_image reads here."""
    head = tf.strings.substr(tf.strings.join([encoded, b"\0" * _HEAD]), 0, _HEAD)
    byte = tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)

    def number(first, count, big_endian):
        places = range(count - 1, -1, -1) if big_endian else range(count)
        return sum(byte[first + i] * 256**place for i, place in enumerate(places))

    def starts(magic):
        return tf.equal(tf.strings.substr(encoded, 0, len(magic)), magic)

    def png():
        return number(16, 4, True) * number(20, 4, True)

    def bmp():
        height = number(22, 4, False)  # negative (as int32) for a top-down image
        height = tf.where(height >= 2**31, 2**32 - height, height)
        return number(18, 4, False) * height

    def jpeg():
        return tf.reduce_prod(
            tf.cast(tf.image.extract_jpeg_shape(encoded)[:2], "int64")
        )

    def gif():
        pixels = tf.numpy_function(_gif_pixels, [encoded], tf.int64, stateful=False)
        return tf.reshape(pixels, [])

    return tf.case(
        [
            (starts(b"\x89PNG\r\n\x1a\n"), png),
            (starts(b"\xff\xd8\xff"), jpeg),
            (starts(b"GIF8"), gif),
            (starts(b"BM"), bmp),
        ],
        default=lambda: tf.constant(-1, tf.int64),
    )


def _gif_pixels(data):
    """Every frame at the largest frame's size, as TensorFlow's GIF decoder reads them
    (all frames, even for the first alone; the header's screen size plays no part)."""
    data = data.item() if isinstance(data, np.ndarray) else data  # a 0-d array eagerly
    frames = width = height = 0
    at = 13 + _color_table(data, 10)
    try:
        while data[at] != 0x3B:  # the trailer
            if data[at] == 0x21:  # an extension: its label, then data sub-blocks
                at = _past_sub_blocks(data, at + 2)
            elif data[at] == 0x2C:  # a frame: its descriptor, colours, LZW data
                frames += 1
                width = max(width, data[at + 5] | data[at + 6] << 8)
                height = max(height, data[at + 7] | data[at + 8] << 8)
                at = _past_sub_blocks(data, at + 11 + _color_table(data, at + 9))
            else:
                break  # not GIF: the decoder fails on it
    except IndexError:  # cut short: counted as far as it goes
        pass
    return np.int64(frames * width * height)


def _color_table(data, flags_at):
    flags = data[flags_at] if flags_at < len(data) else 0
    return 3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0


def _past_sub_blocks(data, at):
    while data[at]:
        at += data[at] + 1
    return at + 1
