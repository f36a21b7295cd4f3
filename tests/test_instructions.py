"""Do the notebooks, the release and the graders agree on what is graded?"""
import json

import nbformat
import pytest

from graders.grading.gradable import nbgrader_meta
from graders.instructions import INSTRUCTIONS, NOTEBOOKS, for_notebook
from helpers import RELEASE, SOURCE, grade_id


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_each_instruction_has_its_hidden_test_cell_with_its_points(notebook):
    """Is every instruction graded by exactly one test cell that calls its check?"""
    nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
    grade_cells = {grade_id(c): c for c in nb.cells if nbgrader_meta(c).get("grade")}
    assert set(grade_cells) == {i.test_cell for i in for_notebook(notebook)}
    for instruction in for_notebook(notebook):
        cell = grade_cells[instruction.test_cell]
        assert nbgrader_meta(cell)["points"] == instruction.points
        assert nbgrader_meta(cell)["locked"] is True
        assert instruction.test_cell_source() in cell.source
        assert "### BEGIN HIDDEN TESTS" in cell.source


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_solution_cells_have_the_agreed_grade_ids(notebook):
    """Are the student's cells the ones other work depends on (exploding_step1, ...)?"""
    nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
    solutions = [grade_id(c) for c in nb.cells if nbgrader_meta(c).get("solution")]
    assert solutions == list(dict.fromkeys(i.solution_cell for i in for_notebook(notebook)))
    setup = [c for c in nb.cells if grade_id(c) == "setup"]
    assert len(setup) == 1 and nbgrader_meta(setup[0])["locked"]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_leaks_no_solution_and_no_hidden_test(notebook):
    """Does the student version contain none of the solution code or hidden test code?"""
    source = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
    release_text = (RELEASE / f"{notebook}.ipynb").read_text()
    release = json.loads(release_text)
    secret_lines, secret_cells = [], set()
    for cell in source.cells:
        text = cell.source
        for begin, end in (("### BEGIN SOLUTION", "### END SOLUTION"),
                           ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")):
            if begin in text:
                secret_cells.add(grade_id(cell))
                secret = text.split(begin, 1)[1].split(end, 1)[0]
                secret_lines += [line.strip() for line in secret.splitlines() if line.strip()]
    assert secret_lines
    # The cells that held a solution or hidden tests keep none of it; every other code cell is
    # the source's own cell, unchanged (read-only cells may use the same calls, `plt.show()`).
    # The instructions (markdown) may name a call.
    by_id = {grade_id(c): c.source for c in source.cells}
    for cell in release["cells"]:
        if cell["cell_type"] != "code":
            continue
        text, gid = "".join(cell["source"]), grade_id(nbformat.from_dict(cell))
        if gid in secret_cells:
            for line in secret_lines:
                assert line not in text, f"leaked into release cell {gid}: {line!r}"
        else:
            assert text == by_id.get(gid), f"release cell {gid} is not the source's cell"
    assert "run_check" not in release_text and "BEGIN SOLUTION" not in release_text


def test_every_hint_id_used_by_a_check_exists():
    """Does every hint a check can attach have a text?"""
    import inspect
    import re

    from graders.judge import evidence, exploding, vanishing
    from graders.kernel import hints

    used = set()
    for module in (exploding, vanishing, evidence):
        used |= set(re.findall(r'"((?:exploding|vanishing)_[a-z_]+)"\)', inspect.getsource(module)))
    from graders.judge.reference import LAYERS

    used -= set(INSTRUCTIONS) | set(LAYERS)  # instruction ids and reference layers' names
    assert used and used <= set(hints.HINTS), used - set(hints.HINTS)
