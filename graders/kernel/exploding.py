"""Checks for ``exploding_gradients.ipynb``: step 1 (watch it explode) and step 2 (clip).

Each check judges the trained ``model`` in the notebook (its layers, its compiled optimizer and
loss, its training history) and the values stored in ``train_mse``/``test_mse`` against the
model's own evaluation. Messages name the mistake; they sit next to the test that finds it.
"""
from __future__ import annotations

import math

from . import keras_facts as kf
from .result import Mistake
from .state import NotebookState

HIDDEN_UNITS = 25
INPUT_DIM = 20
LEARNING_RATE = 0.01
MOMENTUM = 0.9
EPOCHS = 100
CLIPVALUE = 3.0
INITIALIZER_SEED = 42


def check_architecture(model, step: int) -> None:
    """Dense(25, relu, he_uniform(seed=42)) on 20 inputs, then Dense(1, linear)."""
    where = f"Step {step}: "
    layers = kf.layers_with_weights(model)
    kinds = [type(layer).__name__ for layer in layers]
    if kinds != ["Dense", "Dense"]:
        raise Mistake(where + f"the model should be two Dense layers (25 units, then 1 unit); "
                      f"yours is {kf.describe_layers(layers)}.")
    hidden, output = layers
    if hidden.units != HIDDEN_UNITS:
        raise Mistake(where + f"the hidden Dense layer has {hidden.units} units; the instruction "
                      f"asks for {HIDDEN_UNITS}.")
    if kf.activation_name(hidden) != "relu":
        raise Mistake(where + f"the hidden layer's activation is '{kf.activation_name(hidden)}'; "
                      f"the instruction asks for 'relu'.")
    init = hidden.kernel_initializer
    seed = kf.initializer_seed(init)
    if type(init).__name__ != "HeUniform" or seed != INITIALIZER_SEED:
        raise Mistake(where + f"the hidden layer's kernel_initializer is "
                      f"{type(init).__name__}(seed={seed}); the instruction asks for "
                      f"he_uniform(seed={INITIALIZER_SEED}).")
    shape = kf.input_shape(model)
    if shape is None or shape[-1] != INPUT_DIM:
        raise Mistake(where + f"the model's input should have {INPUT_DIM} features "
                      f"(input_dim={INPUT_DIM}); yours has input shape {shape}.")
    if output.units != 1 or kf.activation_name(output) != "linear":
        raise Mistake(where + f"the output layer should be Dense(1) with a linear activation; "
                      f"yours is Dense({output.units}) with '{kf.activation_name(output)}'.")
    # the whole layers: every other setting that changes what they compute
    for layer, reference in zip(layers, reference_layers()):
        message = kf.layer_mistake(where, layer, reference)
        if message:
            raise Mistake(message)


def reference_layers():
    """The two layers as the instruction writes them (compared setting by setting)."""
    import keras

    return [keras.layers.Dense(HIDDEN_UNITS, activation="relu",
                               kernel_initializer=keras.initializers.HeUniform(seed=INITIALIZER_SEED)),
            keras.layers.Dense(1)]


def check_compiled(state: NotebookState, model, step: int, clipvalue: float | None) -> None:
    """MSE loss; SGD(learning_rate=0.01, momentum=0.9) with exactly the clipping asked for."""
    where = f"Step {step}: "
    if not kf.is_compiled(model):
        raise state.mistake(where + "your model was never compiled (call `model.compile(...)` "
                            "with the loss and the optimizer).")
    opt = kf.optimizer_facts(model)
    if opt["class"] != "SGD":
        raise Mistake(where + f"the model is compiled with the {opt['class']} optimizer; the "
                      f"exercise uses SGD.")
    if not kf.close(opt["learning_rate"], LEARNING_RATE):
        raise Mistake(where + f"the SGD learning rate is {kf.fmt(opt['learning_rate'])}; the "
                      f"instruction asks for learning_rate={LEARNING_RATE}.")
    if not kf.close(opt["momentum"], MOMENTUM):
        raise Mistake(where + f"the SGD momentum is {kf.fmt(opt['momentum'])}; the instruction "
                      f"asks for momentum={MOMENTUM}.")
    if clipvalue is None:
        clipping = {k: opt[k] for k in ("clipvalue", "clipnorm", "global_clipnorm") if opt[k]}
        if clipping:
            key, value = next(iter(clipping.items()))
            raise Mistake(where + f"your optimizer clips gradients ({key}={kf.fmt(value)}). Step 1 "
                          f"shows what happens without clipping; clipping is step 2.",
                          "exploding_not_nan")
    else:
        for other in ("clipnorm", "global_clipnorm"):
            if opt[other] is not None and opt["clipvalue"] is None:
                raise Mistake(where + f"you clipped with {other}={kf.fmt(opt[other])}; the "
                              f"instruction asks for clipvalue={clipvalue}, which clips each "
                              f"gradient component to [-{clipvalue}, {clipvalue}] instead of "
                              f"rescaling the gradient's norm.", "exploding_clipnorm")
        if opt["clipvalue"] is None:
            raise Mistake(where + f"the SGD optimizer does not clip gradients: add "
                          f"clipvalue={clipvalue}.", "exploding_clip_value_wrong")
        if not kf.close(opt["clipvalue"], clipvalue):
            raise Mistake(where + f"clipvalue is {kf.fmt(opt['clipvalue'])}; the instruction "
                          f"asks for clipvalue={clipvalue}.", "exploding_clip_value_wrong")
    mse = kf.loss_value(model, [[1.0], [3.0]], [[0.5], [0.0]])
    if mse is None or not math.isclose(mse, 4.625, rel_tol=1e-4):
        raise Mistake(where + f"the model's loss is {kf.describe_loss(model)}; the instruction "
                      f"asks for the mean squared error ('mean_squared_error').")


