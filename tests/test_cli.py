"""The `rnn-course` command as instructors and students meet it."""
import subprocess
import sys
from pathlib import Path

import pytest

from graders.course.cli import main
from graders.grading.runner import NotGradable, grade_notebook
from helpers import RELEASE

RNN_COURSE = Path(sys.executable).parent / "rnn-course"


def test_help_lists_every_verb():
    """Does `rnn-course --help` tell a newcomer what each verb does?"""
    out = subprocess.run([str(RNN_COURSE), "--help"], capture_output=True, text=True, check=True)
    for verb in ("release", "grade", "feedback", "export", "check", "data", "demo", "summary",
                 "lms", "bundle", "gradescope"):
        assert verb in out.stdout


def test_not_a_notebook_or_wrong_name_is_refused_clearly(tmp_path):
    broken = tmp_path / "exploding_gradients.ipynb"
    broken.write_text("{ this is not json")
    with pytest.raises(NotGradable, match="not a readable Jupyter notebook"):
        grade_notebook(broken)
    # (a renamed copy, "exploding_gradients (1).ipynb", is graded: tests/test_bad_input.py)
    other = tmp_path / "homework.ipynb"
    other.write_text((RELEASE / "exploding_gradients.ipynb").read_text())
    with pytest.raises(NotGradable, match="Keep the released file name"):
        grade_notebook(other)


def test_check_refuses_a_broken_file_without_a_traceback(tmp_path, capsys):
    broken = tmp_path / "vanishing_gradients.ipynb"
    broken.write_bytes(b"\x89PNG not a notebook")
    assert main(["check", str(broken)]) == 2
    out = capsys.readouterr().out
    assert "NOT GRADABLE" in out and "Traceback" not in out
