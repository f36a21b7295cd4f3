"""nbgrader's ``autograde``, cut in two at its ``Execute`` step, for grading on a Dask cluster.

Why
---
nbgrader grades one submission after another (nbgrader #174: "parallel autograde: not yet"),
and its SQLite gradebook is not safe for concurrent writers. The known way around it is to
grade every submission in a private course folder with a private gradebook and merge the result.
Here the cut is made where the expensive, parallel part ends:

1. **On a worker** (:func:`execution_only`): the course's own ``nbgrader autograde`` pipeline,
   run in a private course folder whose gradebook holds only the assignment's structure, up to
   and including its ``Execute`` step, then :class:`KeepExecuted` keeps each executed notebook
   (also when a later notebook of the same student fails and nbgrader removes the folder).
2. **In the course** (:func:`replaying`): the same ``nbgrader autograde`` in the real course
   folder, with the real gradebook, where :class:`ReplayExecution` takes the place of
   ``Execute`` and hands the worker's executed notebook on. Everything after ``Execute``
   (the judge, ``SaveAutoGrades``, late penalties, whatever the course adds) runs
   exactly once, here, so the scores are those of a plain serial ``nbgrader autograde``,
   manual scores set in formgrader included (nbgrader keeps them).

Steps before ``Execute`` (clearing outputs, restoring locked and hidden cells from the gradebook)
run in both places: they only transform the notebook, identically, and the replay refuses an
executed notebook whose cells are not the ones the course just prepared.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.converters.autograde import Autograde
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Unicode
from traitlets.utils.importstring import import_item

from .records import write_atomically
from ..errors import MachineryError

#: What a worker writes beside an executed notebook that could not be executed.
FAILED_SUFFIX = ".failed.txt"


class RemoteExecutionFailed(MachineryError, RuntimeError):
    """The worker could not execute this notebook; the message says why (for the summary)."""


class Autograding(Autograde):
    """nbgrader's ``Autograde``, keeping the first exception raised while preparing or
    converting a notebook (``failure``): the reason of a failure is read from the exception
    where it is raised, not from nbgrader's log ("see the above traceback")."""

    failure = None

    def init_assignment(self, assignment_id, student_id):
        try:
            return super().init_assignment(assignment_id, student_id)
        except Exception as exc:
            self.failure = self.failure or exc
            raise

    def convert_single_notebook(self, notebook_filename):
        try:
            return super().convert_single_notebook(notebook_filename)
        except Exception as exc:
            self.failure = self.failure or exc
            raise


def _notebook_name(resources) -> str:
    return resources["nbgrader"]["notebook"]


#: What a worker writes beside an executed notebook: the probe the grader gave its kernel.
PROBE_SUFFIX = ".probe.json"


class KeepExecuted(NbGraderPreprocessor):
    """Keep a copy of each notebook as ``Execute`` left it, and the probe its kernel was
    given (worker side)."""

    directory = Unicode("", help="Folder where each executed notebook is kept as "
                        "<notebook>.ipynb.").tag(config=True)

    def preprocess(self, nb, resources):
        from ..judge import probe as probes
        from .judging import RESOURCES

        name = _notebook_name(resources)
        probe = resources.get(RESOURCES, {}).get("probe")
        if probe is not None:
            write_atomically(Path(self.directory) / f"{name}{PROBE_SUFFIX}",
                             probes.to_json(probe))
        write_atomically(Path(self.directory) / f"{name}.ipynb", nbformat.writes(nb))
        return nb, resources


class ReplayExecution(NbGraderPreprocessor):
    """Stand in for ``Execute``: the notebook as a worker executed it (course side)."""

    directory = Unicode("", help="Folder holding the worker's executed notebooks of the "
                        "student being graded.").tag(config=True)

    def preprocess(self, nb, resources):
        name = _notebook_name(resources)
        path = Path(self.directory) / f"{name}.ipynb"
        if not path.is_file():
            failed = Path(self.directory) / f"{name}{FAILED_SUFFIX}"
            reason = failed.read_text(encoding="utf-8").strip() if failed.is_file() else ""
            raise RemoteExecutionFailed(reason or f"{name}.ipynb was not executed")
        executed = nbformat.read(str(path), as_version=4)
        if _cells(executed) != _cells(nb):
            raise RemoteExecutionFailed(
                f"{name}.ipynb: the executed notebook is not the one this course prepared "
                "(was the gradebook or source/ changed during grading?)")
        from ..judge import probe as probes
        from .judging import RESOURCES

        probe_file = Path(self.directory) / f"{name}{PROBE_SUFFIX}"
        ours = resources.setdefault(RESOURCES, {})
        # the probe the worker's kernel was given (the one FreshProbe just wrote here is not)
        ours["probe"] = (probes.from_json(probe_file.read_text(encoding="utf-8"))
                         if probe_file.is_file() else None)
        return executed, resources


def _cells(nb) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def configured_pipeline(config) -> list:
    """The course's ``Autograde.autograde_preprocessors`` (nbgrader's default when not set)."""
    from nbgrader.converters.autograde import Autograde

    section = config.get("Autograde", {}) if hasattr(config, "get") else {}
    if "autograde_preprocessors" in section:
        return list(section["autograde_preprocessors"])
    return list(Autograde.class_traits()["autograde_preprocessors"].default())


def _execute_index(steps: list) -> int:
    for i, step in enumerate(steps):
        cls = import_item(step) if isinstance(step, str) else step
        if isinstance(cls, type) and issubclass(cls, Execute):
            return i
    raise ValueError("the course's Autograde.autograde_preprocessors has no Execute step: "
                     "nothing to run on the workers")


def execution_only(config) -> list:
    """The worker's pipeline: the course's steps up to ``Execute``, then :class:`KeepExecuted`."""
    steps = configured_pipeline(config)
    return steps[:_execute_index(steps) + 1] + [KeepExecuted]


def replaying(config) -> list:
    """The course's pipeline with ``Execute`` replaced by :class:`ReplayExecution`."""
    steps = configured_pipeline(config)
    steps[_execute_index(steps)] = ReplayExecution
    return steps
