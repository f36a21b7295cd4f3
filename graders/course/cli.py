"""``rnn-course``: the instructor's and the student's verbs, a thin layer over
:mod:`graders.course.verbs` (one Python function per verb).

Instructor verbs act on a course folder (the one holding ``nbgrader_config.py``: the current
folder, or ``--course DIR``) and an assignment (``--assignment``, default: the course's only
one). The terminal shows progress and a summary; nbgrader's and the kernels' full logs go to
files under ``grading/<assignment>/`` that the summary names.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import CourseError, MachineryError
from ..grading.settings import help_of
from . import verbs

DESCRIPTION = """\
The auto-graded "RNN Architecture" assignment (exploding and vanishing gradients).

Instructors, in the course folder:  release -> (submissions in submitted/) -> grade -> feedback -> export
Students:                           check NOTEBOOK   (grade your own notebook before submitting)
Everything at once on the sample class:  demo
"""


# ----------------------------------------------------------------------------- progress
class Progress:
    """A progress bar (done/total, failures so far, ETA) on a terminal; a line per
    submission elsewhere (CI logs, a file)."""

    def __init__(self, stream=None):
        from rich.console import Console

        self.console = Console(file=stream or sys.stdout, highlight=False)
        self.bar = None
        self.failed = 0
        self.done = 0
        self.total = 0

    def __call__(self, event: str, **info) -> None:
        if event == "start":
            self.total = info["total"]
            skipped = info.get("skipped", 0)
            self.console.print(f"{self.total} submissions to grade"
                               + (f", {skipped} already graded with the same files (--force "
                                  f"grades them again)" if skipped else ""))
            if self.total and self.console.is_terminal:
                from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar,
                                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)

                self.bar = Bar(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                               TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                               TextColumn("ETA"), TimeRemainingColumn(), console=self.console,
                               transient=True)
                self.bar.start()
                self.task = self.bar.add_task("grading", total=self.total, failed=0)
            return
        self.done += 1
        if event == "done":
            record = info["record"]
            if record.outcome != "graded":
                self.failed += record.outcome == "failed"
            line = (f"[{self.done}/{self.total}] {record.student}: {record.outcome}"
                    + (f" {record.score:g}/{record.max_score:g}" if record.score is not None else "")
                    + (f" in {record.seconds:.0f} s" if record.seconds else "")
                    + (f" ({record.reason})" if record.reason else "")
                    + "".join(f"\n    ! {problem}" for problem in record.problems
                              if record.outcome != "failed"))
        else:
            self.failed += 1
            line = f"[{self.done}/{self.total}] {info['student']}: not graded ({info['reason']})"
        if self.bar is not None:
            self.bar.update(self.task, advance=1, failed=self.failed)
            if self.done >= self.total:
                self.close()
        else:
            self.console.print(line, markup=False)

    def close(self):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


# ----------------------------------------------------------------------------- verbs
def _course(args) -> Path:
    return verbs.cdir.find_course(args.course)


def _assignment(args) -> str:
    return verbs.assignment_of(_course(args), args.assignment)


def cmd_release(args) -> int:
    folder = verbs.release(course=_course(args), assignment=_assignment(args))
    print(f"released: {folder}")
    return 0


def _print_run(run) -> int:
    print()
    print(run.summary_text.rstrip())
    if run.errors:
        print("\nNot graded because the grading machinery failed (run `rnn-course grade` "
              "again to retry them):")
        for student, reason in run.errors.items():
            print(f"  {student}: {reason}")
    if run.interrupted:
        print(f"\nInterrupted: {len(run.graded)} graded in this run. Run the same command "
              f"again to grade the rest.")
    return run.exit_code


def cmd_grade(args) -> int:
    progress = Progress()
    try:
        run = verbs.grade(course=_course(args), assignment=_assignment(args),
                          students=args.student or None, workers=args.workers,
                          scheduler=args.scheduler, force=args.force, rejudge=args.rejudge,
                          progress=progress)
    finally:
        progress.close()
    return _print_run(run)


def cmd_feedback(args) -> int:
    pages = verbs.feedback(course=_course(args), assignment=_assignment(args),
                           student=args.student)
    print(f"feedback: {len(pages)} pages under {_course(args) / 'feedback'}")
    return 0 if pages else 1


def cmd_export(args) -> int:
    path = verbs.export(course=_course(args), to=args.to)
    print(f"grades: {path}")
    return 0


def cmd_summary(args) -> int:
    text, paths = verbs.class_summary(course=_course(args), assignment=_assignment(args))
    print(text.rstrip())
    return 0


#: The one line `rnn-course check` prints about the kernel it runs the notebooks in.
KERNEL_SANDBOX = "Kernel: the bubblewrap sandbox ({reason}; {spec})."
KERNEL_PLAIN = ("Kernel: a plain local kernel, because the sandbox can't run here ({reason}). "
                "Same checks, same verdict.")
KERNEL_ASKED = "Kernel: a plain local kernel (--no-sandbox). Same checks, same verdict."


def choose_kernel(no_sandbox: bool = False) -> bool:
    """Which kernel `rnn-course check` runs notebooks in (True: the sandbox), said in one line.

    The sandbox where it really runs (:func:`graders.grading.sandbox.probe` starts a process
    in it; ``RNN_COURSE_SANDBOX=on|off`` forces the choice), with its kernel spec installed on
    first use; otherwise a plain local kernel with the same checks."""
    from ..grading import sandbox

    if no_sandbox:
        print(KERNEL_ASKED)
        return False
    status = sandbox.probe()
    if status.works:
        try:
            spec = sandbox.ensure_kernelspec()
        except (OSError, sandbox.SandboxError) as exc:
            if os.environ.get(sandbox.ENV_SANDBOX, "").strip().lower() == "on":
                raise
            status = sandbox.SandboxStatus(False, f"its kernel spec could not be installed: {exc}")
    if not status.works:
        print(KERNEL_PLAIN.format(reason=status.reason))
        return False
    print(KERNEL_SANDBOX.format(reason=status.reason, spec=spec))
    return True


def cmd_check(args) -> int:
    """A student's self-check: the autograder's verdict on one notebook, offline."""
    from ..grading.runner import NotGradable, grade_notebook
    from ..grading.sandbox import GRADING_ENV, SandboxError

    if os.environ.get(GRADING_ENV):
        print("rnn-course check: not run here: this notebook is itself being graded (a "
              "`!rnn-course check` cell would grade it again, and again). Run it in a terminal, "
              "or in a cell of another notebook.")
        return 0
    try:
        sandboxed = choose_kernel(args.no_sandbox)
    except SandboxError as exc:  # RNN_COURSE_SANDBOX=on and the sandbox does not work here
        print(f"rnn-course check: {exc}")
        return 2
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
    from .coursedata.build import main

    return main(args.build_args, course=_course(args))


def cmd_bundle(args) -> int:
    from .bundle import bundle

    print(f"student bundle: {bundle(course=_course(args), assignment=_assignment(args), to=args.to)}")
    return 0


def cmd_gradescope(args) -> int:
    from .gradescope import autograder_zip

    path = autograder_zip(course=_course(args), assignment=_assignment(args), to=args.to)
    print(f"Gradescope autograder: {path} (settings: README, section Gradescope)")
    return 0


def cmd_demo(args) -> int:
    """Release, grade the shipped sample class on Dask, feedback, export, summary."""
    progress = Progress()
    try:
        result = verbs.demo(course=_course(args), progress=progress, workers=args.workers)
    finally:
        progress.close()
    code = _print_run(result.run)
    print(f"\nFeedback (HTML, one folder per student): {_course(args) / 'feedback'}")
    print(f"Grades for the LMS (CSV): {result.grades}")
    return code


def _course_options(p: argparse.ArgumentParser, assignment: bool = True) -> None:
    p.add_argument("--course", default=None, metavar="DIR",
                   help="the course folder, holding nbgrader_config.py (default: here)")
    if assignment:
        p.add_argument("--assignment", default=None,
                       help="the assignment (default: the course's only one in source/)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rnn-course", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    s = sub.add_parser("release", help="make the student version in release/ from source/ "
                       "(nbgrader generate_assignment)")
    _course_options(s)
    s.set_defaults(func=cmd_release)

    s = sub.add_parser("grade", help="grade every submission under submitted/ in parallel on "
                       "Dask (sandboxed kernels, nbgrader autograde's scores), resumable; "
                       "prints the class summary")
    _course_options(s)
    s.add_argument("--student", action="append", metavar="ID",
                   help="grade only this student (repeat for several)")
    s.add_argument("--workers", type=int, default=None, help=help_of("workers"))
    s.add_argument("--scheduler", default=None, metavar="ADDRESS", help=help_of("scheduler"))
    s.add_argument("--force", action="store_true",
                   help="grade again submissions already graded with the same files")
    s.add_argument("--rejudge", action="store_true",
                   help="execute nothing: judge every graded submission again from the evidence "
                   "kept in grading/<assignment>/evidence/ (after a check was fixed)")
    s.set_defaults(func=cmd_grade)

    s = sub.add_parser("feedback", help="write each student's HTML feedback into feedback/: "
                       "nbgrader's page with a report on top (points, mistakes, hints, plots)")
    _course_options(s)
    s.add_argument("--student", help="only this student id")
    s.set_defaults(func=cmd_feedback)

    s = sub.add_parser("export", help="write all grades as CSV (nbgrader export)")
    _course_options(s, assignment=False)
    s.add_argument("--to", default="grades.csv", help="CSV file to write (default: grades.csv)")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("summary", help="the class summary again (outcomes, scores, pass rate "
                       "per instruction, slowest), from the gradebook; writes the PNG too")
    _course_options(s)
    s.set_defaults(func=cmd_summary)

    s = sub.add_parser("check", help="students: grade your own notebook as the autograder will, "
                       "offline, without the hidden tests")
    s.add_argument("notebooks", nargs="+", metavar="NOTEBOOK",
                   help="e.g. exploding_gradients.ipynb")
    s.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    s.add_argument("--no-sandbox", action="store_true",
                   help="run in a plain local python3 kernel instead of the sandbox (by default "
                   "the sandbox is used where it really runs: RNN_COURSE_SANDBOX=on|off forces "
                   "the choice)")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("data", help="build the data, pretrained weights and manifest "
                       "(graders.course.coursedata; `rnn-course data -- --help` for its options)")
    _course_options(s, assignment=False)
    s.add_argument("build_args", nargs=argparse.REMAINDER,
                   help="options passed to the data builder (after --)")
    s.set_defaults(func=cmd_data)

    s = sub.add_parser("bundle", help="the zip students download from the LMS: released "
                       "notebooks, data, requirements (Linux, macOS, Windows, Colab), the "
                       "self-check command, a README")
    _course_options(s)
    s.add_argument("--to", required=True, metavar="FILE.zip", help="zip file to write")
    s.set_defaults(func=cmd_bundle)

    s = sub.add_parser("gradescope", help="Gradescope's autograder zip (setup.sh, "
                       "run_autograder writing results.json with one test per instruction)")
    _course_options(s)
    s.add_argument("--to", required=True, metavar="FILE.zip", help="zip file to write")
    s.set_defaults(func=cmd_gradescope)

    from . import lms

    s = sub.add_parser("lms", help="Canvas and Moodle: roster in, submissions in (their "
                       "download zips), grades and feedback out, in each LMS's own formats")
    lms.configure_parser(s)
    s.set_defaults(func=lms.run)

    from . import lti

    s = sub.add_parser("lti", help="LTI 1.3 tool of one LMS context: roster (NRPS) in, "
                       "scores (AGS) out; keys and registration (needs rnn-course[lti])")
    lti.configure_parser(s)
    s.set_defaults(func=lti.run)

    s = sub.add_parser("demo", help="the whole pipeline on the sample class shipped in "
                       "graders/course/samples: release, grade, feedback, export, summary")
    _course_options(s, assignment=False)
    s.add_argument("--workers", type=int, default=None, help=help_of("workers"))
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if getattr(args, "build_args", None) and args.build_args[0] == "--":
        args.build_args = args.build_args[1:]
    try:
        return args.func(args)
    except CourseError as exc:  # the instructor's move (VerbError, LmsError, BuildError...)
        print(f"rnn-course {args.verb}: {exc}", file=sys.stderr)
        return 2
    except MachineryError as exc:  # the sandbox or a worker: nobody's work is at fault
        print(f"rnn-course {args.verb}: the grading machinery failed: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
