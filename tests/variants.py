"""Student submissions written the many ways students write them, right and wrong.

Each variant is the code of solution cells (by ``grade_id``) plus the points expected per
instruction, words its feedback must contain and why (REASONS). The whole corpus is graded as
one class by ``rnn-course grade`` (tests/test_corpus.py); a few entries also go through the
runner of ``rnn-course check`` (tests/test_notebooks.py); some make the demo's sample class.
"""
from dataclasses import dataclass, field

STEP1 = '''
model = Sequential()
model.add(Dense(25, input_dim=20, activation="relu", kernel_initializer=he_uniform(seed=42)))
model.add(Dense(1, activation="linear"))
model.compile(loss="mean_squared_error", optimizer=SGD(learning_rate=0.01, momentum=0.9))
history = model.fit(X_train, y_train, validation_data=(X_test, y_test), epochs=100, verbose=0)
train_mse = model.evaluate(X_train, y_train, verbose=0)
test_mse = model.evaluate(X_test, y_test, verbose=0)
print("Train: %.3f, Test: %.3f" % (train_mse, test_mse))
'''


def step2(optimizer="SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0)", before=""):
    return before + STEP1.replace("SGD(learning_rate=0.01, momentum=0.9)", optimizer)


VANISHING = '''
model = Sequential()
model.add(SimpleRNN(units=600, input_shape=(None, 1)))
model.add(Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
model.load_weights("model_weights.h5")
plt.plot(history.history["accuracy"])
plt.plot(history.history["val_accuracy"])
plt.title("Model accuracy")
plt.legend(["Train", "Validation"], loc="upper left")
plt.show()
'''

E1, E2 = "exploding_step1", "exploding_step2"
VB, VC, VW, VP = "vanishing_build", "vanishing_compile", "vanishing_weights", "vanishing_plot"
FULL = {E1: 2, E2: 2, VB: 1, VC: 1, VW: 1, VP: 2}


@dataclass
class Variant:
    name: str
    notebook: str
    cells: dict  # solution grade_id -> code
    points: dict  # instruction -> expected points (instructions of this notebook)
    words: dict = field(default_factory=dict)  # instruction -> words its message must contain
    #: Why it earns what it earns, in one line (the grading policy, entry by entry: REASONS).
    why: str = ""


def exploding(name, step1=STEP1, step2_code=None, points=None, words=None):
    cells = {"exploding_step1": step1}
    if step2_code is not None:
        cells["exploding_step2"] = step2_code
    return Variant(name, "exploding_gradients", cells,
                   {E1: 2, E2: 2, **(points or {})}, words or {})


def vanishing(name, code, points=None, words=None):
    return Variant(name, "vanishing_gradients", {"vanishing_model": code},
                   {VB: 1, VC: 1, VW: 1, VP: 2, **(points or {})}, words or {})


NO_STEP1 = "raise NotImplementedError()"

VARIANTS = [
    # -- exploding: right answers written differently ------------------------------------
    exploding("exploding_reference", step2_code=step2()),
    exploding("exploding_int_clipvalue_optimizer_in_variable", step1=NO_STEP1,
              step2_code=step2("opt", before="opt = SGD(momentum=0.9, clipvalue=3, learning_rate=0.01)\n"),
              points={E1: 0}),
    exploding("exploding_keras_namespace", step1=NO_STEP1,
              step2_code="import keras\n" + step2("keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0)")
              .replace("Sequential()", "keras.Sequential()").replace("he_uniform(seed=42)", "keras.initializers.HeUniform(seed=42)"),
              points={E1: 0}),
    exploding("exploding_tf_keras_input_layer", step1=NO_STEP1,
              step2_code="import tensorflow as tf\n"
              "model = tf.keras.Sequential([tf.keras.Input(shape=(20,)),\n"
              "    tf.keras.layers.Dense(25, activation='relu', kernel_initializer=tf.keras.initializers.he_uniform(seed=42)),\n"
              "    tf.keras.layers.Dense(1)])\n"
              "model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0), loss=tf.keras.losses.MeanSquaredError())\n"
              "model.fit(X_train, y_train, epochs=100, validation_data=(X_test, y_test), verbose=0)\n"
              "train_mse, test_mse = model.evaluate(X_train, y_train, verbose=0), model.evaluate(X_test, y_test, verbose=0)\n"
              "print(f'Train: {train_mse:.3f}, Test: {test_mse:.3f}')\n",
              points={E1: 0}),
    # -- exploding: wrong answers -----------------------------------------------------------
    exploding("exploding_clipvalue_5", step1=NO_STEP1,
              step2_code=step2("SGD(learning_rate=0.01, momentum=0.9, clipvalue=5.0)"),
              points={E1: 0, E2: 0}, words={E2: ["clipvalue is 5", "3.0"]}),
    exploding("exploding_clipnorm", step1=NO_STEP1,
              step2_code=step2("SGD(learning_rate=0.01, momentum=0.9, clipnorm=3.0)"),
              points={E1: 0, E2: 0}, words={E2: ["clipnorm", "clipvalue=3.0"]}),
    exploding("exploding_keras2_lr", step1=STEP1.replace("learning_rate=", "lr="),
              step2_code=step2("SGD(lr=0.01, momentum=0.9, clipvalue=3.0)"),
              points={E1: 0, E2: 0}, words={E1: ["lr", "learning_rate"], E2: ["lr", "learning_rate"]}),
    exploding("exploding_hardcoded_printout", step1=STEP1,
              step2_code="train_mse, test_mse = 31.2, 36.7\nprint('Train: 31.2, Test: 36.7')\n",
              points={E2: 0}, words={E2: ["clip"]}),
    exploding("exploding_step2_not_rebuilt", step1=STEP1,
              step2_code="model.compile(loss='mean_squared_error', optimizer=SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0))\n"
              "model.fit(X_train, y_train, validation_data=(X_test, y_test), epochs=100, verbose=0)\n"
              "train_mse = model.evaluate(X_train, y_train, verbose=0)\n"
              "test_mse = model.evaluate(X_test, y_test, verbose=0)\n",
              points={E2: 0}, words={E2: ["new model"]}),
    # -- vanishing: right answers written differently ------------------------------------
    vanishing("vanishing_reference", VANISHING),
    vanishing("vanishing_positional_input_layer_subplots",
              "import keras\n"
              "model = keras.Sequential([keras.Input(shape=(None, 1)), SimpleRNN(600), Dense(1, activation='sigmoid')])\n"
              "model.compile(optimizer='sgd', loss=keras.losses.BinaryCrossentropy(), metrics=['acc'])\n"
              "model.load_weights('model_weights.h5')\n"
              "fig, ax = plt.subplots(figsize=(8, 4))\n"
              "ax.plot(range(1, 101), history.history['accuracy'], label='training')\n"
              "ax.plot(range(1, 101), history.history['val_accuracy'], label='validation')\n"
              "ax.set_xlabel('epoch'); ax.legend()\n"
              "plt.show()\n"),
    # -- vanishing: wrong answers ---------------------------------------------------------
    vanishing("vanishing_300_units", VANISHING.replace("units=600", "units=300"),
              points={VB: 0, VW: 0, VP: 0}, words={VB: ["300 units", "600"], VW: ["600"], VP: ["No plot"]}),
    vanishing("vanishing_lstm", "from keras.layers import LSTM\n" + VANISHING.replace("SimpleRNN(", "LSTM("),
              points={VB: 0, VW: 0, VP: 0}, words={VB: ["LSTM", "SimpleRNN"]}),
    vanishing("vanishing_weights_not_loaded", VANISHING.replace('model.load_weights("model_weights.h5")\n', ""),
              points={VW: 0}, words={VW: ["load_weights"]}),
    vanishing("vanishing_retrained", VANISHING.replace(
        'model.load_weights("model_weights.h5")\n',
        'model.load_weights("model_weights.h5")\nmodel.fit(X[:16], y[:16], epochs=1, verbose=0)\n'),
              points={VW: 0}, words={VW: ["trained it"]}),
    # (the replace also turns metrics=["accuracy"] into metrics=["loss"]: no accuracy metric)
    vanishing("vanishing_loss_plotted", VANISHING.replace('"accuracy"]', '"loss"]').replace('"val_accuracy"]', '"val_loss"]'),
              points={VC: 0, VP: 0}, words={VC: ["'loss'", "metrics=['accuracy']"], VP: ["loss", "accuracy"]}),
    vanishing("vanishing_one_curve", VANISHING.replace('plt.plot(history.history["val_accuracy"])\n', ""),
              points={VP: 0}, words={VP: ["only the training accuracy"]}),
    vanishing("vanishing_no_legend", VANISHING.replace('plt.legend(["Train", "Validation"], loc="upper left")\n', ""),
              points={VP: 0}, words={VP: ["legend"]}),
    vanishing("vanishing_keras2_acc_key", VANISHING.replace('"accuracy"]', '"acc"]').replace('"val_accuracy"]', '"val_acc"]'),
              points={VP: 0}, words={VP: ["'accuracy'", "Keras 2"]}),
]

