"""The assignment as a Gradescope autograder: the zip to upload, and what runs in it.

Two parts, headed as such below: part 1 runs on the instructor's machine and builds the zip;
part 2 runs inside Gradescope's container and grades one submission. Both find their paths in
:class:`Layout`.

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
of this module by :func:`setup_sh` and :func:`run_autograder_sh`.

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
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from pathlib import Path, PurePath

from ..grading import sandbox as _sandbox
from ..grading import unprivileged
from ..grading.sandbox import SandboxStatus  # noqa: F401 - results_json's argument
from ..grading.names import released_name as _released_name
from ..instructions import NOTEBOOKS
from ..kernel.result import CheckResult
from . import bundle as _bundle
from .templating import templates

if TYPE_CHECKING:
    from ..grading.runner import NotebookGrade

# ==============================================================================================
# Both parts: where Gradescope puts things
# ==============================================================================================

DEFAULT_ROOT = "/autograder"
ENV_ROOT = "RNN_COURSE_AUTOGRADER_ROOT"
ENV_PYTHON = "RNN_COURSE_AUTOGRADER_PYTHON"


@dataclass(frozen=True)
class Layout:
    """Where Gradescope puts things (``docs/specs.md``), all under one root."""

    root: Path

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Layout":
        environ = os.environ if environ is None else environ
        return cls(Path(environ.get(ENV_ROOT) or DEFAULT_ROOT))

    @property
    def source(self) -> Path:
        """The autograder zip, unpacked."""
        return self.root / "source"

    @property
    def data(self) -> Path:
        """The released data files, copied beside each notebook before it runs."""
        return self.source / "data"

    @property
    def submission(self) -> Path:
        """The student's files, as uploaded."""
        return self.root / "submission"

    @property
    def results(self) -> Path:
        return self.root / "results" / "results.json"

    @property
    def venv(self) -> Path:
        """The virtualenv setup.sh builds."""
        return self.root / "venv"


# ==============================================================================================
# Part 1. On the instructor's machine: the autograder zip (its scripts: templates/gradescope/)
# ==============================================================================================

def _script(name: str, **values) -> str:
    """The shell script ``templates/gradescope/<name>``, rendered with ``values``."""
    return templates("gradescope", autoescape=False).get_template(name).render(**values)


def setup_sh() -> str:
    """The image's set-up script (Gradescope runs it once, as root, in ``/autograder/source``)."""
    layout = Layout(Path(DEFAULT_ROOT))
    return _script("setup.sh.j2", user=unprivileged.KERNEL_USER, venv=layout.venv,
                   source=layout.source)


def run_autograder_sh() -> str:
    """The script Gradescope runs for every submission (working directory ``/autograder``)."""
    return _script("run_autograder.j2", env_root=ENV_ROOT, env_python=ENV_PYTHON,
                   default_root=DEFAULT_ROOT)


def autograder_zip(*, course: str | Path, assignment: str, to: str | Path) -> Path:
    """Write Gradescope's autograder zip for ``assignment`` of ``course`` to ``to``; return it.

    The data files come from the course's ``release/<assignment>/`` (what students got). The
    same files give the same bytes.
    """
    released = _bundle.released_files(course, assignment)
    wheel_name, wheel = _bundle.package_wheel()
    entries = {f"data/{name}": data for name, data in released.items()
               if not name.endswith(".ipynb") and "/" not in name}
    entries["setup.sh"] = setup_sh().encode()
    entries["run_autograder"] = run_autograder_sh().encode()
    entries[wheel_name] = wheel
    entries["requirements.txt"] = _bundle.requirements_txt(wheel=f"./{wheel_name}").encode()
    return _bundle.write_zip(entries, to, executable={"setup.sh", "run_autograder"})


# ==============================================================================================
# Part 2. In Gradescope's container: grading one submission
# ==============================================================================================

ENV_SANDBOX = "RNN_COURSE_AUTOGRADER_SANDBOX"  # auto (default) | on | off
#: Seconds one cell may run (nbclient's per-cell timeout; nbgrader's course config allows 600 s,
#: Gradescope's overall timeout must cover two of these, see the module docstring).
CELL_TIMEOUT = 300

