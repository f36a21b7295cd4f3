"""The judge on its own: evidence in, verdicts out, in this process (no kernel, no nbgrader).

Evidence is exported from real Keras models here (``graders.kernel.notebook.evidence``, what
``run_check`` publishes) and judged by ``graders.grading.judging.judge_notebook`` on a notebook
cell, the way the nbgrader preprocessor does it. Hostile payloads are refused with a reason and
cost only their own instruction.
"""
import base64
import json

import nbformat
import numpy as np
import pytest

from graders.grading.judging import FAILED, judge_notebook, our_test_cells
from graders.instructions import INSTRUCTIONS
from graders.judge import CourseFiles, judge_evidence
from graders.judge import codec, probe as probes
from graders.judge.codec import EVIDENCE_MIMETYPE, BadEvidence
from graders.judge.numeric import dense_network, simple_rnn_network
from graders.judge.reference import COMPUTE_SETTINGS, LAYERS
from graders.kernel import notebook
from graders.kernel.result import RESULT_MIMETYPE
from helpers import SOURCE, fill, grade_id
from variants import BY_NAME

import keras  # noqa: E402 - pinned: a broken install must fail, not skip
from keras.layers import Dense, SimpleRNN  # noqa: E402

COURSE = CourseFiles(SOURCE)


@pytest.fixture(scope="module")
def probe():
    return probes.new_probe()


