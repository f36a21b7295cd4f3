"""Write the instructor notebooks in source/rnn_architecture/ from their parts.

Run once by the course author; the notebooks it writes are the source of truth afterwards (edit
them in Jupyter). Kept so that a full regeneration stays reproducible:

    python tools/make_notebooks.py --teach DIR --data-source "sentence"
"""
import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from graders.instructions import INSTRUCTIONS, for_notebook  # noqa: E402


def meta(grade_id, *, solution=False, grade=False, locked=False, points=None):
    md = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
          "solution": solution}
    if points is not None:
        md["points"] = points
    return {"nbgrader": md}


def text(grade_id, source):
    return new_markdown_cell(source.strip(), metadata=meta(grade_id, locked=True))


def setup(source):
    return new_code_cell(source.strip(), metadata=meta("setup", locked=True))


def solution(grade_id, scaffold, code):
    return new_code_cell(f"{scaffold.strip()}\n### BEGIN SOLUTION\n{code.strip()}\n### END SOLUTION",
                         metadata=meta(grade_id, solution=True))


def tests(instruction_id):
    i = INSTRUCTIONS[instruction_id]
    unit = "point" if i.points == 1 else "points"
    body = (f"# Autograder cell: {i.title} ({i.points:g} {unit}). Do not delete it.\n"
            f"# Its hidden tests run when your notebook is graded; `rnn-course check` runs them now.\n"
            f"### BEGIN HIDDEN TESTS\n{i.test_cell_source()}\n### END HIDDEN TESTS")
    return new_code_cell(body, metadata=meta(i.test_cell, grade=True, locked=True, points=i.points))


KERNEL = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                         "name": "python3"},
          "language_info": {"name": "python"}}

EXPLODING_SETUP = '''
# Setup (read-only): loads the data and imports what this exercise uses.
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's start-up chatter

import numpy as np
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import SGD
from keras.initializers import he_uniform

with np.load("exploding_data.npz") as data:
    X_train, X_test = data["X_train"], data["X_test"]
    y_train, y_test = data["y_train"], data["y_test"]
print("X_train:", X_train.shape, " X_test:", X_test.shape)
'''

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

STEP2 = STEP1.replace("momentum=0.9)", "momentum=0.9, clipvalue=3.0)")

VANISHING_SETUP = '''
# Setup (read-only): loads the data, the pretraining history and the imports.
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's start-up chatter

import json
import numpy as np
import matplotlib.pyplot as plt
from keras.models import Sequential
from keras.layers import SimpleRNN, Dense
from keras.callbacks import History

with np.load("vanishing_data.npz") as data:
    X, y = data["X"], data["y"]

# `history` is the record of the 100-epoch pretraining, as `model.fit` returned it.
history = History()
with open("pretrain_history.json") as f:
    history.history = json.load(f)
history.epoch = list(range(len(history.history["accuracy"])))
print("X:", X.shape, " y:", y.shape, " history:", sorted(history.history))
'''

VANISHING = '''
model = Sequential()
model.add(SimpleRNN(units=600, input_shape=(None, 1)))
model.add(Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
model.load_weights("model_weights.h5")

plt.plot(history.history["accuracy"])
plt.plot(history.history["val_accuracy"])
plt.title("Model accuracy")
plt.xlabel("Epoch")
plt.ylabel("Accuracy")
plt.legend(["Train", "Validation"], loc="upper left")
plt.show()
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--teach", default="/tmp/teach", help="folder with the Markdown parts")
    ap.add_argument("--data-source", required=True, help="sentence on where the data came from")
    args = ap.parse_args()
    t = {p.stem: p.read_text() for p in Path(args.teach).glob("*.md")}
    out = ROOT / "source" / "rnn_architecture"
    out.mkdir(parents=True, exist_ok=True)

    nb = new_notebook(metadata=KERNEL)
    nb.cells = [
        text("intro", t["exploding_intro"]),
        setup(EXPLODING_SETUP),
        text("step1_text", t["exploding_step1"]),
        solution("exploding_step1",
                 "# Step 1: build, compile, fit and evaluate the model; print train_mse and test_mse.",
                 STEP1),
        tests("exploding_step1"),
        text("step1_after", t["exploding_step1_after"]),
        text("step2_text", t["exploding_step2"]),
        solution("exploding_step2",
                 "# Step 2: the same model, new, with SGD(..., clipvalue=3.0); keep train_mse and test_mse.",
                 STEP2),
        tests("exploding_step2"),
        text("step2_after", t["exploding_step2_after"]),
    ]
    assert [c for c in nb.cells if c.metadata["nbgrader"].get("grade")] and \
        {c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata["nbgrader"]["grade"]} \
        == {i.test_cell for i in for_notebook("exploding_gradients")}
    nbformat.write(nb, out / "exploding_gradients.ipynb")

    nb = new_notebook(metadata=KERNEL)
    nb.cells = [
        text("intro", t["vanishing_intro"].replace("{{DATA_SOURCE}}", args.data_source.strip())),
        setup(VANISHING_SETUP),
        text("task_text", t["vanishing_task"]),
        solution("vanishing_model",
                 "# Build, compile, load the pretrained weights, plot both accuracy curves, show.",
                 VANISHING),
        *[tests(i.id) for i in for_notebook("vanishing_gradients")],
        text("after", t["vanishing_after"]),
    ]
    nbformat.write(nb, out / "vanishing_gradients.ipynb")


if __name__ == "__main__":
    main()
