"""Grade a whole class in parallel on Dask distributed: resumable, quiet, one record each.

How a class is graded (:func:`grade_class`)
------------------------------------------
* The coordinator (the instructor's ``rnn-course grade``) finds ``submitted/<student>/<a>/``
  and skips every submission already graded with the same files (its record's digest), unless
  ``force``.
* Each remaining submission travels to a Dask worker **as data** (its files), with the course
  bundle (``nbgrader_config.py``, the assignment's data files and a gradebook holding only the
  assignment's cells, sent once per worker): no shared filesystem is assumed. A worker is
  handed its next submission when it is free, longest first (:func:`in_window`).
* The worker (:func:`execute_submission`) runs the course's own ``nbgrader autograde`` in a
  private course folder, up to its ``Execute`` step (the sandboxed kernel, the course's limits),
  and sends back the executed notebooks and the log, as data. Whatever the student's code does,
  the task returns an :class:`Execution`; it raises only for a fault of the grading machinery,
  and Dask hands a submission whose worker died to another worker (``allowed-failures``).
* The coordinator alone writes the course: it runs ``nbgrader autograde`` for that student in
  the real course folder with the executed notebooks replayed (:mod:`graders.grading.replay`),
  so the gradebook (SQLite or PostgreSQL) has one writer and the scores are those of a plain
  serial ``nbgrader autograde``; then it writes the student's :class:`~records.Record`.

Killed half way, a run leaves finished students recorded and the others without a record:
running it again grades only those.

One module a job
----------------
* :mod:`.wire`: what travels between coordinator and workers (:class:`CourseBundle`,
  :class:`Submission`, :class:`Execution`).
* :mod:`.nbgrader_inproc`: ``nbgrader autograde`` run inside this process
  (:func:`run_autograde`, :func:`one_notebook`, :func:`environment`).
* :mod:`.diagnosis`: why a notebook failed and which limits were met, read from the logs
  (:func:`failure_reason`, :func:`limits_hit`).
* :mod:`.worker`: the Dask task executing one submission (:func:`execute_submission`).
* :mod:`.coordinator`: the course's one writer (:class:`Coordinator`).
* :mod:`.cluster`: the Dask window around a run (:func:`grade_class`, :func:`rejudge_class`,
  :func:`dask_client`, :func:`in_window`, :class:`GradeRun`, :func:`check_released`).
* :mod:`.worker_setup`: the embedded cluster's worker processes print into the run's
  ``grade.log``, not the instructor's terminal (a Dask preload).

Every name is defined in one of them and re-exported here: ``graders.grading.batch.X`` keeps
working. Dask pickles task functions and wire types by their defining module
(``graders.grading.batch.worker.execute_submission``, ...), which a worker imports from there.
"""
from ...kernel.capture import OUTPUT_CUT
from ..sandbox import STDERR_CUT
from .cluster import (GradeRun, check_released, dask_client, grade_class, in_window,
                      make_bundle, rejudge_class)
from .coordinator import Coordinator, package_version
from .diagnosis import failure_reason, limits_hit
from .nbgrader_inproc import environment, one_notebook, run_autograde
from .wire import CourseBundle, Execution, Submission
from .worker import THREAD_VARIABLES, _placement, execute_submission, staged_files  # noqa: F401

__all__ = [
    "CourseBundle", "Submission", "Execution",
    "run_autograde", "one_notebook", "environment",
    "failure_reason", "limits_hit", "OUTPUT_CUT", "STDERR_CUT",
    "THREAD_VARIABLES", "execute_submission", "staged_files",
    "Coordinator", "package_version",
    "GradeRun", "check_released", "dask_client", "grade_class", "in_window", "make_bundle",
    "rejudge_class",
]
