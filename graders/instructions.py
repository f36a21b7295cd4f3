"""Every graded instruction of the assignment, in one table: the notebook it belongs to, the
nbgrader test cell that grades it, its points and the check that judges it.

A newcomer looking for "who grades the legend of the plot?" starts here and is one hop away:
``vanishing_plot`` -> :func:`graders.judge.vanishing.check_vanishing_plot`. Checks read the
evidence the test cell exported (:class:`graders.judge.evidence.Evidence`), never the student's
live objects: they run in the judge, where no student code ran (:mod:`graders.judge`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .judge.evidence import Evidence
from .judge.exploding import check_exploding_step1, check_exploding_step2
from .judge.vanishing import (check_vanishing_build, check_vanishing_compile,
                              check_vanishing_plot, check_vanishing_weights)
from .kernel.result import CheckResult, Mistake

ASSIGNMENT = "rnn_architecture"


@dataclass(frozen=True)
class Instruction:
    """One graded instruction."""

    #: Id used everywhere: registry key, ``run_check`` argument, result's ``instruction``.
    id: str
    #: Notebook name without ``.ipynb``.
    notebook: str
    #: ``grade_id`` of the student's solution cell this instruction is about.
    solution_cell: str
    #: Title as the student sees it in reports.
    title: str
    #: nbgrader points of the test cell.
    points: float
    #: The check: raises :class:`Mistake` or returns the success message.
    check: Callable[[Evidence], str]

    @property
    def test_cell(self) -> str:
        """``grade_id`` of the autograded test cell that runs this instruction's check."""
        return f"test_{self.id}"

    def test_cell_source(self) -> str:
        """The hidden test code of this instruction's test cell (same in source and runner)."""
        return ("from graders.notebook import run_check\n"
                f"run_check({self.id!r}, globals())")

    def run(self, evidence: Evidence) -> CheckResult:
        """Judge ``evidence``. Author errors (anything but a Mistake or bad evidence)
        propagate."""
        try:
            message = self.check(evidence)
        except Mistake as mistake:
            return CheckResult(self.id, self.title, 0.0, self.points, False, mistake.message,
                               mistake.hint)
        return CheckResult(self.id, self.title, self.points, self.points, True, message)


INSTRUCTIONS: dict[str, Instruction] = {i.id: i for i in [
    Instruction("exploding_step1", "exploding_gradients", "exploding_step1",
                "Step 1: train without clipping", 2, check_exploding_step1),
    Instruction("exploding_step2", "exploding_gradients", "exploding_step2",
                "Step 2: clip the gradients", 2, check_exploding_step2),
    Instruction("vanishing_build", "vanishing_gradients", "vanishing_model",
                "Build the SimpleRNN model", 1, check_vanishing_build),
    Instruction("vanishing_compile", "vanishing_gradients", "vanishing_model",
                "Compile the model", 1, check_vanishing_compile),
    Instruction("vanishing_weights", "vanishing_gradients", "vanishing_model",
                "Load the pretrained weights", 1, check_vanishing_weights),
    Instruction("vanishing_plot", "vanishing_gradients", "vanishing_model",
                "Plot training and validation accuracy", 2, check_vanishing_plot),
]}

NOTEBOOKS = tuple(dict.fromkeys(i.notebook for i in INSTRUCTIONS.values()))


def for_notebook(notebook: str) -> list[Instruction]:
    """The instructions of one notebook (name with or without ``.ipynb``), in order."""
    name = notebook[:-6] if notebook.endswith(".ipynb") else notebook
    return [i for i in INSTRUCTIONS.values() if i.notebook == name]


def by_test_cell(grade_id: str) -> Instruction | None:
    return next((i for i in INSTRUCTIONS.values() if i.test_cell == grade_id), None)
