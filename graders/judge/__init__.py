"""The judge: verdicts decided from evidence, where no student code ever ran.

The hidden test cells' ``run_check`` exports *evidence* from the student's kernel (what the
model is, its weights or their digests, its predictions on the grader's probe inputs, the stored
values, the figures shown: :mod:`graders.kernel.evidence`); it decides nothing that counts. The
judge reads that evidence as plain data (:mod:`graders.judge.codec`: JSON, float arrays with
declared shapes, caps checked before decoding), checks it against the course's own files
(:mod:`graders.judge.course`) and recomputes what it can (:mod:`graders.judge.numeric`). It
imports neither TensorFlow nor Keras.

One door: :func:`judge_evidence` (one instruction) and :func:`judge_cell_outputs` (a test cell's
outputs). The checks of each instruction are one hop from :mod:`graders.instructions`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel.result import CheckResult
from .codec import EVIDENCE_MIMETYPE, BadEvidence, loads
from .course import CourseFiles
from .evidence import Evidence, Probe

__all__ = ["Judgement", "judge_evidence", "judge_cell_outputs", "CourseFiles", "Probe",
           "BadEvidence", "EVIDENCE_MIMETYPE"]


@dataclass
class Judgement:
    """The judge's verdict on one test cell, and what it saw."""

    result: CheckResult
    #: Why the evidence did not hold together (the notebook goes on the review list).
    review: list[str] = field(default_factory=list)
    #: The parsed evidence (None when there was none or it was refused).
    evidence: dict | None = None


def _zero(instruction, message: str, **details) -> CheckResult:
    return CheckResult(instruction.id, instruction.title, 0.0, instruction.points, False,
                       message, details=details)


def judge_evidence(instruction_id: str, data: dict, course: CourseFiles,
                   probe: Probe | None = None) -> Judgement:
    """The verdict on one instruction from its parsed evidence.

    ``probe`` is the grader's probe of this run; None only for the kernel's live verdict,
    which uses the probe the kernel read. Evidence for another instruction, or from another
    run (another nonce), scores 0 and is listed for review.
    """
    from ..instructions import INSTRUCTIONS

    instruction = INSTRUCTIONS[instruction_id]
    if data.get("instruction") != instruction_id:
        reason = (f"this cell exported the evidence of "
                  f"{str(data.get('instruction'))[:60]!r}, not of {instruction_id!r}")
        return Judgement(_zero(instruction, f"Not graded: {reason}."), [reason], data)
    nonce = data.get("probe")
    if probe is not None and nonce != probe.nonce:
        reason = "the evidence was not produced by this grading run (its probe differs)"
        return Judgement(_zero(instruction, f"Not graded: {reason}."), [reason], data)
    evidence = Evidence(data, course, probe)
    try:
        result = instruction.run(evidence)
    except BadEvidence as exc:
        reason = f"the evidence this cell exported was refused: {exc}"
        return Judgement(_zero(instruction, f"Not graded: {reason}."), [reason], data)
    return Judgement(result, list(evidence.suspicious), data)


def evidence_of(cell) -> tuple[str | None, str | None]:
    """(the evidence text a test cell's kernel published, or None; why it was refused)."""
    texts = [o.get("data", {}).get(EVIDENCE_MIMETYPE) for o in cell.get("outputs", [])
             if isinstance(o.get("data"), dict) and EVIDENCE_MIMETYPE in o.get("data", {})]
    if not texts:
        return None, None
    if len(texts) > 1:
        return None, "this cell published evidence more than once"
    return texts[0], None


def judge_cell_outputs(instruction_id: str, cell, course: CourseFiles,
                       probe: Probe | None) -> Judgement:
    """The verdict on one test cell from the evidence among its outputs."""
    from ..instructions import INSTRUCTIONS

    instruction = INSTRUCTIONS[instruction_id]
    text, refused = evidence_of(cell)
    if refused:
        return Judgement(_zero(instruction, f"Not graded: {refused}."), [refused])
    if text is None:
        if not cell.get("outputs") and cell.get("execution_count") is None:
            return Judgement(_zero(instruction, "Not graded: it did not run."))
        why = _cell_error(cell) or ("the autograder's check did not run in this cell (was the "
                                    "cell changed, or `run_check` replaced?)")
        return Judgement(_zero(instruction, f"Not graded: {why}."), [why])
    try:
        data = loads(text, "this cell's evidence")
    except BadEvidence as exc:
        reason = str(exc)
        return Judgement(_zero(instruction, f"Not graded: {reason}."), [reason])
    return judge_evidence(instruction_id, data, course, probe)


def _cell_error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{str(output.get('ename'))[:100]}: {str(output.get('evalue'))[:300]}"
    return None