#: Every test is shown to the student at once: each says what was checked or which mistake
#: cost the points, exactly what ``rnn-course check`` tells them before submitting, so hiding
#: it would hide nothing the student cannot already see, only the feedback.
VISIBILITY = "visible"

#: What still holds when the notebooks run in a plain kernel (no bubblewrap): said in the output.
PLAIN_KERNEL_LIMITS = """\
How your notebooks ran: in a plain Python kernel inside Gradescope's container, which holds \
only this submission and is discarded afterwards (the bubblewrap sandbox was not used: {reason}).
Limits that still apply:
- each cell may run {timeout} s; a cell that runs longer stops its notebook there;
- the memory is the container's: a kernel that runs out of it stops, and what did not run \
scores 0;
- only verdicts that the checks published in this run count (outputs saved in your file are \
cleared before it runs).
Not enforced in this mode: the sandbox's memory cap per kernel, its network cut-off and its \
read-only view of the autograder's files."""
#: What holds when the kernel runs as an unprivileged user (no bubblewrap, the grader is root).
UNPRIVILEGED_KERNEL_LIMITS = """\
How your notebooks ran: in a Python kernel inside Gradescope's container, which holds only this \
submission and is discarded afterwards, as the unprivileged user `{user}` (the bubblewrap \
sandbox was not used: {reason}).
Limits that still apply:
- each cell may run {timeout} s; a cell that runs longer stops its notebook there;
- the memory is the container's: a kernel that runs out of it stops, and what did not run \
scores 0;
- your code cannot change the autograder, the course's files or these results (they are not \
`{user}`'s), and may run at most {processes} processes and threads at once;
- every process a notebook leaves running is stopped when the notebook ends, before it is graded;
- only verdicts that the checks published in this run count (outputs saved in your file are \
cleared before it runs).
Not enforced in this mode: the sandbox's memory cap per kernel and its network cut-off; the \
autograder's files can be read (not changed)."""
SANDBOXED = (
    "How your notebooks ran: in the bubblewrap sandbox (no network, only their own folder "
    "writable, {memory} of memory); each cell may run {timeout} s."
)


# ----------------------------------------------------------------------------- submission
def released_name(filename: str, notebooks: tuple[str, ...] = NOTEBOOKS) -> str | None:
    """The released notebook (its name without ``.ipynb``) an uploaded file is, or None: the
    package's one renaming rule (:func:`graders.grading.names.released_name`).

    Case does not matter, nor a browser's or LMS's copy marker: ``exploding_gradients (1).ipynb``,
    ``Exploding_Gradients-2.ipynb`` and ``exploding gradients copy.ipynb`` are
    ``exploding_gradients``.
    """
    name = _released_name(str(PurePath(filename).name), [f"{n}.ipynb" for n in notebooks])
    return name[:-len(".ipynb")] if name else None


@dataclass
class Found:
    """The submitted files, sorted out."""

    #: released notebook name -> the file graded for it
    chosen: dict[str, Path] = field(default_factory=dict)
    #: what the student should know about the files (renamed, duplicates, strays)
    notes: list[str] = field(default_factory=list)


def find_notebooks(submission: Path) -> Found:
    """Which submitted file to grade as which released notebook.

    Several files for one notebook: the one with the released name wins, else the most recently
    modified; the others are reported, never graded.
    """
    found = Found()
    files = sorted(p for p in submission.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(submission).parts))
    by_name: dict[str, list[Path]] = {}
    for path in files:
        name = released_name(path.name)
        if name is not None:
            by_name.setdefault(name, []).append(path)
        elif path.suffix.lower() == ".ipynb":
            found.notes.append(f"`{path.relative_to(submission)}` is not a notebook of this "
                               f"assignment and was not graded.")
    for name in NOTEBOOKS:
        candidates = by_name.get(name, [])
        if not candidates:
            continue
        candidates.sort(key=lambda p: (p.name != f"{name}.ipynb", -p.stat().st_mtime, str(p)))
        chosen = found.chosen[name] = candidates[0]
        shown = chosen.relative_to(submission)
        if chosen.name != f"{name}.ipynb":
            found.notes.append(f"Graded `{shown}` as `{name}.ipynb`.")
        for other in candidates[1:]:
            found.notes.append(f"`{other.relative_to(submission)}` is another copy of "
                               f"`{name}.ipynb`: only `{shown}` was graded.")
    return found


