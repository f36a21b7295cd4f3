"""The exercise's reference layers, frozen as the configurations Keras gives them.

The judge never imports Keras: it compares the configurations the student's kernel exported with
these. ``tests/test_judge.py`` keeps them equal to what the pinned Keras produces for the layers
as the instructions write them (``Dense(25, activation="relu",
kernel_initializer=HeUniform(seed=42))``, ``Dense(1)``, ``SimpleRNN(600)``,
``Dense(1, activation="sigmoid")``), restricted to :data:`COMPUTE_SETTINGS`.
"""
from __future__ import annotations

#: Per layer type, the constructor settings that change the model's output, its shape or what
#: training does to it. Settings that only change speed (``unroll``) or naming are left out.
COMPUTE_SETTINGS = {
    "Dense": ("activation", "use_bias", "kernel_initializer", "bias_initializer",
              "kernel_regularizer", "bias_regularizer", "activity_regularizer",
              "kernel_constraint", "bias_constraint"),
    "SimpleRNN": ("activation", "use_bias", "return_sequences", "return_state",
                  "go_backwards", "stateful", "dropout", "recurrent_dropout"),
}


def _initializer(class_name, **config):
    return {"module": "keras.initializers", "class_name": class_name,
            "config": config, "registered_name": None}


_GLOROT = _initializer("GlorotUniform", seed=None, input_axes=None, output_axes=None)
_ZEROS = _initializer("Zeros")
_DENSE_REST = {"use_bias": True, "bias_initializer": _ZEROS, "kernel_regularizer": None,
               "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None}

#: name -> (layer class, configuration of its compute settings)
LAYERS = {
    "exploding_hidden": ("Dense", {
        "activation": "relu",
        "kernel_initializer": _initializer("HeUniform", seed=42, input_axes=None,
                                           output_axes=None),
        **_DENSE_REST}),
    "exploding_output": ("Dense", {"activation": "linear", "kernel_initializer": _GLOROT,
                                   **_DENSE_REST}),
    "vanishing_rnn": ("SimpleRNN", {
        "activation": "tanh", "use_bias": True, "return_sequences": False,
        "return_state": False, "go_backwards": False, "stateful": False, "dropout": 0.0,
        "recurrent_dropout": 0.0}),
    "vanishing_output": ("Dense", {"activation": "sigmoid", "kernel_initializer": _GLOROT,
                                   **_DENSE_REST}),
}
