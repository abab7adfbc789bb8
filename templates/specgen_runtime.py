"""The machinery behind the generated training scripts (rendered once per folder).

A script says what its spec decides (model, optimizer, loss, metrics, callbacks, data
set); this module loads and checks the data, runs `model.fit` or a `tf.GradientTape`
loop that drives the same Keras callbacks, and checkpoints every epoch so a killed run
resumes where it stopped, with the same history and weights as a run that never stopped.
"""

import json
import math
import os
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
        evaluation_dataset,
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
        evaluation_dataset,
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
LOG_FILES = ("log.csv",)


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


# Each callback's own state that on_train_begin resets and a resumed run must get back;
# everything else (its settings, open files, writers) the callback rebuilds itself.
CALLBACK_STATE = {
    "EarlyStopping": ("wait", "stopped_epoch", "best", "best_weights", "best_epoch"),
    "ReduceLROnPlateau": ("wait", "cooldown_counter", "best"),
    "ModelCheckpoint": (
        "best",
        "_current_epoch",
        "_last_batch_seen",
        "_batches_seen_since_last_saving",
    ),
    "TensorBoard": (
        "_global_train_batch",
        "_global_test_batch",
        "_previous_epoch_iterations",
    ),
}


def _state(callback):
    """(plain values, lists of arrays such as EarlyStopping's best weights)."""
    scalars, arrays = {}, {}
    for key in CALLBACK_STATE.get(type(callback).__name__, ()):
        value = getattr(callback, key, None)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, list):
            arrays[key] = [np.asarray(v) for v in value]
        elif value is None or isinstance(value, bool | int | float | str):
            scalars[key] = value
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
            self.meta = json.loads(str(self.arrays.pop("meta")))
        except Exception as error:
            raise DataError(
                f"cannot read {self.path} ({error}); rerun with --fresh"
            ) from None
        if self.meta["fingerprint"] != self.fingerprint:
            raise DataError(
                f"{self.path.parent} holds a run with other settings"
                f" ({_differences(self.meta['fingerprint'], self.fingerprint)});"
                " use --fresh to discard it or another --run-dir"
            )
        self.recorder.history = self.meta["history"]
        _trim_log(self.path.parent / "log.csv", self.meta["epoch"])
        return self.meta["epoch"]

    @property
    def finished(self):
        return bool(self.meta and self.meta["finished"])

    @property
    def stopped(self):
        return bool(self.meta and self.meta["stopped"])

    def restore_variables(self, model):
        if self.meta is None:
            return
        model.optimizer.build(model.trainable_variables)
        for prefix, variables in (
            ("model", model.variables),
            ("optimizer", model.optimizer.variables),
        ):
            for index, variable in enumerate(variables):
                variable.assign(self.arrays[f"{prefix}/{index}"])

    def on_train_begin(self, logs=None):
        if self.meta is None:
            return
        for index, callback in enumerate(self.callbacks):
            for key, value in self.meta["callbacks"][index].items():
                setattr(callback, key, value)
            count = self.meta["callback_arrays"][index]
            for key, size in count.items():
                setattr(
                    callback,
                    key,
                    [self.arrays[f"callback/{index}/{key}/{i}"] for i in range(size)],
                )

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
        arrays["meta"] = np.asarray(json.dumps(meta))
        temp = self.path.with_name(f".{CHECKPOINT}.{os.getpid()}.tmp")
        with open(temp, "wb") as stream:
            np.savez(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(
            temp, self.path
        )  # a kill leaves the old checkpoint or the new, never half


def _trim_log(path, epochs):
    """CSVLogger writes its row before the checkpoint is saved: a kill between the two
    would leave a row that the resumed run writes again."""
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(lines[: epochs + 1]), encoding="utf-8")


def _differences(old, new):
    return ", ".join(
        f"{k}: {old.get(k)!r} then, {new.get(k)!r} now"
        for k in new
        if old.get(k) != new.get(k)
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
            iterator = iter(distribute(batches.dataset))
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
        try:
            model.get_layer(name).dtype_policy = "float32"
        except ValueError:  # a block's output: its last layer has another name
            pass


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


def _fingerprint(settings, args):
    """What makes two runs the same run: a checkpoint resumes only the run it belongs
    to."""
    keys = ("loop", "epochs", "batch_size", "data", "samples", "seed", "strategy")
    values = {key: getattr(args, key) for key in keys}
    return {"spec": settings.name, "mixed_precision": args.mixed_precision, **values}


def _check_tensorboard(callbacks):
    if any(isinstance(c, keras.callbacks.TensorBoard) for c in callbacks):
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise DataError(
                "the spec's TensorBoard callback needs: pip install tensorboard"
            ) from None


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
    train_pair, validation_pair, test_pair = load_data(settings, args)
    batches = Batches(
        train_pair, args.batch_size, args.seed, getattr(script, "CLASS_WEIGHT", None)
    )
    validation = evaluation_dataset(validation_pair, args.batch_size)
    test = evaluation_dataset(test_pair, args.batch_size)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
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
    with strategy.scope():
        model = script.build_model(seed=args.seed)
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
            run_dir, _fingerprint(settings, args), spec_callbacks, recorder
        )
        start = checkpoint.load()
        if checkpoint.meta is None:
            _start_fresh(run_dir)  # a log left by an earlier, unfinished run
        checkpoint.restore_variables(model)
    callbacks = [EpochOrder(batches), throughput, *spec_callbacks, recorder, checkpoint]
    verbose = 0 if args.quiet else 1
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
    save_model(model, train_pair[0], run_dir)  # end to end: raw files' contents in
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


def main(script, argv=None):
    args = script.parse_args(argv)
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
