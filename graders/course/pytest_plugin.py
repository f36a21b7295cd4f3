"""pytest graders: one pytest test per graded instruction of the notebooks given on the command line.

::

    python -m pytest --rnn-notebook exploding_gradients.ipynb --rnn-notebook vanishing_gradients.ipynb
    python -m pytest --rnn-notebook exploding_gradients.ipynb -k exploding_step1 --junitxml=out.xml

The package registers this module as the pytest plugin ``rnn_course`` (entry point group
``pytest11``), so it is loaded by every pytest run where the package is installed. Without
``--rnn-notebook`` it does nothing: it only adds its options.

With ``--rnn-notebook`` the run grades those notebooks and nothing else:

* the session collects one :class:`NotebookFile` per notebook (in place of the test files of the
  folder or of ``testpaths``, through :hook:`pytest_make_collect_report`), and each notebook one
  :class:`InstructionItem` per graded instruction (:func:`graders.instructions.for_notebook`),
  named ``<notebook path>::<instruction id>``, e.g. ``exploding_gradients.ipynb::exploding_step1``;
* a notebook is graded once per session, when its first selected item runs
  (:func:`graders.grading.runner.grade_notebook`: the notebook from the top in the sandboxed
  kernel, the hidden test code put back in its test cells); ``-k`` deselects the others;
* an item passes or fails with the student's message, and the hint for a known mistake, as its
  whole failure text (no traceback into the grader). A notebook that cannot be graded at all (no
  such file, not a readable notebook) fails each of its items with that message; a file whose
  name is none of the assignment's notebooks has a single item, ``file_name``, failing with it;
* the points are the items' ``user_properties`` (``points``, ``max_points``, ``title``), so
  ``--junitxml`` writes them as properties of each test case;
* the grader's own failures (a check that crashed, a broken installation) are pytest *errors*
  with their traceback, never a student's failure; a sandbox that cannot run here stops the run
  with a usage error before anything is graded.

Positional test paths are refused with ``--rnn-notebook`` (a second notebook must get its own
``--rnn-notebook``). Only the points of a run on trusted machines count: run in the student's
own repository (GitHub Classroom), any of this is under the student's control.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..grading.runner import NotebookGrade
    from ..instructions import Instruction

#: Option help texts, written once (shown by ``pytest --help``).
NOTEBOOK_HELP = ("grade this notebook of the RNN Architecture assignment: one test per graded "
                 "instruction (repeat for several notebooks; no other tests are collected)")
NO_SANDBOX_HELP = ("run the notebooks in a plain local python3 kernel instead of the sandbox "
                   "(only for a student's own notebooks, e.g. in their GitHub Classroom "
                   "repository; grading others' notebooks needs the sandbox)")
TIMEOUT_HELP = "seconds allowed per notebook cell (default: 600)"

#: The grade of each notebook of this session, by resolved path: a NotebookGrade, or the
#: NotGradable exception saying why it cannot be graded. Set only when --rnn-notebook is given.
GRADES = pytest.StashKey[dict]()

#: Name of the one item of a file that is none of the assignment's notebooks.
FILE_NAME_ITEM = "file_name"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rnn-course", "rnn-course: grade notebooks of the RNN Architecture "
                            "assignment")
    group.addoption("--rnn-notebook", action="append", default=[], metavar="PATH",
                    dest="rnn_notebooks", help=NOTEBOOK_HELP)
    group.addoption("--rnn-no-sandbox", action="store_true", default=False,
                    dest="rnn_no_sandbox", help=NO_SANDBOX_HELP)
    group.addoption("--rnn-timeout", type=int, default=600, metavar="SECONDS",
                    dest="rnn_timeout", help=TIMEOUT_HELP)


def _notebooks(config: pytest.Config) -> list[str]:
    return config.getoption("rnn_notebooks", default=None) or []


def pytest_configure(config: pytest.Config) -> None:
    if not _notebooks(config):
        return
    if config.args_source is pytest.Config.ArgsSource.ARGS:
        raise pytest.UsageError(
            f"--rnn-notebook runs only the instructions of the notebooks it names: give each "
            f"notebook with its own --rnn-notebook, and no test paths (got: "
            f"{' '.join(config.args)}).")
    if not config.getoption("rnn_no_sandbox"):
        _require_sandbox()
    config.stash[GRADES] = {}


def _require_sandbox() -> None:
    """A sandbox that cannot start is the installation's fault: say so before grading anyone
    (grading would otherwise fail every instruction as if the student's code had)."""
    from ..grading import sandbox

    status = sandbox.probe(kernel_spec=True)
    if not status.works:
        raise pytest.UsageError(
            f"the grading sandbox cannot run here ({status.reason}): install bubblewrap and "
            f"the kernel spec (apt-get install bubblewrap; python -m graders.sandbox install), "
            f"or pass --rnn-no-sandbox to run the notebooks in a plain local kernel (a "
            f"student's own notebooks only).")


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if not _notebooks(config):
        return None
    kernel = ("a plain local kernel (--rnn-no-sandbox)" if config.getoption("rnn_no_sandbox")
              else "the sandboxed kernel")
    return [f"rnn-course: grading {len(_notebooks(config))} notebook(s) in {kernel}, "
            f"{config.getoption('rnn_timeout')} s per cell"]


@pytest.hookimpl(tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport | None:
    """With --rnn-notebook, the session collects those notebooks instead of the test paths."""
    if not isinstance(collector, pytest.Session) or not _notebooks(collector.config):
        return None
    config = collector.config
    notebooks: list[NotebookFile] = []
    for given in _notebooks(config):
        path = (config.invocation_params.dir / given).resolve()
        if any(n.path == path for n in notebooks):
            continue
        try:
            path.relative_to(config.rootpath)
        except ValueError:  # outside the rootdir: the node id is the absolute path
            node = NotebookFile.from_parent(collector, path=path, nodeid=path.as_posix())
        else:
            node = NotebookFile.from_parent(collector, path=path)
        notebooks.append(node)
    return pytest.CollectReport(collector.nodeid, "passed", None, notebooks)


class NotebookFile(pytest.File):
    """One notebook given with --rnn-notebook: an item per graded instruction."""

    def collect(self):
        from ..grading.runner import NotGradable, notebook_name
        from ..instructions import for_notebook

        try:
            name = notebook_name(self.path)
        except NotGradable as exc:
            yield FileNameItem.from_parent(self, name=FILE_NAME_ITEM, message=str(exc))
            return
        for instruction in for_notebook(name):
            yield InstructionItem.from_parent(self, name=instruction.id, instruction=instruction)

    def grade(self) -> NotebookGrade | Exception:
        """The notebook's grade (or its NotGradable), graded on the first call of the session.

        Any other exception is the grader's failure: it propagates, and so does the same
        exception for the notebook's next items, without grading it again.
        """
        from ..grading.runner import NotGradable, grade_notebook

        grades = self.config.stash[GRADES]
        if self.path not in grades:
            try:  # the path as the student knows it, in the messages
                path = self.path.relative_to(self.config.invocation_params.dir)
            except ValueError:
                path = self.path
            try:
                grades[self.path] = grade_notebook(
                    path, timeout=self.config.getoption("rnn_timeout"),
                    sandboxed=not self.config.getoption("rnn_no_sandbox"))
            except Exception as exc:  # NotGradable: the student's; anything else: ours
                grades[self.path] = exc
        grade = grades[self.path]
        if isinstance(grade, Exception) and not isinstance(grade, NotGradable):
            raise grade
        return grade


def _points(value: float) -> str:
    return f"{float(value):g}"


class _StudentItem(pytest.Item):
    """An item whose failure is the student's message, shown without a traceback."""

    def repr_failure(self, excinfo, style=None):
        from ..kernel.result import InstructionFailed

        if isinstance(excinfo.value, InstructionFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)  # the grader's failure: traceback

    def _fail(self, text: str):
        from ..kernel.result import InstructionFailed

        raise InstructionFailed(text)


class InstructionItem(_StudentItem):
    """One graded instruction of one notebook: passes or fails with the check's verdict."""

    def __init__(self, *, instruction: Instruction, **kwargs):
        super().__init__(**kwargs)
        self.instruction = instruction
        self.user_properties.append(("title", instruction.title))
        self.user_properties.append(("max_points", _points(instruction.points)))
        self._grade = None

    def setup(self) -> None:
        # grading happens here, so that a failure of the grader is an error, not a failure
        self._grade = self.parent.grade()

    def runtest(self) -> None:
        grade = self._grade
        if isinstance(grade, Exception):  # NotGradable: no instruction can be graded
            self.user_properties.append(("points", _points(0)))
            self._fail(str(grade))
        result = grade.by_instruction()[self.instruction.id]
        self.user_properties.append(("points", _points(result.points)))
        if not result.passed:
            hint = result.hint_text
            self._fail(result.message + (f"\nHint: {hint}" if hint else ""))
        self.add_report_section("call", "verdict", result.message)

    def reportinfo(self):
        return self.path, None, f"{self.name}: {self.instruction.title}"


class FileNameItem(_StudentItem):
    """The one item of a file that is none of the assignment's notebooks: fails, saying so."""

    def __init__(self, *, message: str, **kwargs):
        super().__init__(**kwargs)
        self.message = message
        self.user_properties.append(("title", "the notebook's file name"))
        self.user_properties.append(("max_points", _points(0)))

    def runtest(self) -> None:
        self.user_properties.append(("points", _points(0)))
        self._fail(self.message)

    def reportinfo(self):
        return self.path, None, f"{self.name}: not a notebook of this assignment"


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    """Each graded notebook's total, and what cost points besides the instructions."""
    grades = config.stash.get(GRADES, None)
    if not grades:
        return
    tr = terminalreporter
    tr.ensure_newline()
    tr.section("rnn-course: the autograder's verdict on the notebooks as saved")
    for path, grade in grades.items():
        try:
            name = path.relative_to(config.invocation_params.dir).as_posix()
        except ValueError:
            name = path.as_posix()
        if isinstance(grade, Exception):
            tr.write_line(f"{name}: not graded: {grade}")
            continue
        tr.write_line(f"{name}: {grade.points:g}/{grade.max_points:g} points")
        if grade.problems:
            tr.write_line("  Before you submit:")
            for problem in grade.problems:
                tr.write_line(f"  ! {problem}")
        if grade.errors:
            tr.write_line("  Run from the top, these cells stopped with an error:")
            for error in grade.errors:
                tr.write_line(f"  - {error}")


# -- GitHub Classroom ------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassroomTest:
    """One "run command" test of GitHub Classroom's autograding: the points when it exits 0."""

    name: str
    command: str
    points: float


#: Classroom's setup command: the course's pinned requirements and the course package (its wheel
#: committed to the template repository beside them).
CLASSROOM_SETUP = "python -m pip install -r requirements.txt"


def classroom_tests() -> list[ClassroomTest]:
    """One Classroom test per graded instruction, in the order of the assignment.

    The commands run in the student's repository, so with ``--rnn-no-sandbox``: the sandbox
    would protect nothing there (it is the student's own code on a throwaway runner), and
    GitHub's runners cannot start it.
    """
    from ..instructions import INSTRUCTIONS

    return [ClassroomTest(f"{i.title} ({i.notebook})",
                          f"python -m pytest --rnn-notebook {i.notebook}.ipynb --rnn-no-sandbox "
                          f"-k {i.id}", float(i.points))
            for i in INSTRUCTIONS.values()]
