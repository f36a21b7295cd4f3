"""The exception tree (graders/errors.py): every exception the package raises on purpose says
whose move it is, and still is what callers already catch."""
import pytest

from graders import errors
from graders.course.cli import main
from graders.course.lms.formats import LmsError
from graders.course.verbs import VerbError
from graders.grading.coursedir import CourseError
from graders.grading.kernels import JudgeMissing
from graders.grading.replay import RemoteExecutionFailed
from graders.grading.runner import NotGradable
from graders.grading.sandbox import SandboxError
from graders.grading.unprivileged import UnprivilegedError
from graders.judge.codec import BadEvidence
from graders.judge.course import CourseFileMissing
from graders.kernel.result import InstructionFailed, Mistake


@pytest.mark.parametrize("cls, whose, builtin", [
    (NotGradable, errors.StudentError, Exception),
    (Mistake, errors.StudentError, Exception),
    (InstructionFailed, errors.StudentError, AssertionError),  # nbgrader scores it 0
    (BadEvidence, errors.StudentError, ValueError),
    (CourseError, errors.CourseError, Exception),
    (VerbError, errors.CourseError, Exception),
    (LmsError, errors.CourseError, Exception),
    (JudgeMissing, errors.CourseError, RuntimeError),
    (CourseFileMissing, errors.CourseError, FileNotFoundError),
    (SandboxError, errors.MachineryError, RuntimeError),
    (UnprivilegedError, errors.MachineryError, RuntimeError),
    (RemoteExecutionFailed, errors.MachineryError, RuntimeError),
])
def test_each_exception_says_whose_move_it_is(cls, whose, builtin):
    assert issubclass(cls, whose) and issubclass(cls, builtin)
    assert issubclass(cls, errors.RnnCourseError)
    others = {errors.StudentError, errors.CourseError, errors.MachineryError} - {whose}
    assert not any(issubclass(cls, other) for other in others)


def test_the_cli_prints_the_instructors_move_without_a_traceback(tmp_path, capsys):
    """A course error (no nbgrader_config.py here) is one line naming the fix, exit 2."""
    assert main(["release", "--course", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "nbgrader_config.py" in err and "--course DIR" in err and "Traceback" not in err
