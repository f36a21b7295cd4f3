"""The checks on real Keras models and real matplotlib figures, in this process (fast path).

The same functions run in the hidden test cells; here they get a plain dict as the notebook.
Models are trained for a few epochs only where the check under test does not need 100.
"""
import json

import numpy as np
import pytest

from graders.instructions import INSTRUCTIONS
from graders.kernel import notebook
from helpers import SOURCE

import keras  # noqa: E402 - pinned: a broken install must fail, not skip
from keras.initializers import he_uniform  # noqa: E402
from keras.layers import GRU, LSTM, Dense, SimpleRNN  # noqa: E402
from keras.models import Sequential  # noqa: E402
from keras.optimizers import SGD, Adam  # noqa: E402


@pytest.fixture(scope="module")
def exploding_data():
    with np.load(SOURCE / "exploding_data.npz") as d:
        return {k: d[k] for k in ("X_train", "X_test", "y_train", "y_test")}


def judge(instruction, namespace, workdir=SOURCE):
    """The verdict the judge gives on the evidence this namespace exports (the kernel's path:
    evidence collected from live objects, judged with the course's files and a probe)."""
    return notebook.judge(instruction, namespace, workdir)


def lost(result, instruction):
    """The verdict takes every point of ``instruction`` away; returns its message."""
    assert result.instruction == instruction, result
    assert result.passed is False and result.points == 0, result
    assert result.max_points == INSTRUCTIONS[instruction].points, result
    return result.message


def won(result, instruction):
    """The verdict gives ``instruction``'s full points."""
    assert result.instruction == instruction, result
    assert result.passed is True, result.message
    assert result.points == result.max_points == INSTRUCTIONS[instruction].points, result
    return result.message


def dense_model(units=25, activation="relu", seed=42, init=None):
    model = Sequential([keras.Input(shape=(20,)),
                        Dense(units, activation=activation,
                              kernel_initializer=init or he_uniform(seed=seed)),
                        Dense(1)])
    return model


def trained(model, data, epochs, optimizer, loss="mse", validation=True):
    model.compile(loss=loss, optimizer=optimizer)
    model.fit(data["X_train"], data["y_train"], epochs=epochs, verbose=0,
              validation_data=(data["X_test"], data["y_test"]) if validation else None)
    return {"model": model, **data,
            "train_mse": model.evaluate(data["X_train"], data["y_train"], verbose=0),
            "test_mse": model.evaluate(data["X_test"], data["y_test"], verbose=0)}


@pytest.mark.parametrize("model_kwargs, words", [
    ({"units": 30}, ["30 units", "25"]),
    ({"activation": "tanh"}, ["'tanh'", "'relu'"]),
    ({"seed": 7}, ["HeUniform(seed=7)", "he_uniform(seed=42)"]),
    ({"init": "glorot_uniform"}, ["GlorotUniform", "he_uniform(seed=42)"]),
])
def test_step1_names_the_wrong_hidden_layer(model_kwargs, words):
    """Does a wrong hidden layer lose step 1 with a message naming what is wrong?"""
    message = lost(judge("exploding_step1", {"model": dense_model(**model_kwargs)}),
                   "exploding_step1")
    for word in words:
        assert word in message


@pytest.mark.parametrize("optimizer, words, hint", [
    (Adam(learning_rate=0.01), ["Adam", "SGD"], None),
    (SGD(learning_rate=0.1, momentum=0.9), ["learning rate is 0.1", "0.01"], None),
    (SGD(learning_rate=0.01), ["momentum is 0", "0.9"], None),
    (SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0), ["clipvalue=3", "step 2"],
     "exploding_not_nan"),
])
def test_step1_names_the_wrong_optimizer(optimizer, words, hint):
    """Does the step 1 check read the compiled optimizer, whatever way it was written?"""
    model = dense_model()
    model.compile(loss="mse", optimizer=optimizer)
    result = judge("exploding_step1", {"model": model})
    message = lost(result, "exploding_step1")
    for word in words:
        assert word in message
    assert result.hint == hint


@pytest.mark.parametrize("optimizer, words", [
    (SGD(learning_rate=0.01, momentum=0.9, clipvalue=5.0), ["clipvalue is 5", "3.0"]),
    (SGD(learning_rate=0.01, momentum=0.9, clipnorm=3.0), ["clipnorm=3", "clipvalue=3.0"]),
    (SGD(learning_rate=0.01, momentum=0.9, global_clipnorm=3.0), ["global_clipnorm"]),
    (SGD(learning_rate=0.01, momentum=0.9), ["does not clip"]),
])
def test_step2_names_the_wrong_clipping(optimizer, words):
    model = dense_model()
    model.compile(loss="mse", optimizer=optimizer)
    message = lost(judge("exploding_step2", {"model": model}), "exploding_step2")
    for word in words:
        assert word in message


def test_wrong_loss_is_named():
    model = dense_model()
    model.compile(loss="mae", optimizer=SGD(learning_rate=0.01, momentum=0.9))
    message = lost(judge("exploding_step1", {"model": model}), "exploding_step1")
    assert "'mae'" in message and "mean squared error" in message