BY_NAME = {v.name: v for v in VARIANTS}

# -- the sample class of the demo (graders/course/samples/<student>/rnn_architecture/) -------
SAMPLES = {
    "alice_right": [BY_NAME["exploding_reference"], BY_NAME["vanishing_reference"]],
    "bob_partly_wrong": [
        exploding("bob_exploding", step2_code=step2("SGD(learning_rate=0.01, momentum=0.9, clipnorm=3.0)"),
                  points={E2: 0}, words={E2: ["clipnorm"]}),
        BY_NAME["vanishing_loss_plotted"],
    ],
    "carol_empty": [
        Variant("carol_exploding", "exploding_gradients", {}, {E1: 0, E2: 0}),
        Variant("carol_vanishing", "vanishing_gradients", {}, {VB: 0, VC: 0, VW: 0, VP: 0}),
    ],
}


# -- the corpus: every submission above plus more, graded as a class by `rnn-course grade` ------
# (tests/test_corpus.py, python tests/run_corpus.py). CORPUS is VARIANTS + the entries below;
# VARIANTS also make the demo's sample class (SAMPLES) and the runner's own tests.

def step2_only(name, code, points=None, words=None):
    """An exploding submission that leaves step 1 as the stub (fast: one 100-epoch fit)."""
    return exploding(name, step1=NO_STEP1, step2_code=code, points={E1: 0, **(points or {})},
                     words=words)


STEP1_K = '''
import keras as K
model = K.Sequential()
model.add(K.layers.Dense(25, "relu", kernel_initializer=K.initializers.HeUniform(42), input_shape=(20,)))
model.add(K.layers.Dense(1))
model.compile(K.optimizers.SGD(0.01, 0.9), "mse")
history = model.fit(X_train, y_train, batch_size=32, epochs=100, verbose=0, validation_data=[X_test, y_test])
train_mse = model.evaluate(X_train, y_train, verbose=0)
test_mse = model.evaluate(X_test, y_test, verbose=0)
print(train_mse, test_mse)
'''

FUNCTIONAL = '''
from tensorflow import keras
inputs = keras.Input(shape=(20,))
hidden = keras.layers.Dense(units=25, activation=keras.activations.relu,
                            kernel_initializer=keras.initializers.he_uniform(seed=42))(inputs)
outputs = keras.layers.Dense(units=1, activation="linear")(hidden)
model = keras.Model(inputs=inputs, outputs=outputs)
optimizer = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9{clip})
model.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())
history = model.fit(x=X_train, y=y_train, epochs=100, validation_data=(X_test, y_test), verbose=0)
train_mse = model.evaluate(X_train, y_train, verbose=0)
test_mse = model.evaluate(X_test, y_test, verbose=0)
print(f"Train MSE: {{train_mse}}, Test MSE: {{test_mse}}")
'''

REIMPORTS_VERBOSE = '''
import numpy as np
import tensorflow as tf
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import SGD
from keras.initializers import he_uniform
print("TensorFlow", tf.__version__)
model = Sequential()
model.add(Dense(25, input_dim=20, activation="relu", kernel_initializer=he_uniform(seed=42)))
model.add(Dense(1, activation="linear"))
model.summary()
model.compile(loss="mean_squared_error", optimizer=SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0))
history = model.fit(X_train, y_train, validation_data=(X_test, y_test), epochs=100, verbose=2)
print(sorted(history.history))
train_mse = model.evaluate(X_train, y_train)
test_mse = model.evaluate(X_test, y_test)
print("Train: %.3f, Test: %.3f" % (train_mse, test_mse))
'''

