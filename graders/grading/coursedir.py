"""A course folder as nbgrader sees it: its configuration, gradebook and submissions.

Like nbgrader, a course is the folder holding ``nbgrader_config.py`` (the one a command runs
in, or ``--course DIR``); every verb takes it and the assignment as parameters.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"


class CourseError(Exception):
    """The course folder cannot be used as asked; the message says what to do."""


def find_course(start: str | Path | None = None) -> Path:
    """The course folder: ``start`` (default: the current folder) if it holds the config."""
    folder = Path(start or os.getcwd()).resolve()
    if not (folder / CONFIG_FILE).is_file():
        raise CourseError(f"{folder} has no {CONFIG_FILE}: run this in the course folder "
                          f"(the one nbgrader commands run in), or pass --course DIR.")
    return folder


def load_config(course: Path):
    """The configuration ``nbgrader`` would load in ``course``: Jupyter's config folders, then
    the course's ``nbgrader_config.py`` (later wins), with ``CourseDirectory.root`` defaulting
    to the course folder."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(course)]:
        if (Path(folder) / CONFIG_FILE).is_file():
            config.merge(PyFileConfigLoader(CONFIG_FILE, path=folder).load_config())
    if "root" not in config.get("CourseDirectory", {}):
        config.CourseDirectory.root = str(course)
    return config


def coursedir(config):
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=config)


def db_url(config) -> str:
    return coursedir(config).db_url


@dataclass(frozen=True)
class SubmittedFolder:
    """``submitted/<student>/<assignment>/`` of one student."""

    student: str
    path: Path

    def files(self) -> dict[str, bytes]:
        """Every file, by path relative to the folder (what travels to a worker)."""
        return {str(p.relative_to(self.path)): p.read_bytes()
                for p in sorted(self.path.rglob("*")) if p.is_file()}

    def digest(self) -> str:
        """Changes whenever a file of the submission is added, removed or edited."""
        return files_digest(self.files())


def files_digest(files: dict[str, bytes]) -> str:
    """One digest of a set of files (their relative paths and contents)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def submitted(config, assignment: str, students: list[str] | None = None) -> list[SubmittedFolder]:
    """The students who submitted ``assignment``, sorted (all, or those in ``students``)."""
    cd = coursedir(config)
    root = Path(cd.root) / cd.submitted_directory
    found = []
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or not (folder / assignment).is_dir():
                continue
            found.append(SubmittedFolder(folder.name, folder / assignment))
    if students:
        wanted = set(students)
        missing = wanted - {s.student for s in found}
        if missing:
            raise CourseError(f"no submission of {assignment} for {', '.join(sorted(missing))} "
                              f"under {root}")
        found = [s for s in found if s.student in wanted]
    return found


def source_files(config, assignment: str) -> dict[str, bytes]:
    """The assignment's files besides notebooks (data, weights), as autograde copies them."""
    from nbgrader import utils

    cd = coursedir(config)
    source = Path(cd.format_path(cd.source_directory, ".", assignment))
    if not source.is_dir():
        raise CourseError(f"{source} does not exist: is {assignment!r} the assignment's name?")
    return {os.path.relpath(f, source): Path(f).read_bytes()
            for f in sorted(utils.find_all_files(str(source), cd.ignore + ["*.ipynb"]))}
