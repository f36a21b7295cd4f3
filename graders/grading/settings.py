"""How a class is graded: one place for the limits and the parallelism, as traitlets.

Set them in the course's ``nbgrader_config.py`` like any nbgrader option::

    c.BatchGrading.workers = 4
    c.BatchGrading.scheduler = "tcp://grader-1:8786"

``rnn-course grade --help`` shows the same help text (the CLI reads it from here), and a
command-line option overrides the configured value for one run. The Dask tasks receive the
resolved values as data, so a remote worker needs no copy of the configuration.
"""
from __future__ import annotations

import os

from traitlets import Integer, Unicode
from traitlets.config import Configurable


class BatchGrading(Configurable):
    """Grading a whole class in parallel on Dask distributed."""

    workers = Integer(0, help=(
        "Single-threaded Dask workers of the embedded LocalCluster; 0 = one per CPU core, plus "
        "one (a Keras fit waits on thread hand-offs inside TensorFlow, so one kernel per core "
        "leaves the cores idle a third of the time). Ignored with --scheduler (the cluster "
        "has its own workers).")).tag(config=True)

    scheduler = Unicode("", help=(
        "Address of an existing Dask scheduler (tcp://HOST:8786) whose workers grade the "
        "submissions; empty = start a LocalCluster on this machine.")).tag(config=True)

    threads_per_kernel = Integer(1, help=(
        "TensorFlow/BLAS threads of each student kernel (TF_NUM_INTRAOP_THREADS, "
        "OMP_NUM_THREADS...). One per worker avoids two kernels fighting over the same "
        "cores; 0 leaves the libraries' defaults.")).tag(config=True)

    submission_timeout = Integer(1800, help=(
        "Seconds one submission (all its notebooks) may take on a worker before it is "
        "stopped and reported as failed. Each cell also has nbgrader's Execute.timeout."
        )).tag(config=True)

    allowed_failures = Integer(3, help=(
        "How many times a submission is handed to a new worker after its worker died "
        "(Dask's distributed.scheduler.allowed-failures, for the embedded cluster). A "
        "student's own failure is never retried.")).tag(config=True)

    output_dir = Unicode("grading", help=(
        "Folder (relative to the course) for the grading records, per-student logs and the "
        "class summary; one sub-folder per assignment.")).tag(config=True)

    def resolved_workers(self) -> int:
        return self.workers or (os.cpu_count() or 1) + 1


def help_of(name: str) -> str:
    """The help text of one option, for the command line."""
    return BatchGrading.class_traits()[name].help