# ----------------------------------------------------------------------------- sandbox
def probe_sandbox(environ: dict | None = None) -> SandboxStatus:
    """Whether the bubblewrap kernel can run in this container: the tools, the kernel spec,
    and a trivial process actually started in the sandbox (:func:`graders.grading.sandbox.probe`;
    ``RNN_COURSE_AUTOGRADER_SANDBOX`` forces the answer)."""
    return _sandbox.probe(environ, switch=ENV_SANDBOX, kernel_spec=True)


@dataclass(frozen=True)
class KernelChoice:
    """The kernel the notebooks run in, and why."""

    #: ``sandbox`` (bubblewrap), ``unprivileged`` (as :attr:`user`) or ``plain`` (as the grader).
    kind: str
    #: Why the sandbox was used or not, and, without it, why not the unprivileged user.
    reason: str
    user: str | None = None


def choose_kernel(sandbox: SandboxStatus) -> KernelChoice:
    """The sandbox if it works; else the unprivileged user if it works here (the grader is
    root, :func:`graders.grading.unprivileged.probe`); else the plain kernel."""
    if sandbox.works:
        return KernelChoice("sandbox", sandbox.reason)
    status = unprivileged.probe()
    if status.works:
        return KernelChoice("unprivileged", sandbox.reason, status.user)
    return KernelChoice("plain", f"{sandbox.reason}; {status.reason}")


# ----------------------------------------------------------------------------- grading
def grade_submission(layout: Layout, *, sandboxed: bool, timeout: int = CELL_TIMEOUT,
                     user: str | None = None) -> tuple[list[NotebookGrade], list[str]]:
    """Grade every released notebook found in ``layout.submission`` (without the sandbox, as
    ``user`` if given); return the outcomes (in the released order) and notes on the submitted
    files."""
    from ..grading.runner import NotebookGrade, NotGradable, grade_notebook

    found = find_notebooks(layout.submission) if layout.submission.is_dir() else Found()
    received = sorted(p.relative_to(layout.submission).as_posix()
                      for p in layout.submission.rglob("*") if p.is_file()) \
        if layout.submission.is_dir() else []
    outcomes = []
    for name in NOTEBOOKS:
        path = found.chosen.get(name)
        if path is None:
            outcomes.append(NotebookGrade.nothing_graded(name, (
                f"No `{name}.ipynb` in your submission (received: "
                f"{', '.join(f'`{r}`' for r in received) or 'no files'}). Upload it with its "
                f"name unchanged.")))
            continue
        try:
            with tempfile.TemporaryDirectory(prefix="rnn-course-gradescope-") as tmp:
                copy = Path(tmp) / f"{name}.ipynb"
                shutil.copyfile(path, copy)  # its outputs are cleared before it runs
                grade = grade_notebook(copy, files_from=layout.data, timeout=timeout,
                                       sandboxed=sandboxed, user=user)
        except NotGradable as exc:
            outcomes.append(NotebookGrade.nothing_graded(name, str(exc)))
            continue
        except Exception as exc:  # the autograder's failure, never the student's
            traceback.print_exc()
            outcomes.append(NotebookGrade.nothing_graded(name, (
                f"The autograder failed on this notebook ({type(exc).__name__}: {exc}). This is "
                f"not a mistake of yours: tell your instructor.")))
            continue
        outcomes.append(grade)
    return outcomes, found.notes


def student_output(result: CheckResult) -> str:
    """The student's message of one instruction, with its hint."""
    hint = result.hint_text
    return result.message + (f"\n\nHint: {hint}" if hint else "")


