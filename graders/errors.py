"""The package's exception tree: whose move it is when something stops.

Every exception this package raises on purpose derives from :class:`RnnCourseError` through
one of three bases, by who must act next:

* :class:`StudentError`: the student's work cannot be graded as it is (a file that is not a
  notebook, a mistake an instruction names, evidence that is not what the kernel exports). The
  message is written for the student and says what to change.
* :class:`CourseError`: the instructor must fix the course (a missing folder or data file,
  nbgrader configured without the judge, a verb asked to do something the course cannot). The
  message names the file or setting and the command that fixes it.
* :class:`MachineryError`: the grading machinery broke (the sandbox or the unprivileged
  kernel cannot start, a worker failed). Nobody's work is at fault; the message says what to
  install or check, and the submission is graded again once it is fixed.

Each concrete class keeps the built-in base callers already catch (``FileNotFoundError``,
``ValueError``, ``AssertionError``, ``RuntimeError``). Standard library only: every layer, the
student's kernel included, imports it.
"""
from __future__ import annotations


class RnnCourseError(Exception):
    """Anything this package raises on purpose; the message says what to do next."""


class StudentError(RnnCourseError):
    """The student's work cannot be graded as it is: the student's move."""


class CourseError(RnnCourseError):
    """The course is not set up for what was asked: the instructor's move."""


class MachineryError(RnnCourseError):
    """The grading machinery failed: nobody's work is at fault; fix and grade again."""
