"""The two models a build trains on the vanishing data: the chapter's SimpleRNN (plain SGD)
and the gated remedy (GRU, Adam), seeded and deterministic; and the probes of what a trained
model looks at (the first-steps effect and the per-step input sensitivity)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from .artifacts import HISTORY_KEYS, Artifact, weights_artifact

# keras.utils.set_random_seed before a model is built (weight initialisation and per-epoch
# batch shuffling).
TRAIN_SEED = 42


@dataclass(frozen=True)
class Trained:
    """What a build keeps of a trained model (the model itself does not outlive the next
    training's clear_session)."""

    history: dict  # HISTORY_KEYS -> one float per epoch
    seconds: float  # of model.fit
    determinism: bool  # tf op determinism was on
    effect: dict  # first_steps_effect at_initialisation, after_training
    sensitivity: dict  # sensitivity_summary of the trained model
    probe_rows: int  # validation rows the sensitivity is averaged over
    weights: Artifact  # legacy H5 weights file


def recurrent_model(layer: str, units: int):
    """``Sequential([Input(shape=(None, 1)), <layer>(units), Dense(1, sigmoid)])``, layer a
    keras.layers class name."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(None, 1)),
            getattr(keras.layers, layer)(units=units),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def model_description(layer: str, units: int) -> str:
    """What recurrent_model(layer, units) builds, as the manifest states it."""
    return (f"Sequential([Input(shape=(None, 1)), {layer}(units={units}), "
            "Dense(1, activation='sigmoid')])")


def build_chapter_model(units: int):
    return recurrent_model("SimpleRNN", units)


def build_gated_model(units: int):
    """The remedy: the chapter's model with a GRU in place of the SimpleRNN."""
    return recurrent_model("GRU", units)


def first_steps_effect(model, X, k: int, high: float) -> float:
    """Largest change of the model's output when the first k values of each
    sequence are mirrored (x -> high - x; for the synthetic task with
    high = S this turns every label-1 signal into a label-0 one and back)."""
    X2 = X.copy()
    X2[:, :k, 0] = np.float32(high) - X2[:, :k, 0]
    p1 = model.predict(X, verbose=0, batch_size=256)
    p2 = model.predict(X2, verbose=0, batch_size=256)
    return float(np.abs(p1 - p2).max())


def input_sensitivity(model, X) -> np.ndarray:
    """mean over the rows of |d y_hat / d x_t| for every time step t (the
    notebook draws the same curve).  y_hat of a row depends only on that row,
    so the gradient of the summed outputs holds every row's own derivative."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(X, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = model(x, training=False)
    grad = tape.gradient(out, x).numpy()[:, :, 0]
    return np.abs(grad).mean(axis=0)


def sensitivity_summary(curve: np.ndarray, k: int) -> dict:
    curve = np.asarray(curve, dtype=np.float64)
    return {
        "first_step": float(curve[0]),
        f"max_over_first_{k}_steps": float(curve[:k].max()),
        "last_step": float(curve[-1]),
        "steps_exactly_zero": int((curve == 0).sum()),
    }


def pretrain(X, y, n_val: int, cfg: dict, probe: tuple[int, float], log=print) -> Trained:
    """Train the chapter's model; probe = (k, high) for first_steps_effect."""
    return _train(lambda: build_chapter_model(cfg["units"]), lambda keras: "sgd", X, y, n_val,
                  cfg["epochs"], cfg["batch_size"], "", cfg["sensitivity_rows"], probe, log)


def pretrain_gated(X, y, n_val: int, cfg: dict, probe: tuple[int, float], log=print) -> Trained:
    """Train the gated model on the same rows; returns like pretrain()."""
    return _train(lambda: build_gated_model(cfg["gated_units"]),
                  lambda keras: keras.optimizers.Adam(learning_rate=cfg["gated_learning_rate"]),
                  X, y, n_val, cfg["gated_epochs"], cfg["gated_batch_size"], "gated ",
                  cfg["sensitivity_rows"], probe, log)


def _train(build, optimizer, X, y, n_val: int, epochs: int, batch_size: int, label: str,
           sensitivity_rows: int, probe: tuple[int, float], log=print) -> Trained:
    """Seed, build, compile (``optimizer(keras)``), fit on all rows but the last ``n_val``
    (the validation rows), probe the first ``sensitivity_rows`` validation rows."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    keras.backend.clear_session()  # fresh layer names -> stable weights file
    keras.utils.set_random_seed(TRAIN_SEED)
    try:
        tf.config.experimental.enable_op_determinism()
        determinism = True
    except Exception as exc:  # pragma: no cover
        log(f"note: op determinism unavailable ({exc})")
        determinism = False

    model = build()
    model.compile(loss="binary_crossentropy", optimizer=optimizer(keras), metrics=["accuracy"])
    X_train, y_train = X[:-n_val], y[:-n_val]
    X_val, y_val = X[-n_val:], y[-n_val:]

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            log(
                f"  {label}epoch {epoch + 1:3d}/{epochs} "
                f"({time.perf_counter() - self.t:5.1f} s): "
                + " ".join(f"{k}={logs[k]:.4f}" for k in HISTORY_KEYS if k in logs)
            )

    effect = {"at_initialisation": first_steps_effect(model, X_val, *probe)}
    t0 = time.perf_counter()
    hist = model.fit(
        X_train,
        y_train,
        validation_data=(X_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        callbacks=[EpochLog()],
    )
    seconds = time.perf_counter() - t0
    effect["after_training"] = first_steps_effect(model, X_val, *probe)
    X_probe = X_val[:sensitivity_rows]
    return Trained(
        history={k: [float(v) for v in hist.history[k]] for k in HISTORY_KEYS},
        seconds=seconds,
        determinism=determinism,
        effect=effect,
        sensitivity=sensitivity_summary(input_sensitivity(model, X_probe), probe[0]),
        probe_rows=len(X_probe),
        weights=weights_artifact(model),
    )
