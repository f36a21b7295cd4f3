"""Running nbgrader inside this process: ``nbgrader autograde`` for one student (or one of
its notebooks), and the process's environment variables and fd 2 that the kernels it starts
inherit.

Used by the worker (executing) and by the coordinator (replaying into the course).
"""
from __future__ import annotations

import contextlib
import copy
import os
import sys
from pathlib import Path

from .. import coursedir as cdir
from ..tools import tools_on_path


def run_autograde(config, assignment: str, student: str) -> dict:
    """``nbgrader autograde ASSIGNMENT --student STUDENT --force`` in this process (only the
    notebook ``CourseDirectory.notebook_id`` when the config names one).

    Returns nbgrader's ``capture_log`` dict: ``success``, ``log`` and, on failure, ``error``;
    plus ``exception``: the first exception raised while preparing or converting a notebook
    (None when none was), whose message is the reason of the failure.
    """
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.utils import capture_log, temp_attrs

    from ..replay import Autograding

    with tools_on_path():  # nbgrader creates a missing gradebook with `alembic` from PATH
        api = NbGraderAPI(coursedir=cdir.coursedir(config), config=config)
        with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student):
            app = Autograding(coursedir=api.coursedir, parent=api)
            app.force = True
            app.create_student = True
            result = capture_log(app)
    result["exception"] = app.failure
    return result


def one_notebook(config, notebook: str):
    """A copy of ``config`` that grades only ``notebook`` (nbgrader's
    ``CourseDirectory.notebook_id``): each notebook is graded on its own, so a broken one
    costs only itself (nbgrader stops at the first failing notebook of a submission and
    removes the student's whole autograded folder)."""
    config = copy.deepcopy(config)
    config.CourseDirectory.notebook_id = notebook
    return config


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Send this process's fd 2 (and so the kernels' stderr: TensorFlow's start-up lines,
    crash reports) to ``path`` while grading one submission."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """Set environment variables (for kernels started meanwhile), then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
