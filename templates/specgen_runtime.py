"""The machinery behind the generated training scripts (rendered once per folder).

A script says what its spec decides (model, optimizer, loss, metrics, callbacks, data
set); this module loads and checks the data, runs `model.fit` or a `tf.GradientTape`
loop that drives the same Keras callbacks, and checkpoints every epoch so a killed run
resumes where it stopped, with the same history and weights as a run that never stopped.
"""

import contextlib
import glob
import hashlib
import importlib.util
import json
import math
import os
import re
import signal
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

if __package__:  # this folder is a package
    from .specgen_data import (
        Batches,
        DataError,
        Facts,
        evaluation_dataset,
        keep_vocabulary,
        learn_statistics,
        load_data,
        load_spec_data,
        predict,
        save_model,
        synthetic_data,
    )
else:
    from specgen_data import (
        Batches,
        DataError,
        Facts,
        evaluation_dataset,
        keep_vocabulary,
        learn_statistics,
        load_data,
        load_spec_data,
        predict,
        save_model,
        synthetic_data,
    )

__all__ = ["DataError", "load_spec_data", "main", "synthetic_data", "train"]

# Several steps per tf.function call amortise Python overhead in both loops.
STEPS_PER_EXECUTION = 32
CHECKPOINT = "checkpoint.npz"
LOCK = ".lock"
LOG_FILES = ("log.csv",)
EXPORT = "export"  # the SavedModel of a folder source's model, beside model.keras


# ----------------------------------------------------------------------- callbacks


class EpochOrder(keras.callbacks.Callback):
    """Points the training data at this epoch's order before its iterator is made."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.select(epoch)


class Throughput(keras.callbacks.Callback):
    """Training samples per second after the first step of this process (which traces
    and compiles the step), validation excluded."""

    def __init__(self, rows, batch_size):
        super().__init__()
        self.rows, self.batch_size = rows, batch_size
        self.seconds = self.samples = 0.0
        self.mark = None  # (time, samples done in this epoch) at the last point counted

    def on_epoch_begin(self, epoch, logs=None):
        if self.mark is not None:
            self.mark = (time.perf_counter(), 0)

    def on_train_batch_end(self, batch, logs=None):
        now, done = time.perf_counter(), min((batch + 1) * self.batch_size, self.rows)
        if self.mark is not None:
            self.seconds += now - self.mark[0]
            self.samples += done - self.mark[1]
        self.mark = (now, done)

    def result(self):
        return self.samples / self.seconds if self.seconds else float("nan")


class Recorder(keras.callbacks.Callback):
    """The whole run's history (a resumed run's too), with the learning rate of each
    epoch. A non-finite loss stops training; main() then exits non-zero."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.bad_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        rate = keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        logs.setdefault("learning_rate", float(rate))
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        if not math.isfinite(logs.get("loss", 0.0)):
            self.bad_epoch = epoch
            self.model.stop_training = True


# Each catalog callback's own state that on_train_begin resets and a resumed run must
# get back; everything else (its settings, open files, writers) the callback rebuilds
# itself. Keras has no state API for callbacks: these are their public attributes, read
# strictly (one Keras renames, and saving fails naming it, rather than storing None).
# ModelCheckpoint saves every epoch (a spec cannot set save_freq): only `best` carries
# over. TensorBoard steps every summary by epoch (update_freq is "epoch" only), so its
# batch counters change nothing written. CSVLogger appends to the log (see _trim_log).
CALLBACK_STATE = {
    "EarlyStopping": ("wait", "stopped_epoch", "best", "best_weights", "best_epoch"),
    "ReduceLROnPlateau": ("wait", "cooldown_counter", "best"),
    "ModelCheckpoint": ("best",),
    "TensorBoard": (),
    "CSVLogger": (),
    "TerminateOnNaN": (),
}
# For tests: SIGKILL this process right after the checkpoint of this epoch is saved,
# a kill at a known point of the run (no clock involved).
KILL_AFTER_EPOCH = "SPECGEN_KILL_AFTER_EPOCH"


