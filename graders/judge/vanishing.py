"""Checks for ``vanishing_gradients.ipynb``: build, compile, load the pretrained weights, plot.

Judged from the evidence the test cells exported: the model's layers, compile settings and
metrics (claims); its weights by shape and SHA-256, compared with the digests the judge computes
itself from the course's ``model_weights.h5``; its predictions on the grader's fresh probe
sequences, which the judge recomputes (a float32 SimpleRNN(600) -> Dense(1, sigmoid) forward
pass with the course's weights) when the model claims to be that model; and the data of the
lines in the figures the notebook displayed, compared with the course's
``pretrain_history.json``.
"""
from __future__ import annotations

import math

import numpy as np

from ..kernel.result import Mistake
from . import numeric as nm
from .course import WEIGHTS_FILE
from .evidence import Evidence, Model
from .exploding import describe_layers
from .reference import COMPUTE_SETTINGS, LAYERS

RNN_UNITS = 600
ACCURACY_METRICS = {"accuracy", "acc", "binary_accuracy"}


def _build_mistake(ev: Evidence, model: Model) -> Mistake | None:
    layers = model.layers
    kinds = [layer.kind for layer in layers]
    if len(layers) != 2 or kinds[1:] != ["Dense"]:
        return ev.mistake(f"The model should be a SimpleRNN layer followed by one Dense layer; "
                          f"yours is {describe_layers(layers)}.")
    rnn, output = layers
    if kinds[0] != "SimpleRNN":
        return Mistake(f"The recurrent layer is {kinds[0]}; this exercise uses SimpleRNN, whose "
                       f"gradients vanish (LSTM and GRU are the remedy the text describes).",
                       "vanishing_layer_type")
    if rnn.units != RNN_UNITS:
        return Mistake(f"Your SimpleRNN has {rnn.units} units; the instruction asks for "
                       f"{RNN_UNITS} (units={RNN_UNITS}), the size of the pretrained model.",
                       "vanishing_units")
    shape = model.input_shape
    if shape is None:
        return Mistake("The model does not know its input shape: give the SimpleRNN "
                       "`input_shape=(None, 1)` (or start with `keras.Input(shape=(None, 1))`).")
    if len(shape) != 3 or shape[-1] != 1:
        return Mistake(f"The model's input shape is {shape[1:]}; the instruction asks for "
                       f"(None, 1): any number of time steps, one feature per step.")
    if output.units != 1 or output.activation != "sigmoid":
        return Mistake(f"The output layer should be Dense(1) with a sigmoid activation; yours "
                       f"is Dense({output.units}) with '{output.activation}'.")
    for layer, reference in ((rnn, "vanishing_rnn"), (output, "vanishing_output")):
        # the whole layer, but for initializers: the pretrained weights replace them
        settings = [s for s in COMPUTE_SETTINGS[LAYERS[reference][0]]
                    if not s.endswith("_initializer")]
        message = nm.layer_mistake("", layer.config, reference, settings)
        if message:
            return Mistake(message)
    return None


def confirm(ev: Evidence) -> None:
    """Where the evidence can be checked, check it before any instruction is judged.

    When it describes the exercise's model holding the course's weights, the judge knows what
    that model computes: its predictions on the grader's probe sequences must be exactly that,
    or nothing this evidence claims is believed: it came from an exporter that was made to lie
    (every instruction judged on it scores 0 and the notebook is listed for review; evidence
    exported by earlier test cells, before any tampering, keeps its verdicts). A model that is not that one cannot be recomputed; its
    description is a claim (the README's table says which instruction rests on what).
    """
    try:
        model = ev.model("model")
    except Mistake:
        return
    if _build_mistake(ev, model) is None and _holds_course_weights(ev, model):
        _confirm_by_probe(ev, model)


