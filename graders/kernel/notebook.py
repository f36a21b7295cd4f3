"""The entry point that hidden test cells call: ``run_check("exploding_step2", globals())``.

It judges the notebook's live objects with the instruction's check, then

* prints the verdict for the student (stdout only: nbgrader zeroes a test cell that writes to
  stderr, so everything the check does is silenced with :func:`graders.kernel.keras_facts.quiet`),
* publishes the same verdict as JSON under :data:`~graders.kernel.result.RESULT_MIMETYPE`, for the
  runner and the feedback reports, and
* raises :class:`~graders.kernel.result.InstructionFailed` when the instruction is not met, which is
  how nbgrader scores the cell 0.
"""
from __future__ import annotations

from typing import Any, Mapping

from . import capture
from ..instructions import INSTRUCTIONS
from .keras_facts import quiet
from .result import RESULT_MIMETYPE, CheckResult, InstructionFailed
from .state import NotebookState


def judge(instruction_id: str, namespace: Mapping[str, Any], workdir=None) -> CheckResult:
    """The verdict on one instruction for a notebook namespace (no printing, no raising)."""
    instruction = INSTRUCTIONS[instruction_id]
    capture.ensure_loaded()
    state = NotebookState(namespace, capture.current_record(), workdir)
    with quiet():
        return instruction.run(state)


def run_check(instruction_id: str, namespace: Mapping[str, Any]) -> None:
    """Grade one instruction from inside the notebook (a hidden test cell).

    Returns nothing: a test cell's last value is its ``execute_result``, which nbgrader reads
    as partial credit (and warns it "cannot be converted to a float"); the verdict travels as
    the published JSON instead. :func:`judge` returns it for code that wants the object.
    """
    __tracebackhide__ = True  # IPython hides this frame: the student sees only the message
    capture.ensure_loaded()
    record = capture.current_record()
    if record is not None:
        record.mark_check_cell()
    result = judge(instruction_id, namespace)
    try:
        from IPython.display import display

        display({RESULT_MIMETYPE: result.to_json()}, raw=True)
    except ImportError:  # pragma: no cover - outside IPython
        pass
    if result.passed:
        print(f"{result.title}: passed ({result.points:g}/{result.max_points:g} points). "
              f"{result.message}")
        return None
    raise InstructionFailed(f"{result.title} (0/{result.max_points:g} points): {result.message}")
