"""Checks for ``exploding_gradients.ipynb``: step 1 (watch it explode) and step 2 (clip).

Judged from the evidence the test cell exported (:class:`~graders.judge.evidence.Evidence`):
the model's layers and compiled optimizer and loss (claims), its training history (a claim),
and its weights, which travel as data: the judge recomputes the model's MSE on the course's
data from them (a float32 forward pass of the 20 -> 25 -> 1 network), checks that the model's
predictions on the grader's fresh probe inputs are what those weights compute, and compares the
stored ``train_mse``/``test_mse`` with its own figures. Messages name the mistake.
"""
from __future__ import annotations

import math

import numpy as np

from ..kernel.result import Mistake
from . import numeric as nm
from .codec import read_number
from .evidence import Evidence, Model

HIDDEN_UNITS = 25
INPUT_DIM = 20
LEARNING_RATE = 0.01
MOMENTUM = 0.9
EPOCHS = 100
CLIPVALUE = 3.0
INITIALIZER_SEED = 42
#: Step 2's test MSE must be below this fraction of var(y_test), always predicting the mean
#: (a trained model reaches about 30 against about 26,000).
LEARNED_FRACTION = 0.5
WEIGHT_SHAPES = [(INPUT_DIM, HIDDEN_UNITS), (HIDDEN_UNITS,), (HIDDEN_UNITS, 1), (1,)]


def describe_layers(layers) -> str:
    parts = [f"{layer.kind}({layer.units})" if layer.units is not None else f"{layer.kind}()"
             for layer in layers]
    return " -> ".join(parts) if parts else "no layers"


def check_architecture(model: Model, step: int) -> None:
    """Dense(25, relu, he_uniform(seed=42)) on 20 inputs, then Dense(1, linear)."""
    where = f"Step {step}: "
    layers = model.layers
    kinds = [layer.kind for layer in layers]
    if kinds != ["Dense", "Dense"]:
        raise Mistake(where + f"the model should be two Dense layers (25 units, then 1 unit); "
                      f"yours is {describe_layers(layers)}.")
    hidden, output = layers
    if hidden.units != HIDDEN_UNITS:
        raise Mistake(where + f"the hidden Dense layer has {hidden.units} units; the instruction "
                      f"asks for {HIDDEN_UNITS}.")
    if hidden.activation != "relu":
        raise Mistake(where + f"the hidden layer's activation is '{hidden.activation}'; "
                      f"the instruction asks for 'relu'.")
    seed = hidden.initializer_seed
    if hidden.initializer != "HeUniform" or seed != INITIALIZER_SEED:
        raise Mistake(where + f"the hidden layer's kernel_initializer is "
                      f"{hidden.initializer}(seed={seed}); the instruction asks for "
                      f"he_uniform(seed={INITIALIZER_SEED}).")
    shape = model.input_shape
    if shape is None or shape[-1] != INPUT_DIM:
        raise Mistake(where + f"the model's input should have {INPUT_DIM} features "
                      f"(input_dim={INPUT_DIM}); yours has input shape {shape}.")
    if output.units != 1 or output.activation != "linear":
        raise Mistake(where + f"the output layer should be Dense(1) with a linear activation; "
                      f"yours is Dense({output.units}) with '{output.activation}'.")
    for layer, reference in zip(layers, ("exploding_hidden", "exploding_output")):
        message = nm.layer_mistake(where, layer.config, reference)
        if message:
            raise Mistake(message)


