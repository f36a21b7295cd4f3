"""The first thing a worker process of the embedded cluster does: its stderr into the run's log.

The LocalCluster's workers are processes of their own; what they print (Dask's logging, a
heartbeat that meets a scheduler already closing at the end of a run, Python's warnings) went
to the terminal the instructor started ``rnn-course grade`` in. ``dask_client`` names this
module as the workers' preload and the log file in :data:`ENV_WORKER_LOG`; :func:`dask_setup`
(Dask calls it in the worker process) points the process's fd 2 there, so every line a worker
writes lands in ``grade.log`` beside the run's own. While a notebook runs, the worker sends fd 2
to that notebook's kernel log instead and back here afterwards
(:func:`.nbgrader_inproc._stderr_to`). Workers started by hand (``dask worker``) log where their
administrator has them log: they are not given this preload.
"""
from __future__ import annotations

import os
import sys

#: Environment variable naming the file a worker's stderr is appended to.
ENV_WORKER_LOG = "RNN_COURSE_WORKER_LOG"


def dask_setup(worker) -> None:
    """Append this worker process's fd 2 (and so ``sys.stderr``) to the run's log file."""
    path = os.environ.get(ENV_WORKER_LOG)
    if not path:
        return
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.dup2(fd, 2)
    finally:
        os.close(fd)