def results_json(outcomes: list[NotebookGrade], *, sandbox: SandboxStatus,
                 execution_time: float, notes: list[str] = (), timeout: int = CELL_TIMEOUT,
                 kernel: KernelChoice | None = None) -> dict:
    """Gradescope's ``results.json`` (``docs/specs.md``): one test per instruction. ``kernel``
    (default: the sandbox if it worked, else the plain kernel) says how the notebooks ran."""
    from ..grading import sandbox as sbx

    kernel = kernel or KernelChoice("sandbox" if sandbox.works else "plain", sandbox.reason)
    tests = []
    for n, outcome in enumerate(outcomes, start=1):
        for k, result in enumerate(outcome.results, start=1):
            tests.append({
                "name": f"{outcome.notebook}.ipynb: {result.title}",
                "number": f"{n}.{k}",
                "score": float(result.points),
                "max_score": float(result.max_points),
                "status": "passed" if result.passed else "failed",
                "output": student_output(result),
                "visibility": VISIBILITY,
                "tags": [outcome.notebook, result.instruction],
                "extra_data": {"instruction": result.instruction, "hint": result.hint},
            })
    lines = []
    for outcome in outcomes:
        points = sum(r.points for r in outcome.results)
        maximum = sum(r.max_points for r in outcome.results)
        lines.append(f"**{outcome.notebook}.ipynb: {points:g}/{maximum:g} points**"
                     + (f" (not graded: {outcome.not_graded})" if outcome.not_graded else ""))
        lines += [f"- {p}" for p in outcome.problems]
        lines += [f"- {e}" for e in outcome.errors]
    lines += ["", *[f"- {note}" for note in notes]] if notes else []
    if kernel.kind == "sandbox":
        how = SANDBOXED.format(memory=f"{sbx.memory_limit() >> 30} GiB", timeout=timeout)
    elif kernel.kind == "unprivileged":
        how = UNPRIVILEGED_KERNEL_LIMITS.format(user=kernel.user, reason=kernel.reason,
                                                timeout=timeout,
                                                processes=unprivileged.PROCESS_LIMIT)
    else:
        how = PLAIN_KERNEL_LIMITS.format(reason=kernel.reason, timeout=timeout)
    lines += ["", how]
    return {
        "score": float(sum(t["score"] for t in tests)),
        "execution_time": int(round(execution_time)),
        "output": "\n".join(lines),
        "output_format": "md",
        "test_output_format": "md",
        "stdout_visibility": "hidden",
        "extra_data": {"sandboxed": sandbox.works, "sandbox": sandbox.reason,
                       "kernel": kernel.kind, "kernel_user": kernel.user,
                       "notebooks": [o.notebook for o in outcomes if o.not_graded is None]},
        "tests": tests,
    }


def write_results(results: dict, path: Path) -> Path:
    """Write ``results.json`` at once (never partially, never mixed with printed output)."""
    from ..grading.records import write_atomically

    return write_atomically(path, json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def run(*, layout: Layout | None = None, timeout: int = CELL_TIMEOUT) -> dict:
    """What ``run_autograder`` does: probe the sandbox, choose the kernel, grade the submission,
    write and return ``results.json``."""
    layout = layout or Layout.from_env()
    started = time.monotonic()
    status = probe_sandbox()
    print(f"sandbox: {'on' if status.works else 'off'} ({status.reason})", flush=True)
    kernel = choose_kernel(status)
    print(f"kernel: {kernel.kind}" + (f" as {kernel.user}" if kernel.user else "")
          + (f" ({kernel.reason})" if kernel.kind == "plain" else ""), flush=True)
    outcomes, notes = grade_submission(layout, sandboxed=status.works, timeout=timeout,
                                       user=kernel.user)
    results = results_json(outcomes, sandbox=status, notes=notes, timeout=timeout, kernel=kernel,
                           execution_time=time.monotonic() - started)
    write_results(results, layout.results)
    print(f"score {results['score']:g}; wrote {layout.results}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["run"]:
        print("usage: python -m graders.course.gradescope run   (what run_autograder calls)",
              file=sys.stderr)
        return 2
    try:
        run()
    except Exception as exc:  # still give Gradescope a results.json, and the instructor the cause
        traceback.print_exc()
        write_results({"score": 0.0, "output": (
            f"The autograder itself failed ({type(exc).__name__}: {exc}). This is not a "
            f"mistake of yours: tell your instructor."), "tests": []}, Layout.from_env().results)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
