"""Student submissions written the many ways students write them, right and wrong.

Each variant is the code of solution cells (by ``grade_id``) plus the points expected per
instruction and words its feedback must contain. Used by the notebook tests (through the runner
and through real ``nbgrader autograde``) and to make the sample submissions of the demo.
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
    vanishing("vanishing_loss_plotted", VANISHING.replace('"accuracy"]', '"loss"]').replace('"val_accuracy"]', '"val_loss"]'),
              points={VP: 0}, words={VP: ["loss", "accuracy"]}),
    vanishing("vanishing_one_curve", VANISHING.replace('plt.plot(history.history["val_accuracy"])\n', ""),
              points={VP: 0}, words={VP: ["only the training accuracy"]}),
    vanishing("vanishing_no_legend", VANISHING.replace('plt.legend(["Train", "Validation"], loc="upper left")\n', ""),
              points={VP: 0}, words={VP: ["legend"]}),
    vanishing("vanishing_keras2_acc_key", VANISHING.replace('"accuracy"]', '"acc"]').replace('"val_accuracy"]', '"val_acc"]'),
              points={VP: 0}, words={VP: ["'accuracy'", "Keras 2"]}),
]

BY_NAME = {v.name: v for v in VARIANTS}

# -- the sample class of the demo (tests/files/submissions/<student>/rnn_architecture/) -------
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
