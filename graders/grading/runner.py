"""Grade one notebook file outside nbgrader, with the very checks the hidden test cells run.

Used by the tests (any submitted notebook, under plain pytest) and by ``rnn-course check`` (a
student checking their own work before submitting). Like ``nbgrader autograde`` it

1. puts the hidden test code back into the notebook's test cells (by their ``grade_id``),
2. runs the notebook top to bottom in the sandboxed grading kernel, in a scratch copy of the
   assignment folder, continuing after errors, and
3. judges each test cell's evidence here, in the grading process (:mod:`graders.judge`), with
   the assignment's files and the probe inputs it wrote beside the notebook, and reads the
   verdicts.

No instructor file and no gradebook is needed: the test code comes from
:meth:`graders.instructions.Instruction.test_cell_source`.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import gradable
from .gradable import grade_id
from ..instructions import ASSIGNMENT, NOTEBOOKS, Instruction, for_notebook
from ..errors import StudentError
from ..kernel.result import RESULT_MIMETYPE, CheckResult

#: The file whose presence marks a folder holding the assignment's data files.
DATA_MARKER = "model_weights.h5"


class NotGradable(StudentError):
    """The file cannot be graded at all (not a notebook, unknown name...): the student's message."""


@dataclass
class NotebookGrade:
    """The verdict on one notebook: the one per-notebook result, printed by ``rnn-course
    check``, turned into ``results.json`` by Gradescope's autograder and into test items by
    the pytest plugin."""

    notebook: str
    results: list[CheckResult]
    #: Things that cost points for reasons other than an instruction (deleted cells, a dead kernel).
    problems: list[str] = field(default_factory=list)
    #: Cells (not the autograder's) that stopped with an error when run from the top.
    errors: list[str] = field(default_factory=list)
    #: The executed notebook (outputs of every cell), for reports.
    executed: nbformat.NotebookNode | None = None
    #: Why the notebook was not graded at all (missing, unreadable), or None when it was.
    not_graded: str | None = None

    @classmethod
    def nothing_graded(cls, notebook: str, why: str) -> "NotebookGrade":
        """``notebook`` could not be graded at all: every instruction failed with ``why``."""
        return cls(notebook, [CheckResult.not_graded(i, why) for i in for_notebook(notebook)],
                   not_graded=why)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.results)

    def by_instruction(self) -> dict[str, CheckResult]:
        return {r.instruction: r for r in self.results}


def read_notebook(path: Path) -> nbformat.NotebookNode:
    try:
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise NotGradable(f"{path} does not exist.") from None
    except Exception as exc:  # JSON errors, schema errors, binary files
        raise NotGradable(f"{path.name} is not a readable Jupyter notebook "
                          f"({type(exc).__name__}: {exc}). Was it saved from Jupyter?") from None


def notebook_name(path: Path) -> str:
    """The released notebook ``path`` is (without ``.ipynb``): its own name, or the name a
    browser or an LMS renamed it from (``exploding_gradients (1).ipynb``; the one rule,
    :func:`graders.grading.names.released_name`)."""
    from .names import released_name

    name = released_name(Path(path).name, [f"{n}.ipynb" for n in NOTEBOOKS])
    if name is None:
        expected = ", ".join(f"{n}.ipynb" for n in NOTEBOOKS)
        raise NotGradable(f"{Path(path).name} is not a notebook of this assignment: the graded "
                          f"notebooks are {expected}. Keep the released file name.")
    return name[:-len(".ipynb")]


def renamed_note(path: Path, name: str) -> list[str]:
    """The note for a file graded under its released name (none when it has that name)."""
    if Path(path).name == f"{name}.ipynb":
        return []
    return [f"{Path(path).name} was graded as {name}.ipynb (its released name): submit it "
            f"as {name}.ipynb."]


def prepare(nb: nbformat.NotebookNode, instructions: list[Instruction]) -> list[str]:
    """Fill the test cells with the hidden test code and clear every output, in place (as
    nbgrader's ClearOutput does: a saved output must never pass for a verdict, e.g. in a
    notebook whose kernel dies before its test cells run); return the problems found."""
    wanted = {i.test_cell: i for i in instructions}
    seen = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        instruction = wanted.get(grade_id(cell))
        if instruction is not None and cell.cell_type == "code":
            cell.source = instruction.test_cell_source()
            seen.add(instruction.test_cell)
    return [f"The autograder cell of '{i.title}' was deleted from the notebook: this "
            f"instruction cannot be graded. Start again from a fresh copy of the released "
            f"notebook and paste your code into it." for i in instructions
            if i.test_cell not in seen]


def published_result(cell) -> CheckResult | None:
    """The verdict a test cell published (see ``graders.kernel.notebook.run_check``), if any."""
    for output in cell.get("outputs", []):
        payload = output.get("data", {}).get(RESULT_MIMETYPE)
        if payload is not None:
            try:
                return CheckResult.from_dict(json.loads(payload) if isinstance(payload, str)
                                             else dict(payload))
            except (TypeError, ValueError):  # not what run_check publishes: no verdict
                return None
    return None


