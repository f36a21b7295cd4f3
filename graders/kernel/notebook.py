"""The entry point that hidden test cells call: ``run_check("exploding_step2", globals())``.

It exports evidence; the grade is decided elsewhere. In the student's kernel it

* collects the evidence the instruction's check needs (:mod:`graders.kernel.evidence`: the
  model's facts, its weights or their digests, its predictions on the grader's probe inputs,
  the stored values, the figures shown) and publishes it as one JSON display output under
  :data:`~graders.judge.codec.EVIDENCE_MIMETYPE`;
* gives the student today's live message: the judge's own checks run here on that evidence,
  with the assignment's files beside the notebook (stdout only: nbgrader zeroes a test cell
  that writes to stderr, so everything is silenced with
  :func:`graders.kernel.keras_facts.quiet`), and a failed instruction raises
  :class:`~graders.kernel.result.InstructionFailed`.

The live message is feedback, never the grade: whatever this kernel prints or raises, the judge
(:mod:`graders.judge`), running where no student code ran, replaces the cell's outputs with its
own verdict on the evidence, recomputed against the course's files and the grader's probe. The
evidence carries the live verdict too, so a disagreement (never seen for honest work) is listed
for the instructor's review.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from . import capture
from ..instructions import INSTRUCTIONS
from ..judge import CourseFiles, judge_evidence
from ..judge import probe as probes
from ..judge.codec import EVIDENCE_MIMETYPE, dumps
from .evidence import collect
from .keras_facts import quiet
from .result import CheckResult, InstructionFailed

_OWN_PROBE = None


def _probe(workdir):
    """The grader's probe beside the notebook, else one of this kernel's own (a notebook run
    outside the grader: the live verdict still checks the model's predictions)."""
    global _OWN_PROBE
    found = probes.read(workdir)
    if found is not None:
        return found
    if _OWN_PROBE is None:
        _OWN_PROBE = probes.new_probe()
    return _OWN_PROBE


def evidence(instruction_id: str, namespace: Mapping[str, Any], workdir=None):
    """The evidence ``run_check`` publishes for one instruction (plain data), and the probe
    it used."""
    instruction = INSTRUCTIONS[instruction_id]
    capture.ensure_loaded()
    workdir = workdir if workdir is not None else os.getcwd()
    probe = _probe(workdir)
    with quiet():
        return collect(instruction_id, instruction.notebook, namespace, capture.current_record(),
                       probe), probe


def judge(instruction_id: str, namespace: Mapping[str, Any], workdir=None) -> CheckResult:
    """The live verdict on one instruction for a notebook namespace: its evidence judged with
    the assignment's files in ``workdir`` (default: the current folder). No printing, no
    raising. The judge runs the same checks on the same evidence in the grading process."""
    workdir = workdir if workdir is not None else os.getcwd()
    data, probe = evidence(instruction_id, namespace, workdir)
    with quiet():
        return judge_evidence(instruction_id, data, CourseFiles(workdir), probe).result


def run_check(instruction_id: str, namespace: Mapping[str, Any]) -> None:
    """Export one instruction's evidence and show the live verdict (a hidden test cell).

    Returns nothing: a test cell's last value is its ``execute_result``, which nbgrader reads
    as partial credit; the judge replaces this cell's outputs with its verdict anyway.
    """
    __tracebackhide__ = True  # IPython hides this frame: the student sees only the message
    capture.ensure_loaded()
    record = capture.current_record()
    if record is not None:
        record.mark_check_cell()
    workdir = os.getcwd()
    data, probe = evidence(instruction_id, namespace, workdir)
    try:
        with quiet():
            result = judge_evidence(instruction_id, data, CourseFiles(workdir), probe).result
        data["live"] = {"passed": result.passed, "points": result.points}
    except Exception as exc:  # noqa: BLE001 - the evidence must still reach the judge
        result, data["live"] = None, None
        live_error = f"{type(exc).__name__}: {exc}"
    try:
        from IPython.display import display

        display({EVIDENCE_MIMETYPE: dumps(data)}, raw=True)
    except ImportError:  # pragma: no cover - outside IPython
        pass
    if result is None:
        print(f"{INSTRUCTIONS[instruction_id].title}: no live verdict here ({live_error}); "
              f"the grader's verdict decides.")
        return None
    if result.passed:
        print(f"{result.title}: passed ({result.points:g}/{result.max_points:g} points). "
              f"{result.message}")
        return None
    raise InstructionFailed(f"{result.title} (0/{result.max_points:g} points): {result.message}")
