"""The static screen for tampering: every forgery flagged, honest work never."""
import nbformat
import pytest

from graders.grading.runner import collect
from graders.grading.screen import flag_message, screen_notebook, screen_source
from graders.instructions import for_notebook
from helpers import SOURCE, fill
from variants import CORPUS, FORGERIES, SAMPLES, VARIANTS


@pytest.mark.parametrize("variant", FORGERIES, ids=lambda v: v.name)
def test_every_forgery_is_flagged(variant):
    """Is each way a student who read the grader code could forge a verdict caught?"""
    findings = screen_notebook(fill(variant.notebook, variant.cells))
    assert findings, variant.name


def test_honest_corpus_and_samples_are_never_flagged():
    """Is no honest or wrong-but-honest submission of the corpus flagged (0 flags)?"""
    honest = {v.name: v for v in [*VARIANTS, *CORPUS, *(v for vs in SAMPLES.values() for v in vs)]}
    flagged = {name: [str(f) for f in screen_notebook(fill(v.notebook, v.cells))]
               for name, v in honest.items()}
    assert {k: v for k, v in flagged.items() if v} == {}
    assert len(honest) >= 71


@pytest.mark.parametrize("notebook", ["exploding_gradients", "vanishing_gradients"])
def test_instructor_solutions_are_not_flagged(notebook):
    assert screen_notebook(nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)) == []


@pytest.mark.parametrize("code", [
    "print(model.summary())", "import gc\ngc.collect()", "%matplotlib inline",
    "!rnn-course check exploding_gradients.ipynb", "import tensorflow as tf\nprint(tf.__version__)",
    "import os\nprint(os.listdir('.'))", "model.stop_training = True",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (8, 4)",
    "%time history = model.fit(X, y, verbose=0)", "!pip install keras",
])
def test_honest_constructs_pass(code):
    assert screen_source(code) == [], code


@pytest.mark.parametrize("code, words", [
    ("import sys", "imports sys"),
    ("from IPython import get_ipython", "imports from IPython"),
    ("get_ipython().events.register('pre_run_cell', f)", "get_ipython"),
    ("%load_ext mymodule", "get_ipython"),
    ("import matplotlib.pyplot as plt\nplt.show = lambda: None", "replaces plt.show"),
    ("f.__globals__['x'] = 1", ".__globals__"),
    ("getattr(obj, name)", "getattr"),
    ("vars()['run_check'] = print", "vars"),
    ("import gc\ngc.get_objects()", "gc.get_objects"),
])
def test_tampering_constructs_are_named(code, words):
    findings = screen_source(code)
    assert findings and any(words in f.what for f in findings), [str(f) for f in findings]


def test_a_flagged_notebook_scores_zero_whatever_its_kernel_published():
    """Does collect() give 0 with the flag message on every instruction of a flagged
    notebook, even where the (tampered) kernel published "passed"?"""
    forged = FORGERIES[0]
    nb = fill(forged.notebook, forged.cells)
    results, problems = collect(nb, for_notebook(forged.notebook))
    assert [r.points for r in results] == [0.0] * len(results)
    assert all(r.message.startswith("Flagged for the instructor's review") for r in results)
    assert problems == [flag_message(screen_notebook(nb))]


def test_saved_outputs_never_pass_for_verdicts(tmp_path):
    """Does a notebook saved with forged verdict outputs in its test cells, whose kernel then
    dies before they run, get no points from `rnn-course check`?"""
    import nbformat

    from graders.grading.runner import grade_notebook
    from graders.kernel.result import RESULT_MIMETYPE, CheckResult
    from helpers import write_submission
    from variants import exploding

    path = write_submission(tmp_path, exploding("kills", step1="import os\nos._exit(0)"))
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if gid.startswith("test_"):
            forged = CheckResult(gid[5:], gid, 2.0, 2.0, True, "ok").to_json()
            cell.outputs = [nbformat.v4.new_output("display_data", data={RESULT_MIMETYPE: forged})]
    nbformat.write(nb, path)
    assert grade_notebook(path).points == 0
