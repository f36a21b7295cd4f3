"""Checks for ``vanishing_gradients.ipynb``: build, compile, load the pretrained weights, plot.

The model is judged by its layers, compiled loss/optimizer/metrics and its weights compared with
``model_weights.h5``; the plot by the data of the lines in the figures the notebook displayed,
compared with the pretraining history in ``pretrain_history.json``.
"""
from __future__ import annotations

import json
import math

import numpy as np

from . import keras_facts as kf
from .result import Mistake
from .state import NotebookState

RNN_UNITS = 600
WEIGHTS_FILE = "model_weights.h5"
HISTORY_FILE = "pretrain_history.json"
ACCURACY_METRICS = {"accuracy", "acc", "binary_accuracy"}


def check_vanishing_build(state: NotebookState) -> str:
    """Sequential: SimpleRNN(600) on inputs of shape (timesteps, 1), then Dense(1, sigmoid)."""
    model = state.keras_model("model")
    layers = kf.layers_with_weights(model)
    kinds = [type(layer).__name__ for layer in layers]
    if len(layers) != 2 or kinds[1:] != ["Dense"]:
        raise state.mistake(f"The model should be a SimpleRNN layer followed by one Dense layer; "
                            f"yours is {kf.describe_layers(layers)}.")
    rnn, output = layers
    if kinds[0] != "SimpleRNN":
        raise Mistake(f"The recurrent layer is {kinds[0]}; this exercise uses SimpleRNN, whose "
                      f"gradients vanish (LSTM and GRU are the remedy the text describes).",
                      "vanishing_layer_type")
    if rnn.units != RNN_UNITS:
        raise Mistake(f"Your SimpleRNN has {rnn.units} units; the instruction asks for "
                      f"{RNN_UNITS} (units={RNN_UNITS}), the size of the pretrained model.",
                      "vanishing_units")
    shape = kf.input_shape(model)
    if shape is None:
        raise Mistake("The model does not know its input shape: give the SimpleRNN "
                      "`input_shape=(None, 1)` (or start with `keras.Input(shape=(None, 1))`).")
    if len(shape) != 3 or shape[-1] != 1:
        raise Mistake(f"The model's input shape is {shape[1:]}; the instruction asks for "
                      f"(None, 1): any number of time steps, one feature per step.")
    if output.units != 1 or kf.activation_name(output) != "sigmoid":
        raise Mistake(f"The output layer should be Dense(1) with a sigmoid activation; yours is "
                      f"Dense({output.units}) with '{kf.activation_name(output)}'.")
    import keras

    for layer, reference in ((rnn, keras.layers.SimpleRNN(RNN_UNITS)),
                             (output, keras.layers.Dense(1, activation="sigmoid"))):
        # the whole layer, but for initializers: the pretrained weights replace them
        settings = [s for s in kf.COMPUTE_SETTINGS[type(reference).__name__]
                    if not s.endswith("_initializer")]
        message = kf.layer_mistake("", layer, reference, settings)
        if message:
            raise Mistake(message)
    return "The model is right: SimpleRNN(600) on (None, 1) inputs, then Dense(1, sigmoid)."


def _metric_names(model) -> list[str]:
    metrics = (model.get_compile_config() or {}).get("metrics") or []
    if isinstance(metrics, dict):  # {output_name: [...]}
        metrics = [m for ms in metrics.values() for m in (ms if isinstance(ms, list) else [ms])]
    names = []
    for metric in metrics:
        if isinstance(metric, str):
            names.append(metric)
        elif isinstance(metric, dict):
            names.append(metric.get("config", {}).get("name") or metric.get("class_name", "?"))
        else:
            names.append(getattr(metric, "name", type(metric).__name__))
    return names