CORPUS_ONLY = [
    # -- exploding: right answers written differently ------------------------------------
    exploding("exploding_keras_as_K_positional_list_validation",
              step1=STEP1_K, step2_code=STEP1_K.replace("SGD(0.01, 0.9)", "SGD(0.01, 0.9, clipvalue=3.0)"),
              words={E1: ["Step 1 is right"], E2: ["Step 2 is right"]}),
    exploding("exploding_functional_from_tensorflow_import_keras",
              step1=FUNCTIONAL.format(clip=""), step2_code=FUNCTIONAL.format(clip=", clipvalue=3.0")),
    step2_only("exploding_reimports_summary_verbose_fit", REIMPORTS_VERBOSE, points={E2: 2}),
    step2_only("exploding_optimizer_built_in_steps_metrics_no_print",
               "clipped = SGD(learning_rate=0.5, momentum=0.9)\n"
               "clipped.learning_rate = 0.01\n"
               "clipped.clipvalue = 3.0\n"
               "model = Sequential([Dense(25, activation='relu', input_shape=(20,), kernel_initializer=he_uniform(seed=42)),\n"
               "                    Dense(1)])\n"
               "model.compile(optimizer=clipped, loss='mse', metrics=['mae'])\n"
               "model.fit(X_train, y_train, epochs=100, batch_size=32, validation_data=(X_test, y_test), verbose=0)\n"
               "train_mse = model.evaluate(X_train, y_train, verbose=0)\n"
               "test_mse = model.evaluate(X_test, y_test, verbose=0)\n",
               points={E2: 2}),
    # -- exploding: wrong answers -----------------------------------------------------------
    exploding("exploding_both_stubs", step1=NO_STEP1, step2_code=NO_STEP1,
              points={E1: 0, E2: 0}, words={E1: ["NotImplementedError"], E2: ["NotImplementedError"]}),
    exploding("exploding_step2_stub_left", step1=STEP1, step2_code=NO_STEP1,
              points={E2: 0}, words={E2: ["Step 2: your cell still raises `NotImplementedError`"]}),
    exploding("exploding_step2_exception_half_way_after_step1", step1=STEP1,
              step2_code=step2().replace("model.evaluate(X_test, y_test", "model.evaluate(X_test, Y_test"),
              points={E2: 0}, words={E2: ["`test_mse` is nan", "NameError", "Y_test"]}),
    step2_only("exploding_step1_code_pasted_in_step2", STEP1,
               points={E2: 0}, words={E2: ["does not clip", "clipvalue=3.0"]}),
    exploding("exploding_step2_code_pasted_in_step1", step1=step2(), step2_code=step2(),
              points={E1: 0}, words={E1: ["clipvalue=3", "step 2"]}),
    exploding("exploding_step1_adam", step1="from keras.optimizers import Adam\n" + STEP1.replace(
        "SGD(learning_rate=0.01, momentum=0.9)", "Adam(learning_rate=0.01)"),
              step2_code=step2(), points={E1: 0}, words={E1: ["Adam", "SGD"]}),
    step2_only("exploding_step2_rmsprop", step2("keras.optimizers.RMSprop(learning_rate=0.01, clipvalue=3.0)",
                                                before="import keras\n"),
               points={E2: 0}, words={E2: ["RMSprop", "SGD"]}),
    exploding("exploding_pair_no_momentum_and_global_clipnorm",
              step1=STEP1.replace("SGD(learning_rate=0.01, momentum=0.9)", "SGD(learning_rate=0.01)"),
              step2_code=step2("SGD(learning_rate=0.01, momentum=0.9, global_clipnorm=3.0)"),
              points={E1: 0, E2: 0}, words={E1: ["momentum is 0", "0.9"], E2: ["global_clipnorm", "clipvalue=3.0"]}),
    step2_only("exploding_step2_50_units", step2().replace("Dense(25,", "Dense(50,"),
               points={E2: 0}, words={E2: ["50 units", "25"]}),
    step2_only("exploding_step2_he_uniform_without_seed",
               step2().replace("kernel_initializer=he_uniform(seed=42)", "kernel_initializer='he_uniform'"),
               points={E2: 0}, words={E2: ["HeUniform(seed=None)", "he_uniform(seed=42)"]}),
    step2_only("exploding_step2_mae_loss", step2().replace('loss="mean_squared_error"', 'loss="mae"'),
               points={E2: 0}, words={E2: ["'mae'", "mean squared error"]}),
    exploding("exploding_step1_10_epochs_no_validation",
              step1=STEP1.replace("validation_data=(X_test, y_test), epochs=100", "epochs=10"),
              step2_code=NO_STEP1, points={E1: 0, E2: 0},
              words={E1: ["10 epochs", "100"], E2: ["NotImplementedError"]}),
    step2_only("exploding_step2_50_epochs", step2().replace("epochs=100", "epochs=50"),
               points={E2: 0}, words={E2: ["50 epochs", "100"]}),
    step2_only("exploding_step2_no_validation_data",
               step2().replace("validation_data=(X_test, y_test), ", ""),
               points={E2: 0}, words={E2: ["without validation data", "validation_data=(X_test, y_test)"]}),
    step2_only("exploding_step2_validation_split",
               step2().replace("validation_data=(X_test, y_test)", "validation_split=0.2"),
               points={E2: 0}, words={E2: ["validate on `(X_test, y_test)`"]}),
    step2_only("exploding_step2_values_typed_in",
               step2().replace('print("Train', 'train_mse, test_mse = 31.2, 36.7\nprint("Train'),
               points={E2: 0}, words={E2: ["`train_mse` is 31.2", "model.evaluate(X_train, y_train, verbose=0)"]}),
    step2_only("exploding_step2_mse_from_history",
               step2().replace("train_mse = model.evaluate(X_train, y_train, verbose=0)",
                               "train_mse = history.history['loss'][-1]"),
               points={E2: 0}, words={E2: ["`train_mse`", "model.evaluate(X_train, y_train, verbose=0)"]}),
    step2_only("exploding_step2_exception_half_way",
               step2().replace("model.evaluate(X_test, y_test", "model.evaluate(X_test, Y_test"),
               points={E2: 0}, words={E2: ["`test_mse`", "NameError", "Y_test"]}),
    # -- vanishing: right answers written differently ------------------------------------
    vanishing("vanishing_keras_as_K_figure_first_labels_get",
              "import keras as K\n"
              "model = K.Sequential()\n"
              "model.add(K.layers.SimpleRNN(600, input_shape=(None, 1)))\n"
              "model.add(K.layers.Dense(1, activation='sigmoid'))\n"
              "model.compile(optimizer=K.optimizers.SGD(), loss='binary_crossentropy', metrics=['accuracy'])\n"
              "model.load_weights('model_weights.h5')\n"
              "plt.figure(figsize=(8, 5))\n"
              "plt.plot(history.history.get('accuracy'), label='train accuracy')\n"
              "plt.plot(history.history.get('val_accuracy'), label='validation accuracy')\n"
              "plt.xlabel('epoch'); plt.ylabel('accuracy'); plt.title('SimpleRNN(600)')\n"
              "plt.legend()\n"
              "plt.show()\n",
              words={VB: ["right"], VC: ["right"], VW: ["loaded"], VP: ["right"]}),
    vanishing("vanishing_functional_from_tensorflow_import_keras_subplots",
              "from tensorflow import keras\n"
              "inputs = keras.Input(shape=(None, 1))\n"
              "x = keras.layers.SimpleRNN(units=600)(inputs)\n"
              "outputs = keras.layers.Dense(units=1, activation=keras.activations.sigmoid)(x)\n"
              "model = keras.Model(inputs, outputs)\n"
              "model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01),\n"
              "              loss=keras.losses.BinaryCrossentropy(), metrics=[keras.metrics.BinaryAccuracy()])\n"
              "model.load_weights('model_weights.h5')\n"
              "acc = history.history['accuracy']\n"
              "val_acc = history.history['val_accuracy']\n"
              "epochs = range(1, len(acc) + 1)\n"
              "fig, ax = plt.subplots()\n"
              "ax.plot(epochs, acc, 'bo', label='Training acc')\n"
              "ax.plot(epochs, val_acc, 'b', label='Validation acc')\n"
              "ax.set_title('Training and validation accuracy')\n"
              "ax.legend()\n"
              "plt.show()\n"),
    vanishing("vanishing_tf_keras_build_acc_metric_one_plot_call",
              "import tensorflow as tf\n"
              "model = tf.keras.Sequential([tf.keras.layers.SimpleRNN(600), tf.keras.layers.Dense(1, activation='sigmoid')])\n"
              "model.build(input_shape=(None, None, 1))\n"
              "model.compile(optimizer='sgd', loss='binary_crossentropy', metrics=['acc'])\n"
              "model.load_weights('model_weights.h5')\n"
              "plt.plot(history.history['accuracy'], 'b-', history.history['val_accuracy'], 'r--')\n"
              "plt.legend(['acc', 'val_acc'])\n"
              "plt.show()\n"),
    vanishing("vanishing_reimports_load_before_compile_prints",
              "import matplotlib.pyplot as plt\n"
              "from keras.models import Sequential\n"
              "from keras.layers import SimpleRNN, Dense\n"
              "model = Sequential([SimpleRNN(600, input_shape=(None, 1)), Dense(1, activation='sigmoid')])\n"
              "model.load_weights('model_weights.h5')\n"
              "model.summary()\n"
              "model.compile(loss='binary_crossentropy', optimizer='sgd', metrics=['accuracy'])\n"
              "print('loss and accuracy on 32 sequences:', model.evaluate(X[:32], y[:32], verbose=0))\n"
              "print(history.history.keys())\n"
              "plt.plot(history.history['accuracy'], label='Train')\n"
              "plt.plot(history.history['val_accuracy'], label='Validation')\n"
              "plt.legend(loc='lower right')\n"
              "plt.grid(True)\n"
              "plt.show()\n"),
    vanishing("vanishing_other_model_name_figure_legend_savefig",
              "rnn = Sequential()\n"
              "rnn.add(SimpleRNN(units=600, input_shape=(None, 1)))\n"
              "rnn.add(Dense(units=1, activation='sigmoid'))\n"
              "rnn.compile(loss='binary_crossentropy', optimizer='sgd', metrics=['binary_accuracy'])\n"
              "rnn.load_weights('model_weights.h5')\n"
              "fig = plt.figure()\n"
              "plt.plot(history.history['accuracy'])\n"
              "plt.plot(history.history['val_accuracy'])\n"
              "fig.legend(['train', 'validation'])\n"
              "plt.savefig('accuracy.png')\n"
              "plt.show()\n"),
    vanishing("vanishing_no_plt_show_inline_display", VANISHING.replace("plt.show()\n", "")),
    vanishing("vanishing_accuracy_in_percent",
              VANISHING.replace('plt.plot(history.history["accuracy"])',
                                'plt.plot([100 * a for a in history.history["accuracy"]])')
              .replace('plt.plot(history.history["val_accuracy"])',
                       'plt.plot([100 * a for a in history.history["val_accuracy"]])')
              .replace('plt.title("Model accuracy")', 'plt.title("Model accuracy (%)")')),
    # -- vanishing: wrong answers ---------------------------------------------------------
    vanishing("vanishing_loss_plotted_only",
              VANISHING.replace('history["accuracy"]', 'history["loss"]').replace('history["val_accuracy"]', 'history["val_loss"]'),
              points={VP: 0}, words={VP: ["shows the loss", "history.history['accuracy']"]}),
    vanishing("vanishing_keras2_positional_metrics",
              VANISHING.replace('model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])',
                                'model.compile("sgd", "binary_crossentropy", ["accuracy"])'),
              points={VC: 0}, words={VC: ["loss_weights", "metrics=['accuracy']"]}),
    vanishing("vanishing_stub_left", "raise NotImplementedError()",
              points={VB: 0, VC: 0, VW: 0, VP: 0},
              words={VB: ["NotImplementedError"], VC: ["NotImplementedError"],
                     VW: ["NotImplementedError"], VP: ["NotImplementedError"]}),
    vanishing("vanishing_gru", "from keras.layers import GRU\n" + VANISHING.replace("SimpleRNN(", "GRU("),
              points={VB: 0, VW: 0, VP: 0}, words={VB: ["GRU", "SimpleRNN"], VW: ["SimpleRNN(600)"]}),
    vanishing("vanishing_no_input_shape",
              VANISHING.replace("SimpleRNN(units=600, input_shape=(None, 1))", "SimpleRNN(units=600)"),
              points={VB: 0, VW: 0, VP: 0},
              words={VB: ["input_shape=(None, 1)"], VW: ["no weights yet", "input_shape=(None, 1)"], VP: ["No plot"]}),
    vanishing("vanishing_sigmoid_missing", VANISHING.replace('Dense(1, activation="sigmoid")', "Dense(1)"),
              points={VB: 0}, words={VB: ["sigmoid", "'linear'"]}),
    vanishing("vanishing_adam", VANISHING.replace('optimizer="sgd"', 'optimizer="adam"'),
              points={VC: 0}, words={VC: ["Adam", "'sgd'"]}),
    vanishing("vanishing_mse_loss", VANISHING.replace('loss="binary_crossentropy"', 'loss="mse"'),
              points={VC: 0}, words={VC: ["'mse'", "binary cross-entropy"]}),
    vanishing("vanishing_bce_from_logits",
              "import keras\n" + VANISHING.replace('loss="binary_crossentropy"',
                                                   "loss=keras.losses.BinaryCrossentropy(from_logits=True)"),
              points={VC: 0}, words={VC: ["from_logits=True", "loss='binary_crossentropy'"]}),
    vanishing("vanishing_no_metrics", VANISHING.replace(', metrics=["accuracy"]', ""),
              points={VC: 0}, words={VC: ["metrics=['accuracy']"]}),
    vanishing("vanishing_metrics_as_string", VANISHING.replace('metrics=["accuracy"]', 'metrics="accuracy"'),
              points={VC: 0, VW: 0, VP: 0},
              words={VC: ["never compiled", "metrics"], VW: ["load_weights"], VP: ["No plot"]}),
    vanishing("vanishing_keras2_lr", "from keras.optimizers import SGD\n"
              + VANISHING.replace('optimizer="sgd"', "optimizer=SGD(lr=0.01)"),
              points={VC: 0, VW: 0, VP: 0}, words={VC: ["lr", "learning_rate"], VP: ["No plot"]}),
    vanishing("vanishing_wrong_weights_file_half_way",
              VANISHING.replace('"model_weights.h5"', '"weights.h5"'),
              points={VW: 0, VP: 0}, words={VW: ["load_weights('model_weights.h5')", "FileNotFoundError"],
                                           VP: ["No plot", "FileNotFoundError"]}),
    vanishing("vanishing_refit_and_history_overwritten", VANISHING.replace(
        'model.load_weights("model_weights.h5")\n',
        'model.load_weights("model_weights.h5")\n'
        'history = model.fit(X[:64], y[:64], epochs=2, validation_split=0.25, verbose=0)\n'),
              points={VW: 0, VP: 0}, words={VW: ["trained it"], VP: ["no longer holds the pretraining record",
                                                                  "history = model.fit("]}),
    vanishing("vanishing_nothing_plotted", VANISHING.split("plt.plot")[0],
              points={VP: 0}, words={VP: ["No plot", "plt.show()"]}),
    vanishing("vanishing_only_validation_curve", VANISHING.replace('plt.plot(history.history["accuracy"])\n', ""),
              points={VP: 0}, words={VP: ["only the validation accuracy"]}),
    vanishing("vanishing_curves_on_two_figures", VANISHING.replace(
        'plt.plot(history.history["val_accuracy"])\n',
        'plt.legend(["Train"])\nplt.show()\nplt.plot(history.history["val_accuracy"])\n'),
              points={VP: 0}, words={VP: ["same plot"]}),
    vanishing("vanishing_legend_without_labels", VANISHING.replace(
        'plt.legend(["Train", "Validation"], loc="upper left")', "plt.legend()"),
              points={VP: 0}, words={VP: ["legend"]}),
    vanishing("vanishing_legend_after_show", VANISHING.replace(
        'plt.legend(["Train", "Validation"], loc="upper left")\nplt.show()',
        'plt.show()\nplt.legend(["Train", "Validation"])'),
              points={VP: 0}, words={VP: ["legend"]}),
    vanishing("vanishing_pair_build_and_compile",
              VANISHING.replace('Dense(1, activation="sigmoid")', 'Dense(1, activation="relu")')
              .replace('loss="binary_crossentropy"', 'loss="mse"'),
              points={VB: 0, VC: 0}, words={VB: ["sigmoid", "'relu'"], VC: ["'mse'"]}),
    vanishing("vanishing_pair_compile_and_no_legend",
              VANISHING.replace('optimizer="sgd"', 'optimizer="rmsprop"')
              .replace('plt.legend(["Train", "Validation"], loc="upper left")\n', ""),
              points={VC: 0, VP: 0}, words={VC: ["RMSprop"], VP: ["legend"]}),
    vanishing("vanishing_pair_not_loaded_and_one_curve",
              VANISHING.replace('model.load_weights("model_weights.h5")\n', "")
              .replace('plt.plot(history.history["val_accuracy"])\n', ""),
              points={VW: 0, VP: 0}, words={VW: ["load_weights"], VP: ["only the training accuracy"]}),
    vanishing("vanishing_pair_retrained_and_loss_plotted",
              VANISHING.replace('model.load_weights("model_weights.h5")\n',
                                'model.load_weights("model_weights.h5")\nmodel.fit(X[:16], y[:16], epochs=1, verbose=0)\n')
              .replace('history["accuracy"]', 'history["loss"]').replace('history["val_accuracy"]', 'history["val_loss"]'),
              points={VW: 0, VP: 0}, words={VW: ["trained it"], VP: ["loss", "accuracy"]}),
    # whole-layer checks: a setting beyond the ones the instruction names
    step2_only("exploding_step2_l2_regularizer",
               step2().replace("kernel_initializer=he_uniform(seed=42))",
                               'kernel_initializer=he_uniform(seed=42), kernel_regularizer="l2")'),
               points={E2: 0}, words={E2: ["kernel_regularizer"]}),
    vanishing("vanishing_go_backwards",
              VANISHING.replace("SimpleRNN(units=600, input_shape=(None, 1))",
                                "SimpleRNN(units=600, input_shape=(None, 1), go_backwards=True)"),
              points={VB: 0}, words={VB: ["go_backwards=True"]}),
]