def _state(callback):
    """(plain values, lists of arrays such as EarlyStopping's best weights)."""
    name = type(callback).__name__
    if name not in CALLBACK_STATE:
        raise DataError(f"cannot checkpoint callback {name}: its state is not known")
    scalars, arrays = {}, {}
    for key in CALLBACK_STATE[name]:
        if not hasattr(callback, key):
            raise DataError(
                f"cannot checkpoint {name}.{key}: this Keras ({keras.__version__})"
                " has no such attribute; run without resuming (--fresh) or use the"
                " Keras this script was generated for"
            )
        value = getattr(callback, key)
        if isinstance(value, np.generic | np.ndarray) and np.ndim(value) == 0:
            value = np.asarray(value).item()
        if isinstance(value, list):
            arrays[key] = [np.asarray(v) for v in value]
        elif value is None or isinstance(value, bool | int | float | str):
            scalars[key] = value
        else:
            raise DataError(
                f"cannot checkpoint {name}.{key}: a {type(value).__name__} value"
            )
    return scalars, arrays


class Checkpoint(keras.callbacks.Callback):
    """Saves, atomically after every epoch, all a resumed run needs: model variables
    (with BatchNormalization statistics and Dropout's seed state), optimizer
    variables (with the step a schedule reads), the callbacks' own state, the
    history. Last in the callback list, it restores that state after the others have
    reset themselves in on_train_begin."""

    def __init__(self, folder, fingerprint, callbacks, recorder):
        super().__init__()
        self.path = Path(folder) / CHECKPOINT
        self.fingerprint = fingerprint
        self.callbacks = callbacks
        self.recorder = recorder
        self.meta = None
        self.arrays = {}

    def load(self):
        """The epoch to start from (0 without a checkpoint), for this run only."""
        if not self.path.exists():
            return 0
        try:
            with np.load(self.path, allow_pickle=False) as data:
                self.arrays = {key: data[key] for key in data.files}
            meta = json.loads(str(self.arrays.pop("meta")))
        except Exception as error:  # a cut or foreign file: zip, JSON or key errors
            raise DataError(
                f"cannot read {self.path} ({type(error).__name__}: {error});"
                " rerun with --fresh"
            ) from error
        self.meta = _checked_meta(self.path, meta, len(self.callbacks))
        if self.meta["fingerprint"] != self.fingerprint:
            raise DataError(
                f"{self.path.parent} holds the run of another"
                f" {_differences(self.meta['fingerprint'], self.fingerprint)};"
                " use --fresh to discard it or another --run-dir"
            )
        self.recorder.history = self.meta["history"]
        _trim_log(self.path.parent / "log.csv", self.meta["epoch"])
        return self.meta["epoch"]

    def continue_to(self, epochs):
        """A finished run asked for more epochs goes on from its last epoch's state,
        as a longer run would have (one that EarlyStopping stopped would have stopped
        there too: it stays finished). Fewer epochs than it has cannot be undone."""
        if self.meta is None:
            return
        done = self.meta["epoch"]
        if epochs < done:
            raise DataError(
                f"{self.path.parent} holds a run of {done} epochs; --epochs {epochs}"
                " cannot undo them: use --fresh or another --run-dir"
            )
        if self.finished and not self.stopped and epochs > done:
            self.meta["finished"] = False

    @property
    def finished(self):
        return bool(self.meta and self.meta["finished"])

    @property
    def stopped(self):
        return bool(self.meta and self.meta["stopped"])

    def restore_variables(self, model):
        """The last epoch's variables; a finished run's final ones (EarlyStopping may
        have restored its best weights when training ended)."""
        if self.meta is None:
            return
        model.optimizer.build(model.trainable_variables)
        final = self.finished and any(k.startswith("final/") for k in self.arrays)
        for prefix, variables in (
            ("final/model" if final else "model", model.variables),
            ("optimizer", model.optimizer.variables),
        ):
            for index, variable in enumerate(variables):
                key = f"{prefix}/{index}"
                array = self.arrays.get(key)
                if array is None:
                    raise DataError(
                        f"{self.path} has no array {key!r}; rerun with --fresh"
                    )
                if tuple(array.shape) != tuple(
                    variable.shape
                ) or array.dtype != np.dtype(variable.dtype):
                    raise DataError(
                        f"{self.path}: array {key!r} is {array.dtype}"
                        f"{list(array.shape)}, but {variable.path} is"
                        f" {variable.dtype}{list(variable.shape)}; rerun with --fresh"
                    )
                variable.assign(array)
            known = {f"{prefix}/{i}" for i in range(len(variables))}
            extra = sorted(
                k
                for k in self.arrays
                if k.rpartition("/")[0] == prefix and k not in known
            )
            if extra:
                raise DataError(
                    f"{self.path} has an array {extra[0]!r} the model has no variable"
                    " for; rerun with --fresh"
                )

    def on_train_begin(self, logs=None):
        if self.meta is None:
            return
        for index, callback in enumerate(self.callbacks):
            for key, value in self.meta["callbacks"][index].items():
                setattr(callback, key, value)
            count = self.meta["callback_arrays"][index]
            for key, size in count.items():
                names = [f"callback/{index}/{key}/{i}" for i in range(size)]
                if missing := [name for name in names if name not in self.arrays]:
                    raise DataError(
                        f"{self.path} has no array {missing[0]!r}; rerun with --fresh"
                    )
                setattr(callback, key, [self.arrays[name] for name in names])

    def on_epoch_end(self, epoch, logs=None):
        self.save(epoch + 1, finished=False)

    def on_train_end(self, logs=None):
        self.save(None, finished=True)

    def save(self, epoch, finished):
        model = self.model
        value = keras.ops.convert_to_numpy
        arrays = {f"model/{i}": value(v) for i, v in enumerate(model.variables)}
        arrays.update(
            {
                f"optimizer/{i}": value(v)
                for i, v in enumerate(model.optimizer.variables)
            }
        )
        if finished and self.meta is not None:
            # The last epoch's state stays what a continued run starts from; the
            # final variables (best weights restored, say) are kept beside it when
            # they differ.
            final = {
                f"final/{k}": v for k, v in arrays.items() if k.startswith("model/")
            }
            arrays = {
                k: v for k, v in self.arrays.items() if not k.startswith("final/")
            }
            if any(not np.array_equal(v, arrays.get(k[6:])) for k, v in final.items()):
                arrays.update(final)
        states, counts = [], []
        for index, callback in enumerate(self.callbacks):
            scalars, lists = _state(callback)
            states.append(scalars)
            counts.append({key: len(value) for key, value in lists.items()})
            for key, value in lists.items():
                arrays.update(
                    {f"callback/{index}/{key}/{i}": v for i, v in enumerate(value)}
                )
        if epoch is None:
            epoch = self.meta["epoch"] if self.meta else 0
        meta = {
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "stopped": bool(model.stop_training),
            "finished": finished,
            "history": self.recorder.history,
            "callbacks": states,
            "callback_arrays": counts,
        }
        self.meta = meta
        self.arrays = dict(arrays)
        arrays["meta"] = np.asarray(json.dumps(meta))
        temp = self.path.with_name(f".{CHECKPOINT}.{os.getpid()}.tmp")
        with open(temp, "wb") as stream:
            np.savez(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(
            temp, self.path
        )  # a kill leaves the old checkpoint or the new, never half
        if not finished and os.environ.get(KILL_AFTER_EPOCH) == str(epoch):
            os.kill(os.getpid(), signal.SIGKILL)


def _trim_log(path, epochs):
    """CSVLogger writes its row before the checkpoint is saved: a kill between the two
    would leave a row that the resumed run writes again. Bytes in, bytes out: the csv
    module's line endings (\\r\\n) stay as they were."""
    if path.exists():
        lines = path.read_bytes().splitlines(keepends=True)
        if len(lines) > epochs + 1:
            path.write_bytes(b"".join(lines[: epochs + 1]))


# Checkpoint meta keys and the types they must have (a tampered file is refused).
META = {
    "fingerprint": dict,
    "epoch": int,
    "stopped": bool,
    "finished": bool,
    "history": dict,
    "callbacks": list,
    "callback_arrays": list,
}


def _checked_meta(path, meta, callbacks):
    """The checkpoint's meta, checked key by key: one error naming the file and key."""
    if not isinstance(meta, dict):
        raise DataError(f"{path}: 'meta' is not an object; rerun with --fresh")
    for key, kind in META.items():
        if key not in meta:
            raise DataError(f"{path}: 'meta' has no key {key!r}; rerun with --fresh")
        if not isinstance(meta[key], kind) or (
            kind is int and isinstance(meta[key], bool)
        ):
            raise DataError(
                f"{path}: meta key {key!r} is not a {kind.__name__}; rerun with --fresh"
            )
    if meta["epoch"] < 0:
        raise DataError(f"{path}: meta key 'epoch' is negative; rerun with --fresh")
    for key in ("callbacks", "callback_arrays"):
        if len(meta[key]) != callbacks or not all(
            isinstance(v, dict) for v in meta[key]
        ):
            raise DataError(
                f"{path}: meta key {key!r} does not list the spec's {callbacks}"
                " callbacks; rerun with --fresh"
            )
    for key, curve in meta["history"].items():
        if not isinstance(curve, list) or len(curve) != meta["epoch"]:
            raise DataError(
                f"{path}: history {key!r} does not hold {meta['epoch']} epochs;"
                " rerun with --fresh"
            )
    for counts in meta["callback_arrays"]:
        if not all(isinstance(n, int) and 0 <= n < 10**6 for n in counts.values()):
            raise DataError(
                f"{path}: meta key 'callback_arrays' holds a bad count;"
                " rerun with --fresh"
            )
    return meta


def _differences(old, new):
    """What changed between two fingerprints, in words."""
    changed = [k for k in new if old.get(k) != new.get(k)]
    if "spec" in changed or "data" in changed:
        return " and ".join(
            f"{k} content (sha256 {str(old.get(k))[:12]} then, {str(new[k])[:12]} now)"
            for k in ("spec", "data")
            if k in changed
        )
    settings_old, settings_new = old.get("settings") or {}, new.get("settings") or {}
    return "setting " + ", ".join(
        f"{k}: {settings_old.get(k)!r} then, {settings_new.get(k)!r} now"
        for k in settings_new
        if settings_old.get(k) != settings_new.get(k)
    )


# ---------------------------------------------------------------------------- loops


def _pairs(y, y_pred, names):
    """(output name, labels, predictions) for each output."""
    if isinstance(y_pred, dict):
        return [(name, y[name], y_pred[name]) for name in names]
    return [(None, y, y_pred)]


class TapeTrainer:
    """A custom training loop with `fit`'s semantics.

    The gradient is taken after the tape block; several steps run per tf.function call;
    under a distribution strategy replica gradients are summed (each replica's loss is
    already divided by the replica count) and metrics are updated on gathered values.
    """

    def __init__(self, model, strategy, jit_compile, steps_per_execution, script):
        self.model, self.strategy = model, strategy
        self.outputs = list(script.SETTINGS.outputs)
        self.steps_per_execution = steps_per_execution
        losses, metrics = script.make_loss(), script.make_metrics()
        if isinstance(losses, dict):
            self.losses = losses
            self.metrics = {name: metrics.get(name, []) for name in self.outputs}
            weights = getattr(script, "LOSS_WEIGHTS", None) or {}
            self.weights = {name: weights.get(name, 1.0) for name in self.outputs}
        else:
            self.losses, self.metrics, self.weights = (
                {None: losses},
                {None: metrics},
                {None: 1.0},
            )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        # fit reports each output's own loss when there are several; so does this loop.
        self.output_loss_trackers = {}
        if len(self.losses) > 1:
            self.output_loss_trackers = {
                name: keras.metrics.Mean(name=f"{name}_loss") for name in self.losses
            }
        # Slot variables made now, as fit does: created inside the first traced step
        # they cannot be lifted out of it under a distribution strategy.
        model.optimizer.build(model.trainable_variables)
        # A nested tf.function only to XLA-compile the replica step: without XLA it
        # would hide the optimizer's cross-replica merge_call from the strategy.
        train_step, test_step = self._replica_train_step, self._replica_test_step
        if jit_compile:
            train_step = tf.function(train_step, jit_compile=True)
            test_step = tf.function(test_step, jit_compile=True)
        self.train_steps = self._steps(train_step)
        self.test_steps = self._steps(test_step)

    def _loss(self, y, y_pred, weight):
        """The total loss and each output's own. Under a strategy, Keras losses already
        divide by the replica count (summed replica gradients give the global mean);
        regularization is scaled to match."""
        parts = {
            name: self.losses[name](labels, pred, sample_weight=weight)
            for name, labels, pred in _pairs(y, y_pred, self.outputs)
        }
        total = sum(self.weights[name] * part for name, part in parts.items())
        if self.model.losses:
            total += tf.add_n(self.model.losses) / self.strategy.num_replicas_in_sync
        return total, parts

    def _replica_train_step(self, x, y, weight=None):
        with tf.GradientTape() as tape:
            y_pred = self.model(x, training=True)
            loss, parts = self._loss(y, y_pred, weight)
            scaled = self.model.optimizer.scale_loss(loss)
        variables = self.model.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.model.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss, parts, y_pred

    def _replica_test_step(self, x, y, weight=None):
        y_pred = self.model(x, training=False)
        return *self._loss(y, y_pred, weight), y_pred

    def _sum(self, value):
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)

    def _gather(self, value):
        return self.strategy.gather(value, axis=0)

    def _update(self, y, weight, loss, parts, y_pred):
        y, y_pred = tf.nest.map_structure(self._gather, (y, y_pred))
        rows = tf.shape(tf.nest.flatten(y)[0])[0]
        self.loss_tracker.update_state(self._sum(loss), sample_weight=rows)
        for name, tracker in self.output_loss_trackers.items():
            tracker.update_state(self._sum(parts[name]), sample_weight=rows)
        for name, labels, pred in _pairs(y, y_pred, self.outputs):
            for metric in self.metrics[name]:  # compile's `metrics` are unweighted
                metric.update_state(labels, pred)

    def _steps(self, replica_step):
        """A tf.function running `steps` batches of `replica_step` from an iterator."""

        def one(iterator):
            x, y, *weight = next(iterator)
            weight = weight[0] if weight else None
            self._update(
                y, weight, *self.strategy.run(replica_step, args=(x, y, weight))
            )

        def run(iterator, steps):
            if self.steps_per_execution == 1:
                one(iterator)  # no loop in the graph: see train()
                return
            for _ in tf.range(steps):
                one(iterator)

        return tf.function(run)

    def results(self, prefix=""):
        values = {f"{prefix}loss": self.loss_tracker.result()}
        for tracker in self.output_loss_trackers.values():
            values[prefix + tracker.name] = tracker.result()
        for name, metrics in self.metrics.items():
            for metric in metrics:
                key = metric.name if name is None else f"{name}_{metric.name}"
                values[prefix + key] = metric.result()
        return {key: float(value) for key, value in values.items()}

    def reset(self):
        for metric in [self.loss_tracker, *self.output_loss_trackers.values()]:
            metric.reset_state()
        for metrics in self.metrics.values():
            for metric in metrics:
                metric.reset_state()

    def run_epoch(self, iterator, steps, train, callbacks=None):
        """`steps` batches from an iterator over a distributed dataset, as fit runs
        them: the batch hooks fire once per call of several steps."""
        self.reset()
        run = self.train_steps if train else self.test_steps
        done = 0
        while done < steps:
            chunk = min(self.steps_per_execution, steps - done)
            if callbacks is not None:
                callbacks.on_train_batch_begin(done)
            run(iterator, tf.constant(chunk))
            done += chunk
            if callbacks is not None:
                callbacks.on_train_batch_end(done - 1, self.results())
            if train and self.model.stop_training:
                break
        return self.results()

    def fit(self, batches, validation, epochs, initial_epoch, callbacks):
        """fit's epoch loop: the same callback hooks in the same order."""
        distribute = self.strategy.experimental_distribute_dataset
        validation_steps = int(validation.cardinality())
        validation = distribute(validation)
        self.model.stop_training = False
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            if self.model.stop_training:
                break
            callbacks.on_epoch_begin(epoch)
            iterator = iter(batches.distributed(self.strategy))
            logs = self.run_epoch(
                iterator, batches.steps, train=True, callbacks=callbacks
            )
            callbacks.on_test_begin()
            self.run_epoch(iter(validation), validation_steps, train=False)
            validation_logs = self.results(prefix="val_")
            callbacks.on_test_end({k[4:]: v for k, v in validation_logs.items()})
            logs.update(validation_logs)
            callbacks.on_epoch_end(epoch, logs)
        callbacks.on_train_end()

    def evaluate(self, dataset):
        steps = int(dataset.cardinality())
        self.run_epoch(
            iter(self.strategy.experimental_distribute_dataset(dataset)), steps, False
        )
        return self.results()