def check_vanishing_compile(state: NotebookState) -> str:
    """Binary cross-entropy, the SGD optimizer, the accuracy metric."""
    model = state.keras_model("model")
    if not kf.is_compiled(model):
        raise state.mistake("Your model was never compiled: call `model.compile(...)` with the "
                            "loss, optimizer and metric of the instruction.")
    bce = -(math.log(0.8) + math.log(0.7)) / 2
    value = kf.loss_value(model, [[1.0], [0.0]], [[0.8], [0.3]])
    if value is None or not math.isclose(value, bce, rel_tol=1e-3):
        if kf.loss_options(model).get("from_logits"):
            raise Mistake(f"The model's loss is {kf.describe_loss(model)}, which treats the "
                          f"outputs as logits; your Dense(1, sigmoid) already outputs "
                          f"probabilities, so the instruction's binary cross-entropy is "
                          f"loss='binary_crossentropy' (from_logits=False).")
        raise Mistake(f"The model's loss is {kf.describe_loss(model)}; the instruction asks for "
                      f"binary cross-entropy ('binary_crossentropy').")
    opt = kf.optimizer_facts(model)
    if opt["class"] != "SGD":
        raise Mistake(f"The model is compiled with the {opt['class']} optimizer; the instruction "
                      f"asks for 'sgd' (plain stochastic gradient descent).")
    names = _metric_names(model)
    loss_weights = (model.get_compile_config() or {}).get("loss_weights")
    if not names and isinstance(loss_weights, (list, tuple)) and \
            any(isinstance(w, str) for w in loss_weights):
        raise Mistake(f"The model has no metric: the third positional argument of "
                      f"`compile` is `loss_weights` in Keras 3 (it was `metrics` in Keras 2), so "
                      f"{list(loss_weights)!r} became loss weights. Name it: "
                      f"metrics=['accuracy'].")
    if not ACCURACY_METRICS & {n.lower() for n in names}:
        shown = ", ".join(repr(n) for n in names) or "none"
        raise Mistake(f"The model's metrics are {shown}; the instruction asks for "
                      f"metrics=['accuracy'].")
    return "The model is compiled right: binary cross-entropy, SGD, accuracy."


def pretrained_weights(path) -> list[np.ndarray]:
    """The arrays in a legacy-layout Keras H5 weights file, in layer order."""
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        out = []
        for layer in group.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            g = group[layer]
            for name in g.attrs["weight_names"]:
                name = name.decode() if isinstance(name, bytes) else name
                out.append(np.asarray(g[name]))
        return out


def check_vanishing_weights(state: NotebookState) -> str:
    """The model holds exactly the pretrained weights of ``model_weights.h5``."""
    model = state.keras_model("model")
    expected = pretrained_weights(state.data_file(WEIGHTS_FILE))
    actual = model.get_weights()
    if not actual:
        raise state.mistake(f"Your model has no weights yet, so the pretrained ones in "
                            f"{WEIGHTS_FILE} could not be loaded into it: it does not know its "
                            f"input shape. Give the SimpleRNN `input_shape=(None, 1)`, then load "
                            f"the weights.")
    shapes_match = [a.shape for a in actual] == [e.shape for e in expected]
    if not shapes_match:
        kinds = [type(layer).__name__ for layer in kf.layers_with_weights(model)]
        raise state.mistake(f"The pretrained weights in {WEIGHTS_FILE} are for SimpleRNN(600) "
                            f"followed by Dense(1); your model's weights have other shapes, so "
                            f"they cannot be the pretrained ones. Fix the model, then load them.",
                            "vanishing_units" if kinds[:1] == ["SimpleRNN"]
                            else "vanishing_layer_type")
    if all(np.array_equal(a, e) for a, e in zip(actual, expected)):
        return f"The pretrained weights from {WEIGHTS_FILE} are loaded."
    trained = getattr(model, "history", None) is not None or \
        (kf.is_compiled(model) and int(model.optimizer.iterations.numpy()) > 0)
    if trained:
        raise Mistake("Your model's weights are not the pretrained ones any more: you trained it "
                      "(fit) after loading them. Load the weights and only plot the pretraining "
                      "`history`; training 100 epochs again is what the saved weights spare you.",
                      "vanishing_retrained")
    raise state.mistake(f"Your model's weights are not the pretrained ones: load them with "
                        f"`model.load_weights('{WEIGHTS_FILE}')` after building the model.",
                        "vanishing_not_loaded")