@pytest.fixture(scope="module")
def pretrained():
    model = keras.Sequential([keras.Input(shape=(None, 1)), SimpleRNN(600),
                              Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
    model.load_weights(str(SOURCE / "model_weights.h5"))
    return model


def exported(instruction, namespace, probe):
    """The evidence ``run_check`` would publish for this namespace under ``probe``."""
    from graders.kernel.evidence import collect

    return collect(instruction, INSTRUCTIONS[instruction].notebook, namespace, None, probe)


def test_reference_layers_are_what_keras_builds():
    """Are the frozen reference configurations what the pinned Keras gives the layers the
    instructions write?"""
    built = {"exploding_hidden": Dense(25, activation="relu",
                                       kernel_initializer=keras.initializers.HeUniform(seed=42)),
             "exploding_output": Dense(1), "vanishing_rnn": SimpleRNN(600),
             "vanishing_output": Dense(1, activation="sigmoid")}
    for name, layer in built.items():
        kind, frozen = LAYERS[name]
        assert type(layer).__name__ == kind
        config = layer.get_config()
        assert frozen == {k: config[k] for k in COMPUTE_SETTINGS[kind] if k in config}, name


def test_forward_passes_are_what_keras_computes(pretrained, probe):
    """Does the judge's NumPy forward pass give the Keras models' outputs (the exploding network
    with random weights, SimpleRNN(600) with the course's)?"""
    model = keras.Sequential([keras.Input(shape=(20,)), Dense(25, activation="relu"), Dense(1)])
    expected = keras.ops.convert_to_numpy(model(probe.exploding))
    assert np.allclose(dense_network(model.get_weights(), probe.exploding), expected,
                       rtol=1e-5, atol=1e-5)
    expected = keras.ops.convert_to_numpy(pretrained(probe.vanishing))
    assert np.allclose(simple_rnn_network(COURSE.pretrained_weights(), probe.vanishing),
                       expected, rtol=1e-4, atol=1e-5)


def test_honest_evidence_passes_and_is_plain_json(pretrained, probe):
    """Does the evidence of the right model pass build, compile and weights with today's
    messages, as strict JSON, without the weights themselves (digests only)?"""
    for instruction in ("vanishing_build", "vanishing_compile", "vanishing_weights"):
        data = exported(instruction, {"model": pretrained}, probe)
        text = codec.dumps(data)
        assert len(text) < 20_000 and "weight_digests" in text and '"weights"' not in text
        verdict = judge_evidence(instruction, codec.loads(text), COURSE, probe)
        assert verdict.result.passed and verdict.review == [], verdict.result.message
    assert judge_evidence("vanishing_weights", exported("vanishing_weights",
                          {"model": pretrained}, probe), COURSE, probe).result.message == \
        "The pretrained weights from model_weights.h5 are loaded."


def test_evidence_of_another_run_or_instruction_is_refused(pretrained, probe):
    """Is evidence made under another probe (a classmate's run replayed), or exported for
    another instruction, refused with a reason and listed for review?"""
    other = exported("vanishing_build", {"model": pretrained}, probes.new_probe())
    verdict = judge_evidence("vanishing_build", other, COURSE, probe)
    assert not verdict.result.passed and "not produced by this grading run" in verdict.result.message
    assert verdict.review
    # the same evidence with this run's nonce copied in: the predictions give it away
    other["probe"] = probe.nonce
    verdict = judge_evidence("vanishing_build", other, COURSE, probe)
    assert not verdict.result.passed and "could not confirm" in verdict.result.message
    wrong = exported("vanishing_compile", {"model": pretrained}, probe)
    verdict = judge_evidence("vanishing_build", wrong, COURSE, probe)
    assert not verdict.result.passed and "'vanishing_compile'" in verdict.result.message


def test_claimed_units_and_digests_without_the_model_fail(probe):
    """Does a SimpleRNN(300) whose evidence claims 600 units and the course's weight digests
    fail build, compile and weights (its predictions are not the pretrained model's)?"""
    small = keras.Sequential([keras.Input(shape=(None, 1)), SimpleRNN(300),
                              Dense(1, activation="sigmoid")])
    small.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
    for instruction in ("vanishing_build", "vanishing_compile", "vanishing_weights"):
        data = exported(instruction, {"model": small}, probe)
        data["model"]["layers"][0]["units"] = 600
        data["model"]["weight_digests"] = [{"shape": list(s), "sha256": h}
                                           for s, h in COURSE.pretrained_digests()]
        verdict = judge_evidence(instruction, data, COURSE, probe)
        assert not verdict.result.passed and "could not confirm" in verdict.result.message
        assert verdict.review


def cell_with(outputs, instruction="vanishing_build"):
    """The vanishing notebook with ``outputs`` in ``instruction``'s test cell."""
    nb = fill("vanishing_gradients", {}, SOURCE)
    for cell in nb.cells:
        if grade_id(cell) == INSTRUCTIONS[instruction].test_cell:
            cell.outputs = outputs
    return nb


def evidence_output(text):
    return nbformat.v4.new_output("display_data", data={EVIDENCE_MIMETYPE: text})


def verdict_of(nb, instruction="vanishing_build"):
    for cell, ins in our_test_cells(nb):
        if ins.id == instruction:
            kinds = [o.output_type for o in cell.outputs]
            verdict = json.loads(next(o.data[RESULT_MIMETYPE] for o in cell.outputs
                                      if o.output_type == "display_data"))
            return verdict, kinds, cell
    raise AssertionError(instruction)


def good_payload(pretrained, probe):
    return codec.dumps(exported("vanishing_build", {"model": pretrained}, probe))


def test_judged_cell_shows_only_the_judges_verdict(pretrained, probe):
    """Are every kernel output of a test cell (its stderr, its execute_result, a forged
    verdict) replaced by the judge's verdict and message?"""
    forged = nbformat.v4.new_output("display_data", data={RESULT_MIMETYPE: json.dumps(
        {"instruction": "vanishing_build", "title": "x", "points": 1, "max_points": 1,
         "passed": True, "message": "forged"})})
    nb = cell_with([nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
                    evidence_output(good_payload(pretrained, probe)), forged,
                    nbformat.v4.new_output("execute_result", data={"text/plain": "0.5"},
                                           execution_count=3)])
    kept = judge_notebook(nb, COURSE, probe)
    verdict, kinds, cell = verdict_of(nb)
    assert verdict["passed"] and kinds == ["stream", "display_data"]
    assert cell.outputs[0].name == "stdout" and "passed (1/1 points)" in cell.outputs[0].text
    assert "vanishing_build" in kept["cells"] and kept["probe"]["nonce"] == probe.nonce
    # a cell without evidence: 0, with the reason, as an error nbgrader scores 0
    verdict, kinds, cell = verdict_of(nb, "vanishing_plot")
    assert not verdict["passed"] and kinds == ["display_data", "error"]
    assert cell.outputs[1].ename == FAILED


def array(shape, data="", dtype="<f4"):
    return {"dtype": dtype, "shape": shape, "data": data}


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["model"]["weight_digests"].__setitem__(0, array([10 ** 9])), "not a digest"),
    (lambda d: d["model"].__setitem__("predictions", array([10 ** 9, 1])), "more than"),
    (lambda d: d["model"].__setitem__("predictions", array([4, 1], "AAAA", "<i8")), "dtype"),
    (lambda d: d["model"].__setitem__("predictions", array([4, 1], "AAAA")), "base64"),
    (lambda d: d["model"].__setitem__("predictions", array([4, 1], "!" * 24)), "not base64"),
    (lambda d: d["model"].__setitem__("input_shape", "big"), "not a shape"),
])
def test_malformed_evidence_is_refused_with_a_reason(pretrained, probe, mutate, words):
    """Is a declared shape of 10^9 elements, a wrong dtype, truncated or invalid base64 or a
    field of the wrong type refused before anything is decoded, scoring 0 with the reason?"""
    data = exported("vanishing_build", {"model": pretrained}, probe)
    mutate(data)
    nb = cell_with([evidence_output(codec.dumps(data))])
    kept = judge_notebook(nb, COURSE, probe)
    verdict, kinds, _ = verdict_of(nb)
    assert not verdict["passed"] and words in verdict["message"], verdict["message"]
    assert kept["review"], kept


