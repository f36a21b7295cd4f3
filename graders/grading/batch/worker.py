"""The worker's task: execute one submission's notebooks in a private course folder with the
course's own nbgrader pipeline (:func:`execute_submission`), on the core this worker's kernels
are given, and send back an :class:`~.wire.Execution`.

Dask refers to the task by its module path (``graders.grading.batch.worker``); the worker
imports it from there. :data:`_CPUS` is read once, when this module is imported.
"""
from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path

from .. import coursedir as cdir
from .. import sandbox
from ..gradebook import notebook_names
from ..names import choose, released_name
from ..replay import PROBE_SUFFIX, execution_only
from ...kernel.limits import ENV_STATUS
from ..sandbox import read_status
from .diagnosis import failure_reason
from .nbgrader_inproc import _stderr_to, environment, one_notebook, run_autograde
from .wire import CourseBundle, Execution, Submission


#: Environment variables that set a kernel's thread pools (passed into the sandbox).
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


def execute_submission(bundle: CourseBundle, submission: Submission) -> Execution:
    """Dask task: execute one submission's notebooks with the course's own nbgrader pipeline.

    Runs on a worker, in a private course folder that is removed afterwards; each notebook
    on its own (:func:`one_notebook`), under its released name (a renamed upload is written
    there under the name :func:`graders.grading.names.choose` gives it). A student's mistake,
    a crash of the student's kernel or an unreadable notebook comes back as an
    :class:`Execution` saying so, per notebook; only a fault of the grading machinery raises.
    """
    started = time.perf_counter()
    result = Execution(submission.student, submission.digest, worker=_worker_name())
    with tempfile.TemporaryDirectory(prefix="rnn-course-grade-") as tmp:
        root = Path(tmp)
        (root / cdir.CONFIG_FILE).write_text(bundle.config_text, encoding="utf-8")
        (root / "gradebook.db").write_bytes(bundle.gradebook)
        config = cdir.load_config(root)
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
        # the folders where the course's config (its directory_structure) says nbgrader finds them
        _write_files(cdir.assignment_folder(config, "source", bundle.assignment),
                     bundle.source_files)
        submitted = cdir.student_folder(config, "submitted", submission.student,
                                        bundle.assignment)
        submitted.mkdir(parents=True)
        released = notebook_names(cdir.db_url(config), bundle.assignment)
        files, names = staged_files(submission.files, released)
        _write_files(submitted, files)
        executed = root / "executed"

        config.Autograde.autograde_preprocessors = execution_only(config)
        config.KeepExecuted.directory = str(executed)
        threads = str(bundle.threads_per_kernel)
        env = {k: threads for k in THREAD_VARIABLES} if bundle.threads_per_kernel else {}
        env.update(_placement(bundle.pin_cpus))
        logs = []
        for name in names:
            kernel_log = root / f"kernels-{name}.log"
            status = root / f"kernel-status-{name}.json"  # the watchdog's reason, if it stops it
            with environment({**env, ENV_STATUS: str(status)}), _stderr_to(kernel_log):
                outcome = run_autograde(one_notebook(config, name), bundle.assignment,
                                        submission.student)
            kernels = kernel_log.read_text(errors="replace") if kernel_log.exists() else ""
            logs.append(f"--- {name}.ipynb ---\n{outcome.get('log') or ''}"
                        + (f"\n{outcome['error']}" if outcome.get("error") else "")
                        + (f"\n--- kernel output (stderr) ---\n{kernels}" if kernels.strip()
                           else ""))
            path = executed / f"{name}.ipynb"
            if path.is_file():
                result.notebooks[name] = path.read_text(encoding="utf-8")
            probe = executed / f"{name}{PROBE_SUFFIX}"
            if probe.is_file():
                result.probes[name] = probe.read_text(encoding="utf-8")
            if not outcome.get("success") and name not in result.notebooks:
                result.failed[name] = failure_reason(outcome.get("exception"),
                                                     read_status(status))
        if not names:  # nothing to grade
            got = ", ".join(sorted(f for f in submission.files if f.endswith(".ipynb"))) or \
                "no notebook"
            result.failed["*"] = (f"no notebook of this assignment was submitted ({got}; "
                                  f"the notebooks are {', '.join(released)})")
        result.log = "\n".join(logs)
    result.seconds = time.perf_counter() - started
    return result


def staged_files(files: dict[str, bytes], released: list[str]) -> tuple[dict[str, bytes], list[str]]:
    """A submission's files with each renamed notebook under its released name (the copy
    that is graded; ``timestamp.txt`` and every other file as submitted), and the names of
    the notebooks to grade (without ``.ipynb``)."""
    choice = choose(sorted(files), [f"{n}.ipynb" for n in released])
    # every file but the notebooks' copies (the chosen ones go under their released names)
    staged = {path: data for path, data in files.items()
              if os.path.dirname(path) or released_name(path, list(choice.chosen)) is None}
    staged.update({name: files[path] for name, path in choice.chosen.items()})
    return staged, [n for n in released if f"{n}.ipynb" in choice.chosen]


def _write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = (root / name).resolve()
        if not str(path).startswith(str(root.resolve()) + os.sep):
            raise ValueError(f"refusing a file outside its folder: {name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


#: The CPUs this process may use before any pinning (a worker's first task reads them).
_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _placement(pin: bool) -> dict[str, str]:
    """The core for this worker's kernels: LocalCluster names its workers 0, 1, 2...; worker
    ``i`` gets the ``i``-th usable CPU, round robin. Nothing for other workers."""
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return {}
    if not pin or not _CPUS or not isinstance(name, int):
        return {}
    return {sandbox.ENV_CPUS: str(_CPUS[name % len(_CPUS)])}


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return socket.gethostname()
