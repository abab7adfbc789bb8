"""Images for the generated training scripts (rendered once per folder): an encoded
PNG, JPEG, GIF or BMP decoded to float32 pixels of the model's size, once its header
says how many pixels it holds. A small file can declare billions (an image of one colour
compresses 1000:1: 1 MB of PNG is 1.2 GB of pixels); decoding it would take the
machine's memory."""

import struct

import numpy as np
import tensorflow as tf

# PIL's decompression bomb limit (twice its warning's): 716 MB as RGBA bytes, more than
# any camera's photo.
MAX_IMAGE_PIXELS = 178_956_970
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # an image folder's files
COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}  # by the input's channels


def decode_images(encoded, size, channels, guarded=True):
    """A batch of PNG, JPEG, GIF or BMP files' bytes as float32 pixels [n, *size,
    channels], values as stored (0..255). `guarded`: one of another format, or
    declaring more than MAX_IMAGE_PIXELS, is an InvalidArgumentError that says so,
    before any is decoded (the checking pass before training guards; the epochs decode
    the files it passed without reading their headers again, 40% of the time a file)."""
    if not guarded:
        return tf.map_fn(
            lambda one: _decoded(one, size, channels),
            encoded,
            fn_output_signature=tf.TensorSpec((*size, channels), tf.float32),
        )
    pixels = declared_pixels(encoded)
    known = tf.debugging.Assert(
        tf.reduce_all(pixels >= 0), ["not a PNG, JPEG, GIF or BMP image"]
    )
    bounded = tf.debugging.Assert(
        tf.reduce_all(pixels <= MAX_IMAGE_PIXELS),
        [f"declares more than MAX_IMAGE_PIXELS ({MAX_IMAGE_PIXELS:,}) pixels"],
    )
    with tf.control_dependencies([known, bounded]):
        return decode_images(tf.identity(encoded), size, channels, guarded=False)


def _decoded(encoded, size, channels):
    image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
    image = tf.image.resize(image, size)
    image.set_shape((*size, channels))
    return image


def image_decoder(size, channels, guarded=True):
    """A batch of image files' paths -> their pixels, float32 [n, *size, channels]
    (`guarded` as for decode_images)."""
    one = tf.TensorSpec((*size, channels), tf.float32)

    def read_and_decode(path):  # one loop over the files, not two
        return _decoded(tf.io.read_file(path), size, channels)

    def decode(paths):
        if not guarded:
            return tf.map_fn(read_and_decode, paths, fn_output_signature=one)
        encoded = tf.map_fn(tf.io.read_file, paths, fn_output_signature=tf.string)
        return decode_images(encoded, size, channels)

    return decode


def declared_pixels(encoded):
    """The pixels each of a batch of encoded images' headers says TensorFlow will
    decode (int64; every frame of a GIF), -1 for bytes of a format not read here, 0
    for a header cut short (the decoder fails on it)."""
    pixels = tf.numpy_function(_declared, [encoded], tf.int64, stateful=False)
    return tf.reshape(pixels, tf.shape(encoded))


def _declared(encoded):
    return np.array([_pixels(bytes(data)) for data in encoded.ravel()], np.int64)


def _pixels(data):
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        width, height = struct.unpack(">II", data[16:24].ljust(8, b"\0"))
        return width * height
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg_pixels(data)
    if data.startswith(b"GIF8"):
        return _gif_pixels(data)
    if data.startswith(b"BM"):  # a negative height: rows stored top-down
        width, height = struct.unpack("<ii", data[18:26].ljust(8, b"\0"))
        return abs(width * height)
    return -1


def _jpeg_pixels(data):
    """The size in the first frame header (SOFn), past the segments before it."""
    at = 2
    while at + 9 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
            at += 1 if marker == 0xFF else 2
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width * height
        else:
            at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return 0


def _gif_pixels(data):
    """Every frame at the largest frame's size, as TensorFlow's GIF decoder reads them
    (all frames, even for the first alone; the header's screen size plays no part)."""
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
    return frames * width * height


def _color_table(data, flags_at):
    flags = data[flags_at] if flags_at < len(data) else 0
    return 3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0


def _past_sub_blocks(data, at):
    while data[at]:
        at += data[at] + 1
    return at + 1