def check_trained(state: NotebookState, model, step: int) -> None:
    """Fitted for 100 epochs with validation data."""
    where = f"Step {step}: "
    history = getattr(model, "history", None)
    if history is None or not getattr(history, "epoch", None):
        raise state.mistake(where + "your model was never trained: fit it with "
                            "`model.fit(X_train, y_train, validation_data=(X_test, y_test), "
                            "epochs=100, verbose=0)`.")
    epochs = len(history.epoch)
    if epochs != EPOCHS:
        raise Mistake(where + f"the model's last fit ran {epochs} epochs; the instruction asks "
                      f"for {EPOCHS}.")
    if "val_loss" not in history.history:
        raise Mistake(where + "the model was fitted without validation data: pass "
                      "`validation_data=(X_test, y_test)` to fit.")


def check_stored_mse(state: NotebookState, model, step: int) -> tuple[float, float]:
    """``train_mse``/``test_mse`` hold the model's own MSE on the train and test sets."""
    where = f"Step {step}: "
    measured = {}
    for name, x, y in (("train_mse", "X_train", "y_train"), ("test_mse", "X_test", "y_test")):
        stored = kf.as_number(state.require(name, f"the {name.split('_')[0]} MSE"))
        if stored is None:
            raise Mistake(where + f"`{name}` should hold one number, the MSE that "
                          f"`model.evaluate` returns; it holds "
                          f"{type(state.get(name)).__name__}.")
        actual = kf.evaluate(model, state.require(x, "preloaded data"),
                             state.require(y, "preloaded data"))
        if not kf.same_value(stored, actual):
            raise Mistake(where + f"`{name}` is {stored:.6g}, but your trained model's MSE on "
                          f"{x}, y{x[1:]} is {actual:.6g}: store what "
                          f"`model.evaluate({x}, y{x[1:]}, verbose=0)` returns, after training.")
        measured[name] = actual
    return measured["train_mse"], measured["test_mse"]


def check_exploding_step1(state: NotebookState) -> str:
    """Step 1: the unclipped model, trained, its (exploded) MSE stored and printed."""
    try:
        return _step1(state)
    except Mistake as mistake:
        raise state.explained(mistake, "Step 1: ") from None


def check_exploding_step2(state: NotebookState) -> str:
    """Step 2: a new model, SGD with clipvalue=3.0, trained, finite MSE stored."""
    try:
        return _step2(state)
    except Mistake as mistake:
        # A step 2 cell that stopped early leaves step 1's model and MSEs behind: say why.
        raise state.explained(mistake, "Step 2: ") from None


def _step1(state: NotebookState) -> str:
    model = state.keras_model("model")
    check_architecture(model, 1)
    check_compiled(state, model, 1, clipvalue=None)
    check_trained(state, model, 1)
    train, test = check_stored_mse(state, model, 1)
    if math.isfinite(train) and math.isfinite(test):
        return (f"Step 1 is right. Your model did not explode this time (train MSE {train:.3g}, "
                f"test MSE {test:.3g}); usually it reaches nan within a few epochs.")
    return (f"Step 1 is right: without clipping the MSE exploded (train {train:.3g}, "
            f"test {test:.3g}).")


def _step2(state: NotebookState) -> str:
    model = state.keras_model("model")
    check_architecture(model, 2)
    check_compiled(state, model, 2, clipvalue=CLIPVALUE)
    check_trained(state, model, 2)
    train, test = check_stored_mse(state, model, 2)
    if not (math.isfinite(train) and math.isfinite(test)):
        raise Mistake("Step 2: your clipped model's MSE is still not finite "
                      f"(train {train:.3g}, test {test:.3g}). Build a new model for step 2: "
                      "the step 1 model's weights are already nan, and no clipping repairs them.",
                      "exploding_not_rebuilt")
    history = model.history.history
    if not kf.same_value(float(history["val_loss"][-1]), test, rel=1e-3):
        raise Mistake("Step 2: the validation loss of your last epoch "
                      f"({float(history['val_loss'][-1]):.6g}) is not the model's MSE on the test "
                      f"set ({test:.6g}): validate on `(X_test, y_test)`.")
    return f"Step 2 is right: with clipvalue=3.0 the MSE is finite (train {train:.3g}, test {test:.3g})."
