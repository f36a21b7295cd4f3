"""Whole notebooks, run top to bottom by the runner that `rnn-course check` and the pytest
plugin use (graders.grading.runner.grade_notebook), in the sandboxed grading kernel (slow).

Every corpus entry (tests/variants.py) is graded as a class by `rnn-course grade` in
tests/test_corpus.py, the one grading path for the corpus. Here a few of them check that the
runner reaches the same verdicts: a right answer in another style, cells that stop with an
error, and a wrong model whose mistake costs three instructions.
"""
import nbformat
import pytest

from graders.instructions import NOTEBOOKS, for_notebook
from graders.grading.runner import NotGradable, grade_notebook
from helpers import RELEASE, SOURCE, write_submission
from variants import BY_NAME

pytestmark = pytest.mark.slow

RUNNER_VARIANTS = [BY_NAME[name] for name in (
    "vanishing_positional_input_layer_subplots",  # right, another style
    "exploding_keras2_lr",                        # both cells stop at SGD(lr=...)
    "vanishing_300_units",                        # wrong model: build, weights and plot lost
)]


@pytest.mark.parametrize("variant", RUNNER_VARIANTS, ids=lambda v: v.name)
def test_variant_earns_exactly_its_points(tmp_path, variant):
    path = write_submission(tmp_path, variant)
    grade = grade_notebook(path, files_from=RELEASE)
    got = {r.instruction: r.points for r in grade.results}
    messages = {r.instruction: r.message for r in grade.results}
    assert got == variant.points, messages
    for instruction, words in variant.words.items():
        for word in words:
            assert word in messages[instruction], (word, messages[instruction])
    assert not grade.problems


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_instructor_solution_scores_full_marks(notebook):
    grade = grade_notebook(SOURCE / f"{notebook}.ipynb")
    assert grade.points == grade.max_points, [r.message for r in grade.results]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_untouched_release_scores_zero_with_a_message_each(notebook):
    grade = grade_notebook(RELEASE / f"{notebook}.ipynb")
    assert grade.points == 0
    assert len(grade.results) == len(for_notebook(notebook))
    for result in grade.results:
        assert result.message and not result.passed


def test_deleted_test_cell_is_reported(tmp_path):
    nb = nbformat.read(RELEASE / "vanishing_gradients.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") != "test_vanishing_plot"]
    path = tmp_path / "vanishing_gradients.ipynb"
    nbformat.write(nb, path)
    grade = grade_notebook(path, files_from=RELEASE)
    assert any("deleted" in p for p in grade.problems)
    assert grade.by_instruction()["vanishing_plot"].points == 0


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_source_notebook_passes_its_own_hidden_tests_in_a_plain_kernel(tmp_path, notebook):
    """Opened in plain Jupyter (the python3 kernel, as an instructor authors a notebook), does
    each source notebook pass every hidden test on its own solutions?"""
    import shutil

    import nbformat
    from nbclient import NotebookClient

    from graders.grading.judging import judge_notebook
    from graders.grading.runner import assignment_files, collect
    from graders.instructions import for_notebook
    from graders.judge import CourseFiles
    from graders.judge import probe as probes
    from helpers import SOURCE

    for f in assignment_files(SOURCE):
        shutil.copy(f, tmp_path / f.name)
    probe = probes.write(tmp_path)  # as every grading path does before a notebook runs
    nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=600, allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    kept = judge_notebook(nb, CourseFiles(SOURCE), probe)
    assert kept["review"] == [], kept["review"]
    results, problems = collect(nb, for_notebook(notebook))
    assert all(r.passed for r in results) and not problems, [r.summary_line() for r in results]


def test_self_check_cell_does_not_grade_the_notebook_again(tmp_path):
    """Does a student's `!rnn-course check` cell, run while the notebook is graded, refuse
    to grade it again instead of recursing?"""
    import nbformat

    from graders.grading.runner import grade_notebook
    from helpers import write_submission
    from variants import BY_NAME

    variant = BY_NAME["vanishing_reference"]
    path = write_submission(tmp_path, variant)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("!rnn-course check vanishing_gradients.ipynb"))
    nbformat.write(nb, path)
    for sandboxed in (True, False):
        grade = grade_notebook(path, files_from=RELEASE, sandboxed=sandboxed)
        out = "".join(o.get("text", "") for o in grade.executed.cells[-1].get("outputs", []))
        assert "not run here: this notebook is itself being graded" in out, out
        assert grade.points == grade.max_points
