"""The one result type every check returns, and the two kinds of failure kept apart.

* :class:`Mistake` is the *student's* mistake: a check raises it with a message written for the
  student, and :func:`graders.instructions.Instruction.run` turns it into a failed
  :class:`CheckResult`.
* Anything else raised inside a check is the *author's* or the configuration's fault (a missing
  data file, a bug in a check): it propagates loudly and is never shown as the student's error.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..errors import StudentError

#: Mimetype under which a hidden test cell publishes its result (machine-readable twin of the
#: message the student reads). Read back by the runner and the feedback reports.
RESULT_MIMETYPE = "application/vnd.rnn-course.result+json"


class Mistake(StudentError):
    """A student's mistake, with the message the student reads.

    ``hint`` names an entry of :data:`graders.kernel.hints.HINTS` that points back to the part of the
    chapter explaining the mistake.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class InstructionFailed(AssertionError, StudentError):
    """Raised in a hidden test cell when an instruction is not met, so nbgrader scores it 0.

    Its text is the student's message; the traceback frames of the grader are hidden.
    """


@dataclass
class CheckResult:
    """The verdict on one instruction of one notebook."""

    #: Id of the instruction (also the key in :data:`graders.instructions.INSTRUCTIONS`).
    instruction: str
    #: Short title of the instruction as the notebook states it.
    title: str
    #: Points earned (0 or ``max_points``: each instruction is all or nothing).
    points: float
    #: Points the instruction is worth (the test cell's nbgrader points).
    max_points: float
    #: True when every requirement of the instruction is met.
    passed: bool
    #: What the student reads: what was checked when passed, the mistake when not.
    message: str
    #: Id of a hint in :data:`graders.kernel.hints.HINTS`, or None.
    hint: str | None = None
    #: Extra facts for reports (e.g. which figure was judged); never needed to grade.
    details: dict = field(default_factory=dict)

    @classmethod
    def not_graded(cls, instruction, why: str) -> "CheckResult":
        """The verdict on an instruction that could not be graded (its notebook is missing,
        unreadable, or its test cell did not run): none of its points, ``why`` as the message.
        ``instruction`` is a :class:`graders.instructions.Instruction`."""
        return cls(instruction.id, instruction.title, 0.0, float(instruction.points), False, why)

    @property
    def hint_text(self) -> str | None:
        """The text of :attr:`hint` (:data:`graders.kernel.hints.HINTS`), or None: no hint
        given, or an id no hint has."""
        from .hints import HINTS

        return HINTS.get(self.hint) if self.hint else None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> "CheckResult":
        return cls(**data)

    def summary_line(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return f"[{mark}] {self.title} ({self.points:g}/{self.max_points:g}): {self.message}"
