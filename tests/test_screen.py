"""The static screen for tampering: every forgery flagged, honest work never."""
import nbformat
import pytest

from graders.grading.runner import collect
from graders.grading.screen import flag_message, screen_notebook, screen_source
from graders.instructions import for_notebook
from helpers import SOURCE, fill, grade_id
from variants import CORPUS, FORGERIES, SAMPLES, VARIANTS


#: The rules of graders/grading/screen.py each forgery must trip, in order ("what" of each finding).
FORGERY_RULES = {
    "forgery_replaces_run_check": ["imports graders.notebook",
                                   "replaces graders.notebook.run_check (library code)"],
    "forgery_patches_judge": ["imports graders.kernel.notebook",
                              "imports from graders.kernel.result",
                              "replaces _nb.judge (library code)"],
    "forgery_fake_module_in_sys_modules": ["imports sys", "imports types"],
    "forgery_input_transformer": ["uses get_ipython() (the notebook's shell)"],
    "forgery_builtins_import_hook": ["uses .__import__", "uses __builtins__",
                                     "uses .__import__", "uses __builtins__"],
    "forgery_exec_obfuscated": ["calls exec()"],
    "forgery_code_object_swap": ["imports from graders.kernel",
                                 "imports from graders.kernel.result", "uses .__code__",
                                 "replaces _nb.judge.__code__ (library code)", "uses .__code__"],
    "forgery_patches_keras_get_config": ["replaces Sequential.count_params (library code)"],
    "forgery_exploding_subclass_walk": ["uses .__subclasses__", "uses .__base__",
                                        "uses .__class__"],
}


def test_every_forgery_has_its_rules_listed():
    assert set(FORGERY_RULES) == {v.name for v in FORGERIES}


@pytest.mark.parametrize("variant", FORGERIES, ids=lambda v: v.name)
def test_every_forgery_is_flagged(variant):
    """Is each way a student who read the grader code could forge a verdict caught, by the rule
    written for it, in the student's solution cell?"""
    nb = fill(variant.notebook, variant.cells)
    findings = screen_notebook(nb)
    assert [f.what for f in findings] == FORGERY_RULES[variant.name], [str(f) for f in findings]
    written = {i for i, c in enumerate(nb.cells) if grade_id(c) in variant.cells}
    assert {f.cell for f in findings} <= written, [str(f) for f in findings]


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
    ("get_ipython().events.register('pre_run_cell', f)",
     "uses get_ipython() (the notebook's shell)"),
    ("%load_ext mymodule", "uses get_ipython() (the notebook's shell)"),  # not an allowed magic
    ("import matplotlib.pyplot as plt\nplt.show = lambda: None", "replaces plt.show (library code)"),
    ("f.__globals__['x'] = 1", "uses .__globals__"),
    ("getattr(obj, name)", "calls getattr() with a computed name"),
    ("vars()['run_check'] = print", "calls vars()"),
    ("import gc\ngc.get_objects()", "uses gc.get_objects"),
])
def test_tampering_constructs_are_named(code, words):
    findings = screen_source(code)
    assert [f.what for f in findings] == [words], [str(f) for f in findings]


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
