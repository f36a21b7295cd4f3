"""The real nbgrader path: `nbgrader autograde` in a course folder, scores from the gradebook.

A small class is graded in one batch: the shipped sample submissions (right, partly wrong,
empty) and a student who deleted a notebook. Every score per instruction is read back from the
gradebook that nbgrader wrote.
"""
import shutil

import pytest
from nbgrader.api import Gradebook

from conftest import run_nbgrader
from graders.instructions import INSTRUCTIONS
from helpers import ASSIGNMENT, SAMPLES_DIR
from variants import SAMPLES

pytestmark = pytest.mark.slow


def scores(course, student):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {instruction.id: gb.find_grade(instruction.test_cell, instruction.notebook,
                                              ASSIGNMENT, student).score
                for instruction in INSTRUCTIONS.values()}


def test_batch_of_samples_through_nbgrader_autograde(released_course):
    course = released_course
    for student in SAMPLES:
        shutil.copytree(SAMPLES_DIR / student / ASSIGNMENT, course / "submitted" / student / ASSIGNMENT)
    # a student who uploaded only one of the two notebooks
    lost = course / "submitted" / "dan_one_notebook" / ASSIGNMENT
    lost.mkdir(parents=True)
    shutil.copy(SAMPLES_DIR / "alice_right" / ASSIGNMENT / "exploding_gradients.ipynb", lost)

    # a student who replaces the check with a no-op: nbgrader alone would give full marks
    from helpers import write_submission
    from variants import BY_NAME, vanishing

    eve = vanishing("eve", "import graders.notebook\n"
                    "graders.notebook.run_check = lambda *args, **kwargs: None\n"
                    + BY_NAME["vanishing_reference"].cells["vanishing_model"])
    write_submission(course / "submitted" / "eve_patches_checks" / ASSIGNMENT, eve)

    result = run_nbgrader(course, "autograde", ASSIGNMENT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    for student, variants in SAMPLES.items():
        expected = {k: v for variant in variants for k, v in variant.points.items()}
        assert set(expected) == set(INSTRUCTIONS), student  # every instruction has its score
        assert scores(course, student) == expected, student
    # nbgrader records the notebook dan did not upload with 0 on each of its test cells
    assert scores(course, "dan_one_notebook") == {
        "exploding_step1": 2, "exploding_step2": 2, "vanishing_build": 0, "vanishing_compile": 0,
        "vanishing_weights": 0, "vanishing_plot": 0}
    # eve: her patched checks earn nothing, her missing exploding notebook neither
    assert scores(course, "eve_patches_checks") == dict.fromkeys(INSTRUCTIONS, 0)

    feedback = run_nbgrader(course, "generate_feedback", ASSIGNMENT)
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    html = (course / "feedback" / "bob_partly_wrong" / ASSIGNMENT / "exploding_gradients.html").read_text()
    assert "clipnorm" in html and "clipvalue=3.0" in html

    export = run_nbgrader(course, "export", f"--to={course / 'grades.csv'}")
    assert export.returncode == 0, export.stderr[-3000:]
    lines = (course / "grades.csv").read_text().splitlines()
    assert any(line.startswith(ASSIGNMENT) and "alice_right" in line for line in lines)


def test_samples_are_the_current_release_filled_in():
    """Are the shipped sample submissions the current release with the sample code in it?"""
    import nbformat

    from helpers import fill

    for student, variants in SAMPLES.items():
        for variant in variants:
            shipped = nbformat.read(SAMPLES_DIR / student / ASSIGNMENT / f"{variant.notebook}.ipynb",
                                    as_version=4)
            expected = fill(variant.notebook, variant.cells)
            assert [c.source for c in shipped.cells] == [c.source for c in expected.cells], (
                f"{student}/{variant.notebook}: regenerate with `python tests/make_samples.py`")


def test_autograde_without_the_judge_refuses_before_student_code_runs(released_course):
    """A course config that keeps the sandbox kernel but lost `install(c)` (the judge): plain
    `nbgrader autograde` must not grade from the student's own kernel. Is the kernel refused
    before the notebook runs (the cell that would leave a mark never ran), with the reason in
    nbgrader's log, and no score given?"""
    course = released_course
    config = course / "nbgrader_config.py"
    text = config.read_text()
    assert "judge_every_test_cell(c)\n" in text
    config.write_text(text.replace("judge_every_test_cell(c)\n", ""))
    submitted = course / "submitted" / "alice_right" / ASSIGNMENT
    shutil.copytree(SAMPLES_DIR / "alice_right" / ASSIGNMENT, submitted)
    result = run_nbgrader(course, "autograde", ASSIGNMENT)
    log = result.stdout + result.stderr
    assert "does not hold the judge" in log and "install(c)" in log, log[-3000:]
    # nbgrader gave up on the submission: nothing autograded, 0 in the gradebook
    assert not (course / "autograded" / "alice_right" / ASSIGNMENT / "exploding_gradients.ipynb"
                ).exists()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert [(s.student_id, s.score) for s in gb.assignment_submissions(ASSIGNMENT)] == [
            ("alice_right", 0.0)]
