"""Facts about what a student built, read from the Keras objects themselves.

Nothing here reads the student's code: a right answer written any way (``keras.optimizers.SGD``
or ``tf.keras.optimizers.SGD``, ``'mse'`` or ``MeanSquaredError()``, ``Input`` layer or
``input_shape=``) gives the same facts. Runs in the student's kernel, for the evidence export
(:mod:`graders.kernel.evidence`); the judge compares the facts, without Keras.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def quiet():
    """Silence Python warnings and everything written to stderr (also by C++ code, on fd 2).

    nbgrader gives zero points to a test cell that writes anything to stderr, so a check must
    never let a TensorFlow or Keras warning through.
    """
    saved_fd = None
    try:
        sys.stderr.flush()
    except Exception:  # pragma: no cover
        pass
    try:
        saved_fd = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # pragma: no cover - no fd 2
        saved_fd = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


def is_keras_model(obj) -> bool:
    try:
        import keras
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, keras.Model)


def layers_with_weights(model) -> list:
    """The model's layers without the input layer, in order."""
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def activation_name(layer) -> str:
    act = getattr(layer, "activation", None)
    return getattr(act, "__name__", str(act))


def describe_layers(layers) -> str:
    parts = []
    for layer in layers:
        units = getattr(layer, "units", None)
        name = type(layer).__name__
        parts.append(f"{name}({units})" if units is not None else f"{name}()")
    return " -> ".join(parts) if parts else "no layers"


def input_shape(model):
    """The model's input shape as a tuple (batch first), or None when it has no input yet."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs:
        return None
    return tuple(inputs[0].shape)


def is_compiled(model) -> bool:
    return bool(getattr(model, "compiled", False)) and getattr(model, "optimizer", None) is not None


def optimizer_facts(model) -> dict:
    """Class name and the settings that matter here, as plain Python numbers."""
    opt = model.optimizer
    config = opt.get_config()

    def number(key):
        value = config.get(key)
        return None if value is None else float(value)

    return {
        "class": type(opt).__name__,
        "learning_rate": number("learning_rate"),
        "momentum": number("momentum"),
        "clipvalue": number("clipvalue"),
        "clipnorm": number("clipnorm"),
        "global_clipnorm": number("global_clipnorm"),
    }


def loss_value(model, y_true, y_pred) -> float | None:
    """The compiled loss evaluated on a small fixed example, or None if it cannot be computed."""
    import keras

    loss = getattr(model, "loss", None)
    if loss is None:
        return None
    try:
        fn = keras.losses.get(loss) if isinstance(loss, (str, dict)) else loss
        with quiet():
            value = fn(keras.ops.convert_to_tensor(y_true, dtype="float32"),
                       keras.ops.convert_to_tensor(y_pred, dtype="float32"))
        return float(np.mean(keras.ops.convert_to_numpy(value)))
    except Exception:
        return None


def loss_options(model) -> dict:
    """The settings of the compiled loss object that differ from that loss's defaults, e.g.
    ``{'from_logits': True}`` for ``BinaryCrossentropy(from_logits=True)``; {} for a name or a
    function."""
    loss = getattr(model, "loss", None)
    if loss is None or isinstance(loss, (str, dict)) or not hasattr(loss, "get_config"):
        return {}
    try:
        config, default = loss.get_config(), type(loss)().get_config()
    except Exception:  # a loss class without a default constructor (LossFunctionWrapper)
        return {}
    return {k: v for k, v in config.items()
            if k not in ("name", "dtype") and k in default and default[k] != v}


def describe_loss(model) -> str:
    """The compiled loss as the student would recognise it: ``'mse'``, or
    ``'binary_crossentropy' with from_logits=True`` when set differently from its defaults."""
    options = loss_options(model)
    text = f"'{loss_name(model)}'"
    if options:
        text += " with " + ", ".join(f"{k}={v!r}" for k, v in options.items())
    return text


def initializer_seed(init):
    """The seed the student gave an initializer (None when unseeded). Keras 3 draws a random
    seed for an unseeded initializer, so ``init.seed`` is a number either way; its config keeps
    what was passed."""
    try:
        config = init.get_config()
    except Exception:
        return getattr(init, "seed", None)
    return config.get("seed") if isinstance(config, dict) else getattr(init, "seed", None)


def loss_name(model) -> str:
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        return loss
    fn = getattr(loss, "fn", None)  # LossFunctionWrapper
    return getattr(fn, "__name__", None) or getattr(loss, "name", None) or \
        getattr(loss, "__name__", None) or type(loss).__name__


def as_number(value) -> float | None:
    """A student's stored metric as a float: a float, numpy scalar, 0-d array or a one-element
    list; for ``[loss, metric...]`` from a model compiled with metrics, the loss. Else None."""
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    try:
        arr = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        return None
    if arr.size != 1:
        return None
    return float(arr.reshape(()))


def convert(value) -> np.ndarray:
    """A Keras or TensorFlow tensor (or anything array-like) as a NumPy array."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))
