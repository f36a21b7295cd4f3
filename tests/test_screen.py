"""The static screen for tampering: the review list. Forgeries trip its rules, honest work never."""
import nbformat
import pytest

from graders.grading.runner import collect
from graders.grading.screen import flag_message, screen_notebook, screen_source
from graders.instructions import for_notebook
from helpers import RELEASE, SOURCE, fill, grade_id
from variants import CORPUS, FORGERIES, SAMPLES, VARIANTS


#: The rules of graders/grading/screen.py each forgery trips, in order ("what" of each finding).
#: The screen only lists a notebook for review: scores are the judge's (tests/test_judge.py,
#: tests/test_batch.py). Some routes trip no rule of their own (``os.sys``) or none at all (a
#: constant line labelled accuracy is no tampering): the judge is the boundary, not this list.
FORGERY_RULES = {
    "forgery_replaces_run_check":
        ['imports graders.notebook', 'replaces graders.notebook.run_check (library code)'],
    "forgery_patches_judge":
        ['imports graders.kernel.notebook', 'imports from graders.kernel.result', 'replaces _nb.judge (library code)'],
    "forgery_fake_module_in_sys_modules":
        ['imports sys', 'imports types'],
    "forgery_input_transformer":
        ["uses get_ipython() (the notebook's shell)"],
    "forgery_builtins_import_hook":
        ['uses .__import__', 'uses __builtins__', 'uses .__import__', 'uses __builtins__'],
    "forgery_exec_obfuscated":
        ['calls exec()'],
    "forgery_code_object_swap":
        ['imports from graders.kernel', 'imports from graders.kernel.result', 'uses .__code__', 'replaces _nb.judge.__code__ (library code)', 'uses .__code__'],
    "forgery_patches_keras_get_config":
        ['replaces Sequential.count_params (library code)'],
    "forgery_exploding_subclass_walk":
        ['uses .__subclasses__', 'uses .__base__', 'uses .__class__'],
    "forgery_route_builtin_other_name":
        ['uses .__import__', 'uses .__self__', 'imports hashlib', 'imports from graders.judge.codec'],
    "forgery_route_library_globals":
        ['uses .__globals__', 'imports hashlib', 'imports from graders.judge.codec'],
    "forgery_route_module_file":
        ['imports importlib.util'],
    "forgery_route_sys_modules_attribute":
        ['imports hashlib', 'imports from graders.judge.codec'],
    "forgery_route_shell_escape":
        ['imports base64', 'imports runpy'],
    "forgery_exporter_claims_clipvalue":
        ['imports graders.kernel.notebook', 'replaces _nb.collect (library code)'],
    "forgery_mse_copied_from_classmate":
        ['imports graders.kernel.notebook', 'replaces _nb.collect (library code)'],
    "forgery_constant_lines_labelled_accuracy":
        [],
    "forgery_rnn300_claims_600_units":
        ['imports graders.kernel.notebook', 'imports hashlib', 'imports from graders.judge.codec', 'replaces _nb.collect (library code)'],
    "forgery_forged_live_verdict":
        ['imports graders.kernel.notebook', 'imports from graders.judge', 'imports from graders.kernel.result', 'replaces _nb.judge_evidence (library code)'],
    "forgery_replays_classmate_evidence":
        ['imports graders.kernel.notebook', 'imports from graders.judge', 'replaces _nb.collect (library code)'],
    "forgery_replays_classmate_evidence_with_this_nonce":
        ['imports graders.kernel.notebook', 'imports from graders.judge', 'replaces _nb.collect (library code)'],
}


def test_every_forgery_has_its_rules_listed():
    assert set(FORGERY_RULES) == {v.name for v in FORGERIES}


@pytest.mark.parametrize("variant", FORGERIES, ids=lambda v: v.name)
def test_each_forgery_trips_the_rules_listed_for_it(variant):
    """Does each forgery trip exactly the screen's rules listed for it, in the student's
    solution cell?"""
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


def test_a_flagged_notebook_without_evidence_scores_zero_whatever_its_kernel_published():
    """Does the judge give 0 to every instruction of a flagged notebook whose (tampered) kernel
    published "passed" verdicts but no evidence, listing the screen's findings for review?"""
    from graders.grading.judging import judge_notebook
    from graders.judge import CourseFiles, probe as probes
    from graders.kernel.result import RESULT_MIMETYPE, CheckResult

    forged = FORGERIES[0]
    nb = fill(forged.notebook, forged.cells)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid.startswith("test_"):
            verdict = CheckResult(gid[5:], gid, 1.0, 1.0, True, "ok").to_json()
            cell.outputs = [nbformat.v4.new_output("display_data", data={RESULT_MIMETYPE: verdict})]
    kept = judge_notebook(nb, CourseFiles(SOURCE), probes.new_probe())
    results, _ = collect(nb, for_notebook(forged.notebook))
    assert [r.points for r in results] == [0.0] * len(results)
    assert kept["review"][-1] == flag_message(screen_notebook(nb))


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
    assert grade_notebook(path, files_from=RELEASE).points == 0