# ---------------------------------------------------------------------------- train


def make_strategy(name):
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        # Reads the cluster from the TF_CONFIG environment variable (see the README).
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def float32_outputs(model, names):
    """Under mixed precision, compute the output layers in float32: a float16 softmax
    rounds small probabilities to zero and the loss to infinity."""
    for name in names:
        # ValueError: a block's output, whose last layer has another name.
        with contextlib.suppress(ValueError):
            model.get_layer(name).dtype_policy = "float32"


def plot_history(history, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        raise DataError("--plot needs matplotlib: pip install matplotlib") from None
    names = [key for key in history if not key.startswith("val_")]
    figure, axes = pyplot.subplots(
        1, len(names), figsize=(5 * len(names), 4), squeeze=False
    )
    for axis, name in zip(axes[0], names, strict=True):
        epochs = range(1, len(history[name]) + 1)
        axis.plot(epochs, history[name], label="train")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], label="validation")
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path)


def _fingerprint(settings, args, facts):
    """What makes two runs the same run: the spec's content (its sha256), the data's
    content and the settings that shape the run; a checkpoint resumes only its own run.
    `--epochs` is not among them: a finished run can be continued."""
    keys = ("style", "loop", "batch_size", "data", "samples", "seed", "strategy")
    values = {key: getattr(args, key) for key in keys}
    values["mixed_precision"] = args.mixed_precision
    return {
        "spec": getattr(settings, "spec_sha256", None),
        "data": _data_digest(settings, args, facts),
        "settings": values,
    }


