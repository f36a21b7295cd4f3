"""``rnn-course lms roster|import|export|feedback canvas|moodle ...``: a thin layer over the
four verbs. The ``rnn-course`` parser attaches it with :func:`configure_parser` and :func:`run`;
:func:`main` runs it alone (``python -m graders.course.lms``)."""
from __future__ import annotations

import argparse
import sys

from ...grading import coursedir as cdir
from .. import verbs
from .feedback import feedback_zip
from .formats import LMSES
from .grades import export_grades
from .roster import roster
from .submissions import import_submissions


def configure_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``roster|import|export|feedback`` to ``p`` (the ``rnn-course lms`` parser)."""
    sub = p.add_subparsers(dest="lms_verb", required=True, metavar="VERB")

    def common(s, assignment_help="the assignment (default: the course's only one)"):
        s.add_argument("lms", choices=LMSES, help="which LMS wrote (or will read) the file")
        s.add_argument("--course", default=None, metavar="DIR",
                       help="the course folder, holding nbgrader_config.py (default: here)")
        s.add_argument("--assignment", default=None, help=assignment_help)

    s = sub.add_parser("roster", help="the LMS's roster file -> nbgrader students (Canvas: "
                       "the gradebook export; Moodle: the assignment's grading worksheet)")
    common(s, "Moodle: the assignment the worksheet belongs to (default: the course's only one)")
    s.add_argument("path", metavar="CSV")
    s.set_defaults(lms_func=_cmd_roster)

    s = sub.add_parser("import", help="the LMS's download-all-submissions zip -> submitted/")
    common(s)
    s.add_argument("zip_path", metavar="ZIP")
    s.add_argument("--timezone", default=None, metavar="ZONE",
                   help="IANA zone of the LMS server for zip times without a zone "
                        "(default: this machine's)")
    s.set_defaults(lms_func=_cmd_import)

    s = sub.add_parser("export", help="the grades as the LMS imports them (Canvas: gradebook "
                       "CSV; Moodle: the grading worksheet filled in)")
    common(s)
    s.add_argument("--to", default=None, metavar="FILE",
                   help="file to write (default: <lms>_grades.csv)")
    s.add_argument("--points-possible", type=float, default=None, metavar="N",
                   help="scale of the LMS item (default: the LMS's own, else the "
                        "assignment's points)")
    s.add_argument("--title", default=None, help="Canvas: the assignment column's title")
    s.add_argument("--lms-assignment-id", default=None, metavar="ID",
                   help="Canvas: the assignment's id (the number in its column title)")
    s.add_argument("--confirm", action="append", default=[], metavar="STUDENT",
                   help="you checked this student's flagged submission: leave it off the "
                        "review list (its score is exported either way); repeat for several")
    s.set_defaults(lms_func=_cmd_export)

    s = sub.add_parser("feedback", help="the feedback pages in the zip the LMS attaches to "
                       "each student (Canvas: Re-Upload Submissions; Moodle: feedback files)")
    common(s)
    s.add_argument("--to", default=None, metavar="FILE",
                   help="zip to write (default: <lms>_feedback.zip)")
    s.set_defaults(lms_func=_cmd_feedback)
    return p


def _print(report) -> int:
    print("\n".join(report.lines()))
    return 0


def _cmd_roster(args) -> int:
    return _print(roster(course=cdir.find_course(args.course), lms=args.lms, path=args.path,
                         assignment=args.assignment))


def _cmd_import(args) -> int:
    return _print(import_submissions(course=cdir.find_course(args.course), lms=args.lms,
                                     assignment=args.assignment, zip_path=args.zip_path,
                                     timezone=args.timezone))


def _cmd_export(args) -> int:
    return _print(export_grades(
        course=cdir.find_course(args.course), lms=args.lms, assignment=args.assignment,
        to=args.to or f"{args.lms}_grades.csv", points_possible=args.points_possible,
        title=args.title, lms_assignment_id=args.lms_assignment_id, confirm=args.confirm))


def _cmd_feedback(args) -> int:
    return _print(feedback_zip(course=cdir.find_course(args.course), lms=args.lms,
                               assignment=args.assignment,
                               to=args.to or f"{args.lms}_feedback.zip"))


def run(args: argparse.Namespace) -> int:
    """Run parsed ``rnn-course lms`` arguments; errors become a message and exit code 2."""
    try:
        return args.lms_func(args)
    except (cdir.CourseError, verbs.VerbError) as exc:
        print(f"rnn-course lms {args.lms_verb}: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """``rnn-course lms VERB canvas|moodle ...`` (also ``python -m graders.course.lms``)."""
    parser = configure_parser(argparse.ArgumentParser(
        prog="rnn-course lms", description="Course delivery through Canvas or Moodle: roster "
        "and submissions in, grades and feedback out, in the LMS's own files."))
    return run(parser.parse_args(argv))

