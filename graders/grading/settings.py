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

from traitlets import Bool, Integer, Unicode, default
from traitlets.config import Configurable

from ..kernel import limits


class BatchGrading(Configurable):
    """Grading a whole class in parallel on Dask distributed."""

    workers = Integer(0, help=(
        "Single-threaded Dask workers of the embedded LocalCluster; 0 = one per CPU core "
        "(with pin_cpus; one more than the cores without it). Ignored with --scheduler (the "
        "cluster has its own workers).")).tag(config=True)

    pin_cpus = Bool(True, help=(
        "Run the kernels of each worker of the embedded LocalCluster on one CPU core of its "
        "own (round robin; Linux), one worker per core, so that two kernels never share a "
        "core; unpinned, one worker more than the cores keeps them busy while a kernel "
        "starts. tests/bench_batch.py measures both on a given machine. Ignored with "
        "--scheduler.")).tag(config=True)

    scheduler = Unicode("", help=(
        "Address of an existing Dask scheduler (tcp://HOST:8786) whose workers grade the "
        "submissions; empty = start a LocalCluster on this machine.")).tag(config=True)

    threads_per_kernel = Integer(1, help=(
        "TensorFlow/BLAS threads of each student kernel (TF_NUM_INTRAOP_THREADS, "
        "OMP_NUM_THREADS...). One per worker avoids two kernels fighting over the same "
        "cores; 0 leaves the libraries' defaults.")).tag(config=True)

    allowed_failures = Integer(3, help=(
        "How many times a submission is handed to a new worker after its worker died "
        "(Dask's distributed.scheduler.allowed-failures, for the embedded cluster). A "
        "student's own failure is never retried.")).tag(config=True)

    output_dir = Unicode("grading", help=(
        "Folder (relative to the course) for the grading records, per-student logs and the "
        "class summary; one sub-folder per assignment.")).tag(config=True)

    def resolved_workers(self) -> int:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        return self.workers or cores + (0 if self.pin_cpus else 1)


def help_of(name: str) -> str:
    """The help text of one option, for the command line."""
    return BatchGrading.class_traits()[name].help



def _env_or(variable: str, default):
    """A limit's default: the sandbox's environment variable when set (so it still works
    alone, e.g. for one run), else the built-in default."""
    value = os.environ.get(variable)
    return type(default)(value) if value else default


class KernelLimits(Configurable):
    """What one student's kernel may use (each notebook runs in its own sandboxed kernel).

    Set them in ``nbgrader_config.py`` (``c.KernelLimits.memory = "6G"``); they apply to plain
    ``nbgrader autograde``, ``rnn-course grade`` (local or remote Dask workers: the workers
    read the course's configuration) and ``rnn-course check``. A kernel that hits one is
    stopped or cut, and the summary says which limit. The wall time of one cell is
    nbgrader's own ``c.Execute.timeout``.
    """

    memory = Unicode(help=(
        "Memory of one kernel: its address space, and all its processes together (cgroup "
        "memory controller); e.g. '4G'. A kernel past it gets MemoryError or is stopped."
        )).tag(config=True)
    processes = Integer(help=(
        "Processes and threads of one kernel (cgroup pids controller); a kernel that tries "
        "to start more (a fork bomb) is stopped within a second. 0 = no limit."
        )).tag(config=True)
    notebook_timeout = Integer(help=(
        "Seconds one notebook's kernel may run in all; it is stopped after that (each cell "
        "also has nbgrader's Execute.timeout). 0 = no limit.")).tag(config=True)
    output = Unicode(help=(
        "What one cell may print, e.g. '1M'; the rest is cut inside the kernel. What the "
        "kernel writes below Python's streams goes to the grader's log, cut at the same "
        "size.")).tag(config=True)
    scratch = Unicode(help=(
        "Disk space of the kernel's writable folder (a tmpfs thrown away with the kernel), "
        "e.g. '1G'.")).tag(config=True)

    @default("memory")
    def _memory(self):
        return _env_or(limits.ENV_MEMORY, limits.DEFAULT_MEMORY)

    @default("processes")
    def _processes(self):
        return _env_or(limits.ENV_PIDS, limits.DEFAULT_PIDS)

    @default("notebook_timeout")
    def _notebook_timeout(self):
        return _env_or(limits.ENV_SECONDS, limits.DEFAULT_SECONDS)

    @default("output")
    def _output(self):
        return _env_or(limits.ENV_OUTPUT, limits.DEFAULT_OUTPUT)

    @default("scratch")
    def _scratch(self):
        return _env_or(limits.ENV_SCRATCH, limits.DEFAULT_SCRATCH)

    def environment(self) -> dict[str, str]:
        """The sandbox launcher's environment variables for these limits."""
        return {limits.ENV_MEMORY: self.memory, limits.ENV_PIDS: str(self.processes),
                limits.ENV_SECONDS: str(self.notebook_timeout),
                limits.ENV_OUTPUT: self.output, limits.ENV_SCRATCH: self.scratch}
