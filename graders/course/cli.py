"""``rnn-course``: the instructor's and the student's verbs for the "RNN Architecture" assignment.

Every instructor verb runs nbgrader's own app in the course folder, so ``nbgrader_config.py``
(sandboxed kernel, timeouts) applies exactly as it does to plain ``nbgrader`` commands.
"""
from __future__ import annotations

import argparse
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

from ..instructions import ASSIGNMENT

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "files" / "submissions"

DESCRIPTION = """\
The auto-graded "RNN Architecture" assignment (exploding and vanishing gradients).

Instructors, in order:  release -> (students submit into submitted/) -> grade -> feedback -> export
Students:               check NOTEBOOK   (grade your own notebook before submitting)
Everything at once on the sample submissions:  demo
"""


def _env() -> dict:
    """nbgrader runs `alembic` as a subprocess: this interpreter's bin must be on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(*args: str, course: Path = REPO) -> int:
    """Run one nbgrader app in the course folder; return its exit code."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    print("$ nbgrader " + " ".join(args), flush=True)
    return subprocess.call(cmd, cwd=course, env=_env())


def cmd_release(args) -> int:
    return nbgrader("generate_assignment", ASSIGNMENT, "--force")


def cmd_grade(args) -> int:
    extra = [f"--student={args.student}"] if args.student else []
    code = nbgrader("autograde", ASSIGNMENT, *extra, *(["--force"] if args.force else []))
    summary(Path(args.course))
    return code


def cmd_feedback(args) -> int:
    """nbgrader's HTML feedback, extended with our per-instruction report at the top."""
    extra = [f"--student={args.student}"] if args.student else []
    code = nbgrader("generate_feedback", ASSIGNMENT, "--force", *extra)
    return code or write_reports(REPO, args.student)


def write_reports(course: Path, student: str | None = None) -> int:
    from .report import write_reports as write

    paths = write(course=course, student=student)
    print(f"feedback reports: {len(paths)} written under {course / 'feedback'}")
    return 0 if paths else 1


def cmd_export(args) -> int:
    return nbgrader("export", f"--to={Path(args.to).resolve()}")


def cmd_summary(args) -> int:
    return 0 if summary(Path(args.course)) else 1


def summary(course: Path) -> bool:
    """Print every student's points per instruction from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    from ..instructions import INSTRUCTIONS

    db = course / "gradebook.db"
    if not db.exists():
        print("No gradebook yet: run `rnn-course grade` first.")
        return False
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            assignment = gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            print(f"The gradebook has no assignment {ASSIGNMENT!r}: run `rnn-course release`.")
            return False
        ids = list(INSTRUCTIONS)
        print("\n" + "student".ljust(16) + "".join(i[:18].ljust(19) for i in ids) + "total")
        for sub in sorted(assignment.submissions, key=lambda s: s.student.id):
            row = sub.student.id[:15].ljust(16)
            for instruction in INSTRUCTIONS.values():
                try:
                    grade = gb.find_grade(instruction.test_cell, instruction.notebook, ASSIGNMENT,
                                          sub.student.id)
                    row += f"{grade.score:g}/{grade.max_score:g}".ljust(19)
                except MissingEntry:
                    row += "-".ljust(19)
            row += f"{sub.score:g}/{sub.max_score:g}"
            print(row)
    return True


def cmd_check(args) -> int:
    """A student's self-check: the autograder's verdict on one notebook, offline."""
    from ..grading.runner import NotGradable, grade_notebook

    sandboxed = not args.no_sandbox
    if sandboxed and not (shutil.which("bwrap") and shutil.which("prlimit")):
        print("bubblewrap is not installed here: running your notebook in a plain local kernel "
              "(same checks, same verdict).")
        sandboxed = False
    code = 0
    for path in args.notebooks:
        try:
            grade = grade_notebook(path, timeout=args.timeout, sandboxed=sandboxed)
        except NotGradable as exc:
            print(f"{path}: NOT GRADABLE: {exc}")
            code = 2
            continue
        print(f"\n{path}: {grade.points:g}/{grade.max_points:g} points "
              f"(the autograder's verdict on this file as saved)")
        for result in grade.results:
            print("  " + result.summary_line())
        if grade.problems:
            print("  Before you submit:")
            for problem in grade.problems:
                print(f"  ! {problem}")
        if grade.errors:
            print("  Run from the top, these cells stopped with an error:")
            for error in grade.errors:
                print(f"  - {error}")
        if grade.points < grade.max_points:
            code = max(code, 1)
    return code


def cmd_data(args) -> int:
    build = runpy.run_path(str(REPO / "data" / "build.py"))
    return build["main"](args.build_args)


def cmd_demo(args) -> int:
    """Release, grade the shipped sample submissions, feedback, export, summary."""
    course = REPO
    if nbgrader("generate_assignment", ASSIGNMENT, "--force"):
        return 1
    submitted = course / "submitted"
    for student in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        dest = submitted / student.name / ASSIGNMENT
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(student / ASSIGNMENT, dest)
        print(f"sample submission: {student.name}")
    if nbgrader("autograde", ASSIGNMENT, "--force"):
        return 1
    if nbgrader("generate_feedback", ASSIGNMENT, "--force") or write_reports(course):
        return 1
    grades = course / "grades.csv"
    if nbgrader("export", f"--to={grades}"):
        return 1
    summary(course)
    print(f"\nFeedback (HTML, one folder per student): {course / 'feedback'}")
    print(f"Grades for the LMS (CSV): {grades}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rnn-course", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    s = sub.add_parser("release", help="make the student version in release/ from source/ "
                       "(nbgrader generate_assignment)")
    s.set_defaults(func=cmd_release)

    s = sub.add_parser("grade", help="autograde submitted/<student>/rnn_architecture/ in the "
                       "sandboxed kernel (nbgrader autograde) and print the gradebook")
    s.add_argument("--student", help="grade only this student id")
    s.add_argument("--force", action="store_true", help="grade again students already graded")
    s.add_argument("--course", default=str(REPO), help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_grade)

    s = sub.add_parser("feedback", help="write each student's HTML feedback into feedback/: "
                       "nbgrader's page with a report on top (points, mistakes, hints, plots)")
    s.add_argument("--student", help="only this student id")
    s.set_defaults(func=cmd_feedback)

    s = sub.add_parser("export", help="write all grades as CSV for the LMS (nbgrader export)")
    s.add_argument("--to", default="grades.csv", help="CSV file to write (default: grades.csv)")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("summary", help="print every student's points per instruction")
    s.add_argument("--course", default=str(REPO), help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_summary)

    s = sub.add_parser("check", help="students: grade your own notebook as the autograder will, "
                       "offline, without the hidden tests")
    s.add_argument("notebooks", nargs="+", metavar="NOTEBOOK",
                   help="e.g. exploding_gradients.ipynb")
    s.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    s.add_argument("--no-sandbox", action="store_true",
                   help="run in a plain local python3 kernel instead of the sandbox")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("data", help="build the data, pretrained weights and manifest "
                       "(data/build.py; `rnn-course data -- --help` for its options)")
    s.add_argument("build_args", nargs=argparse.REMAINDER,
                   help="options passed to data/build.py")
    s.set_defaults(func=cmd_data)

    s = sub.add_parser("demo", help="the whole pipeline on the sample submissions shipped in "
                       "tests/files/submissions: release, grade, feedback, export, summary")
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if getattr(args, "build_args", None) and args.build_args[0] == "--":
        args.build_args = args.build_args[1:]
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