def _line_data(line) -> np.ndarray | None:
    try:
        y = np.asarray(line.get_ydata(), dtype="float64")
    except (TypeError, ValueError):
        return None
    return y if y.ndim == 1 else None


def _match_curve(y: np.ndarray, reference: dict) -> str | None:
    """Which history series a line shows (its y data, accuracy also in percent), or None."""
    for key, series in reference.items():
        series = np.asarray(series, dtype="float64")
        if y.shape != series.shape:
            continue
        scales = (1.0, 100.0) if "accuracy" in key else (1.0,)
        if any(np.allclose(y, scale * series, rtol=1e-5, atol=1e-7 * scale) for scale in scales):
            return key
    return None


def _history_replaced(state: NotebookState, reference: dict) -> bool:
    """Does the notebook's ``history`` hold another record than the pretraining's (a new fit)?"""
    record = getattr(state.get("history"), "history", None)
    if not isinstance(record, dict) or "accuracy" not in record:
        return False
    try:
        accuracy = np.asarray(record["accuracy"], dtype="float64").ravel()
    except (TypeError, ValueError):
        return False
    return _match_curve(accuracy, {"accuracy": reference["accuracy"]}) is None


def _legend_labels(ax) -> list[str]:
    legends = [ax.get_legend()] + list(ax.figure.legends)
    return [t.get_text() for lg in legends if lg is not None for t in lg.get_texts()]


def check_vanishing_plot(state: NotebookState) -> str:
    """A shown figure with the training and validation accuracy curves and a legend."""
    with open(state.data_file(HISTORY_FILE)) as f:
        reference = json.load(f)
    figures = state.shown_figures()
    if not figures:
        raise state.mistake("No plot was shown: plot the two accuracy curves and call "
                            "`plt.show()`.")
    found = set()
    best = None  # (number of accuracy curves on one axes, ax, keys)
    for fig in figures:
        for ax in fig.get_axes():
            keys = {_match_curve(y, reference) for y in map(_line_data, ax.get_lines())
                    if y is not None}
            keys.discard(None)
            found |= keys
            n_acc = len(keys & {"accuracy", "val_accuracy"})
            if best is None or n_acc > best[0]:
                best = (n_acc, ax, keys)
    if not found & {"accuracy", "val_accuracy"}:
        if _history_replaced(state, reference):
            epochs, expected = (len(state.get("history").history["accuracy"]),
                                len(reference["accuracy"]))
            other = (f"its accuracy has {epochs} epoch(s), the pretraining's {expected}"
                     if epochs != expected else "its accuracy is not the pretraining's")
            raise Mistake(f"`history` no longer holds the pretraining record ({other}): you "
                          f"replaced it, probably with `history = model.fit(...)`. Do not fit; "
                          f"plot the pretraining `history` that the setup cell loads (run the "
                          f"setup cell again).", "vanishing_retrained")
        if found & {"loss", "val_loss"}:
            raise Mistake("Your plot shows the loss; the instruction asks for the accuracy: "
                          "`history.history['accuracy']` and `history.history['val_accuracy']`.",
                          "vanishing_plotted_loss")
        raise state.mistake("None of the curves you showed is the accuracy of the pretraining: "
                            "plot `history.history['accuracy']` and "
                            "`history.history['val_accuracy']`.")
    n_acc, ax, keys = best
    if n_acc < 2:
        if len(found & {"accuracy", "val_accuracy"}) == 2:
            raise Mistake("Put the training and the validation accuracy on the same plot, so "
                          "they can be compared.", "vanishing_one_curve")
        have, missing = (("training", "validation") if "accuracy" in found
                         else ("validation", "training"))
        raise Mistake(f"Your plot shows only the {have} accuracy; add the {missing} accuracy "
                      f"as a second curve.", "vanishing_one_curve")
    labels = [t for t in _legend_labels(ax) if t and not t.startswith("_")]
    if len(labels) < 2:
        raise Mistake("Your plot has no legend naming the two curves: add one, e.g. "
                      "`plt.legend(['Train', 'Validation'])`.", "vanishing_no_legend")
    return "The plot is right: training and validation accuracy, with a legend."
