"""Data for the generated training scripts (rendered once per folder): the spec's data
sources, synthetic data shaped by the model, checks that name the array and the shape it
needs, and the per-epoch batch order that both loops read and a resumed run reads again.
"""

import contextlib
import copy
import itertools
import json
import os
import re

import keras
import numpy as np
import tensorflow as tf

if __package__:  # this folder is a package
    from .specgen_images import (
        COLOR_MODES,
        IMAGE_FORMATS,
        MAX_IMAGE_PIXELS,
        decode_images,
        image_decoder,
    )
else:
    from specgen_images import (
        COLOR_MODES,
        IMAGE_FORMATS,
        MAX_IMAGE_PIXELS,
        decode_images,
        image_decoder,
    )


class DataError(Exception):
    """Data or a run folder that cannot be used: one line from main(), exit 1."""


def _reason(error):
    """A TensorFlow error's cause in one line, without its graph node names, its op and
    the traceback of the function it ran in."""
    lines = [line.strip() for line in (error.message or "").splitlines()]
    if lines and lines[0] == "in user code:":
        lines = [line.split("Error: ", 1)[1] for line in lines if "Error: " in line]
    text = next((line for line in lines if line), "")
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    text = re.sub(r"^Error in user-defined function .*?Iterator::\S+ ", "", text)
    said = re.search(r"assertion failed: \[(.+?)\]|Summarized data: b'(.+?)'", text)
    if said:  # one of ours (tf.debugging.Assert), run in a graph or eagerly
        return said.group(1) or said.group(2)
    return re.sub(r"\s*\[Op:.*$", "", text) or "unreadable"


def _structure(arrays, names):
    """One array as itself, several as a dict keyed by input or output name."""
    return arrays[names[0]] if len(names) == 1 else {n: arrays[n] for n in names}


def _named(value, names):
    return {names[0]: value} if len(names) == 1 else dict(value)


def synthetic_data(settings, samples, seed):
    """Random data shaped by the model's inputs, labelled as its loss expects."""
    rng = np.random.default_rng(seed)
    high = settings.vocabulary or 2

    def labels(shape, kind, rows):
        shape = tuple(8 if d is None else d for d in shape)
        units, cells = shape[-1], (rows, *shape[:-1])  # one label per position
        if kind == "class_ids":
            return rng.integers(0, units, size=cells)
        if kind == "one_hot":
            return np.eye(units, dtype="float32")[rng.integers(0, units, size=cells)]
        if kind == "binary":
            return rng.integers(0, 2, size=(rows, *shape)).astype("float32")
        return rng.normal(size=(rows, *shape)).astype("float32")

    def split(rows):
        xs = {}
        for name, (shape, dtype) in settings.inputs.items():
            shape = tuple(8 if d is None else d for d in shape)
            if dtype.startswith("int"):
                xs[name] = rng.integers(0, high, size=(rows, *shape)).astype(dtype)
            else:
                xs[name] = rng.random((rows, *shape), dtype="float32")
        ys = {
            n: labels(shape, kind, rows)
            for n, (shape, kind) in settings.outputs.items()
        }
        return _structure(xs, list(settings.inputs)), _structure(
            ys, list(settings.outputs)
        )

    return split(samples), split(max(samples // 4, 1))


def _digits():
    # scikit-learn's bundled 8x8 digits: a real data set that needs no download.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., np.newaxis]
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.2, random_state=0, stratify=digits.target
    )
    return (x_train, y_train), (x_test, y_test)


def _builtin(settings, name):
    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as error:  # keras.datasets raises plain Exception when offline
        raise DataError(
            f"cannot load the {name} data set ({error}); "
            "offline? use --data synthetic or --data PATH.npz"
        ) from error
    shape = next(iter(settings.inputs.values()))[0]
    if x_train.ndim == len(shape):  # mnist's (28, 28) images into a (28, 28, 1) input
        x_train, x_test = x_train[..., np.newaxis], x_test[..., np.newaxis]
    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0
    return (x_train, y_train.reshape(len(y_train))), (
        x_test,
        y_test.reshape(len(y_test)),
    )


def load_npz(settings, path):
    """x_train, y_train, x_test, y_test (x_train_<input>... when there are several)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as error:  # zipfile, pickle and format errors alike: a bad file
        raise DataError(
            f"cannot read {path}: {type(error).__name__}: {error}"
        ) from error

    def pick(prefix, names):
        if len(names) == 1 and prefix in arrays:
            return arrays[prefix]
        missing = [f"{prefix}_{n}" for n in names if f"{prefix}_{n}" not in arrays]
        if missing:
            raise DataError(f"{path} has no {', '.join(missing)}")
        return {n: arrays[f"{prefix}_{n}"] for n in names}

    inputs, outputs = list(settings.inputs), list(settings.outputs)
    wants_y = settings.targets != "inputs"
    train = (pick("x_train", inputs), pick("y_train", outputs) if wants_y else None)
    return train, (pick("x_test", inputs), pick("y_test", outputs) if wants_y else None)


def _inline(settings, data):
    shape = next(iter(settings.inputs.values()))[0]
    x_train = np.asarray(data["x_train"], dtype="float32").reshape(-1, *shape)
    y_train = np.asarray(data["y_train"], dtype="float32").reshape(len(x_train), -1)
    if "x_test" not in data:
        return (x_train, y_train), (x_train, y_train)
    x_test = np.asarray(data["x_test"], dtype="float32").reshape(-1, *shape)
    y_test = np.asarray(data["y_test"], dtype="float32").reshape(len(x_test), -1)
    return (x_train, y_train), (x_test, y_test)


def _linear(settings, data):
    linear = {"slope": 3.0, "intercept": 1.0, "noise": 0.2, "train": 1000, "test": 300}
    linear.update(data["synthetic_linear"])
    rng = np.random.default_rng(settings.seed)
    x = rng.normal(0.0, 1.0, size=(linear["train"] + linear["test"], 1))
    y = (
        linear["slope"] * x
        + linear["intercept"]
        + rng.normal(0.0, linear["noise"], x.shape)
    )
    x, y = x.astype("float32"), y.astype("float32")
    split = linear["train"]
    return (x[:split], y[:split]), (x[split:], y[split:])


def _split(x, y, fraction):
    """The last `fraction` of the rows held out, as Keras' validation_split does."""
    rows = len(tf.nest.flatten(x)[0])
    cut = rows - max(1, round(rows * fraction))
    head = tf.nest.map_structure(lambda a: a[:cut], (x, y))
    tail = tf.nest.map_structure(lambda a: a[cut:], (x, y))
    return head, tail


class Stream:
    """Samples read from files when a batch needs them: only the paths are in memory,
    and `decode` (a batch of paths -> their samples) runs inside the tf.data pipeline,
    one function call a batch rather than a file (half the CPU time a file)."""

    def __init__(self, paths, decode, raw=None, classes=None, files_key=None):
        self.paths, self.decode = np.asarray(paths, dtype=str), decode
        self.raw, self.classes = raw, classes  # what the saved model keeps
        self.files_key = files_key  # the training files whose vocabulary `raw` holds

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, rows):
        return Stream(
            self.paths[rows], self.decode, self.raw, self.classes, self.files_key
        )


def _files(key, path, formats):
    """Every file of a class-per-subfolder tree, sorted, with its class id."""
    if not os.path.isdir(path):
        raise DataError(f"{key} {path!r} is not a folder")
    classes = sorted(e.name for e in os.scandir(path) if e.is_dir())
    paths, labels = [], []
    for label, name in enumerate(classes):
        for folder, subfolders, names in sorted(os.walk(os.path.join(path, name))):
            subfolders.sort()
            for file in sorted(names):
                if file.lower().endswith(formats):
                    paths.append(os.path.join(folder, file))
                    labels.append(label)
    if not paths:
        raise DataError(
            f"{key} {path!r} holds no {' or '.join(formats)} files in class subfolders"
        )
    return np.asarray(paths), np.asarray(labels, dtype="int64"), classes


