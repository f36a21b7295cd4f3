"""The command line, ``python -m graders.course.report [--course DIR] [--student ID]
[--assignment NAME]``: :func:`~.writing.write_reports`, printing each page written.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ...instructions import ASSIGNMENT
from .writing import write_reports


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m graders.course.report",
                                description="Add the grading summary to the feedback pages.")
    p.add_argument("--course", default=".", help="course folder (default: here)")
    p.add_argument("--student", help="only this student id")
    p.add_argument("--assignment", default=ASSIGNMENT)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    paths = write_reports(course=Path(args.course), assignment=args.assignment,
                          student=args.student)
    for path in paths:
        print(f"report: {path}")
    return 0 if paths else 1