def check_vanishing_build(ev: Evidence) -> str:
    """Sequential: SimpleRNN(600) on inputs of shape (timesteps, 1), then Dense(1, sigmoid)."""
    confirm(ev)
    model = ev.model("model")
    mistake = _build_mistake(ev, model)
    if mistake is not None:
        raise mistake
    return "The model is right: SimpleRNN(600) on (None, 1) inputs, then Dense(1, sigmoid)."


def check_vanishing_compile(ev: Evidence) -> str:
    """Binary cross-entropy, the SGD optimizer, the accuracy metric."""
    confirm(ev)
    model = ev.model("model")
    if not model.compiled:
        raise ev.mistake("Your model was never compiled: call `model.compile(...)` with the "
                         "loss, optimizer and metric of the instruction.")
    bce = -(math.log(0.8) + math.log(0.7)) / 2
    value = model.loss_probe("bce")
    if value is None or not math.isclose(value, bce, rel_tol=1e-3):
        if model.loss_options().get("from_logits"):
            raise Mistake(f"The model's loss is {model.describe_loss()}, which treats the "
                          f"outputs as logits; your Dense(1, sigmoid) already outputs "
                          f"probabilities, so the instruction's binary cross-entropy is "
                          f"loss='binary_crossentropy' (from_logits=False).")
        raise Mistake(f"The model's loss is {model.describe_loss()}; the instruction asks for "
                      f"binary cross-entropy ('binary_crossentropy').")
    opt = model.optimizer()
    if opt["class"] != "SGD":
        raise Mistake(f"The model is compiled with the {opt['class']} optimizer; the "
                      f"instruction asks for 'sgd' (plain stochastic gradient descent).")
    names = model.metric_names()
    loss_weights = model.get("loss_weights")
    if not names and isinstance(loss_weights, list) and \
            any(isinstance(w, str) for w in loss_weights):
        raise Mistake(f"The model has no metric: the third positional argument of "
                      f"`compile` is `loss_weights` in Keras 3 (it was `metrics` in Keras 2), "
                      f"so {list(loss_weights)!r} became loss weights. Name it: "
                      f"metrics=['accuracy'].")
    if not ACCURACY_METRICS & {n.lower() for n in names}:
        shown = ", ".join(repr(n) for n in names) or "none"
        raise Mistake(f"The model's metrics are {shown}; the instruction asks for "
                      f"metrics=['accuracy'].")
    return "The model is compiled right: binary cross-entropy, SGD, accuracy."


def _holds_course_weights(ev: Evidence, model: Model) -> bool:
    return model.weight_digests() == ev.course.pretrained_digests()


_COURSE_OUTPUTS: dict = {}


def _course_model_on(ev: Evidence, probe: np.ndarray) -> np.ndarray:
    """What SimpleRNN(600) -> Dense(1, sigmoid) with the course's weights outputs on the probe
    (computed once per probe: every test cell of a notebook shares it)."""
    key = (ev.probe.nonce, str(ev.course.folder))
    if key not in _COURSE_OUTPUTS:
        if len(_COURSE_OUTPUTS) > 64:
            _COURSE_OUTPUTS.clear()
        _COURSE_OUTPUTS[key] = nm.simple_rnn_network(ev.course.pretrained_weights(), probe)
    return _COURSE_OUTPUTS[key]


def _confirm_by_probe(ev: Evidence, model: Model) -> None:
    """The model claims to be SimpleRNN(600) -> Dense(1, sigmoid) holding the course's weights:
    its predictions on the grader's probe sequences must be what that model computes."""
    predictions = model.predictions()
    probe = ev.probe.vanishing if ev.probe is not None else None
    if predictions is None or probe is None:
        raise ev.inconsistent("", "your model's predictions on the grader's test sequences "
                              "are missing")
    if not nm.same_outputs(predictions, _course_model_on(ev, probe)):
        raise ev.inconsistent("", "your model's predictions on the grader's test sequences "
                              "are not what SimpleRNN(600) with the pretrained weights computes")