def check_compiled(ev: Evidence, model: Model, step: int, clipvalue: float | None) -> None:
    """MSE loss; SGD(learning_rate=0.01, momentum=0.9) with exactly the clipping asked for."""
    where = f"Step {step}: "
    if not model.compiled:
        raise ev.mistake(where + "your model was never compiled (call `model.compile(...)` "
                         "with the loss and the optimizer).")
    opt = model.optimizer()
    if opt["class"] != "SGD":
        raise Mistake(where + f"the model is compiled with the {opt['class']} optimizer; the "
                      f"exercise uses SGD.")
    if not nm.close(opt["learning_rate"], LEARNING_RATE):
        raise Mistake(where + f"the SGD learning rate is {nm.fmt(opt['learning_rate'])}; the "
                      f"instruction asks for learning_rate={LEARNING_RATE}.")
    if not nm.close(opt["momentum"], MOMENTUM):
        raise Mistake(where + f"the SGD momentum is {nm.fmt(opt['momentum'])}; the instruction "
                      f"asks for momentum={MOMENTUM}.")
    if clipvalue is None:
        clipping = {k: opt[k] for k in ("clipvalue", "clipnorm", "global_clipnorm") if opt[k]}
        if clipping:
            key, value = next(iter(clipping.items()))
            raise Mistake(where + f"your optimizer clips gradients ({key}={nm.fmt(value)}). "
                          f"Step 1 shows what happens without clipping; clipping is step 2.",
                          "exploding_not_nan")
    else:
        for other in ("clipnorm", "global_clipnorm"):
            if opt[other] is not None and opt["clipvalue"] is None:
                raise Mistake(where + f"you clipped with {other}={nm.fmt(opt[other])}; the "
                              f"instruction asks for clipvalue={clipvalue}, which clips each "
                              f"gradient component to [-{clipvalue}, {clipvalue}] instead of "
                              f"rescaling the gradient's norm.", "exploding_clipnorm")
        if opt["clipvalue"] is None:
            raise Mistake(where + f"the SGD optimizer does not clip gradients: add "
                          f"clipvalue={clipvalue}.", "exploding_clip_value_wrong")
        if not nm.close(opt["clipvalue"], clipvalue):
            raise Mistake(where + f"clipvalue is {nm.fmt(opt['clipvalue'])}; the instruction "
                          f"asks for clipvalue={clipvalue}.", "exploding_clip_value_wrong")
    mse = model.loss_probe("mse")
    if mse is None or not math.isclose(mse, 4.625, rel_tol=1e-4):
        raise Mistake(where + f"the model's loss is {model.describe_loss()}; the instruction "
                      f"asks for the mean squared error ('mean_squared_error').")


def check_trained(ev: Evidence, model: Model, step: int) -> None:
    """Fitted for 100 epochs with validation data."""
    where = f"Step {step}: "
    history = model.history()
    epochs = history.get("epochs") if history else None
    if not isinstance(epochs, int) or epochs <= 0:
        raise ev.mistake(where + "your model was never trained: fit it with "
                         "`model.fit(X_train, y_train, validation_data=(X_test, y_test), "
                         "epochs=100, verbose=0)`.")
    if epochs != EPOCHS:
        raise Mistake(where + f"the model's last fit ran {epochs} epochs; the instruction asks "
                      f"for {EPOCHS}.")
    # the update count the fit implies: its optimizer took at least epochs x steps steps
    steps, updates = history.get("steps"), model.optimizer().get("iterations")
    if (type(steps) is int and steps > 0 and type(updates) is int  # noqa: E721 - not bool
            and updates < epochs * steps):
        raise ev.inconsistent(where, f"the optimizer made {updates} updates, fewer than the "
                              f"{epochs} epochs x {steps} batches of the model's last fit (was it "
                              f"compiled again after fitting?)")
    if history.get("val_loss_last", "missing") == "missing":
        raise Mistake(where + "the model was fitted without validation data: pass "
                      "`validation_data=(X_test, y_test)` to fit.")


def model_weights(ev: Evidence, model: Model, step: int) -> list[np.ndarray]:
    """The model's exported weights, confirmed by the grader's probe: the model's predictions
    on the probe inputs must be what these weights compute."""
    where = f"Step {step}: "
    weights = model.weights()
    if weights is None or [w.shape for w in weights] != WEIGHT_SHAPES:
        raise ev.inconsistent(where, "the weights of your 20 -> 25 -> 1 model are missing "
                              "from what the grading cell exported")
    predictions = model.predictions()
    probe = ev.probe.exploding if ev.probe is not None else None
    if predictions is None or probe is None:
        raise ev.inconsistent(where, "your model's predictions on the grader's test inputs "
                              "are missing")
    mine = nm.dense_network(weights, probe)
    finite = all(np.isfinite(w).all() for w in weights)
    if not nm.same_outputs(predictions, mine) and not (not finite and _both_broken(predictions,
                                                                                  mine)):
        raise ev.inconsistent(where, "your model's predictions on the grader's test inputs "
                              "are not what its weights compute")
    return weights


