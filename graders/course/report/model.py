"""The report of one student's notebook as data (:func:`build_report`): the per-notebook result
(:class:`graders.grading.runner.NotebookGrade`, one :class:`~graders.kernel.result.CheckResult`
per instruction, read back from the autograded notebook) with the gradebook's score where the
instructor changed it, and the plots.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from ...grading import coursedir as cdir
from ...grading.gradebook import cell_key, exists, read_scores
from ...grading.runner import NotebookGrade
from ...instructions import ASSIGNMENT, INSTRUCTIONS, Instruction, for_notebook
from ...kernel.result import CheckResult
from .plots import DEFAULT_PLOT_SIZE, Plot, expected_plot, sane_size, student_plots

# one logger for the package, named as when it was one module
log = logging.getLogger(__package__)

#: The instruction whose report shows the student's plot next to the expected one.
PLOT_INSTRUCTION = "vanishing_plot"


# -- the data of one report ------------------------------------------------------------------
#: ``CheckResult.details`` key of a report's row: why the points differ from the autograder's
#: verdict (the instructor changed the score in the gradebook).
NOTE = "note"
#: The message of every row of a notebook whose graded copy could not be read.
UNREADABLE = "No feedback: the graded copy of your notebook could not be read."


@dataclass(kw_only=True)
class NotebookReport(NotebookGrade):
    """One student's notebook as the report shows it: the per-notebook result, whose
    ``results`` carry the gradebook's points (an instructor's change explained in
    ``details[NOTE]``), whose ``not_graded`` says why the graded copy could not be read and
    whose ``problems`` are the grading record's about this notebook's file (it could not be
    graded, or was graded under its released name); with whose notebook it is and the plots."""

    student: str
    assignment: str
    #: Only for the notebook of :data:`PLOT_INSTRUCTION`: (student's plots, expected plot).
    has_plot_section: bool = False
    student_plots: list[Plot] = field(default_factory=list)
    expected_plot: Plot | None = None
    expected_plot_problem: str | None = None

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)


# -- reading the course folder ---------------------------------------------------------------
class _Scores:
    """Scores per (student, instruction) from the course's gradebook (``db_url``: SQLite or
    PostgreSQL, as ``CourseDirectory.db_url`` says), if there is one. A SQLite gradebook whose
    file does not exist is no gradebook (reading never creates one). Read once, through the one
    reader of scores (:func:`graders.grading.gradebook.read_scores`).
    """

    def __init__(self, db_url: str | None, assignment: str):
        self.assignment = assignment
        self._by_student = {}
        if db_url and exists(db_url):
            try:
                self._by_student = read_scores(db_url, assignment)
            except Exception as exc:
                log.warning("gradebook %s could not be read (%s): points are taken from the "
                            "autograded notebooks", db_url, exc)

    def get(self, student: str, instruction: Instruction) -> float | None:
        scores = self._by_student.get(student)
        value = scores.cells.get(cell_key(instruction.notebook, instruction.test_cell)) if scores else None
        return None if value is None else value[0]

    def close(self):
        pass


def _row(result: CheckResult, instruction: Instruction, score: float | None) -> CheckResult:
    """``result`` as the report shows it: the instruction's title and points, the gradebook's
    ``score`` where it differs (with a note why)."""
    if result.hint and result.hint_text is None:
        log.warning("unknown hint id %r in the verdict on %s", result.hint, instruction.id)
    points, passed, details = float(result.points), bool(result.passed), dict(result.details)
    if score is not None and score != points:
        points, passed = score, score >= instruction.points
        details[NOTE] = (f"The autograder gave {float(result.points):g} points; your instructor "
                         f"set the score to {score:g}.")
    return replace(result, instruction=instruction.id, title=instruction.title, points=points,
                   max_points=float(instruction.points), passed=passed,
                   message=str(result.message), details=details)


def _unreadable_rows(student: str, instructions: list[Instruction],
                     scores: _Scores) -> list[CheckResult]:
    """Not graded (the graded copy could not be read), with the gradebook's points if any."""
    rows = []
    for i in instructions:
        score = scores.get(student, i)
        rows.append(replace(CheckResult.not_graded(i, UNREADABLE), points=score or 0.0,
                            passed=score is not None and score >= i.points))
    return rows


def notes_about(notebook: str, problems: list[str]) -> list[str]:
    """The problems of a grading record about ``notebook`` (its file could not be graded, or
    was graded under its released name)."""
    name = f"{notebook}.ipynb"
    return [p for p in problems if p.startswith(f"{name}:") or p.endswith(f" {name} (its "
            f"released name)") or f"another copy of {name}" in p]


def build_report(*, course: Path, student: str, notebook: str, assignment: str = ASSIGNMENT,
                 config=None, _scores: _Scores | None = None,
                 notes: list[str] | None = None) -> NotebookReport:
    """The rows and plots of one student's notebook; never raises for a bad notebook.
    ``config``: the course's (default: loaded from ``course``); ``notes``: the grading
    record's problems, of which those about this notebook are shown."""
    import nbformat

    from ...grading.runner import collect

    config = config if config is not None else cdir.load_config(Path(course))
    instructions = for_notebook(notebook)
    scores = _scores or _Scores(cdir.db_url(config), assignment)
    try:
        student_dir = cdir.student_folder(config, "autograded", student, assignment)
        path = student_dir / f"{notebook}.ipynb"
        report = NotebookReport(notebook, [], student=student, assignment=assignment,
                                has_plot_section=PLOT_INSTRUCTION in {i.id for i in instructions},
                                problems=notes_about(notebook, notes or []))
        try:
            if not path.is_file():
                raise FileNotFoundError(
                    f"there is no graded copy of {notebook}.ipynb (it was not submitted, not "
                    f"graded yet, or grading it failed)")
            nb = nbformat.read(str(path), as_version=4)
            # a test cell without a verdict is a row "Not graded: ..." (collect's problems
            # list says the same again, so the report does not repeat it)
            results, _ = collect(nb, instructions)
        except Exception as exc:
            reason = (str(exc) if isinstance(exc, FileNotFoundError)
                      else f"{path.name} is not a readable notebook ({type(exc).__name__}: {exc})")
            log.warning("report for %s/%s: %s", student, notebook, reason)
            report.not_graded = reason
            report.results = _unreadable_rows(student, instructions, scores)
            nb = None
        else:
            report.results = [_row(r, i, scores.get(student, i))
                           for r, i in zip(results, instructions)]
        if report.has_plot_section:
            plot_instruction = INSTRUCTIONS[PLOT_INSTRUCTION]
            report.student_plots = student_plots(nb, plot_instruction) if nb is not None else []
            first = report.student_plots[0] if report.student_plots else None
            size = ((first.width, first.height) if first and sane_size(first)
                    else DEFAULT_PLOT_SIZE)
            report.expected_plot, report.expected_plot_problem = expected_plot(
                config, assignment, student_dir, size)
        return report
    finally:
        if _scores is None:
            scores.close()