def _error_text(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return None


def data_folder(path: Path, *, course: str | Path | None = None) -> Path:
    """The folder of the data files the notebook at ``path`` needs: its own folder when it holds
    them (a student's unzipped bundle), else the released copy of the assignment in ``course``
    (default: the current folder, when it is a course folder)."""
    if (path.parent / DATA_MARKER).is_file():
        return path.parent
    from . import coursedir as cdir

    try:
        folder = cdir.assignment_folder(cdir.load_config(cdir.find_course(course)), "release",
                                        ASSIGNMENT)
    except cdir.CourseError:
        folder = None
    if folder is not None and (folder / DATA_MARKER).is_file():
        return folder
    raise NotGradable(f"{path.name}'s folder has no {DATA_MARKER} (the assignment's data "
                      f"files): check the notebook in the assignment's folder, beside its data "
                      f"files, or run the check in the course folder after releasing it.")


def assignment_files(source: Path) -> list[Path]:
    """The non-notebook files a notebook needs beside it (data, weights, history)."""
    return [p for p in sorted(source.iterdir()) if p.is_file() and p.suffix != ".ipynb"]


def collect(nb: nbformat.NotebookNode, instructions: list[Instruction]) -> tuple[list, list]:
    """The verdict of every instruction from a judged notebook (ours or nbgrader's): the
    judge's verdict each test cell shows (:func:`graders.grading.judging.judge_notebook`)."""
    by_cell = {grade_id(c): c for c in nb.cells}
    results, problems = [], []
    for instruction in instructions:
        cell = by_cell.get(instruction.test_cell)
        result = published_result(cell) if cell is not None else None
        if result is None:
            why = (_error_text(cell) if cell is not None else None) or "it did not run"
            if cell is not None:
                problems.append(f"'{instruction.title}' was not graded: {why}.")
            result = CheckResult.not_graded(instruction, f"Not graded: {why}.")
        results.append(result)
    return results, problems


def grade_notebook(path: str | Path, *, files_from: str | Path | None = None,
                   timeout: int = 600, sandboxed: bool = True,
                   user: str | None = None) -> NotebookGrade:
    """Run and grade one notebook file; never modifies it.

    ``files_from`` is the folder whose data files are copied beside the notebook (default: the
    notebook's own folder if it has them, else the committed release). ``sandboxed=False``
    runs the student's own code in a plain local kernel with the capture extension: as this
    process's user (a student checking their own work on a machine without bubblewrap), or,
    given ``user`` (the grader is root: Gradescope without bubblewrap), as that unprivileged
    user (:mod:`graders.grading.unprivileged`), every process of which is killed once the
    notebook ran, before it is judged. nbgrader's grading always uses the sandbox.
    """
    from nbclient import NotebookClient

    from . import sandbox, unprivileged

    if sandboxed and user is not None:
        raise ValueError("user= is for the kernel without the sandbox (sandboxed=False)")
    path = Path(path)
    name = notebook_name(path)
    nb = read_notebook(path)
    instructions = for_notebook(name)
    problems = renamed_note(path, name) + gradable.problems(nb, instructions)
    problems += prepare(nb, instructions)

    if files_from is None:
        files_from = data_folder(path)
    from ..judge import CourseFiles
    from ..judge import probe as probes
    from .judging import judge_notebook

    with tempfile.TemporaryDirectory(prefix="rnn-course-check-") as tmp:
        work = Path(tmp)
        for f in assignment_files(Path(files_from)):
            shutil.copy(f, work / f.name)
        probe = probes.write(work)
        env = None
        if sandboxed:
            kwargs = sandbox.notebook_client_kwargs()
        elif user is not None:  # the launcher loads the extension and sets the grading mark
            kwargs = unprivileged.notebook_client_kwargs(user)
        else:  # the capture extension must be loaded before the student's first cell
            kwargs = {"kernel_name": "python3", "extra_arguments": ["--ext=graders.kernel.capture"]}
            # a plain kernel gets the grading mark the sandbox sets: a `!rnn-course check` cell
            # in the student's notebook must not grade the notebook again, recursively
            env = {**os.environ, sandbox.GRADING_ENV: "1"}
        client = NotebookClient(nb, timeout=timeout, allow_errors=True,
                                resources={"metadata": {"path": str(work)}}, **kwargs)
        # TensorFlow's start-up chatter, crash reports; read back through this very file (the
        # unprivileged kernel's user owns the folder and could put a link in its place)
        with open(work / ".kernel-stderr.log", "w+b") as log:
            if user is not None:
                unprivileged.hand_over(work, user)
            try:
                try:
                    client.execute(stderr=log, **({"env": env} if env else {}))
                finally:  # nothing of the kernel's user outlives its notebook
                    if user is not None:
                        unprivileged.kill_processes(user)
            except unprivileged.UnprivilegedError:
                raise
            except Exception as exc:  # the kernel died (memory), a cell timed out...
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                log.seek(max(0, os.fstat(log.fileno()).st_size - 65536))
                tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
                problems.append(f"The notebook stopped running: {type(exc).__name__}: {first}"
                                + (f" (kernel said: {' / '.join(tail)})" if tail else ""))
    # the judge, here in the grading process: the course's files, the probe it wrote
    kept = judge_notebook(nb, CourseFiles(files_from), probe)
    problems += [f"For the instructor's review: {line}" for line in kept["review"]]
    results, more = collect(nb, instructions)
    return NotebookGrade(name, results, problems + more, gradable.cell_errors(nb), nb)
