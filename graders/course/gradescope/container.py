"""In Gradescope's container: grade one submission. Sort out the uploaded files
(:func:`find_notebooks`), probe the sandbox and choose the kernel (:func:`choose_kernel`), grade
each released notebook with the checks of ``rnn-course check`` (:func:`grade_submission`) and
write ``results.json`` (:func:`results_json`, :func:`run`); :func:`main` is what
``run_autograder`` runs (``python -m graders.course.gradescope run``). Why the sandbox may step
aside, and what holds then: the package's docstring.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from ...grading import sandbox as _sandbox
from ...grading import unprivileged
from ...grading.names import released_name as _released_name
from ...grading.sandbox import SandboxStatus
from ...instructions import NOTEBOOKS
from ...kernel.result import CheckResult
from .layout import Layout

if TYPE_CHECKING:
    from ...grading.runner import NotebookGrade

ENV_SANDBOX = "RNN_COURSE_AUTOGRADER_SANDBOX"  # auto (default) | on | off
#: Seconds one cell may run (nbclient's per-cell timeout; nbgrader's course config allows 600 s,
#: Gradescope's overall timeout must cover two of these, see the package's docstring).
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
    from ...grading.runner import NotebookGrade, NotGradable, grade_notebook

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
    from ...grading import sandbox as sbx

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
    from ...grading.records import write_atomically

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
    """``python -m graders.course.gradescope run``: :func:`run`, and a ``results.json`` saying
    the autograder failed if it raises (exit status 1; 2 for any other arguments)."""
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