def _shuffled_split(paths, labels, fraction, seed):
    """A seeded shuffle of the files, the last `fraction` of them held out."""
    order = np.random.default_rng(seed).permutation(len(paths))
    paths, labels = paths[order], labels[order]
    held = int(fraction * len(paths))
    if not 0 < held < len(paths):
        raise DataError(
            f"test_split {fraction} of {len(paths)} files holds out {held}; "
            "the test and training sets each need at least one file"
        )
    cut, test = len(paths) - held, slice(len(paths) - held, None)
    return (paths[:cut], labels[:cut]), (paths[test], labels[test])


def _checked(stream, what, verbose, facts, how):
    """One streamed pass that decodes every file (`how` says how, for `facts`): a file
    that cannot be read is named here, before training, not as a traceback in the
    middle of an epoch."""

    def check():
        _check_files(stream, what, verbose)
        return True

    facts.about(["decodes", how], stream.paths, check, lambda value: value is True)


def _check_files(stream, what, verbose):
    if verbose:
        print(f"Checking {len(stream)} {what}...", flush=True)
    dataset = (
        tf.data.Dataset.from_tensor_slices(stream.paths)
        .batch(CHECKED_BATCH)
        .map(stream.decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    done = 0
    iterator = iter(dataset)
    while True:
        try:
            next(iterator)
        except StopIteration:
            return
        except tf.errors.OpError as error:
            batch = stream.paths[done : done + CHECKED_BATCH]
            raise _unreadable(stream, batch, error) from None
        done += CHECKED_BATCH


def _unreadable(stream, paths, error):
    """The first of `paths` that does not decode on its own, named."""
    for path in paths:
        try:
            stream.decode(tf.constant([path]))
        except tf.errors.OpError as failed:
            error = failed
            break
    else:
        path = f"{paths[0]} .. {paths[-1]}"
    return DataError(f"cannot read {path}: {_reason(error)}")


CHECKED_BATCH = 256


def _read_files(paths):
    return tf.map_fn(tf.io.read_file, paths, fn_output_signature=tf.string)


def _labels(settings, key, labels, mode, classes):
    shape, _ = next(iter(settings.outputs.values()))
    units = shape[-1] if shape else None
    if mode != "binary" and units not in (None, len(classes)):
        raise DataError(
            f"{key} has {len(classes)} class folders ({', '.join(classes)}); "
            f"the model's output has {units} units"
        )
    if mode == "categorical":
        return np.eye(len(classes), dtype="float32")[labels]
    if mode == "binary":
        if len(classes) != 2:
            raise DataError(
                f"label_mode binary needs two class folders; found {len(classes)}"
            )
        return labels.astype("float32")[:, np.newaxis]
    return labels


VOCABULARY = "vocabulary.json"  # in the run folder: the training texts' vocabulary


def _stamps(files):
    """Each file's (path, size, mtime, ctime, inode): what says a file is as it was.
    No write leaves all five as they were: the system sets ctime on every change."""
    stamps = []
    for file in files:
        try:
            stat = os.stat(file)
        except OSError as error:  # gone since it was listed, say
            raise DataError(f"cannot read {file}: {error.strerror}") from None
        stamps.append(
            (str(file), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        )
    return stamps


def _files_key(files):
    import hashlib

    return hashlib.sha256(json.dumps(_stamps(files)).encode()).hexdigest()


def _read_json(path):
    """A run folder's JSON file, or None: no folder, no file, a torn or foreign one."""
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except (TypeError, OSError, ValueError, RecursionError):
        return None


def _write_json(path, value):
    """Written beside `path`, then moved over it: a reader sees all or nothing."""
    part = f"{path}.part-{os.getpid()}"
    try:
        with open(part, "w", encoding="utf-8") as stream:
            json.dump(value, stream)
        os.replace(part, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise


FACTS = "data-facts.json"  # in the run folder: what the start-up passes learnt
RACY_NS = 2_000_000_000  # a file changed more recently may change again unseen


class Facts:
    """What the start-up passes over the data learnt (every file decodes, each TFRecord
    file's record count, the data's digest...), kept in the run folder keyed by the
    stamps of the files each read: a restarted run stats its files rather than read
    them all again. Not kept while a file changed in the last RACY_NS: ctime ticks
    coarsely, and a change in the same tick as the stamp would go unseen."""

    def __init__(self, run_dir=None):
        self.path = os.path.join(run_dir, FACTS) if run_dir else None
        known = _read_json(self.path)
        self.known, self.used = known if isinstance(known, dict) else {}, {}

    def about(self, what, files, learn, valid):
        """learn()'s JSON value for `files`, or the value it gave for the same `what`
        and these files as they are now, if `valid` takes it."""
        import hashlib
        import time

        now = time.time_ns()  # before the stamps: a change after them has a later ctime
        stamps = _stamps(files)
        key = hashlib.sha256(json.dumps([what, stamps]).encode()).hexdigest()
        value = self.known.get(key)
        if value is None or not valid(value):
            value = learn()
        if now - max((stamp[3] for stamp in stamps), default=0) > RACY_NS:
            self.used[key] = value
        return value

    def keep(self):
        """The facts this start used, written (atomically) into the run folder: call
        it once the folder is known to be this run's."""
        if self.path is None or self.used == self.known:
            return
        with contextlib.suppress(OSError):  # a full disk: the next start reads again
            _write_json(self.path, self.used)


def _vocabulary(vectorize, files, run_dir, verbose):
    """The vocabulary of the training texts: the one keep_vocabulary left in run_dir
    for these files (their stamps), or learnt in one streamed pass. Returns
    the files' key."""
    key = _files_key(files)
    kept = _read_json(os.path.join(run_dir, VOCABULARY) if run_dir else None)
    words = kept.get("vocabulary") if isinstance(kept, dict) else None
    listed = isinstance(words, list) and all(isinstance(w, str) for w in words)
    if listed and kept.get("files") == key:  # a str would name a file to read
        try:
            vectorize.set_vocabulary(words)
            return key
        except ValueError:  # repeated or reserved terms: not ours, learnt again
            pass
    if verbose:
        print(f"Learning the vocabulary of {len(files)} texts...", flush=True)
    texts = tf.data.Dataset.from_tensor_slices(files).map(tf.io.read_file)
    vectorize.adapt(texts.batch(256))  # streamed: the training texts only
    return key


def keep_vocabulary(pair, run_dir):
    """A text folder's vocabulary written into the run folder (atomically), so that a
    resumed run reads it rather than every training text again."""
    stream = pair[0]
    if getattr(stream, "files_key", None) is None:
        return
    words = stream.raw.get_vocabulary(include_special_tokens=False)
    kept = {"files": stream.files_key, "vocabulary": words}
    _write_json(os.path.join(run_dir, VOCABULARY), kept)


def _image_form(settings, data):
    """(size, channels) an image folder's files decode to: the spec's, else the
    model input's."""
    shape = next(iter(settings.inputs.values()))[0]
    mode = data.get("color_mode", COLOR_MODES.get(shape[-1], "rgb"))
    channels = {v: k for k, v in COLOR_MODES.items()}[mode]
    return tuple(data.get("image_size", shape[:2])), channels


def _folder(settings, data, verbose, run_dir, facts):
    """Image or text files in one subfolder per class, streamed: the files are listed
    and split here, read and decoded batch by batch while training."""
    key = "image_folder" if "image_folder" in data else "text_folder"
    path, fraction = data[key], data.get("test_split", 0.2)
    seed = settings.seed or 0
    formats = IMAGE_FORMATS if key == "image_folder" else (".txt",)
    paths, labels, classes = _files(key, path, formats)
    train, test = _shuffled_split(paths, labels, fraction, seed)
    mode = data.get("label_mode", "int")
    if key == "image_folder":
        size, channels = _image_form(settings, data)
        guarded = Stream(paths, image_decoder(size, channels))
        how = ["image", channels, MAX_IMAGE_PIXELS]  # a new limit: checked again
        _checked(guarded, f"images in {path}", verbose, facts, how)
        stream = Stream(paths, image_decoder(size, channels, guarded=False))
        return tuple(
            (
                Stream(p, stream.decode, classes=classes),
                _labels(settings, key, y, mode, classes),
            )
            for p, y in (train, test)
        )
    length = next(iter(settings.inputs.values()))[0][0] or 64
    vectorize = keras.layers.TextVectorization(
        max_tokens=settings.vocabulary, output_sequence_length=length
    )

    def utf8(files):  # what TextVectorization's standardization can read
        return tf.strings.unicode_decode(_read_files(files), "UTF-8", "strict")

    _checked(Stream(paths, utf8), f"texts in {path}", verbose, facts, "utf-8")
    files_key = _vocabulary(vectorize, train[0], run_dir, verbose)

    def decode(files):
        return tf.cast(vectorize(_read_files(files)), "int32")

    return tuple(
        (
            Stream(p, decode, vectorize, classes, files_key),
            _labels(settings, key, y, mode, classes),
        )
        for p, y in (train, test)
    )


RECORD_DTYPES = {"float32": tf.float32, "int64": tf.int64, "string": tf.string}
RAW_DTYPES = {"uint8": tf.uint8, "float32": tf.float32}  # "decode" of raw array bytes


class Features:
    """The declared features of the records' tf.train.Examples, parsed a batch at a
    time; a string feature decoded to its declared shape as float32: an encoded image
    ("decode": "image", resized as an image folder's files are) or an array's raw
    little-endian bytes ("uint8", "float32")."""

    def __init__(self, declared, names):
        self.declared = {name: declared[name] for name in names}
        self.spec = {
            name: tf.io.FixedLenFeature(
                [] if "decode" in feature else feature["shape"],
                RECORD_DTYPES[feature["dtype"]],
            )
            for name, feature in self.declared.items()
        }

    def __repr__(self):  # what the cache is keyed by
        return repr(sorted(self.declared.items()))

    def __call__(self, serialized, guarded=False):
        """`guarded`: images' headers read first (decode_images); the checking pass
        guards, the epochs read what it passed."""
        example = tf.io.parse_example(serialized, self.spec)
        return {name: self._decoded(name, v, guarded) for name, v in example.items()}

    def _decoded(self, name, value, guarded):
        feature = self.declared[name]
        decode, shape = feature.get("decode"), feature["shape"]
        if decode is None:
            return value
        if decode == "image":
            return decode_images(value, shape[:2], shape[2], guarded)
        array = tf.io.decode_raw(value, RAW_DTYPES[decode])
        return tf.reshape(tf.cast(array, tf.float32), [-1, *shape])


SHUFFLE_BUFFER = 1024  # records: bounded memory, seeded by (seed, epoch)


class Records:
    """Examples in TFRecord shards, parsed as they are read: in memory only the file
    names and each file's record count (from one checking pass)."""

    def __init__(self, files, counts, features, inputs, targets):
        self.files = np.asarray(files, dtype=str)
        self.counts = np.asarray(counts, dtype="int64")
        self.features, self.inputs, self.targets = features, inputs, targets
        self.class_weight = self.cache = None  # cache: a RowCache (`"cache": true`)

    def __len__(self):
        return int(self.counts.sum())

    def part(self, rows):
        part = Records(self.files[rows], self.counts[rows], *self._spec())
        part.class_weight, part.cache = self.class_weight, self.cache
        return part

    def _spec(self):
        return self.features, self.inputs, self.targets

    def held_out(self, fraction):
        """(training, validation): the last `fraction` of the files held out."""
        files = len(self.files)
        cut = files - max(1, round(files * fraction))
        if cut < 1:
            raise DataError("validation_split needs at least two training files")
        return self.part(slice(None, cut)), self.part(slice(cut, None))

    def read(self, files):
        """The serialized records of `files` (a string tensor), in that order; with a
        cache, the numbers of their rows in it."""
        if self.cache is not None:
            return tf.data.Dataset.from_tensor_slices(files).flat_map(self.cache.rows)
        return tf.data.TFRecordDataset(files)

    def examples(self, serialized, guarded=False):
        """(x, y) of a batch of serialized records, parsed in one vectorised op (or
        of a batch of cached rows, gathered from the cache)."""
        if self.cache is not None:
            example = self.cache.gather(serialized)
        else:
            example = self.features(serialized, guarded)
        x = _structure(example, self.inputs)
        if self.targets is None:  # an autoencoder: the input is the target
            return x, x
        return x, _structure(example, self.targets)

    def parse(self, serialized, guarded=False):
        """A batch of records as (x, y) or, with class weights, (x, y, weight)."""
        x, y = self.examples(serialized, guarded)
        if self.class_weight is None:
            return x, y
        table = tf.constant(self.class_weight, dtype="float32")
        rows = tf.shape(serialized)[0]
        labels = tf.reshape(tf.cast(y, "int32"), [rows, -1])[:, 0]
        inside = labels < len(self.class_weight)  # classes past the table: 1
        weight = tf.where(
            inside,
            tf.gather(table, tf.minimum(labels, len(self.class_weight) - 1)),
            1.0,
        )
        return x, y, weight

    def dataset(self, batch_size):
        """Every record in file order, in batches (evaluation)."""
        return (
            self.read(tf.constant(self.files))
            .batch(batch_size)
            .map(self.parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        )

    def lanes(self, count, seed):
        """The files dealt to `count` lanes, fixed for the run: in a seeded order, each
        file to the lane with the fewest records so far (ties: the lowest lane)."""
        lanes, sizes = [[] for _ in range(count)], [0] * count
        for file in np.random.default_rng(seed).permutation(len(self.files)):
            lane = sizes.index(min(sizes))
            lanes[lane].append(int(file))
            sizes[lane] += int(self.counts[file])
        return [np.sort(files) for files in lanes], sizes

    def lane(self, files, chunk, steps, seed, epoch):
        """One lane's `steps` batches of `chunk` serialized records (parsed once the
        lanes are joined) in an order of (seed, epoch): its files (indices into
        `self.files`, a tensor) permuted, then its records through a shuffle buffer of
        SHUFFLE_BUFFER; empty batches once the lane runs out, so every lane (and every
        worker) has `steps` of them. Traced (inside the lanes' interleave), never
        eager."""
        names = tf.gather(tf.constant(self.files), files)
        keys = tf.random.stateless_uniform(
            tf.shape(files), seed=tf.stack([seed, epoch])
        )
        # Dataset.shuffle seeds itself from the graph's seed and `seed`. A fixed graph
        # seed makes the order a function of (seed, epoch) alone, whatever the global
        # seed of the process; with a global seed of 0, a tensor `seed` would not even
        # trace (random_seed.get_seed compares its seed pair with (0, 0)).
        tf.compat.v1.get_default_graph().seed = 1
        dataset = (
            self.read(tf.gather(names, tf.argsort(keys)))
            .shuffle(
                SHUFFLE_BUFFER,
                seed=seed * 1_000_003 + epoch,
                reshuffle_each_iteration=False,
            )
            .batch(chunk)
        )
        kind = tf.string if self.cache is None else tf.int64  # what `read` yields
        empty = tf.data.Dataset.from_tensors(tf.constant([], dtype=kind))
        return dataset.concatenate(empty.repeat()).take(steps)


def _record_features(settings, data):
    """The spec's declared features, checked against the model's inputs and outputs."""
    declared = data["features"]
    inputs, targets = data["inputs"], data.get("targets")
    for name in [*inputs, *(targets or [])]:
        if name not in declared:
            raise DataError(
                f"tfrecord: {name!r} is not a declared feature; declared: "
                f"{', '.join(declared)}"
            )
    pairs = [(inputs, settings.inputs, "input")]
    if settings.targets != "inputs":
        if not targets:
            raise DataError("tfrecord: the spec names no targets")
        pairs.append((targets, settings.outputs, "output"))
    for names, model, what in pairs:
        if len(names) != len(model):
            raise DataError(
                f"tfrecord: {len(names)} {what} features for the model's "
                f"{len(model)} {what}s ({', '.join(model)})"
            )
        for name, (model_name, (shape, kind)) in zip(names, model.items(), strict=True):
            feature = declared[name]
            need = tuple(shape)
            if what == "output" and kind == "class_ids":
                need = (1,) if tuple(feature["shape"]) == (1,) else ()
                if feature["dtype"] != "int64":
                    raise DataError(
                        f"tfrecord: feature {name!r} holds class ids for output "
                        f"{model_name!r}; declare it int64"
                    )
            fits = len(need) == len(feature["shape"]) and all(
                d is None or d == f for d, f in zip(need, feature["shape"], strict=True)
            )
            if not fits:
                raise DataError(
                    f"tfrecord: feature {name!r} has shape {list(feature['shape'])}; "
                    f"the model's {what} {model_name!r} needs "
                    f"{[d if d is not None else 'any' for d in need]}"
                )
    features = Features(declared, [*inputs, *(targets or [])])
    return features, inputs, targets if settings.targets != "inputs" else None


def _count_records(settings, records, verbose, facts):
    """Each file's record count, from one streamed pass (unless `facts` know it) that
    parses every record and checks the class ids; a record that cannot be used is
    named by file and index."""
    units = {
        n: shape[-1]
        for n, (shape, kind) in settings.outputs.items()
        if kind == "class_ids"
    }
    what = [
        "records",
        repr(records.features),
        records.inputs,  # only inputs are checked for NaN
        records.targets,
        sorted(units.items()),
        MAX_IMAGE_PIXELS,
    ]

    def learn():
        return _records_checked(settings, records, verbose, units)

    counted = _counts(len(records.files), least=1)
    counts = facts.about(what, records.files, learn, counted)
    records.counts = np.asarray(counts, dtype="int64")
    return records


def _counts(length, least):
    """A test of a kept fact: a list of `length` whole numbers, none under `least`."""
    return lambda value: (
        isinstance(value, list)
        and len(value) == length
        and all(type(count) is int and count >= least for count in value)
    )


def _records_checked(settings, records, verbose, units):
    """Each file's records parsed CHECKED_BATCH at a time, several batches at once."""
    if verbose:
        print(f"Checking {len(records.files)} TFRecord files...", flush=True)
    batches = (
        tf.data.Dataset.from_tensor_slices(np.arange(len(records.files)))
        .interleave(  # file after file; a batch holds one file's records
            lambda i: (
                tf.data.TFRecordDataset(tf.gather(records.files, i))
                .batch(CHECKED_BATCH)
                .map(lambda serialized: (i, serialized))
            ),
            cycle_length=1,
        )
        .map(
            lambda i, serialized: (i, records.parse(serialized, guarded=True)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .prefetch(tf.data.AUTOTUNE)
    )
    counts, iterator = [0] * len(records.files), iter(batches)
    while True:
        try:
            index, (x, y) = next(iterator)
        except StopIteration:
            break
        except tf.errors.OpError as error:  # in the batch after the last one read
            raise _bad_record(records, counts, error) from None
        file, done = records.files[int(index)], counts[int(index)]
        counts[int(index)] += _checked_records(
            settings, units, file, done, x, y, records
        )
    for file, count in zip(records.files, counts, strict=True):
        if not count:
            raise DataError(f"{file} holds no records")
    return counts


def _bad_record(records, counts, error):
    """The DataError for a batch that failed after counts[i] records of each file i:
    its records parsed again one at a time, in the file after the last one read from
    or a later one (those between being done or empty), to name the one that fails."""
    last = max((i for i, c in enumerate(counts) if c), default=0)
    for file, first in zip(records.files[last:], counts[last:], strict=True):
        if _parsed_alone(records, file, first):  # none failed alone: not one record's
            return DataError(f"{file}, records {first}..: {_reason(error)}")
    return DataError(f"{records.files[last]}: {_reason(error)}")


def _parsed_alone(records, file, first):
    """How many of the CHECKED_BATCH records from index `first` on parse one at a time;
    raises DataError naming the first that does not read or parse."""
    one = iter(tf.data.TFRecordDataset(file).skip(first).take(CHECKED_BATCH).batch(1))
    for index in itertools.count(first):
        try:
            records.parse(next(one), guarded=True)
        except StopIteration:
            return index - first
        except tf.errors.OpError as error:
            raise DataError(f"{file}, record {index}: {_reason(error)}") from None


def _checked_records(settings, units, file, first, x, y, records):
    """The number of records in the parsed batch (x, y), once their class ids and
    values are checked; a bad one is named by its index in the file."""
    if records.targets is not None:
        for name, value in _named(y, list(settings.outputs)).items():
            if name not in units:
                continue
            value = value.numpy()
            rows = np.reshape(value, (len(value), -1))
            bad = ((rows < 0) | (rows >= units[name])).any(axis=1)
            if bad.any():
                row = int(np.argmax(bad))
                raise DataError(
                    f"{file}, record {first + row}: label {value[row].tolist()} is "
                    f"outside the class ids 0..{units[name] - 1}"
                )
    for value in tf.nest.flatten(x):
        if value.dtype.is_floating:
            rows = np.reshape(value.numpy(), (len(value), -1))
            bad = ~np.isfinite(rows).all(axis=1)
            if bad.any():
                row = first + int(np.argmax(bad))
                raise DataError(f"{file}, record {row}: NaN or infinite value")
    return len(tf.nest.flatten(x)[0])


def _tfrecord(settings, data, verbose, facts):
    import glob

    pattern = data["tfrecord"]
    files = sorted(glob.glob(pattern))
    if not files:
        raise DataError(f"tfrecord {pattern!r} matches no files")
    records = Records(files, [], *_record_features(settings, data))
    _count_records(settings, records, verbose, facts)
    fraction = data.get("test_split", 0.2)
    held = int(fraction * len(files))
    if not 0 < held < len(files):
        raise DataError(
            f"test_split {fraction} of {len(files)} TFRecord files holds out {held}; "
            "the test and training sets each need at least one file"
        )
    order = np.random.default_rng(settings.seed or 0).permutation(len(files))
    train = records.part(np.sort(order[: len(files) - held]))
    test = records.part(np.sort(order[len(files) - held :]))
    return (train, train), (test, test)


HASH_RANGE = 1 << 32  # a CSV row's place: (index * HASH_STEP + seed) mod HASH_RANGE
HASH_STEP = 2_654_435_761


class CsvRows(Records):
    """The rows of one CSV file whose place falls in [low, high), parsed as they are
    read: in memory only the file name, its columns and the row count. A row's place
    is a function of its index and the seed; the test rows are the top `test_split` of
    the places, the validation rows the top `validation_split` of the rest."""

    def __init__(self, path, columns, label, kind, seed, band, count):
        super().__init__([path], [count], None, None, None)
        self.columns, self.label, self.kind = columns, label, kind
        self.seed, self.band = seed, band

    def part(self, rows):
        """The same band (a CSV's parts are bands, made by _csv)."""
        return copy.copy(self)

    def held_out(self, fraction):
        return self.validation

    def read(self, files):
        low, high = self.band

        def lines(path):
            def inside(index, _):
                place = (index * HASH_STEP + self.seed) % HASH_RANGE
                return (place >= low) & (place < high)

            if self.cache is None:
                rows = tf.data.TextLineDataset(path).skip(1)
            else:  # row i's number in the cache is i: the same places, the same bands
                rows = self.cache.rows(path)
            return rows.enumerate().filter(inside).map(lambda _, line: line)

        return tf.data.Dataset.from_tensor_slices(files).flat_map(lines)

    def decode(self, lines):
        """The feature columns, then the label's, of a batch of lines."""
        selected = [*self.columns, *([self.label[0]] if self.label else [])]
        return tf.io.decode_csv(
            lines, [tf.constant(0.0)] * len(selected), select_cols=selected
        )

    def examples(self, lines, guarded=False):
        if self.cache is None:
            values = self.decode(lines)
        else:  # the decoded columns, stacked when cached
            values = tf.unstack(self.cache.gather(lines)["values"], axis=1)
        x = tf.stack(values[: len(self.columns)], axis=-1)
        if not self.label:
            return x, x
        if self.kind == "class_ids":
            return x, tf.cast(values[-1], "int64")
        return x, values[-1][:, tf.newaxis]


def _csv(settings, data, verbose, facts):
    """The header checked against the model; one streamed pass over the file (unless
    `facts` know its result): every row checked, each band's rows counted."""
    import csv

    path, label = data["csv"], data.get("label")
    test, validation = data.get("test_split", 0.2), settings.validation_split or 0.0
    top = HASH_RANGE - int(test * HASH_RANGE)
    cut = top - int(validation * top)
    bands = [(0, cut), (cut, top), (top, HASH_RANGE)]
    seed = settings.seed or 0
    shape, kind = next(iter(settings.outputs.values()))
    units = shape[-1] if kind == "class_ids" and label else None
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            header = next(csv.reader(stream), [])
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path}: {error}") from None
    features = data.get("features") or [c for c in header if c != label]
    for column in [*features, *([label] if label else [])]:
        if column not in header:
            raise DataError(
                f"{path} has no column {column!r}; it has {', '.join(header)}"
            )
    _check_columns(settings, path, features, label, kind)
    wanted = [header.index(c) for c in [*features, *([label] if label else [])]]

    def learn():
        if verbose:
            print(f"Checking the rows of {path}...", flush=True)
        return _csv_rows(path, header, wanted, units, seed, bands)

    what = ["csv rows", header, wanted, units, seed, bands]
    counts = facts.about(what, [path], learn, _counts(3, least=0))
    if not sum(counts):
        raise DataError(f"{path} has no rows")
    for band, name in (
        (0, "training"),
        (2, "test"),
        *([(1, "validation")] if validation else []),
    ):
        if not counts[band]:
            raise DataError(
                f"{path}: {sum(counts)} rows leave the {name} split empty; "
                "the splits each need at least one row"
            )
    columns = [header.index(c) for c in features]
    place = [header.index(label)] if label else None
    train, held, rest = (
        CsvRows(path, columns, place, kind, seed, band, count)
        for band, count in zip(bands, counts, strict=True)
    )
    if not validation:  # the training rows: the bands below the test rows
        train = CsvRows(
            path, columns, place, kind, seed, (0, top), counts[0] + counts[1]
        )
    train.validation = (train, held)
    for part in (train, held, rest):
        part.total = sum(counts)  # the file's rows, every band
    return (train, train), (rest, rest)


def _csv_rows(path, header, wanted, units, seed, bands):
    """Each band's row count, every row checked."""
    import csv

    counts = [0, 0, 0]
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            reader = csv.reader(stream)
            next(reader, [])
            for index, row in enumerate(reader):
                _check_row(path, index + 2, row, header, wanted, units)
                place = (index * HASH_STEP + seed) % HASH_RANGE
                counts[
                    next(b for b, (lo, hi) in enumerate(bands) if lo <= place < hi)
                ] += 1
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path}: {error}") from None
    return counts


def _check_columns(settings, path, features, label, kind):
    """The columns against the model's input and output shapes."""
    needs = tuple(next(iter(settings.inputs.values()))[0])
    if needs != (len(features),):
        raise DataError(
            f"{path}: {len(features)} feature columns ({', '.join(features)}); the "
            f"model's input has shape {list(needs)}"
        )
    shape = tuple(next(iter(settings.outputs.values()))[0])
    if label and kind != "class_ids" and shape != (1,):
        raise DataError(
            f"{path}: one label column {label!r}; the model's output has shape "
            f"{list(shape)}"
        )
    if not label and shape != needs and settings.targets != "inputs":
        raise DataError(f"{path}: no label column; the spec names none")


def _check_row(path, line, row, header, wanted, units):
    if len(row) != len(header):
        raise DataError(
            f"{path}, row {line}: {len(row)} values; the header has {len(header)}"
        )
    try:
        values = [float(row[i]) for i in wanted]
    except ValueError as error:
        raise DataError(f"{path}, row {line}: not a number ({error})") from None
    if not np.isfinite(values).all():
        raise DataError(f"{path}, row {line}: NaN or infinite value")
    if units is not None and not values[-1].is_integer():
        raise DataError(
            f"{path}, row {line}: label {row[wanted[-1]]!r} is not a class id"
            " (a whole number)"
        )
    if units is not None and not 0 <= values[-1] < units:
        raise DataError(
            f"{path}, row {line}: label {row[wanted[-1]]!r} is outside the class ids"
            f" 0..{units - 1}"
        )


def load_spec_data(settings, verbose=False, run_dir=None, facts=None):
    """The spec's own data set as ((x_train, y_train), (x_test, y_test)); a folder's
    inputs are Streams (paths decoded while training). A text folder's vocabulary is
    kept in (and read again from) `run_dir`, when given; what the checking passes
    learn is left in `facts` (a Facts), which may know it already."""
    facts = Facts() if facts is None else facts
    data = settings.dataset
    if data == "synthetic":
        return synthetic_data(settings, 1024, settings.seed or 0)
    if data == "digits":
        return _digits()
    if isinstance(data, str):
        return (
            load_npz(settings, data)
            if data.endswith(".npz")
            else _builtin(settings, data)
        )
    if "synthetic_linear" in data:
        return _linear(settings, data)
    if "image_folder" in data or "text_folder" in data:
        return _folder(settings, data, verbose, run_dir, facts)
    if "csv" in data:
        return _csv(settings, data, verbose, facts)
    if "tfrecord" in data:
        return _tfrecord(settings, data, verbose, facts)
    return _inline(settings, data)


def check_data(settings, source, split, x, y):
    """Each array against the model: one line names the array and the shape needed."""
    if isinstance(x, Records):  # checked record by record when counted
        return
    inputs, outputs = list(settings.inputs), list(settings.outputs)
    rows = None
    for name, array in _named(x, inputs).items():
        shape, dtype = settings.inputs[name]
        label = f"{source}: x_{split}" + (f"_{name}" if len(inputs) > 1 else "")
        if isinstance(array, (Stream, Cached)):  # decoded to the input's shape
            rows = len(array)
            continue
        array = np.asarray(array)
        expected = f"(rows, {', '.join('any' if d is None else str(d) for d in shape)})"
        fits = array.ndim == len(shape) + 1 and all(
            d is None or d == a for d, a in zip(shape, array.shape[1:], strict=True)
        )
        if not fits:
            raise DataError(
                f"{label} has shape {array.shape}; the model needs {expected}"
            )
        if array.dtype.kind not in "biuf":
            raise DataError(f"{label} has dtype {array.dtype}; the model needs numbers")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise DataError(f"{label} holds NaN or infinite values")
        vocabulary = settings.vocabulary if dtype.startswith("int") else None
        if vocabulary and array.size and (array.min() < 0 or array.max() >= vocabulary):
            raise DataError(f"{label} holds ids outside 0..{vocabulary - 1}")
        rows = len(array) if rows is None else rows
        if len(array) != rows:
            raise DataError(
                f"{label} has {len(array)} rows; the other inputs have {rows}"
            )
    if settings.targets == "inputs":
        return
    for name, array in _named(y, outputs).items():
        shape, kind = settings.outputs[name]
        units = shape[-1] if shape else None
        label = f"{source}: y_{split}" + (f"_{name}" if len(outputs) > 1 else "")
        array = np.asarray(array)
        if array.dtype.kind not in "biuf":
            raise DataError(f"{label} has dtype {array.dtype}; labels must be numbers")
        if len(array) != rows:
            raise DataError(f"{label} has {len(array)} rows; x_{split} has {rows}")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise DataError(f"{label} holds NaN or infinite values")
        if kind == "class_ids":
            if array.ndim > len(shape) + 1:
                raise DataError(
                    f"{label} has shape {array.shape}; the model needs class ids in"
                    f" 0..{units - 1}, one per row"
                )
            integral = array.dtype.kind != "f" or not (array % 1).any()
            if array.size and (array.min() < 0 or array.max() >= units or not integral):
                raise DataError(
                    f"{label} holds labels outside the class ids 0..{units - 1}"
                )
            continue
        fits = array.ndim == len(shape) + 1 and all(
            d is None or d == a for d, a in zip(shape, array.shape[1:], strict=True)
        )
        if not fits and not (shape == (1,) and array.ndim == 1):
            needed = ", ".join("any" if d is None else str(d) for d in shape)
            raise DataError(
                f"{label} has shape {array.shape}; the model needs (rows, {needed})"
            )


def load_data(settings, args, facts=None):
    """(train, validation, test) pairs, checked against the model; what the checking
    passes learn is left in `facts` (by default, read from the run folder only)."""
    facts = Facts(args.run_dir) if facts is None else facts
    if args.data == "spec":
        train, test = load_spec_data(settings, not args.quiet, args.run_dir, facts)
        source = "data" if not isinstance(settings.dataset, str) else settings.dataset
    elif args.data == "synthetic":
        train, test = synthetic_data(settings, args.samples, args.seed)
        source = "synthetic"
    else:
        train, test = load_npz(settings, args.data)
        source = args.data
    data = settings.dataset
    if args.data == "spec" and isinstance(train[0], Stream) and data.get("cache"):
        key = repr((sorted(data.items()), settings.seed))
        train = (_cached(train[0], args.run_dir, key, not args.quiet), train[1])
        test = (_cached(test[0], args.run_dir, key, not args.quiet), test[1])
    if args.data == "spec" and isinstance(train[0], Records) and data.get("cache"):
        parts = [train[0], test[0], *getattr(train[0], "validation", ())]
        _cache_records(parts, args.run_dir, not args.quiet)
    if settings.targets == "inputs":  # an autoencoder: the target is the input
        train, test = (train[0], train[0]), (test[0], test[0])
    check_data(settings, source, "train", *train)
    check_data(settings, source, "test", *test)
    if settings.validation_split and isinstance(train[0], Records):
        head, tail = train[0].held_out(settings.validation_split)
        train, validation = (head, head), (tail, tail)
    elif settings.validation_split:
        train, validation = _split(*train, settings.validation_split)
    else:
        validation = test
    return train, validation, test


class Cached:
    """A Stream decoded once into a .npy file in the run folder (`"cache": true`), read
    batch by batch through a memory map: the decoded set is never held in memory."""

    def __init__(self, array, stream):
        self.array, self.raw, self.classes = array, stream.raw, stream.classes
        self.files_key = stream.files_key

    def __len__(self):
        return len(self.array)

    def __getitem__(self, rows):
        return Cached(self.array[rows], self)

    def read(self, index):
        array = self.array
        rows = tf.numpy_function(lambda i: array[i], [index], array.dtype.name)
        rows.set_shape([None, *array.shape[1:]])
        return rows


def _cached(stream, run_dir, key, verbose):
    """The stream decoded into run_dir/cache/<key>.npy, written once (atomically) and
    reused by a resumed run."""
    import hashlib

    digest = hashlib.sha256("\n".join([key, *stream.paths]).encode()).hexdigest()
    path = os.path.join(run_dir, "cache", f"{digest[:24]}.npy")
    if not os.path.isfile(path):
        if verbose:
            print(f"Caching {len(stream)} decoded files in {path}...", flush=True)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        first = stream.decode(tf.constant(stream.paths[:1])).numpy()
        out = np.lib.format.open_memmap(
            path + ".part", "w+", first.dtype, (len(stream), *first.shape[1:])
        )
        dataset = (
            tf.data.Dataset.from_tensor_slices(stream.paths)
            .batch(256)
            .map(stream.decode, num_parallel_calls=tf.data.AUTOTUNE)
        )
        row = 0
        for batch in dataset:
            out[row : row + len(batch)] = batch.numpy()
            row += len(batch)
        out.flush()
        del out
        os.replace(path + ".part", path)
    return Cached(np.load(path, mmap_mode="r"), stream)


class RowCache:
    """Record files' rows parsed once into .npy files in the run folder (`"cache":
    true`), one a feature, file after file, and gathered a batch at a time through
    memory maps: the parsed set is never held in memory. A file's rows are numbered as
    its records are read, so lanes, shuffle buffers and batches hold row numbers where
    they held records, in the same order: the uncached run's batches."""

    def __init__(self, files, counts, arrays):
        ends = np.cumsum(np.asarray(counts, dtype="int64"))
        self.files, self.arrays = tf.constant(np.asarray(files, dtype=str)), arrays
        self.starts, self.ends = tf.constant(ends - counts), tf.constant(ends)

    def rows(self, file):
        """The numbers of `file`'s rows (a scalar string tensor), in record order."""
        at = tf.argmax(tf.cast(tf.equal(self.files, file), "int32"))
        return tf.data.Dataset.range(self.starts[at], self.ends[at])

    def gather(self, rows):
        """{feature: its values at `rows`} as the parser gives them."""
        names = sorted(self.arrays)
        arrays = [self.arrays[name] for name in names]
        values = tf.numpy_function(
            lambda index: [np.asarray(a[index]) for a in arrays],
            [rows],
            [a.dtype.name for a in arrays],
        )
        for value, array in zip(values, arrays, strict=True):
            value.set_shape([None, *array.shape[1:]])
        return dict(zip(names, values, strict=True))


def _cache_records(parts, run_dir, verbose):
    """`"cache": true` for TFRecord shards or a CSV file: every record of the parts'
    files parsed into one RowCache, which each part then reads."""
    first = parts[0]
    if isinstance(first, CsvRows):  # the whole file: the bands are filters of it
        files, counts, names = list(first.files), [first.total], ["values"]
        key = repr((first.columns, first.label))
        batches = (
            tf.data.TextLineDataset(files[0])
            .skip(1)
            .batch(256)
            .map(lambda lines: {"values": tf.stack(first.decode(lines), axis=-1)})
        )
    else:
        counted = {}
        for part in parts:
            counted.update(zip(part.files.tolist(), part.counts.tolist(), strict=True))
        files, counts = sorted(counted), [counted[f] for f in sorted(counted)]
        names, key = sorted(first.features.declared), repr(first.features)
        batches = tf.data.TFRecordDataset(files).batch(256).map(first.features)
    folder = _row_cache_folder(run_dir, key, files, sum(counts), batches, verbose)
    arrays = {
        name: np.load(os.path.join(folder, f"{index}.npy"), mmap_mode="r")
        for index, name in enumerate(names)
    }
    cache = RowCache(files, counts, arrays)
    for part in parts:
        part.cache = cache


def _row_cache_folder(run_dir, key, files, rows, batches, verbose):
    """run_dir/cache/<digest>/: feature i (in sorted name order) as i.npy, written
    batch by batch into a folder renamed into place once complete (a killed run leaves
    no half cache), keyed by the features and each file's path, size and mtime, and
    reused by a resumed run. The seed is not in the key: the rows are in file order."""
    import glob
    import hashlib
    import shutil

    digest = hashlib.sha256(repr((key, _stamps(files))).encode()).hexdigest()
    folder = os.path.join(run_dir, "cache", digest[:24])
    if os.path.isdir(folder):
        return folder
    if verbose:
        print(f"Caching {rows} parsed records in {folder}...", flush=True)
    part = f"{folder}.part-{os.getpid()}"
    shutil.rmtree(part, ignore_errors=True)
    os.makedirs(part)
    out, row = [], 0
    for batch in batches:
        values = [batch[name].numpy() for name in sorted(batch)]
        if not out:
            out = [
                np.lib.format.open_memmap(
                    os.path.join(part, f"{index}.npy"),
                    "w+",
                    value.dtype,
                    (rows, *value.shape[1:]),
                )
                for index, value in enumerate(values)
            ]
        for array, value in zip(out, values, strict=True):
            array[row : row + len(value)] = value
        row += len(values[0])
    if row != rows:
        raise DataError(f"{files[0]}: changed while it was cached; run again")
    for array in out:
        array.flush()
    del out
    try:
        os.replace(part, folder)
    except OSError:  # another process finished the same cache first
        shutil.rmtree(part, ignore_errors=True)
        if not os.path.isdir(folder):
            raise
    for left in glob.glob(glob.escape(folder) + ".part-*"):  # killed runs' (or a race)
        shutil.rmtree(left, ignore_errors=True)
    return folder


def _pipeline(pair):
    """The pair's arrays (a Stream as its paths, a Cached as row numbers) and a function
    that turns a batch of their rows into samples: files read, the cache gathered."""
    flat = tf.nest.flatten(pair)
    tensors, decoders = [], []
    for leaf in flat:
        if isinstance(leaf, Stream):
            tensors.append(tf.constant(leaf.paths))
            decoders.append(leaf.decode)
        elif isinstance(leaf, Cached):
            tensors.append(tf.range(len(leaf), dtype="int64"))
            decoders.append(leaf.read)
        else:
            tensors.append(tf.constant(leaf))
            decoders.append(None)

    def read(*row):
        row = [d(t) if d else t for d, t in zip(decoders, row, strict=True)]
        return tf.nest.pack_sequence_as(pair, row)

    return tensors, read, any(isinstance(leaf, Stream) for leaf in flat)


LANES = 8  # at most: TFRecord lanes, each a fixed set of files


def _sharded(dataset, policy):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return dataset.with_options(options)


def _pieces(batch, first, last, replicas):
    """Replicas first..last-1's rows of a global batch, one element each: replica r
    takes rows [r * n // replicas, (r + 1) * n // replicas)."""
    rows = tf.cast(tf.shape(tf.nest.flatten(batch)[0])[0], "int64")
    return tf.data.Dataset.range(first, last).map(
        lambda r: tf.nest.map_structure(
            lambda a: a[r * rows // replicas : (r + 1) * rows // replicas], batch
        )
    )


class Batches:
    """The training batches of each epoch, in an order fixed by the seed and the epoch
    alone, so a resumed run reads what an uninterrupted one would. `select(epoch)`
    picks the order that the next iterator over `dataset` reads; both loops read this
    same dataset. Files (Streams) are read and decoded in parallel, in that order.

    Under a strategy of several replicas `distributed` gives each worker only its
    replicas' rows of the same global batches, read from its own files: a Stream's
    files by row, a TFRecord set's files by lane (data sharding where the replicas do
    not divide the lanes)."""

    def __init__(self, train, batch_size, seed, class_weight=None):
        self.epoch = tf.Variable(0, dtype="int64", trainable=False)
        self.seed = tf.constant(seed, dtype="int64")
        if isinstance(train[0], Records):
            self._records(train[0], batch_size, seed, class_weight)
        else:
            self._rows(train, batch_size, class_weight)
        self.dataset = _sharded(
            self.parts(0, 1, 1), tf.data.experimental.AutoShardPolicy.DATA
        )

    def _rows(self, train, batch_size, class_weight):
        if class_weight:  # as sample weights in the data, the same in both loops
            weights = np.asarray(
                [class_weight.get(int(c), 1.0) for c in np.ravel(train[1])]
            )
            train = (*train, weights.astype("float32"))
        self.rows = len(tf.nest.flatten(train[0])[0])
        self.steps = -(-self.rows // batch_size)
        tensors, read, streamed = _pipeline(train)  # captured, not copied

        def order(_):
            keys = tf.random.stateless_uniform(
                [self.rows], seed=tf.stack([self.seed, self.epoch])
            )
            return tf.data.Dataset.from_tensor_slices(tf.argsort(keys))

        def rows(index):
            return read(*[tf.gather(t, index) for t in tensors])

        def build(first, last, replicas):
            dataset = tf.data.Dataset.range(1).flat_map(order).batch(batch_size)
            if replicas > 1:  # this worker's replicas' rows: only their files read
                dataset = dataset.flat_map(
                    lambda index: _pieces(index, first, last, replicas)
                )
            if streamed:  # several batches' files read at once
                return dataset.map(
                    rows, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
                )
            return dataset.map(rows)  # rows already in memory: one gather per batch

        self._make = build

    def _records(self, records, batch_size, seed, class_weight):
        """Global batch i is lane 0's i-th chunk, then lane 1's, ...: a worker whose
        replicas own whole lanes reads only those lanes' files."""
        if class_weight:
            top = max(int(c) for c in class_weight)
            records = records.part(slice(None))
            records.class_weight = [class_weight.get(c, 1.0) for c in range(top + 1)]
        self.rows = len(records)
        count = min(LANES, len(records.files), batch_size)
        lanes, sizes = records.lanes(count, seed)
        self.lanes = [records.files[files] for files in lanes]  # file names by lane
        chunks = [batch_size // count + (i < batch_size % count) for i in range(count)]
        self.steps = max(-(-n // c) for n, c in zip(sizes, chunks, strict=True))

        table = tf.ragged.constant([files.tolist() for files in lanes], "int64")
        chunk = tf.constant(chunks, "int64")

        def lane(i):
            seed = self.seed * LANES + i
            return records.lane(table[i], chunk[i], self.steps, seed, self.epoch)

        def joined(low, high):  # lanes low..high-1 read side by side, parsed in one op
            return (
                tf.data.Dataset.range(low, high)
                .interleave(
                    lane,
                    cycle_length=high - low,
                    num_parallel_calls=tf.data.AUTOTUNE,
                    deterministic=True,
                )  # round robin: every lane has `steps` chunks
                .ragged_batch(high - low)
                .map(
                    lambda chunks: records.parse(chunks.flat_values),
                    num_parallel_calls=tf.data.AUTOTUNE,
                    deterministic=True,
                )
            )

        def build(first, last, replicas):
            # Built once, not per epoch (tf.data optimises no dataset a function makes):
            # each lane reads self.epoch when the epoch's iterator opens it.
            if count % replicas:  # data sharding: every lane read, own rows kept
                return joined(0, count).flat_map(
                    lambda *batch: _pieces(batch, first, last, replicas)
                )
            own = count // replicas
            each = [joined(r * own, (r + 1) * own) for r in range(first, last)]
            if len(each) == 1:
                return each[0]
            turns = tf.data.Dataset.range(len(each)).repeat(self.steps)
            return tf.data.Dataset.choose_from_datasets(each, turns)

        self._make = build

    def parts(self, first, last, replicas):
        """Replicas first..last-1 (of `replicas`)'s parts of each global batch, one
        element per replica and step: what one worker reads."""
        dataset = self._make(first, last, replicas)
        steps = self.steps * (last - first)
        return dataset.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(
            tf.data.AUTOTUNE
        )

    def distributed(self, strategy):
        """This epoch's batches for `strategy`: each input pipeline (one a worker)
        builds its own replicas' rows of the global batches."""
        replicas = strategy.num_replicas_in_sync
        if replicas == 1:
            return strategy.experimental_distribute_dataset(self.dataset)

        def one_worker(context):
            local = replicas // context.num_input_pipelines
            first = context.input_pipeline_id * local
            dataset = self.parts(first, first + local, replicas)
            return _sharded(dataset, tf.data.experimental.AutoShardPolicy.OFF)

        return strategy.distribute_datasets_from_function(one_worker)

    def select(self, epoch):
        self.epoch.assign(epoch)


def evaluation_dataset(pair, batch_size):
    """The pair in its stored order; under a strategy each worker keeps its rows of
    every batch (data sharding, set explicitly)."""
    data = tf.data.experimental.AutoShardPolicy.DATA
    if isinstance(pair[0], Records):
        steps = -(-len(pair[0]) // batch_size)
        dataset = pair[0].dataset(batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps))
        return _sharded(dataset.prefetch(tf.data.AUTOTUNE), data)
    tensors, read, streamed = _pipeline(pair)
    dataset = tf.data.Dataset.from_tensor_slices(tuple(tensors)).batch(batch_size)
    if streamed:
        dataset = dataset.map(
            read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    else:  # regroups the arrays, reads a batch of a Cached at once
        dataset = dataset.map(read)
    return _sharded(dataset.prefetch(tf.data.AUTOTUNE), data)


def learn_statistics(model, settings, pair, batch_size, verbose):
    """The mean and variance of each Normalization layer given none, learnt (adapt())
    in one streamed pass over the inputs of the training split, before the first epoch;
    they are weights, so checkpoints and model.keras keep them and a resumed run reuses
    them."""
    rows = len(tf.nest.flatten(pair[0])[0])
    for key, names in (settings.learnt_statistics or {}).items():
        if verbose:
            print(
                f"Learning the mean and variance of {', '.join(names)} from {rows} "
                "training samples...",
                flush=True,
            )
        inputs = evaluation_dataset(pair, batch_size).map(
            lambda x, *_, key=key: x[key] if isinstance(x, dict) else x
        )
        for name in names:
            model.get_layer(name).adapt(inputs)


# ------------------------------------------------------ the model as the files feed it


@keras.saving.register_keras_serializable(package="specgen")
class StringModel(keras.Sequential):
    """A text folder's model end to end: texts in, the vocabulary inside. Keras's
    predict() and evaluate() refuse a NumPy array of str and a list of str (its array
    adapter knows no string dtype); these hand them on as one tf.string tensor. A
    Sequential, so that a .keras file reloads a subclassed model inside it (a Functional
    wrapper's config names the inner model's call by a node index that the subclass's
    own symbolic call shifts). Load it where this module was imported, or pass
    custom_objects={"specgen>StringModel": keras.Sequential}."""

    def predict(self, x, *args, **kwargs):
        return super().predict(_strings(x), *args, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        return super().evaluate(_strings(x), *args, **kwargs)


def _strings(x):
    texts = isinstance(x, np.ndarray) and x.dtype.kind in "US"
    if texts or (isinstance(x, (list, tuple)) and all(isinstance(t, str) for t in x)):
        return tf.constant(x, dtype=tf.string)
    return x


def end_to_end(model, x):
    """The trained model as its data source feeds it: a text folder's model takes
    strings (the vocabulary learnt from the training split travels inside it); an
    image folder's takes images as stored (the spec states any scaling as a layer)."""
    raw = getattr(x, "raw", None)
    if raw is None:
        return model
    text = keras.Input(shape=(), dtype="string", name="text")
    return StringModel([text, raw, model], name=f"{model.name}_end_to_end")


def save_model(model, x, run_dir):
    """model.keras (end to end) and, for a folder source, classes.json beside it;
    returns the model it saved."""
    served = end_to_end(model, x)
    served.save(os.path.join(run_dir, "model.keras"))
    classes = getattr(x, "classes", None)
    if classes is not None:
        with open(os.path.join(run_dir, "classes.json"), "w", encoding="utf-8") as out:
            json.dump(classes, out)
    return served


def _predict_inputs(settings, files):
    data = settings.dataset
    if isinstance(data, dict) and "text_folder" in data:
        texts = []
        for file in files:
            try:
                with open(file, encoding="utf-8") as stream:
                    texts.append(stream.read())
            except (OSError, UnicodeDecodeError) as error:
                raise DataError(f"cannot read {file}: {error}") from None
        return tf.constant(texts)
    if isinstance(data, dict) and "image_folder" in data:
        decode = image_decoder(*_image_form(settings, data))
        images = []
        for file in files:
            try:
                images.append(decode(tf.constant([file]))[0])
            except tf.errors.OpError as error:
                raise DataError(f"cannot read {file}: {_reason(error)}") from None
        return tf.stack(images)
    raise DataError("--predict reads the files of an image_folder or text_folder spec")


def predict(settings, args):
    """--predict FILE_OR_FOLDER: one line per file, `file<TAB>class<TAB>probability`,
    from the run folder's model.keras; trains nothing."""
    path = args.predict
    if os.path.isdir(path):
        files = sorted(
            os.path.join(folder, name)
            for folder, _, names in os.walk(path)
            for name in names
        )
    elif os.path.isfile(path):
        files = [path]
    else:
        raise DataError(f"--predict {path!r}: no such file or folder")
    if not files:
        raise DataError(f"--predict {path!r} holds no files")
    saved = os.path.join(args.run_dir, "model.keras")
    if not os.path.isfile(saved):
        raise DataError(f"{saved} does not exist: train first")
    model = keras.models.load_model(saved)
    classes = None
    names = os.path.join(args.run_dir, "classes.json")
    if os.path.isfile(names):
        with open(names, encoding="utf-8") as stream:
            classes = json.load(stream)
    scores = np.asarray(model.predict(_predict_inputs(settings, files), verbose=0))
    for file, score in zip(files, scores.reshape(len(files), -1), strict=True):
        best = int(score.argmax()) if score.size > 1 else int(score[0] > 0.5)
        label = classes[best] if classes and best < len(classes) else str(best)
        print(f"{file}\t{label}\t{float(score.max()):.4f}")
    return 0
