"""The assignment as a Gradescope autograder: the zip to upload, and what runs in it.

Two jobs, one module each: :mod:`.build` runs on the instructor's machine and builds the zip;
:mod:`.container` runs inside Gradescope's container and grades one submission. Both find
their paths in :class:`~.layout.Layout`.

``autograder_zip(course=..., assignment=..., to=...)`` writes the zip Gradescope asks for
(``gradescope/autograder_samples``, ``docs/specs.md``). At its root:

* ``setup.sh``: run once by Gradescope, as root, to build the image: Python >= 3.11 with venv,
  bubblewrap and prlimit, a virtualenv at ``/autograder/venv`` with every version of
  ``requirements.txt`` (the lock file's pins, ``tensorflow-cpu`` here) and this package (the
  wheel beside it), the sandbox kernel spec, and the system user the kernel runs as where the
  sandbox cannot (:data:`graders.grading.unprivileged.KERNEL_USER`);
* ``run_autograder``: run for every submission; it calls :func:`run`, which grades every
  notebook in ``/autograder/submission/`` with the very checks of ``rnn-course check``
  (:func:`graders.grading.runner.grade_notebook`) and writes ``/autograder/results/results.json``;
* ``requirements.txt``, ``rnn_course-<version>-py3-none-any.whl`` and ``data/`` (the released
  data files the notebooks load).

The two scripts are template files, ``templates/gradescope/setup.sh.j2`` and
``run_autograder.j2`` (:mod:`graders.course.templating`), filled in with the names and paths
of this package by :func:`setup_sh` and :func:`run_autograder_sh`.

The paths are in one place, :class:`Layout`, with ``/autograder`` replaceable by the variable
``RNN_COURSE_AUTOGRADER_ROOT`` (and the interpreter by ``RNN_COURSE_AUTOGRADER_PYTHON``) so
that tests can run ``run_autograder`` elsewhere.

The sandbox steps aside
-----------------------
Gradescope runs each submission in a throwaway container of its own, which is the isolation
there; user namespaces are usually not available inside it, and bubblewrap needs them. Each run
therefore *probes* the sandbox (:func:`probe_sandbox`: starts a trivial process in it) and
grades in the bubblewrap kernel if it works. Else (:func:`choose_kernel`), as Gradescope runs
the autograder as root, the kernel runs as an unprivileged user
(``grade_notebook(..., sandboxed=False, user=...)``, :mod:`graders.grading.unprivileged`): the
grades are decided by the judge in the grading process, and that user cannot change the
grader, the course's files or ``results.json`` (root's, written at once by root at the end), and
every process it leaves running is killed after each notebook, before the notebook is judged.
Only where that cannot work either (the grader is not root, the user cannot run the
interpreter) is it a plain local kernel of the grader's own user. All three load the capture
extension; ``results.json`` says which ran in its ``output``, with the limits that still apply
(:data:`SANDBOXED`, :data:`UNPRIVILEGED_KERNEL_LIMITS`, :data:`PLAIN_KERNEL_LIMITS`), and in
``extra_data`` (``kernel``, ``kernel_user``). ``RNN_COURSE_AUTOGRADER_SANDBOX`` = ``on``/``off``
forces the sandbox's choice (``off`` as root: the unprivileged kernel). Either way the forgery
defences of the runner hold: every test cell is refilled with its hidden test code and scores
only with the verdict its check published in this run; in addition every output of the
submitted file is cleared before it runs, so a cell that never ran (a kernel that died) cannot
bring a forged verdict along.

Settings in Gradescope
----------------------
Measured here: ``run_autograder`` on the reference solution (``graders/course/samples/
alice_right``), in the plain kernel as on Gradescope, pinned to one CPU (``taskset -c 0``)
under ``/usr/bin/time -v``: 29.5 s of CPU time (27.3 user, 2.2 system), 9/9 points; peak
resident memory 0.65 GiB in the largest process (the TensorFlow kernel) and 0.77 GiB for the
grader and its kernel together (sampled every 0.1 s). The wall time was 104 s because other jobs
shared the machine's two cores; on a CPU of its own it is about 35 s.

* Base image: Ubuntu 22.04 or 24.04, "Base" variant (setup.sh adds Python 3.11 on 22.04,
  whose python3 is 3.10).
* Memory: 2 GB (2.5 times the measured peak; Gradescope's default, 768 MB, is too little for
  TensorFlow).
* CPU: 1 (Gradescope's default of half a CPU makes it about 70 s).
* Timeout: 15 minutes. A cell may run :data:`CELL_TIMEOUT`, 300 s (the solution's slowest
  cells, the 100-epoch fits, take about 10 s of CPU each); the worst case, both notebooks
  stopped by a runaway cell, ends after about 11 minutes, so the student still gets results
  rather than Gradescope's time-out and a 0.

Layout
------
One module a job:

* :mod:`.layout` -- where Gradescope puts things (:class:`Layout`), for both sides.
* :mod:`.build` -- on the instructor's machine: the zip (:func:`autograder_zip`) and its two
  scripts (:func:`setup_sh`, :func:`run_autograder_sh`).
* :mod:`.container` -- in Gradescope's container: the submitted files sorted out
  (:func:`find_notebooks`), the kernel chosen (:func:`choose_kernel`), the notebooks graded
  and ``results.json`` written (:func:`run`, :func:`main`).
* ``__main__`` -- ``python -m graders.course.gradescope run`` (what ``run_autograder`` calls)
  runs :func:`main`.

Every name is defined in one of them and re-exported here: ``graders.course.gradescope.X``
keeps working.
"""
from __future__ import annotations

from ...grading.sandbox import SandboxStatus  # noqa: F401 - results_json's argument
from .build import autograder_zip, run_autograder_sh, setup_sh
from .container import (CELL_TIMEOUT, ENV_SANDBOX, PLAIN_KERNEL_LIMITS, SANDBOXED,
                        UNPRIVILEGED_KERNEL_LIMITS, VISIBILITY, Found, KernelChoice,
                        choose_kernel, find_notebooks, grade_submission, main, probe_sandbox,
                        released_name, results_json, run, student_output, write_results)
from .layout import DEFAULT_ROOT, ENV_PYTHON, ENV_ROOT, Layout

__all__ = [
    "DEFAULT_ROOT", "ENV_ROOT", "ENV_PYTHON", "Layout",
    "setup_sh", "run_autograder_sh", "autograder_zip",
    "ENV_SANDBOX", "CELL_TIMEOUT", "VISIBILITY", "PLAIN_KERNEL_LIMITS",
    "UNPRIVILEGED_KERNEL_LIMITS", "SANDBOXED", "SandboxStatus", "Found", "KernelChoice",
    "released_name", "find_notebooks", "probe_sandbox", "choose_kernel", "grade_submission",
    "student_output", "results_json", "write_results", "run", "main",
]