def _data_digest(settings, args, facts):
    """sha256 of the data the run reads: a file's bytes, the files (names and bytes)
    of a folder or a TFRecord glob, or the spec's own description of it (a built-in
    name, inline arrays). Files are read only where `facts` do not know the digest of
    these files as they are."""
    source = args.data if args.data not in ("spec", "synthetic") else None
    data = settings.dataset if args.data == "spec" else args.data
    if source is None and isinstance(data, str) and data.endswith(".npz"):
        source = data
    if source is None and isinstance(data, dict):
        key = next(
            (k for k in ("image_folder", "text_folder", "csv") if k in data), None
        )
        source = data[key] if key else None
    described = json.dumps(data, sort_keys=True, default=str)
    files = []  # (the name hashed, the file)
    if source is not None and Path(source).is_dir():
        root = Path(source)
        files = [(str(p.relative_to(root)), p) for p in sorted(root.rglob("*"))]
    elif source is not None:
        files = [("", Path(source))]
    elif isinstance(data, dict) and "tfrecord" in data:
        files = [(p, Path(p)) for p in sorted(glob.glob(data["tfrecord"]))]
    files = [(name, file) for name, file in files if file.is_file()]

    def digest():
        digest = hashlib.sha256(described.encode())
        for name, file in files:
            digest.update(name.encode())
            try:
                with open(file, "rb") as stream:
                    digest.update(hashlib.file_digest(stream, "sha256").digest())
            except OSError as error:
                raise DataError(f"cannot read {file}: {error.strerror}") from None
        return digest.hexdigest()

    if not files:
        return digest()

    def valid(value):
        return isinstance(value, str) and re.fullmatch("[0-9a-f]{64}", value)

    return facts.about(["sha256", described], [f for _, f in files], digest, valid)