def test_loss_written_as_object_or_alias_is_accepted(exploding_data):
    """Are 'mse', MeanSquaredError() and the function accepted alike (fails later, on epochs)?"""
    for loss in ("mse", keras.losses.MeanSquaredError(), keras.losses.mean_squared_error):
        ns = trained(dense_model(), exploding_data, 2,
                     SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0), loss=loss)
        message = lost(judge("exploding_step2", ns), "exploding_step2")
        assert "ran 2 epochs" in message, (loss, message)


def test_untrained_and_unvalidated_models_are_caught(exploding_data):
    model = dense_model()
    model.compile(loss="mse", optimizer=SGD(learning_rate=0.01, momentum=0.9))
    assert "never trained" in lost(judge("exploding_step1", {"model": model, **exploding_data}),
                                   "exploding_step1")
    ns = trained(dense_model(), exploding_data, 100,
                 SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0), validation=False)
    assert "validation" in lost(judge("exploding_step2", ns), "exploding_step2")


def test_step2_typed_in_numbers_and_missing_names(exploding_data):
    """Do values typed by hand, or not stored, earn nothing even with a right model?"""
    ns = trained(dense_model(), exploding_data, 100,
                 SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0))
    won(judge("exploding_step2", ns), "exploding_step2")
    typed = dict(ns, train_mse=ns["train_mse"] + 5.0)
    assert "model.evaluate(X_train" in lost(judge("exploding_step2", typed), "exploding_step2")
    missing = {k: v for k, v in ns.items() if k != "test_mse"}
    assert "`test_mse`" in lost(judge("exploding_step2", missing), "exploding_step2")
    as_array = dict(ns, test_mse=np.float32(ns["test_mse"]), train_mse=[ns["train_mse"]])
    won(judge("exploding_step2", as_array), "exploding_step2")  # numpy scalar, [loss] list


# -- vanishing ------------------------------------------------------------------------------
def rnn_model(layer=SimpleRNN, units=600, out_activation="sigmoid"):
    return Sequential([keras.Input(shape=(None, 1)), layer(units),
                       Dense(1, activation=out_activation)])


@pytest.mark.parametrize("model, words, hint", [
    (lambda: rnn_model(units=300), ["300 units", "600"], "vanishing_units"),
    (lambda: rnn_model(LSTM), ["LSTM", "SimpleRNN"], "vanishing_layer_type"),
    (lambda: rnn_model(GRU), ["GRU"], "vanishing_layer_type"),
    (lambda: rnn_model(out_activation="relu"), ["sigmoid", "'relu'"], None),
    (lambda: Sequential([SimpleRNN(600), Dense(1, activation="sigmoid")]), ["input_shape"], None),
])
def test_build_names_the_wrong_layer(model, words, hint):
    result = judge("vanishing_build", {"model": model()})
    message = lost(result, "vanishing_build")
    for word in words:
        assert word in message
    assert result.hint == hint


def test_build_accepts_positional_and_input_shape_styles():
    # the style of many tutorials, which Keras 3 still builds (and warns about): a student's
    # model built this way is the model asked for
    with pytest.warns(UserWarning, match="input_shape"):
        layer = SimpleRNN(600, input_shape=(None, 1))
    model = Sequential([layer, Dense(1, activation="sigmoid")])
    won(judge("vanishing_build", {"model": model}), "vanishing_build")
    won(judge("vanishing_build", {"net": rnn_model()}), "vanishing_build")  # another name