def _both_broken(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and not np.isfinite(a).all() and not np.isfinite(b).all()


def check_stored_mse(ev: Evidence, model: Model, step: int) -> tuple[float, float]:
    """``train_mse``/``test_mse`` hold the model's own MSE on the train and test sets, as the
    judge recomputes it from the model's weights on the course's data."""
    where = f"Step {step}: "
    weights = model_weights(ev, model, step)
    data = ev.course.exploding_data()
    measured = {}
    for name, x, y in (("train_mse", "X_train", "y_train"), ("test_mse", "X_test", "y_test")):
        stored = ev.require_number(name, f"the {name.split('_')[0]} MSE", where)
        actual = nm.mse(weights, data[x], data[y])
        if not nm.same_value(stored, actual):
            raise Mistake(where + f"`{name}` is {stored:.6g}, but your trained model's MSE on "
                          f"{x}, y{x[1:]} is {actual:.6g}: store what "
                          f"`model.evaluate({x}, y{x[1:]}, verbose=0)` returns, after training.")
        measured[name] = actual
    return measured["train_mse"], measured["test_mse"]


def check_exploding_step1(ev: Evidence) -> str:
    """Step 1: the unclipped model, trained, its (exploded) MSE stored and printed."""
    try:
        return _step1(ev)
    except Mistake as mistake:
        raise ev.explained(mistake, "Step 1: ") from None


def check_exploding_step2(ev: Evidence) -> str:
    """Step 2: a new model, SGD with clipvalue=3.0, trained, finite MSE stored."""
    try:
        return _step2(ev)
    except Mistake as mistake:
        # A step 2 cell that stopped early leaves step 1's model and MSEs behind: say why.
        raise ev.explained(mistake, "Step 2: ") from None


def _step1(ev: Evidence) -> str:
    model = ev.model("model")
    check_architecture(model, 1)
    check_compiled(ev, model, 1, clipvalue=None)
    check_trained(ev, model, 1)
    train, test = check_stored_mse(ev, model, 1)
    if math.isfinite(train) and math.isfinite(test):
        return (f"Step 1 is right. Your model did not explode this time (train MSE {train:.3g}, "
                f"test MSE {test:.3g}); usually it reaches nan within a few epochs.")
    return (f"Step 1 is right: without clipping the MSE exploded (train {train:.3g}, "
            f"test {test:.3g}).")


def _step2(ev: Evidence) -> str:
    model = ev.model("model")
    check_architecture(model, 2)
    check_compiled(ev, model, 2, clipvalue=CLIPVALUE)
    check_trained(ev, model, 2)
    train, test = check_stored_mse(ev, model, 2)
    if not (math.isfinite(train) and math.isfinite(test)):
        raise Mistake("Step 2: your clipped model's MSE is still not finite "
                      f"(train {train:.3g}, test {test:.3g}). Build a new model for step 2: "
                      "the step 1 model's weights are already nan, and no clipping repairs them.",
                      "exploding_not_rebuilt")
    val_loss = read_number(model.history().get("val_loss_last"))
    if val_loss is None or not nm.same_value(val_loss, test, rel=1e-3):
        raise Mistake("Step 2: the validation loss of your last epoch "
                      f"({val_loss if val_loss is None else format(val_loss, '.6g')}) is not "
                      f"the model's MSE on the test set ({test:.6g}): validate on "
                      "`(X_test, y_test)`.")
    baseline = float(np.var(ev.course.exploding_data()["y_test"].astype(np.float64)))
    if not test < LEARNED_FRACTION * baseline:
        raise Mistake(f"Step 2: your clipped model's test MSE ({test:.3g}) is not far below "
                      f"{baseline:.3g}, the MSE of always predicting the mean of y_test: it has "
                      f"not learned. Train the new clipped model for 100 epochs on "
                      f"(X_train, y_train).")
    return f"Step 2 is right: with clipvalue=3.0 the MSE is finite (train {train:.3g}, test {test:.3g})."

