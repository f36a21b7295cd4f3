"""Facts about what a student built, read from the Keras objects themselves.

Nothing here reads the student's code: a right answer written any way (``keras.optimizers.SGD``
or ``tf.keras.optimizers.SGD``, ``'mse'`` or ``MeanSquaredError()``, ``Input`` layer or
``input_shape=``) gives the same facts.
"""
from __future__ import annotations

import contextlib
import io
import math
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


def close(a: float | None, b: float, rel: float = 1e-5) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def fmt(x) -> str:
    """A number as a student would write it: 3.0 not 3.0000000001, 0.01 not 0.009999999776."""
    if x is None:
        return "None"
    return f"{float(np.float32(x)):.6g}" if abs(float(x)) < 1e6 else f"{float(x):.6g}"


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


def evaluate(model, x, y) -> float:
    """The model's compiled loss on (x, y), computed silently; the first value if it has metrics."""
    with quiet():
        value = model.evaluate(x, y, verbose=0)
    if isinstance(value, (list, tuple)):
        value = value[0]
    return float(value)


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


def same_value(a: float, b: float, rel: float = 1e-4) -> bool:
    """Equal, treating every non-finite value (nan, inf) as the same outcome: 'it exploded'."""
    if not math.isfinite(a) or not math.isfinite(b):
        return not math.isfinite(a) and not math.isfinite(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-6)


# -- the whole layer: every setting that changes what it computes or the shape it outputs ------
#: Per layer type, the constructor settings that change the model's output, its shape or what
#: training does to it. Settings that only change speed (``unroll``) or naming are left out.
COMPUTE_SETTINGS = {
    "Dense": ("activation", "use_bias", "kernel_initializer", "bias_initializer",
              "kernel_regularizer", "bias_regularizer", "activity_regularizer",
              "kernel_constraint", "bias_constraint"),
    "SimpleRNN": ("activation", "use_bias", "return_sequences", "return_state",
                  "go_backwards", "stateful", "dropout", "recurrent_dropout"),
}


def _setting(value):
    """A config value in a comparable form: serialized objects by class and settings."""
    if isinstance(value, dict) and "class_name" in value:
        config = value.get("config") or {}
        return (value["class_name"], tuple(sorted((k, _setting(v)) for k, v in config.items()
                                                   if k != "name")))
    if isinstance(value, (list, tuple)):
        return tuple(_setting(v) for v in value)
    return value


def _show(value) -> str:
    if isinstance(value, dict) and "class_name" in value:
        config = {k: v for k, v in (value.get("config") or {}).items() if k != "name"}
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        return f"{value['class_name']}({args})"
    return repr(value)


def config_differences(layer, reference, settings=None) -> list[str]:
    """What ``layer`` sets differently from ``reference`` (a layer built as the exercise
    says), one phrase per setting: ``"go_backwards=True (the exercise: go_backwards=False)"``.

    Compares the layers' own configurations (``get_config``), so any way of writing the same
    layer (positional arguments, aliases, objects or strings) compares equal.
    """
    kind = type(reference).__name__
    keys = settings or COMPUTE_SETTINGS.get(kind, ())
    try:
        mine, theirs = layer.get_config(), reference.get_config()
    except Exception:  # noqa: BLE001 - a layer that cannot describe itself
        return []
    out = []
    for key in keys:
        if key not in theirs:
            continue
        if _setting(mine.get(key)) != _setting(theirs[key]):
            out.append(f"{key}={_show(mine.get(key))} (the exercise: {key}={_show(theirs[key])})")
    return out


def layer_mistake(where: str, layer, reference, settings=None) -> str | None:
    """The message naming every setting of ``layer`` that differs from ``reference``, or None."""
    differences = config_differences(layer, reference, settings)
    if not differences:
        return None
    kind = type(reference).__name__
    them = "them as the instruction has them: each" if len(differences) > 1 else \
        "it as the instruction has it: it"
    return (f"{where}{kind}: you set " + "; ".join(differences) + f". Leave {them} changes "
            f"what the model computes.")
