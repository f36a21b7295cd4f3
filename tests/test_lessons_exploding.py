"""The read-only "look inside" cells of exploding_gradients.ipynb (figures, not graded).

They train COPIES of the student's models to show the gradient norm and the loss per update,
with and without clipping. Here their code (taken from the source notebook, as the release
ships it) runs on namespaces a student's notebook really holds: the stubs left, a model never
compiled, other optimizers and layers, a model under another name. They must never raise, must
say what to complete when something is missing, must not change anything the checks read, and
must not need the grader package (students run the release on Colab).
"""
import ast
import math

import numpy as np
import pytest

from helpers import SOURCE

NOTEBOOK = SOURCE / "exploding_gradients.ipynb"
LOOK, FIGURE = "look_step1", "look_figure"


def cell_source(grade_id: str) -> str:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise AssertionError(f"no cell {grade_id} in {NOTEBOOK.name}")


def preloaded() -> dict:
    """What the setup cell leaves: the data and the imported names."""
    from keras.initializers import he_uniform
    from keras.layers import Dense
    from keras.models import Sequential
    from keras.optimizers import SGD

    with np.load(SOURCE / "exploding_data.npz") as data:
        ns = {k: data[k] for k in ("X_train", "X_test", "y_train", "y_test")}
    ns.update(np=np, Sequential=Sequential, Dense=Dense, SGD=SGD, he_uniform=he_uniform)
    return ns


def model_for(optimizer=None, units=25, loss="mean_squared_error", compiled=True):
    from keras.initializers import he_uniform
    from keras.layers import Dense, Input
    from keras.models import Sequential
    from keras.optimizers import SGD

    model = Sequential()
    model.add(Input((20,)))
    model.add(Dense(units, activation="relu", kernel_initializer=he_uniform(seed=42)))
    model.add(Dense(1, activation="linear"))
    if compiled:
        model.compile(loss=loss, optimizer=optimizer or SGD(learning_rate=0.01, momentum=0.9))
    return model