CORPUS = VARIANTS + CORPUS_ONLY
CORPUS_BY_NAME = {v.name: v for v in CORPUS}
assert len(CORPUS_BY_NAME) == len(CORPUS), "corpus entry names must be unique"

# -- forgeries: a student who read the grader code tries to raise a grade without the work ------
# The kernel exports evidence and the judge decides (graders/judge/), so tampering with the kernel
# can only change the evidence. Each forgery must score exactly what its real work earns, with the
# static screen changing no score (its default), and be followed in the same batch by an honest
# submission that keeps full marks (tests/test_batch.py); the screen's rules each trips are in
# tests/test_screen.py. `points` is the real work's worth; `words` what the judge says.
FORGED_PASS = ("from graders.kernel.result import CheckResult as _R\n"
               "_pass = lambda i, ns, workdir=None: _R(i, i, 1.0, 1.0, True, 'ok')\n")


def forgery(name, code, notebook="vanishing_gradients", points=None, words=None, step1=None):
    if notebook == "vanishing_gradients":
        return vanishing(name, code, points={VB: 0, VC: 0, VW: 0, VP: 0, **(points or {})},
                         words=words or {})
    return exploding(name, step1=step1 or code, step2_code=NO_STEP1 if step1 is None else code,
                     points={E1: 0, E2: 0, **(points or {})}, words=words or {})


