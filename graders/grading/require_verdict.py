"""An nbgrader preprocessor: a test cell scores only when its check really ran.

nbgrader gives full points to a test cell that shows no error. A test cell of ours that shows
no verdict at all (its code was changed, ``run_check`` was replaced by student code, the output
was lost) would therefore score full marks. This preprocessor, run by ``nbgrader autograde``
after the notebook executed and before the scores are saved, makes such a cell an error, and
makes the cell's outcome agree with the verdict the check published.

Configured in ``nbgrader_config.py`` (see :func:`install`). This raises the bar; it is not a
proof against a student determined to forge a verdict from inside the same kernel.
"""
from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades

from ..instructions import by_test_cell
from .runner import published_result


def _has_error(cell) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


class RequireVerdict(NbGraderPreprocessor):
    """Zero a test cell of ours that published no verdict, or one that contradicts it."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        instruction = by_test_cell(meta.get("grade_id", "")) if meta.get("grade") else None
        if instruction is None or cell.cell_type != "code":
            return cell, resources
        verdict = published_result(cell)
        if verdict is None:
            reason = ("the autograder's check did not run in this cell, so it cannot be scored "
                      "(was the cell changed, or `run_check` replaced?)")
        elif verdict.instruction != instruction.id:
            reason = f"this cell published the verdict of {verdict.instruction!r}"
        elif not verdict.passed and not _has_error(cell):
            reason = "the check failed but the cell shows no error"
        else:
            return cell, resources
        if not _has_error(cell):
            self.log.warning("%s: %s", instruction.test_cell, reason)
            cell.outputs.append(new_output("error", ename="NoVerdict", evalue=reason,
                                           traceback=[f"NoVerdict: {reason}"]))
        return cell, resources


#: The error name a flagged notebook's test cells get (read back by batch grading's summary).
FLAGGED = "Flagged"


class ScreenTampering(NbGraderPreprocessor):
    """Zero every test cell of a notebook whose code reaches into the grading machinery.

    The decision is made from the notebook's source in the grading process, where no student
    code ran (:mod:`graders.grading.screen`), so nothing the student's kernel did can change
    it. Each of the notebook's test cells gets a ``Flagged`` error with the reason.
    """

    def preprocess(self, nb, resources):
        from .screen import flag_message, screen_notebook

        findings = screen_notebook(nb)
        if not findings:
            return nb, resources
        reason = flag_message(findings)
        self.log.warning("flagged for review: %s", reason)
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and by_test_cell(meta.get("grade_id", "")):
                cell.outputs.append(new_output("error", ename=FLAGGED, evalue=reason,
                                               traceback=[f"{FLAGGED}: {reason}"]))
        return nb, resources


def install(c) -> None:
    """Run :class:`ScreenTampering` and :class:`RequireVerdict` in ``nbgrader autograde``
    right before scores are saved (courses' configs call this under its stable name
    ``graders.require_verdict.install``)."""
    from nbgrader.converters.autograde import Autograde

    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    at = steps.index(SaveAutoGrades)
    steps[at:at] = [ScreenTampering, RequireVerdict]
    c.Autograde.autograde_preprocessors = steps
