"""Images for the generated training scripts (rendered once per folder): an encoded
PNG, JPEG, GIF or BMP decoded to float32 pixels of the model's size, once its header
says how many pixels it holds. A small file can declare billions (an image of one colour
compresses 1000:1: 1 MB of PNG is 1.2 GB of pixels); decoding it would take the
machine's memory."""

import re
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
    channels], values as stored (0..255). `guarded`: each image's header read first;
    one of another format, or declaring more than MAX_IMAGE_PIXELS, is an
    InvalidArgumentError that says so, before it is decoded (the checking pass before
    training guards; the epochs decode the files it passed without reading their
    headers again: the guard costs ~50 us a file, a 32x32 PNG's decoding ~40 us)."""
    decode = _guarded if guarded else _decoded
    return tf.map_fn(
        lambda one: decode(one, size, channels),
        encoded,
        fn_output_signature=tf.TensorSpec((*size, channels), tf.float32),
    )


def image_decoder(size, channels, guarded=True):
    """A batch of image files' paths -> their pixels, float32 [n, *size, channels]
    (`guarded` as for decode_images). One file at a time is read: a batch of photos
    is never in memory encoded."""
    decode = _guarded if guarded else _decoded
    return lambda paths: tf.map_fn(
        lambda path: decode(tf.io.read_file(path), size, channels),
        paths,
        fn_output_signature=tf.TensorSpec((*size, channels), tf.float32),
    )


def _decoded(encoded, size, channels):
    image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
    image = tf.image.resize(image, size)
    image.set_shape((*size, channels))
    return image


def _guarded(encoded, size, channels):
    pixels = declared_pixels(encoded)
    known = tf.debugging.Assert(pixels >= 0, ["not a PNG, JPEG, GIF or BMP image"])
    bounded = tf.debugging.Assert(
        pixels <= MAX_IMAGE_PIXELS,
        [f"declares more than MAX_IMAGE_PIXELS ({MAX_IMAGE_PIXELS:,}) pixels"],
    )
    with tf.control_dependencies([known, bounded]):
        return _decoded(tf.identity(encoded), size, channels)


def declared_pixels(encoded):
    """The pixels an encoded image's header (or a batch's) says TensorFlow will decode
    (int64; a GIF's frames all count), -1 for bytes of a format not read here or a
    JPEG with no frame header, 0 for a header cut short (the decoder fails on it)."""
    pixels = tf.numpy_function(_declared, [encoded], tf.int64, stateful=False)
    return tf.reshape(pixels, tf.shape(encoded))


def _declared(encoded):
    encoded = np.asarray(encoded, dtype=object).ravel()  # bytes, in a graph
    return np.array([_pixels(bytes(data)) for data in encoded], np.int64)


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


# A marker as libjpeg finds the next one: any bytes before it skipped, any run of 0xFF
# fill bytes, FF 00 (a stuffed zero) not a marker.
_JPEG_MARKER = re.compile(rb"\xff+([^\x00\xff])")
_JPEG_FRAMES = {*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}  # SOFn; not DHT, JPG, DAC
_JPEG_ALONE = {0x01, *range(0xD0, 0xD9)}  # TEM, RSTn, SOI: no length


def _jpeg_pixels(data):
    """The size in the first frame header (SOFn), found past the segments before it
    as libjpeg finds it; -1 when a scan or the end comes first."""
    at = 2
    while found := _JPEG_MARKER.search(data, at):
        marker, at = found.group(1)[0], found.end()
        if marker in _JPEG_FRAMES:
            if at + 7 > len(data):
                return 0
            height, width = struct.unpack(">HH", data[at + 3 : at + 7])
            return width * height
        if marker in (0xD9, 0xDA):  # EOI, SOS: no frame header before
            return -1
        if marker not in _JPEG_ALONE:  # a length under 2 skips the length alone
            at += max(2, int.from_bytes(data[at : at + 2], "big"))
    return -1


def _gif_pixels(data):
    """The largest frame's pixels (TensorFlow's output, whatever the header's screen
    size) or, if more, every frame's raster as RGB pixels: giflib decodes them all, a
    byte a pixel, even for the first frame alone."""
    rasters = width = height = 0
    at = 13 + _color_table(data, 10)
    try:
        while data[at] != 0x3B:  # the trailer
            if data[at] == 0x21:  # an extension: its label, then data sub-blocks
                at = _past_sub_blocks(data, at + 2)
            elif data[at] == 0x2C:  # a frame: its descriptor, colours, LZW data
                size = (
                    data[at + 5] | data[at + 6] << 8,
                    data[at + 7] | data[at + 8] << 8,
                )
                rasters += size[0] * size[1]
                width, height = max(width, size[0]), max(height, size[1])
                at = _past_sub_blocks(data, at + 11 + _color_table(data, at + 9))
            else:
                break  # not GIF: the decoder fails on it
    except IndexError:  # cut short: counted as far as it goes
        pass
    return max(width * height, -(-rasters // 3))


def _color_table(data, flags_at):
    flags = data[flags_at] if flags_at < len(data) else 0
    return 3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0


def _past_sub_blocks(data, at):
    while data[at]:
        at += data[at] + 1
    return at + 1