def check_vanishing_weights(ev: Evidence) -> str:
    """The model holds exactly the pretrained weights of ``model_weights.h5``."""
    confirm(ev)
    model = ev.model("model")
    expected = ev.course.pretrained_digests()
    actual = model.weight_digests()
    if not actual:
        raise ev.mistake(f"Your model has no weights yet, so the pretrained ones in "
                         f"{WEIGHTS_FILE} could not be loaded into it: it does not know its "
                         f"input shape. Give the SimpleRNN `input_shape=(None, 1)`, then load "
                         f"the weights.")
    if [a[0] for a in actual] != [e[0] for e in expected]:
        kinds = [layer.kind for layer in model.layers]
        raise ev.mistake(f"The pretrained weights in {WEIGHTS_FILE} are for SimpleRNN(600) "
                         f"followed by Dense(1); your model's weights have other shapes, so "
                         f"they cannot be the pretrained ones. Fix the model, then load them.",
                         "vanishing_units" if kinds[:1] == ["SimpleRNN"]
                         else "vanishing_layer_type")
    if actual == expected:
        return f"The pretrained weights from {WEIGHTS_FILE} are loaded."
    iterations = model.optimizer().get("iterations") if model.compiled else None
    trained = model.has_history or (isinstance(iterations, int) and iterations > 0)
    if trained:
        raise Mistake("Your model's weights are not the pretrained ones any more: you trained it "
                      "(fit) after loading them. Load the weights and only plot the pretraining "
                      "`history`; training 100 epochs again is what the saved weights spare you.",
                      "vanishing_retrained")
    raise ev.mistake(f"Your model's weights are not the pretrained ones: load them with "
                     f"`model.load_weights('{WEIGHTS_FILE}')` after building the model.",
                     "vanishing_not_loaded")


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


def _history_replaced(ev: Evidence, reference: dict) -> tuple[int, int] | None:
    """(epochs, the pretraining's) when ``history`` holds another record than the pretraining's
    (a new fit), else None."""
    accuracy = ev.history_accuracy()
    if accuracy is None:
        return None
    if _match_curve(accuracy, {"accuracy": reference["accuracy"]}) is not None:
        return None
    return len(accuracy), len(reference["accuracy"])


def check_vanishing_plot(ev: Evidence) -> str:
    """A shown figure with the training and validation accuracy curves and a legend."""
    confirm(ev)
    reference = ev.course.pretrain_history()
    if not ev.figures_shown:
        raise ev.mistake("No plot was shown: plot the two accuracy curves and call "
                         "`plt.show()`.")
    found = set()
    best = None  # (number of accuracy curves on one axes, legend, keys)
    for lines, legend in ev.shown_axes():
        keys = {_match_curve(y, reference) for y in lines if y is not None}
        keys.discard(None)
        found |= keys
        n_acc = len(keys & {"accuracy", "val_accuracy"})
        if best is None or n_acc > best[0]:
            best = (n_acc, legend, keys)
    if not found & {"accuracy", "val_accuracy"}:
        replaced = _history_replaced(ev, reference)
        if replaced is not None:
            epochs, expected = replaced
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
        raise ev.mistake("None of the curves you showed is the accuracy of the pretraining: "
                         "plot `history.history['accuracy']` and "
                         "`history.history['val_accuracy']`.")
    n_acc, legend, keys = best
    if n_acc < 2:
        if len(found & {"accuracy", "val_accuracy"}) == 2:
            raise Mistake("Put the training and the validation accuracy on the same plot, so "
                          "they can be compared.", "vanishing_one_curve")
        have, missing = (("training", "validation") if "accuracy" in found
                         else ("validation", "training"))
        raise Mistake(f"Your plot shows only the {have} accuracy; add the {missing} accuracy "
                      f"as a second curve.", "vanishing_one_curve")
    labels = [t for t in legend if t and not t.startswith("_")]
    if len(labels) < 2:
        raise Mistake("Your plot has no legend naming the two curves: add one, e.g. "
                      "`plt.legend(['Train', 'Validation'])`.", "vanishing_no_legend")
    return "The plot is right: training and validation accuracy, with a legend."