def test_non_standard_json_huge_and_repeated_evidence_are_refused(pretrained, probe):
    """NaN as a JSON token, a 100 MB output, evidence published twice: each refused with a
    reason, the other cells judged as usual."""
    good = good_payload(pretrained, probe)
    cases = {
        "non-standard JSON token NaN": good.replace('"predictions":', '"x":NaN,"predictions":'),
        "over its cap": good[:-1] + ',"pad":"' + "x" * (100 << 20) + '"}',
    }
    for words, text in cases.items():
        nb = cell_with([evidence_output(text)])
        judge_notebook(nb, COURSE, probe)
        verdict, _, _ = verdict_of(nb)
        assert not verdict["passed"] and words in verdict["message"], verdict["message"]
    nb = cell_with([evidence_output(good), evidence_output(good)])
    judge_notebook(nb, COURSE, probe)
    verdict, _, _ = verdict_of(nb)
    assert not verdict["passed"] and "more than once" in verdict["message"]
    with pytest.raises(BadEvidence, match="holds 7 bytes"):
        codec.decode_array(array([2], base64.b64encode(b"\0" * 7).decode()))


def test_screen_lists_for_review_and_zeroes_only_when_the_course_says_so(pretrained, probe):
    """Does a notebook whose code the static screen flags keep the judge's verdicts (and go
    on the review list), and score 0 only with ``zero_flagged``?"""
    for zero in (False, True):
        nb = cell_with([evidence_output(good_payload(pretrained, probe))])
        for cell in nb.cells:
            if grade_id(cell) == "vanishing_model":
                cell.source = "import sys\n" + BY_NAME["vanishing_reference"].cells["vanishing_model"]
        kept = judge_notebook(nb, COURSE, probe, zero_flagged=zero)
        verdict, _, _ = verdict_of(nb)
        assert verdict["passed"] is (not zero), verdict
        assert any("Flagged for the instructor's review" in line for line in kept["review"])


def test_step2_update_count_must_cover_the_last_fit(probe):
    """Exploding step 2 trained for real (100 epochs with clipvalue=3.0 on the course's data):
    does its evidence pass, carrying the last fit's batches per epoch? And is a model whose
    optimizer claims fewer updates than that fit made (a description no training produced)
    refused and listed for review, while evidence without the step count (exported before the
    count travelled) is judged as before?"""
    from keras.optimizers import SGD

    with np.load(SOURCE / "exploding_data.npz") as data:
        X_train, X_test, y_train, y_test = (data[k] for k in ("X_train", "X_test", "y_train",
                                                               "y_test"))
    model = keras.Sequential([keras.Input(shape=(20,)), Dense(
        25, activation="relu", kernel_initializer=keras.initializers.HeUniform(seed=42)),
        Dense(1)])
    model.compile(loss="mean_squared_error",
                  optimizer=SGD(learning_rate=0.01, momentum=0.9, clipvalue=3.0))
    model.fit(X_train, y_train, validation_data=(X_test, y_test), epochs=100, verbose=0)
    namespace = {"model": model, "train_mse": model.evaluate(X_train, y_train, verbose=0),
                 "test_mse": model.evaluate(X_test, y_test, verbose=0)}
    data = exported("exploding_step2", namespace, probe)
    steps = -(-len(X_train) // 32)
    assert data["model"]["history"]["steps"] == steps
    assert data["model"]["optimizer"]["iterations"] == 100 * steps
    verdict = judge_evidence("exploding_step2", data, COURSE, probe)
    assert verdict.result.passed and verdict.review == [], verdict.result.message

    forged = json.loads(json.dumps(data))
    forged["model"]["optimizer"]["iterations"] = 3
    verdict = judge_evidence("exploding_step2", forged, COURSE, probe)
    assert not verdict.result.passed and "fewer than the 100 epochs" in verdict.result.message
    assert verdict.review

    older = json.loads(json.dumps(forged))
    del older["model"]["history"]["steps"]
    assert judge_evidence("exploding_step2", older, COURSE, probe).result.passed
