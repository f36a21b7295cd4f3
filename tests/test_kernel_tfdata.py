"""graders.kernel.tfdata: the grading kernel's tf.data without autotuning gives the same numbers.

Each case runs in a fresh Python (the extension changes a TensorFlow class for the whole process,
and this test process may have imported TensorFlow already). Real TensorFlow and Keras, the
exploding exercise's data; the time it saves is measured by tests/bench_batch.py, not here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "source" / "rnn_architecture" / "exploding_data.npz"

PROBE = r"""
import hashlib, json, sys
sys.path.insert(0, {repo!r})
patched = sys.argv[1] == "patched"
if patched:
    from graders.kernel import tfdata
    tfdata.load_ipython_extension(None)
    tfdata.load_ipython_extension(None)  # twice: one wrapper
    assert "tensorflow" not in sys.modules, "the extension must not import TensorFlow itself"
import numpy as np
import keras
import tensorflow as tf
from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

out = {{}}
with np.load({data!r}) as d:
    X_train, X_test, y_train, y_test = d["X_train"], d["X_test"], d["y_train"], d["y_test"]
keras.utils.set_random_seed(7)
model = keras.Sequential([keras.Input((20,)),
                          keras.layers.Dense(25, activation="relu",
                                             kernel_initializer=keras.initializers.he_uniform(seed=42)),
                          keras.layers.Dense(1)])
model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9,
                                                          clipvalue=3.0))
history = model.fit(X_train, y_train, validation_data=(X_test, y_test), epochs=8, verbose=0)
predictions = model.predict(X_test, verbose=0)
out["digest"] = hashlib.sha256(json.dumps(history.history).encode() + predictions.tobytes()
                               + model.evaluate(X_test, y_test, verbose=0).hex().encode()).hexdigest()
# what Keras feeds fit with, and what a student's own pipelines get
out["keras_pipeline"] = ArrayDataAdapter(X_train, y_train, batch_size=32, shuffle=True) \
    .get_tf_dataset().options().autotune.enabled
out["autotune_prefetch"] = tf.data.Dataset.range(3).prefetch(tf.data.AUTOTUNE).options().autotune.enabled
out["fixed_prefetch"] = tf.data.Dataset.range(3).prefetch(2).options().autotune.enabled
for choice in (True, False):
    options = tf.data.Options()
    options.autotune.enabled = choice
    ds = tf.data.Dataset.range(3).with_options(options).prefetch(tf.data.AUTOTUNE)
    out[f"author_chose_{{choice}}"] = ds.options().autotune.enabled
out["elements"] = [int(x) for x in tf.data.Dataset.range(5).map(lambda x: x * 2,
        num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE).as_numpy_iterator()]
wrapped = tf.data.Dataset.prefetch
out["wrapped_once"] = not hasattr(getattr(wrapped, "__wrapped__", None), "__wrapped__")
print("RESULT " + json.dumps(out))
"""


def probe(kind: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1",
               TF_NUM_INTEROP_THREADS="1")
    run = subprocess.run([sys.executable, "-c", PROBE.format(repo=str(REPO), data=str(DATA)), kind],
                         capture_output=True, text=True, env=env, timeout=600)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture(scope="module")
def runs():
    return {kind: probe(kind) for kind in ("stock", "patched")}


def test_training_gives_the_same_numbers_bit_for_bit(runs):
    assert runs["patched"]["digest"] == runs["stock"]["digest"]
    assert runs["patched"]["elements"] == runs["stock"]["elements"] == [0, 2, 4, 6, 8]


def test_keras_fit_pipeline_and_autotune_prefetches_run_without_autotuning(runs):
    # Keras's own pipeline must be the one the extension reaches: should a Keras release stop
    # ending it with prefetch(AUTOTUNE), this fails and the extension needs another look
    assert runs["stock"]["keras_pipeline"] is None and runs["stock"]["autotune_prefetch"] is None
    assert runs["patched"]["keras_pipeline"] is False
    assert runs["patched"]["autotune_prefetch"] is False


def test_fixed_prefetches_and_explicit_choices_are_left_alone(runs):
    patched = runs["patched"]
    assert patched["fixed_prefetch"] is None
    assert patched["author_chose_True"] is True and patched["author_chose_False"] is False
    assert patched["wrapped_once"] is True
