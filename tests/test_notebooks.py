"""Whole notebooks, run top to bottom in the sandboxed grading kernel (slow).

Every variant of tests/variants.py is filled into the released notebook as a student would,
graded by the runner (the same checks as the hidden test cells), and must earn exactly its
expected points per instruction with the expected words in its feedback.
"""
import nbformat
import pytest

from graders.instructions import NOTEBOOKS, for_notebook
from graders.grading.runner import NotGradable, grade_notebook
from helpers import RELEASE, SOURCE, write_submission
from variants import VARIANTS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
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