@pytest.mark.parametrize("compile_kwargs, passed, words", [
    (dict(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"]), True, []),
    (dict(loss=keras.losses.BinaryCrossentropy(), optimizer=SGD(), metrics=["acc"]), True, []),
    (dict(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"]), False, ["Adam"]),
    (dict(loss="mse", optimizer="sgd", metrics=["accuracy"]), False, ["'mse'", "binary"]),
    (dict(loss="binary_crossentropy", optimizer="sgd"), False, ["metrics", "accuracy"]),
])
def test_compile(compile_kwargs, passed, words):
    model = rnn_model()
    model.compile(**compile_kwargs)
    result = judge("vanishing_compile", {"model": model})
    message = (won if passed else lost)(result, "vanishing_compile")
    for word in words:
        assert word in message


def test_weights_loaded_not_loaded_retrained():
    model = rnn_model()
    model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
    result = judge("vanishing_weights", {"model": model})
    lost(result, "vanishing_weights")
    assert result.hint == "vanishing_not_loaded"
    model.load_weights(str(SOURCE / "model_weights.h5"))
    won(judge("vanishing_weights", {"model": model}), "vanishing_weights")
    with np.load(SOURCE / "vanishing_data.npz") as d:
        model.fit(d["X"][:4], d["y"][:4], epochs=1, verbose=0)
    result = judge("vanishing_weights", {"model": model})
    lost(result, "vanishing_weights")
    assert result.hint == "vanishing_retrained"


@pytest.fixture
def history():
    return json.loads((SOURCE / "pretrain_history.json").read_text())


@pytest.fixture
def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


def test_plot_right_in_both_styles(plt, history):
    plt.plot(history["accuracy"], label="train")
    plt.plot(history["val_accuracy"], label="val")
    plt.legend()
    won(judge("vanishing_plot", {}), "vanishing_plot")
    plt.close("all")
    fig, ax = plt.subplots()
    ax.plot(np.arange(1, 101), np.array(history["accuracy"]))
    ax.plot(np.arange(1, 101), np.array(history["val_accuracy"]))
    fig.legend(["a", "b"])
    won(judge("vanishing_plot", {}), "vanishing_plot")


@pytest.mark.parametrize("series, legend, words, hint", [
    (["loss", "val_loss"], True, ["loss", "accuracy"], "vanishing_plotted_loss"),
    (["accuracy"], True, ["only the training accuracy"], "vanishing_one_curve"),
    (["val_accuracy"], True, ["only the validation accuracy"], "vanishing_one_curve"),
    (["accuracy", "val_accuracy"], False, ["legend"], "vanishing_no_legend"),
    ([], False, ["No plot"], None),
])
def test_plot_names_what_is_wrong(plt, history, series, legend, words, hint):
    for key in series:
        plt.plot(history[key], label=key)
    if legend and series:
        plt.legend()
    result = judge("vanishing_plot", {})
    message = lost(result, "vanishing_plot")
    for word in words:
        assert word in message
    assert result.hint == hint


def test_plot_curves_on_two_figures(plt, history):
    plt.figure(); plt.plot(history["accuracy"]); plt.legend(["a"])
    plt.figure(); plt.plot(history["val_accuracy"]); plt.legend(["b"])
    assert "same plot" in lost(judge("vanishing_plot", {}), "vanishing_plot")


def test_unseeded_initializer_is_reported_as_seed_none():
    model = dense_model(init=keras.initializers.HeUniform())
    assert "HeUniform(seed=None)" in lost(judge("exploding_step1", {"model": model}),
                                          "exploding_step1")


def test_bce_from_logits_and_keras2_positional_metrics_are_explained():
    model = rnn_model()
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), optimizer="sgd",
                  metrics=["accuracy"])
    assert "from_logits" in lost(judge("vanishing_compile", {"model": model}),
                                 "vanishing_compile")
    model = rnn_model()
    model.compile("sgd", "binary_crossentropy", ["accuracy"])  # Keras 2: 3rd arg was metrics
    assert "loss_weights" in lost(judge("vanishing_compile", {"model": model}),
                                  "vanishing_compile")


def test_accuracy_plotted_in_percent_is_accepted(plt, history):
    plt.plot(100 * np.array(history["accuracy"]), label="train %")
    plt.plot(100 * np.array(history["val_accuracy"]), label="validation %")
    plt.legend()
    won(judge("vanishing_plot", {}), "vanishing_plot")


@pytest.mark.parametrize("layer, words", [
    (lambda: SimpleRNN(600, go_backwards=True), ["SimpleRNN: you set go_backwards=True",
                                                 "go_backwards=False"]),
    (lambda: SimpleRNN(600, activation="relu"), ["activation='relu'", "activation='tanh'"]),
    (lambda: SimpleRNN(600, return_sequences=True, use_bias=False),
     ["return_sequences=True", "use_bias=False", "Leave them"]),
])
def test_build_judges_the_whole_recurrent_layer(layer, words):
    """Does a SimpleRNN(600) with another setting that changes what it computes lose the
    build instruction, with every such setting named?"""
    model = Sequential([keras.Input(shape=(None, 1)), layer(), Dense(1, activation="sigmoid")])
    message = lost(judge("vanishing_build", {"model": model}), "vanishing_build")
    for word in words:
        assert word in message


def test_build_whole_layer_accepts_equivalent_spellings():
    """Are the same settings written another way (keywords, defaults spelled out) accepted?"""
    model = Sequential([keras.Input(shape=(None, 1)),
                        SimpleRNN(units=600, activation="tanh", use_bias=True,
                                  return_sequences=False, unroll=False),
                        Dense(units=1, activation=keras.activations.sigmoid)])
    won(judge("vanishing_build", {"model": model}), "vanishing_build")


@pytest.mark.parametrize("hidden, output, words", [
    ({"kernel_regularizer": "l2"}, {}, ["Dense: you set kernel_regularizer=L2", "None"]),
    ({}, {"use_bias": False}, ["use_bias=False", "use_bias=True"]),
    ({"bias_initializer": "ones"}, {}, ["bias_initializer=Ones()", "Zeros()"]),
])
def test_step1_judges_the_whole_dense_layers(hidden, output, words):
    """Does a Dense layer with another setting that changes training lose step 1, named?"""
    model = Sequential([keras.Input(shape=(20,)),
                        Dense(25, activation="relu",
                              kernel_initializer=keras.initializers.HeUniform(seed=42), **hidden),
                        Dense(1, **output)])
    message = lost(judge("exploding_step1", {"model": model}), "exploding_step1")
    for word in words:
        assert word in message