# Evidence claiming the whole vanishing exercise done right: the course's weight digests (hashed
# from model_weights.h5 as the judge does), the pretraining curves as shown lines, the probe's
# nonce; the predictions made up (computing them means implementing SimpleRNN(600)).
FAKE_VANISHING = '''
import hashlib as _hl, json as _js, h5py as _h5, numpy as _np
from graders.judge.codec import encode_array as _enc

def _digests():
    with _h5.File("model_weights.h5", "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        out = []
        for layer in g.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            for w in g[layer].attrs["weight_names"]:
                w = w.decode() if isinstance(w, bytes) else w
                a = _np.ascontiguousarray(_np.asarray(g[layer][w]), dtype="<f4")
                out.append({"shape": list(a.shape), "sha256": _hl.sha256(a.tobytes()).hexdigest()})
        return out

with open("pretrain_history.json") as _f:
    _hist = _js.load(_f)
_DENSE = {"activation": "sigmoid", "use_bias": True, "kernel_regularizer": None,
          "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
_RNN = {"activation": "tanh", "use_bias": True, "return_sequences": False, "return_state": False,
        "go_backwards": False, "stateful": False, "dropout": 0.0, "recurrent_dropout": 0.0}

def _fake(iid, notebook, ns, record=None, probe=None):
    return {"version": 1, "instruction": iid, "notebook": notebook,
            "probe": probe.nonce if probe is not None else None,
            "model": {"status": "found",
                      "layers": [{"class": "SimpleRNN", "units": 600, "activation": "tanh",
                                  "initializer": "GlorotUniform", "initializer_seed": None, "config": _RNN},
                                 {"class": "Dense", "units": 1, "activation": "sigmoid",
                                  "initializer": "GlorotUniform", "initializer_seed": None, "config": _DENSE}],
                      "input_shape": [None, None, 1], "compiled": True, "has_history": False,
                      "history": None,
                      "optimizer": {"class": "SGD", "learning_rate": 0.01, "momentum": 0.0,
                                    "clipvalue": None, "clipnorm": None, "global_clipnorm": None,
                                    "iterations": 0},
                      "loss": {"describe": "'binary_crossentropy'", "options": {},
                               "probe": {"mse": 0.0, "bce": 0.2899092476264711}},
                      "metrics": ["accuracy"], "loss_weights": None,
                      "weight_digests": _digests(), "predictions": _enc(_np.full((4, 1), 0.5))},
            "values": {}, "error": None,
            "figures": [[{"lines": [_enc(_hist["accuracy"], "<f8"), _enc(_hist["val_accuracy"], "<f8")],
                          "legend": ["Train", "Validation"]}]],
            "history_variable": None}
'''
_CONFIRM = {VB: ["could not confirm"], VC: ["could not confirm"], VW: ["could not confirm"],
            VP: ["could not confirm"]}

