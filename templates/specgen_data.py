"""Data for the generated training scripts (rendered once per folder): the spec's data
sources, synthetic data shaped by the model, checks that name the array and the shape it
needs, and the per-epoch batch order that both loops read and a resumed run reads again.
"""

import os

import keras
import numpy as np
import tensorflow as tf

COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}  # by the input's channels


class DataError(Exception):
    """Data or a run folder that cannot be used: one line from main(), exit 1."""


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


def _from_dataset(dataset):
    """A small keras.utils folder data set as numpy arrays: both loops read the same
    rows."""
    xs, ys = [], []
    for x, y in dataset:
        xs.append(x.numpy())
        ys.append(y.numpy())
    if not xs:
        raise DataError("the data folder holds no files Keras can read")
    return np.concatenate(xs), np.concatenate(ys)


def _folder(settings, data):
    key = "image_folder" if "image_folder" in data else "text_folder"
    path, fraction = data[key], data.get("test_split", 0.2)
    if not os.path.isdir(path):
        raise DataError(f"{key} {path!r} is not a folder")
    seed = settings.seed or 0
    if key == "image_folder":
        shape = next(iter(settings.inputs.values()))[0]
        train, test = keras.utils.image_dataset_from_directory(
            path,
            image_size=tuple(data.get("image_size", shape[:2])),
            color_mode=data.get("color_mode", COLOR_MODES.get(shape[-1], "rgb")),
            label_mode=data.get("label_mode", "int"),
            validation_split=fraction,
            subset="both",
            seed=seed,
            shuffle=True,
            verbose=False,
        )
        (x_train, y_train), (x_test, y_test) = _from_dataset(train), _from_dataset(test)
        return (x_train / 255.0, y_train), (x_test / 255.0, y_test)
    train, test = keras.utils.text_dataset_from_directory(
        path, validation_split=fraction, subset="both", seed=seed, verbose=False
    )
    (t_train, y_train), (t_test, y_test) = _from_dataset(train), _from_dataset(test)
    length = next(iter(settings.inputs.values()))[0][0] or 64
    vectorize = keras.layers.TextVectorization(
        max_tokens=settings.vocabulary, output_sequence_length=length
    )
    vectorize.adapt(t_train)  # the vocabulary comes from the training texts only

    def as_ids(texts):
        return np.asarray(vectorize(texts), dtype="int32")

    return (as_ids(t_train), y_train), (as_ids(t_test), y_test)


def _csv(settings, data):
    import csv

    path, label = data["csv"], data.get("label")
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path}: {error}") from None
    if not rows:
        raise DataError(f"{path} has no rows")
    features = data.get("features") or [c for c in rows[0] if c != label]
    for column in [*features, *([label] if label else [])]:
        if column not in rows[0]:
            raise DataError(
                f"{path} has no column {column!r}; it has {', '.join(rows[0])}"
            )
    try:
        x = np.array([[float(r[c]) for c in features] for r in rows], dtype="float32")
        y = np.array([float(r[label]) for r in rows], dtype="float32") if label else x
    except ValueError as error:
        raise DataError(f"{path}: a value is not a number ({error})") from None
    _, kind = next(iter(settings.outputs.values()))
    if kind == "class_ids":
        y = y.astype("int64")
    elif y.ndim == 1:
        y = y[:, np.newaxis]
    return _split(x, y, data.get("test_split", 0.2))


def load_spec_data(settings):
    """The spec's own data set as ((x_train, y_train), (x_test, y_test))."""
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
        return _folder(settings, data)
    if "csv" in data:
        return _csv(settings, data)
    return _inline(settings, data)


def check_data(settings, source, split, x, y):
    """Each array against the model: one line names the array and the shape needed."""
    inputs, outputs = list(settings.inputs), list(settings.outputs)
    rows = None
    for name, array in _named(x, inputs).items():
        shape, dtype = settings.inputs[name]
        label = f"{source}: x_{split}" + (f"_{name}" if len(inputs) > 1 else "")
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


def load_data(settings, args):
    """(train, validation, test) pairs, checked against the model."""
    if args.data == "spec":
        train, test = load_spec_data(settings)
        source = "data" if not isinstance(settings.dataset, str) else settings.dataset
    elif args.data == "synthetic":
        train, test = synthetic_data(settings, args.samples, args.seed)
        source = "synthetic"
    else:
        train, test = load_npz(settings, args.data)
        source = args.data
    if settings.targets == "inputs":  # an autoencoder: the target is the input
        train, test = (train[0], train[0]), (test[0], test[0])
    check_data(settings, source, "train", *train)
    check_data(settings, source, "test", *test)
    if settings.validation_split:
        train, validation = _split(*train, settings.validation_split)
    else:
        validation = test
    return train, validation, test


class Batches:
    """The training batches of each epoch, in an order fixed by the seed and the epoch
    alone, so a resumed run reads what an uninterrupted one would. `select(epoch)`
    picks the order that the next iterator over `dataset` reads; both loops read this
    same dataset."""

    def __init__(self, train, batch_size, seed, class_weight=None):
        if class_weight:  # as sample weights in the data, the same in both loops
            weights = np.asarray(
                [class_weight.get(int(c), 1.0) for c in np.ravel(train[1])]
            )
            train = (*train, weights.astype("float32"))
        self.rows = len(tf.nest.flatten(train[0])[0])
        self.steps = -(-self.rows // batch_size)
        self.epoch = tf.Variable(0, dtype="int64", trainable=False)
        tensors = tf.nest.map_structure(
            tf.convert_to_tensor, train
        )  # captured, not copied
        seed = tf.constant(seed, dtype="int64")

        def order(_):
            keys = tf.random.stateless_uniform(
                [self.rows], seed=tf.stack([seed, self.epoch])
            )
            return tf.data.Dataset.from_tensor_slices(tf.argsort(keys))

        self.dataset = (
            tf.data.Dataset.range(1)
            .flat_map(order)
            .batch(batch_size)
            .map(
                lambda index: tf.nest.map_structure(
                    lambda t: tf.gather(t, index), tensors
                )
            )
            .apply(tf.data.experimental.assert_cardinality(self.steps))
            .prefetch(tf.data.AUTOTUNE)
        )

    def select(self, epoch):
        self.epoch.assign(epoch)


def evaluation_dataset(pair, batch_size):
    return (
        tf.data.Dataset.from_tensor_slices(pair)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