def run_cell(grade_id: str, ns: dict, capsys) -> str:
    """Run one look cell in ``ns`` as the kernel would; its printed text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    capsys.readouterr()
    exec(compile(cell_source(grade_id), grade_id, "exec"), ns)  # never raises: the point
    plt.close("all")
    return capsys.readouterr().out


def snapshot(model):
    """What the checks read from a model: weights, optimizer state and settings, history."""
    optimizer = getattr(model, "optimizer", None)
    return ([w.copy() for w in model.get_weights()],
            None if optimizer is None else (int(optimizer.iterations.numpy()),
                                            optimizer.get_config()),
            getattr(model, "history", None))


def assert_unchanged(before, model):
    after = snapshot(model)
    assert len(before[0]) == len(after[0])
    for a, b in zip(before[0], after[0]):
        np.testing.assert_array_equal(a, b)
    assert before[1] == after[1]
    assert before[2] is after[2]


def test_cells_need_only_numpy_tensorflow_keras_matplotlib():
    for grade_id in (LOOK, FIGURE):
        tree = ast.parse(cell_source(grade_id))
        tops = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
        tops |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
        assert tops <= {"numpy", "tensorflow", "keras", "matplotlib", "math", "random",
                        "re", "warnings"}, (grade_id, tops)


def test_cells_are_locked_and_after_the_test_cell_of_their_step():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells]
    assert ids.index(LOOK) > ids.index("test_exploding_step1")
    assert ids.index(LOOK) < ids.index("exploding_step2")
    assert ids.index(FIGURE) > ids.index("test_exploding_step2")
    for cell in nb.cells:
        if cell.metadata["nbgrader"]["grade_id"].startswith("look"):
            assert cell.metadata["nbgrader"]["locked"] is True
            assert not cell.metadata["nbgrader"]["grade"]
            assert not cell.metadata["nbgrader"]["solution"]


def test_stubs_left_say_complete_the_step_first(capsys):
    ns = preloaded()  # the stubs raised NotImplementedError: no model at all
    out = run_cell(LOOK, ns, capsys)
    assert "Complete step 1 first" in out and "`model`" in out
    out = run_cell(FIGURE, ns, capsys)
    assert "Complete step 2 first" in out
    assert "Traceback" not in out


def test_model_never_compiled_is_named(capsys):
    ns = preloaded()
    ns["model"] = model_for(compiled=False)  # e.g. the cell stopped at SGD(lr=0.01)
    out = run_cell(LOOK, ns, capsys)
    assert "Complete step 1 first" in out and "never compiled" in out


def test_figure_cell_after_a_restart_says_what_to_run(capsys):
    ns = preloaded()
    out = run_cell(FIGURE, ns, capsys)  # the cell under step 1 did not run in this kernel
    assert "Run the read-only cell under step 1 first" in out


def test_wrong_input_size_is_a_message_not_an_error(capsys):
    from keras.layers import Dense, Input
    from keras.models import Sequential

    ns = preloaded()
    model = Sequential([Input((10,)), Dense(25, activation="relu"), Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    ns["model"] = model
    out = run_cell(LOOK, ns, capsys)
    assert "Complete step 1 first" in out and "takes 10 input features" in out


@pytest.mark.slow
def test_reference_shows_the_blow_up_and_the_tamed_run_without_touching_the_models(capsys):
    from keras.optimizers import SGD

    ns = preloaded()
    step1 = model_for(SGD(learning_rate=0.01, momentum=0.9))
    step1.fit(ns["X_train"][:64], ns["y_train"][:64], epochs=1, verbose=0)
    ns["model"], ns["train_mse"], ns["test_mse"] = step1, float("nan"), float("nan")
    before1 = snapshot(step1)
    out = run_cell(LOOK, ns, capsys)
    assert "overflowed" in out and "epoch 1" in out, out
    assert_unchanged(before1, step1)
    run1 = ns["_exploding_runs"][1]
    assert run1["overflow"] and run1["overflow"] <= run1["per_epoch"]  # within the first epoch

    step2 = model_for(SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0))
    ns["model"] = step2
    before2 = snapshot(step2)
    out = run_cell(FIGURE, ns, capsys)
    assert_unchanged(before2, step2)
    assert_unchanged(before1, step1)
    run2 = ns["_exploding_runs"][2]
    assert run2["overflow"] is None and len(run2["test_mse"]) == 100, out
    assert run2["test_mse"][-1] < np.var(ns["y_test"]) / 10  # far below the baseline
    assert max(run2["used"]) <= 3.0 * math.sqrt(20 * 25 + 25 + 25 + 1) + 1e-3  # clipvalue cap
    assert run1["norm"][0] == pytest.approx(run2["norm"][0])  # same start: same weights
    assert ns["train_mse"] != ns["train_mse"]  # still the student's nan


@pytest.mark.slow
def test_other_optimizers_layers_losses_and_names_never_raise(capsys):
    import keras
    from keras.optimizers import SGD

    def functional():
        inputs = keras.Input(shape=(20,))
        hidden = keras.layers.Dense(25, activation="relu")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
        model.compile(optimizer=SGD(0.01, 0.9, global_clipnorm=3.0),
                      loss=keras.losses.MeanSquaredError())
        return model

    states = {  # name -> (variable, a new model as each step builds it)
        "rmsprop": ("model", lambda: model_for(keras.optimizers.RMSprop(0.01, clipvalue=3.0))),
        "adam_50_units_mae": ("model", lambda: model_for(keras.optimizers.Adam(0.01), units=50,
                                                        loss="mae")),
        "other_name": ("net", lambda: model_for(SGD(0.01, momentum=0.9, clipnorm=3.0))),
        "functional": ("model", functional),
    }
    for name, (variable, build) in states.items():
        ns = preloaded()
        ns[variable] = step1 = build()
        before1 = snapshot(step1)
        out = run_cell(LOOK, ns, capsys)
        assert "A copy of your step 1 model" in out, (name, out)
        ns[variable] = step2 = build()
        before2 = snapshot(step2)
        out = run_cell(FIGURE, ns, capsys)
        assert "A copy of your step 2 model" in out, (name, out)
        assert "missing" not in out, (name, out)
        assert_unchanged(before1, step1)
        assert_unchanged(before2, step2)


@pytest.mark.slow
def test_step2_model_not_rebuilt_is_pointed_out(capsys):
    from keras.optimizers import SGD

    ns = preloaded()
    model = model_for(SGD(learning_rate=0.01, momentum=0.9))
    model.fit(ns["X_train"], ns["y_train"], epochs=1, verbose=0)  # weights now nan
    ns["model"] = model
    run_cell(LOOK, ns, capsys)
    model.compile(loss="mse", optimizer=SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0))
    out = run_cell(FIGURE, ns, capsys)
    assert "not rebuilt" in out


def test_step2_stub_left_after_step1_says_complete_step2(capsys):
    from keras.optimizers import SGD

    ns = preloaded()
    ns["model"] = model_for(SGD(learning_rate=0.01, momentum=0.9))  # step 1 done, not trained
    out = run_cell(LOOK, ns, capsys)
    assert "A copy of your step 1 model" in out
    out = run_cell(FIGURE, ns, capsys)  # the step 2 stub raised: `model` is step 1's
    assert "Complete step 2 first" in out and "still your step 1 model" in out, out
    assert "Step 2's run is missing" in out