class RunLock:
    """One process at a time per run folder: an exclusive lock on `run_dir/.lock`, which
    the system releases when the process ends, however it ends."""

    def __init__(self, run_dir):
        self.path = Path(run_dir) / LOCK
        self.stream = None

    def __enter__(self):
        self.stream = open(self.path, "a+b")  # held until __exit__
        try:
            import fcntl

            fcntl.flock(self.stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not POSIX: no lock, as before
            pass
        except OSError:
            self.stream.close()
            raise DataError(
                f"another process is training in {self.path.parent} (it holds"
                f" {self.path}); wait for it to end or use another --run-dir"
            ) from None
        return self

    def __exit__(self, *exc):
        self.stream.close()


def _check_tensorboard(callbacks):
    tensorboard = any(isinstance(c, keras.callbacks.TensorBoard) for c in callbacks)
    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise DataError(
            "the spec's TensorBoard callback needs: pip install tensorboard"
        )


def _start_fresh(run_dir):
    for name in (CHECKPOINT, *LOG_FILES):
        (run_dir / name).unlink(missing_ok=True)


def _finite(value):
    return value if math.isfinite(value) else None


def train(script, args):
    """Train and evaluate as `args` says; returns (summary, model)."""
    settings = script.SETTINGS
    if args.logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        devices = [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        tf.config.set_logical_device_configuration(cpu, devices)
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    jit = bool(tf.config.list_physical_devices("GPU")) if args.jit is None else args.jit
    strategy = make_strategy(args.strategy)
    if strategy.num_replicas_in_sync > 1:
        jit = False  # cross-replica gradient sums cannot run inside XLA clusters
    facts = Facts(args.run_dir)  # what the data's checking passes learnt before
    data = load_data(settings, args, facts)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir):
        return _train_locked(
            script, args, settings, strategy, jit, run_dir, (data, facts)
        )


def _train_locked(script, args, settings, strategy, jit, run_dir, data):
    (train_pair, validation_pair, test_pair), facts = data
    batches = Batches(
        train_pair, args.batch_size, args.seed, getattr(script, "CLASS_WEIGHT", None)
    )
    validation = evaluation_dataset(validation_pair, args.batch_size)
    test = evaluation_dataset(test_pair, args.batch_size)
    if args.fresh:
        _start_fresh(run_dir)
    # TF 2.21 cannot loop over a distributed iterator inside one tf.function ("You must
    # feed a value for placeholder tensor"), in fit or here: several replicas run a step
    # per call.
    steps_per_execution = (
        STEPS_PER_EXECUTION if strategy.num_replicas_in_sync == 1 else 1
    )
    # No more than an epoch's steps: fit's progress bar counts by executions (32/6).
    steps_per_execution = min(steps_per_execution, batches.steps)
    verbose = 0 if args.quiet else 1
    with strategy.scope():
        model = script.build_model(seed=args.seed, style=args.style)
        if args.mixed_precision:
            float32_outputs(model, list(settings.outputs))
        script.compile_model(
            model, steps_per_execution=steps_per_execution, jit_compile=jit
        )
        trainer = None
        if args.loop == "tape":
            trainer = TapeTrainer(model, strategy, jit, steps_per_execution, script)
        recorder, throughput = Recorder(), Throughput(batches.rows, args.batch_size)
        spec_callbacks = script.make_callbacks(run_dir)
        _check_tensorboard(spec_callbacks)
        checkpoint = Checkpoint(
            run_dir, _fingerprint(settings, args, facts), spec_callbacks, recorder
        )
        start = checkpoint.load()
        checkpoint.continue_to(args.epochs)
        if checkpoint.meta is None:
            _start_fresh(run_dir)  # a log left by an earlier, unfinished run
            # A resumed run restores them with the weights.
            learn_statistics(model, settings, train_pair, args.batch_size, verbose)
        checkpoint.restore_variables(model)
        # Once the folder is known to be this run's (checkpoint.load refuses others).
        keep_vocabulary(train_pair, run_dir)
        facts.keep()
    callbacks = [EpochOrder(batches), throughput, *spec_callbacks, recorder, checkpoint]
    if checkpoint.stopped and not checkpoint.finished:
        # Killed after the last epoch's checkpoint: only on_train_end (which restores
        # EarlyStopping's best weights, say) is left to run.
        hooks = keras.callbacks.CallbackList(callbacks, model=model)
        hooks.on_train_begin()
        hooks.on_train_end()
    elif not checkpoint.finished and trainer is None:
        model.fit(
            batches.dataset,
            validation_data=validation,
            epochs=args.epochs,
            initial_epoch=start,
            shuffle=False,  # Batches orders each epoch from the seed
            callbacks=callbacks,
            verbose=verbose,
        )
    elif not checkpoint.finished:
        hooks = keras.callbacks.CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            model=model,
            verbose=verbose,
            epochs=args.epochs,
            steps=batches.steps,
        )
        trainer.fit(batches, validation, args.epochs, start, hooks)
    history = recorder.history
    if recorder.bad_epoch is not None:
        raise DataError(
            f"the loss became {history['loss'][-1]} in epoch {recorder.bad_epoch + 1};"
            " training stopped (try a lower learning rate, or look for extreme values"
            " in the data)"
        )
    if trainer is None:
        final = model.evaluate(test, verbose=0, return_dict=True)
    else:
        final = trainer.evaluate(test)
    served = save_model(model, train_pair[0], run_dir)  # end to end: raw contents in
    if getattr(train_pair[0], "classes", None) is not None:  # an image or text folder
        export_model(served, run_dir)
    if args.save:
        model.save(args.save)
    if args.plot:
        plot_history(history, args.plot)
    summary = {"loop": args.loop, "epochs": len(history.get("loss", ()))}
    summary.update({key: _finite(float(value)) for key, value in final.items()})
    summary["train_loss"] = history["loss"][-1] if history.get("loss") else None
    summary["samples_per_sec"] = _finite(throughput.result())
    summary["history"] = {
        k: [_finite(v) for v in values] for k, values in history.items()
    }
    return summary, model


def export_model(served, run_dir):
    """run_dir/export/: a SavedModel of the model as model.keras serves it, raw inputs
    in (a text folder's vocabulary inside, as a lookup table), for TensorFlow Serving or
    tf.saved_model.load(...).serve(x) with neither Keras nor this folder. Its traced
    graph is the one predict() runs: the same outputs, bit for bit."""
    served.export(str(Path(run_dir) / EXPORT), verbose=False)


def main(script, args):
    """Train as the script's parsed `args` say; print the summary; the exit status."""
    try:
        if args.predict:  # the run's model on files; trains nothing
            return predict(script.SETTINGS, args)
        summary, _ = train(script, args)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a run folder or output that cannot be written
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary, allow_nan=False))
    return 0
