"""A course folder as nbgrader sees it: its configuration, gradebook URL and folders.

Like nbgrader, a course is the folder holding ``nbgrader_config.py`` (the one a command runs
in, or ``--course DIR``); every verb takes it and the assignment as parameters. The one door to
the course's paths: :func:`student_folder` and :func:`assignment_folder` place a folder where
nbgrader does (``CourseDirectory.format_path``: the course's ``directory_structure`` and step
folder names), :func:`students_with` lists who has one; nothing else spells ``autograded/``.
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import CourseError  # noqa: F401 - the instructor's move, raised here

CONFIG_FILE = "nbgrader_config.py"


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


#: The steps whose folders hold one copy per student, and those holding the assignment once.
STUDENT_STEPS = ("submitted", "autograded", "feedback")
ASSIGNMENT_STEPS = ("source", "release")


def _directory(cd, step: str) -> str:
    if step not in STUDENT_STEPS + ASSIGNMENT_STEPS:
        raise ValueError(f"no course step {step!r}")
    return getattr(cd, f"{step}_directory")


def student_folder(config, step: str, student: str, assignment: str) -> Path:
    """Where nbgrader keeps ``student``'s ``assignment`` at ``step`` (submitted, autograded,
    feedback): ``<root>/<step>/<student>/<assignment>`` unless the course says otherwise."""
    if step not in STUDENT_STEPS:
        raise ValueError(f"{step!r} is not a per-student step ({', '.join(STUDENT_STEPS)})")
    cd = coursedir(config)
    return Path(cd.format_path(_directory(cd, step), student, assignment))


def assignment_folder(config, step: str, assignment: str) -> Path:
    """The instructor's (``source``) or the students' (``release``) copy of ``assignment``."""
    if step not in ASSIGNMENT_STEPS:
        raise ValueError(f"{step!r} is not an assignment step ({', '.join(ASSIGNMENT_STEPS)})")
    cd = coursedir(config)
    return Path(cd.format_path(_directory(cd, step), ".", assignment))


def students_with(config, step: str, assignment: str) -> list[str]:
    """The students who have a folder of ``assignment`` at ``step``, sorted (hidden names
    skipped)."""
    cd = coursedir(config)
    pattern = cd.format_path(_directory(cd, step), "*", glob.escape(assignment))
    regex = re.compile(cd.format_path(_directory(cd, step), "(?P<student>[^/]+)",
                                      re.escape(assignment), escape=True) + "$")
    found = set()
    for path in glob.glob(pattern):
        match = regex.match(path)
        if match and os.path.isdir(path) and not match["student"].startswith("."):
            found.add(match["student"])
    return sorted(found)


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
    found = [SubmittedFolder(student, student_folder(config, "submitted", student, assignment))
             for student in students_with(config, "submitted", assignment)]
    if students:
        wanted = set(students)
        missing = wanted - {s.student for s in found}
        if missing:
            cd = coursedir(config)
            where = Path(cd.root) / cd.submitted_directory
            raise CourseError(f"no submission of {assignment} for {', '.join(sorted(missing))} "
                              f"under {where}")
        found = [s for s in found if s.student in wanted]
    return found


def source_files(config, assignment: str) -> dict[str, bytes]:
    """The assignment's files besides notebooks (data, weights), as autograde copies them."""
    from nbgrader import utils

    cd = coursedir(config)
    source = assignment_folder(config, "source", assignment)
    if not source.is_dir():
        raise CourseError(f"{source} does not exist: is {assignment!r} the assignment's name?")
    return {os.path.relpath(f, source): Path(f).read_bytes()
            for f in sorted(utils.find_all_files(str(source), cd.ignore + ["*.ipynb"]))}