# Step 2 without clipping, as step 1 (it explodes).
UNCLIPPED = STEP1
PATCH_EXPORTER = ("import graders.kernel.notebook as _nb\n_real = _nb.collect\n"
                  "def _claim(iid, notebook, ns, record=None, probe=None):\n"
                  "    e = _real(iid, notebook, ns, record, probe)\n"
                  "    if e['model'].get('optimizer'):\n"
                  "        e['model']['optimizer']['clipvalue'] = 3.0\n"
                  "    return e\n"
                  "_nb.collect = _claim\n")

FORGERIES = [
    # tampering the old in-kernel verdict: nothing of it counts now; nothing is built
    forgery("forgery_replaces_run_check",
            "import graders.notebook\ngraders.notebook.run_check = lambda *args, **kwargs: None\n",
            words={VB: ["check did not run"]}),
    forgery("forgery_patches_judge", "import graders.kernel.notebook as _nb\n" + FORGED_PASS
            + "_nb.judge = _pass\n", words={VB: ["could not find your Keras model"]}),
    forgery("forgery_fake_module_in_sys_modules",
            "import sys, types\n_m = types.ModuleType('graders.notebook')\n"
            "_m.run_check = lambda *a, **k: print('passed')\nsys.modules['graders.notebook'] = _m\n",
            words={VB: ["check did not run"]}),
    forgery("forgery_input_transformer",
            "get_ipython().input_transformers_post.append(\n"
            "    lambda lines: [l.replace('run_check(', 'print(') for l in lines])\n",
            words={VB: ["check did not run"]}),
    forgery("forgery_builtins_import_hook",
            "_real = __builtins__.__import__\n"
            "def _imp(name, *a, **k):\n"
            "    m = _real(name, *a, **k)\n"
            "    if name == 'graders.notebook':\n"
            "        m.run_check = lambda *x, **y: None\n"
            "    return m\n"
            "__builtins__.__import__ = _imp\n", words={VB: ["check did not run"]}),
    forgery("forgery_exec_obfuscated",
            "exec('import gr' + 'aders.note' + 'book as n; n.run_check = lambda *a, **k: None')\n",
            words={VB: ["check did not run"]}),
    forgery("forgery_code_object_swap",
            "from graders.kernel import notebook as _nb\n" + FORGED_PASS
            + "_nb.judge.__code__ = _pass.__code__\n", words={VB: ["could not find your Keras model"]}),
    forgery("forgery_patches_keras_get_config",
            "from keras.models import Sequential\n"
            "Sequential.count_params = lambda self: 361201\nmodel = Sequential()\n"),
    forgery("forgery_exploding_subclass_walk",
            "for _c in ().__class__.__base__.__subclasses__():\n"
            "    if _c.__name__ == 'CheckResult':\n"
            "        _c.passed = property(lambda self: True)\n", notebook="exploding_gradients"),
    # the exporter replaced with evidence of a perfect answer, through five routes to the module
    forgery("forgery_route_builtin_other_name",
            "_nb = print.__self__.__import__('graders.kernel.notebook', fromlist=['collect'])\n"
            + FAKE_VANISHING + "_nb.collect = _fake\n", words=_CONFIRM),
    forgery("forgery_route_library_globals",
            "_imp = np.load.__globals__['__builtins__']['__import__']\n"
            "_nb = _imp('graders.kernel.notebook', fromlist=['collect'])\n"
            + FAKE_VANISHING + "_nb.collect = _fake\n", words=_CONFIRM),
    forgery("forgery_route_module_file",
            "_code = " + repr("import graders.kernel.notebook as _nb\n" + FAKE_VANISHING
                              + "_nb.collect = _fake\n") + "\n"
            "with open('_helper.py', 'w') as _f:\n    _f.write(_code)\n"
            "import importlib.util as _u\n_s = _u.spec_from_file_location('_helper', '_helper.py')\n"
            "_m = _u.module_from_spec(_s)\n_s.loader.exec_module(_m)\n", words=_CONFIRM),
    forgery("forgery_route_sys_modules_attribute",
            "import os\n_nb = os.sys.modules['importlib'].import_module('graders.kernel.notebook')\n"
            "_nb = os.sys.modules['graders.kernel.notebook']\n"
            + FAKE_VANISHING + "_nb.collect = _fake\n", words=_CONFIRM),
    forgery("forgery_route_shell_escape",
            "import base64 as _b64\n"
            "_code = _b64.b64encode(" + repr("import graders.kernel.notebook as _nb\n"
                                            + FAKE_VANISHING + "_nb.collect = _fake\n")
            + ".encode()).decode()\n"
            "!echo {_code} | base64 -d > _helper.py\n"
            "import runpy\n_g = runpy.run_path('_helper.py')\n", words=_CONFIRM),
    # claims about work not done, each beside real work that keeps its points
    forgery("forgery_exporter_claims_clipvalue", UNCLIPPED + PATCH_EXPORTER,
            notebook="exploding_gradients", step1=STEP1, points={E1: 2},
            words={E2: ["not finite"]}),
    forgery("forgery_mse_copied_from_classmate",
            UNCLIPPED + "train_mse, test_mse = 27.2, 31.1\n" + PATCH_EXPORTER,
            notebook="exploding_gradients", step1=STEP1, points={E1: 2},
            words={E2: ["but your trained model's MSE"]}),
    forgery("forgery_constant_lines_labelled_accuracy",
            VANISHING.replace('plt.plot(history.history["accuracy"])\n'
                              'plt.plot(history.history["val_accuracy"])\n',
                              "plt.plot([0.95] * 100, label='accuracy')\n"
                              "plt.plot([0.93] * 100, label='val_accuracy')\n"),
            points={VB: 1, VC: 1, VW: 1}, words={VP: ["None of the curves"]}),
    forgery("forgery_rnn300_claims_600_units",
            VANISHING.replace("units=600", "units=300").replace(
                'model.load_weights("model_weights.h5")\n', "")
            + "import graders.kernel.notebook as _nb\n" + FAKE_VANISHING
            + "_real = _nb.collect\n"
            "def _claim(iid, notebook, ns, record=None, probe=None):\n"
            "    e = _real(iid, notebook, ns, record, probe)\n"
            "    e['model']['layers'][0]['units'] = 600\n"
            "    e['model'].pop('weights', None)\n"
            "    e['model']['weight_digests'] = _digests()\n"
            "    return e\n"
            "_nb.collect = _claim\n",
            # its compile and plot were right, but every claim of an exporter proven to lie is
            # void: the evidence of those cells came through it
            words={**_CONFIRM, VP: ["could not confirm"]}),
    forgery("forgery_forged_live_verdict",
            step2("SGD(learning_rate=0.01, momentum=0.9, clipvalue=5.0)")
            + "import graders.kernel.notebook as _nb\n"
            "from graders.judge import Judgement as _J\n"
            "from graders.kernel.result import CheckResult as _R\n"
            "_nb.judge_evidence = lambda iid, data, course, probe=None: "
            "_J(_R(iid, iid, 2.0, 2.0, True, 'ok'))\n",
            notebook="exploding_gradients", step1=STEP1, points={E1: 2},
            words={E2: ["clipvalue is 5"]}),
    # evidence of an honest run (a classmate's model, built aside), replayed
    forgery("forgery_replays_classmate_evidence",
            "import graders.kernel.notebook as _nb\nfrom graders.judge import probe as _p\n"
            "_m = Sequential()\n_m.add(SimpleRNN(units=600, input_shape=(None, 1)))\n"
            "_m.add(Dense(1, activation='sigmoid'))\n"
            "_m.compile(loss='binary_crossentropy', optimizer='sgd', metrics=['accuracy'])\n"
            "_m.load_weights('model_weights.h5')\n"
            "_other_run = _p.new_probe()\n"
            "_saved = {i: _nb.collect(i, 'vanishing_gradients', {'model': _m}, None, _other_run)\n"
            "          for i in ('vanishing_build', 'vanishing_compile', 'vanishing_weights')}\n"
            "del _m\n"
            "_nb.collect = lambda iid, notebook, ns, record=None, probe=None: _saved.get(iid) or {}\n",
            words={VB: ["not produced by this grading run"]}),
    forgery("forgery_replays_classmate_evidence_with_this_nonce",
            "import graders.kernel.notebook as _nb\nfrom graders.judge import probe as _p\n"
            "_m = Sequential()\n_m.add(SimpleRNN(units=600, input_shape=(None, 1)))\n"
            "_m.add(Dense(1, activation='sigmoid'))\n"
            "_m.compile(loss='binary_crossentropy', optimizer='sgd', metrics=['accuracy'])\n"
            "_m.load_weights('model_weights.h5')\n"
            "_saved = {i: _nb.collect(i, 'vanishing_gradients', {'model': _m}, None, _p.new_probe())\n"
            "          for i in ('vanishing_build', 'vanishing_compile', 'vanishing_weights')}\n"
            "del _m\n"
            "def _replay(iid, notebook, ns, record=None, probe=None):\n"
            "    e = dict(_saved.get(iid) or {})\n"
            "    e['probe'] = probe.nonce if probe is not None else None\n"
            "    return e\n"
            "_nb.collect = _replay\n", words=_CONFIRM),
]
# -- why each entry earns what it earns: the grading policy, entry by entry ---------------------
# What the student made is judged (the trained model, its compiled optimizer, its weights, the
# figure shown), never the text typed: another import style, model API or variable name passes
# when the object is the one the instruction asks for; a value typed in, or an object that
# differs in any setting that changes what it computes, does not.
REASONS = {
    "exploding_reference": "the chapter's code, both steps: full marks",
    "exploding_int_clipvalue_optimizer_in_variable": "clipvalue=3 (int) is the same clipping as 3.0; an optimizer built first and passed by name is the same optimizer; step 1 left as the stub",
    "exploding_keras_namespace": "keras.Sequential / keras.optimizers.SGD / HeUniform(seed=42) build the same model as the chapter's imports",
    "exploding_tf_keras_input_layer": "tf.keras with an Input layer and a loss object is the same network, optimizer and loss; the fit result not kept in `history` is allowed (nothing graded reads it)",
    "exploding_clipvalue_5": "clips at 5.0, not 3.0: a different optimizer than the instruction's",
    "exploding_clipnorm": "clipnorm rescales the gradient's norm; the instruction asks for clipvalue (elementwise clipping)",
    "exploding_keras2_lr": "Keras 3 rejects SGD(lr=...): both cells stop before a model is trained",
    "exploding_hardcoded_printout": "step 2 types the MSE values in and trains nothing: no clipped model exists",
    "exploding_step2_not_rebuilt": "step 2 recompiles step 1's already-exploded model instead of building a new one",
    "vanishing_reference": "the chapter's code: full marks",
    "vanishing_positional_input_layer_subplots": "Input layer + positional layers, metrics=['acc'] (Keras reports it as accuracy) and an Axes plot with labels: the same model and figure",
    "vanishing_300_units": "SimpleRNN(300): the wrong model, so the 600-unit weights cannot load and there is no plot",
    "vanishing_lstm": "an LSTM is not the SimpleRNN whose vanishing gradients the exercise shows; the SimpleRNN weights cannot load",
    "vanishing_weights_not_loaded": "the pretrained weights are never loaded: the model keeps its random initial weights",
    "vanishing_retrained": "trains the model after loading, so its weights are no longer the pretrained ones",
    "vanishing_loss_plotted": "compiles with metrics=['loss'] (no accuracy metric) and plots the loss, not the accuracy",
    "vanishing_one_curve": "only the training accuracy is drawn; the instruction asks for training and validation",
    "vanishing_no_legend": "two curves but no legend: a reader cannot tell which is which",
    "vanishing_keras2_acc_key": "history['acc'] is Keras 2's key; with Keras 3 the cell stops with a KeyError before plotting",
    "exploding_keras_as_K_positional_list_validation": "positional arguments (SGD(0.01, 0.9), 'mse'), input_shape and validation data as a list build and train the same model",
    "exploding_functional_from_tensorflow_import_keras": "a Functional model where the text says Sequential: the same layers, weights and training, so it passes (the model is judged, not the API)",
    "exploding_reimports_summary_verbose_fit": "re-imports, model.summary() and a verbose fit change nothing the step asks for",
    "exploding_optimizer_built_in_steps_metrics_no_print": "SGD built with learning_rate=0.5, then learning_rate set to 0.01 and clipvalue to 3.0 before training: the optimizer that trains is the instruction's; an extra metric and no print are allowed",
    "exploding_both_stubs": "both cells left as released: nothing built",
    "exploding_step2_stub_left": "step 1 right, step 2 left as released",
    "exploding_step2_exception_half_way_after_step1": "step 2 stops with a NameError before test_mse is computed; step 1 keeps its points",
    "exploding_step1_code_pasted_in_step2": "step 2 repeats step 1 without clipvalue: its gradients are not clipped",
    "exploding_step2_code_pasted_in_step1": "step 1 already clips, so it shows no explosion; step 2 is right and keeps its points",
    "exploding_step1_adam": "step 1 uses Adam, not SGD with momentum: not the instruction's optimizer",
    "exploding_step2_rmsprop": "step 2 uses RMSprop: not SGD with momentum",
    "exploding_pair_no_momentum_and_global_clipnorm": "step 1 without momentum=0.9; step 2 clips the global norm, not each value",
    "exploding_step2_50_units": "a hidden layer of 50 units, not 25: another network",
    "exploding_step2_he_uniform_without_seed": "he_uniform without seed=42: the initial weights are not the chapter's",
    "exploding_step2_mae_loss": "trains on mean absolute error, not mean squared error",
    "exploding_step1_10_epochs_no_validation": "10 epochs without validation data: not the instruction's training run",
    "exploding_step2_50_epochs": "50 epochs, not 100",
    "exploding_step2_no_validation_data": "fit without validation_data=(X_test, y_test)",
    "exploding_step2_validation_split": "validates on a split of the training data, not on (X_test, y_test)",
    "exploding_step2_values_typed_in": "train_mse/test_mse overwritten with typed numbers: not what the model gives",
    "exploding_step2_mse_from_history": "train_mse read from the training history, not model.evaluate on X_train: a different number",
    "exploding_step2_exception_half_way": "step 2 stops with a NameError (Y_test) before test_mse exists",
    "vanishing_keras_as_K_figure_first_labels_get": "`import keras as K`, SGD() object, plt.figure first, labels with legend(): the same model and figure",
    "vanishing_functional_from_tensorflow_import_keras_subplots": "a Functional model where the text says Sequential, BinaryAccuracy() for 'accuracy', SGD(0.01) for 'sgd': the same model, loss, optimizer and metric, so it passes",
    "vanishing_tf_keras_build_acc_metric_one_plot_call": "model.build(...) instead of input_shape, metrics=['acc'], both curves in one plt.plot call: the same model and figure",
    "vanishing_reimports_load_before_compile_prints": "weights loaded before compile (compile keeps them), extra prints and a grid: allowed",
    "vanishing_other_model_name_figure_legend_savefig": "the model is named `rnn`, not `model`, the legend is figure-level, the plot is also saved: the model and figure are judged, not names",
    "vanishing_no_plt_show_inline_display": "no plt.show(): the inline backend shows the figure at the cell's end anyway, so the student saw it",
    "vanishing_accuracy_in_percent": "accuracy drawn in percent: the same curves on another scale",
    "vanishing_loss_plotted_only": "the loss curves are drawn instead of the accuracy",
    "vanishing_keras2_positional_metrics": "Keras 2's compile('sgd', 'binary_crossentropy', ['accuracy']): in Keras 3 the third argument is loss_weights, so no accuracy metric",
    "vanishing_stub_left": "the cell left as released: nothing built",
    "vanishing_gru": "a GRU is the remedy, not the SimpleRNN the exercise studies; the SimpleRNN weights cannot load",
    "vanishing_no_input_shape": "no input shape: the model is never built, so the weights cannot load and nothing is plotted",
    "vanishing_sigmoid_missing": "Dense(1) without sigmoid: the output is not a probability for binary cross-entropy",
    "vanishing_adam": "compiled with Adam, not SGD",
    "vanishing_mse_loss": "compiled with MSE, not binary cross-entropy",
    "vanishing_bce_from_logits": "from_logits=True treats the sigmoid's output as logits: a different loss",
    "vanishing_no_metrics": "compiled without metrics=['accuracy']",
    "vanishing_metrics_as_string": "metrics='accuracy' (a string) makes Keras 3 raise: never compiled, and the cell stops before loading and plotting",
    "vanishing_keras2_lr": "SGD(lr=...) raises in Keras 3: the cell stops at compile",
    "vanishing_wrong_weights_file_half_way": "loads 'weights.h5', which does not exist: FileNotFoundError, nothing after it runs",
    "vanishing_refit_and_history_overwritten": "trains after loading and overwrites `history`: neither the pretrained weights nor the pretraining record remain",
    "vanishing_nothing_plotted": "no figure at all",
    "vanishing_only_validation_curve": "only the validation accuracy is drawn",
    "vanishing_curves_on_two_figures": "the two curves are on two separate figures, not compared on one",
    "vanishing_legend_without_labels": "plt.legend() with unlabelled lines shows no legend",
    "vanishing_legend_after_show": "the legend is added after plt.show(): the figure shown has none",
    "vanishing_pair_build_and_compile": "relu output and MSE loss: both the build and the compile are wrong",
    "vanishing_pair_compile_and_no_legend": "RMSprop instead of SGD, and no legend",
    "vanishing_pair_not_loaded_and_one_curve": "weights never loaded, and only the training curve",
    "vanishing_pair_retrained_and_loss_plotted": "trained after loading, and the loss drawn instead of the accuracy",
    "exploding_step2_l2_regularizer": "an L2 kernel regularizer changes what the model computes and trains: not the instruction's layer",
    "vanishing_go_backwards": "go_backwards=True reads the sequence backwards: another model, even though the weights load",
}
for _entry in CORPUS:
    _entry.why = REASONS.get(_entry.name, "")
