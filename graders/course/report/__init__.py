"""Feedback reports: nbgrader's feedback page, with a summary of the grading on top.

After ``nbgrader autograde`` and ``nbgrader generate_feedback``, :func:`write_reports` reads
every student's autograded notebooks and puts a summary section at the top of
``feedback/<student>/<assignment>/<notebook>.html``:

* the notebook's total, then one row per instruction: pass/fail mark, points, the message the
  check wrote for the student (what was checked, or the mistake that cost the points) and, for
  a known mistake, the hint pointing back to the chapter (:data:`graders.kernel.hints.HINTS`);
* for the vanishing-gradients notebook, the plot the student showed next to the expected one;
* anything else that cost points (a deleted autograder cell, a cell that never ran).

nbgrader's own page stays below the summary, so the student still sees their notebook with the
output of every test cell. Without nbgrader's page, a standalone page with the same summary is
written. Inserting is idempotent: running the reports again replaces the section.

One :class:`NotebookReport` per notebook (the per-notebook result of the runner,
:class:`~graders.grading.runner.NotebookGrade`, with the report's extras) is built (:func:`build_report`) and rendered once
(:func:`render_section`, from the template files in ``templates/report/``: the section, the
standalone page and the CSS; :mod:`graders.course.templating`). Points come from the gradebook
when it has them (so the summary agrees with nbgrader's page and the exported grades, manual
changes included), otherwise from the verdict the hidden test cell published
(:data:`graders.kernel.result.RESULT_MIMETYPE`).

Usage (in the course folder, after ``nbgrader generate_feedback``)::

    from graders.course.report import write_reports
    write_reports(course=Path("."))                      # every student
    write_reports(course=Path("."), student="alice")     # one student

or ``python -m graders.course.report [--course DIR] [--student ID]``.

Layout
------
One module a job:

* :mod:`.model` -- the report of one notebook as data (:class:`NotebookReport`):
  the runner's verdicts read back from the autograded notebook, with the gradebook's scores
  (:func:`build_report`).
* :mod:`.plots` -- the figures: the student's PNGs, checked and re-encoded, and the expected
  plot drawn from ``pretrain_history.json`` (:class:`Plot`).
* :mod:`.page` -- the HTML: the section and the standalone page rendered from the templates,
  the section spliced into nbgrader's page (:func:`render_section`, :func:`render_page`,
  :func:`insert_section`).
* :mod:`.writing` -- the pages on disk, for one notebook or the whole class
  (:func:`write_report`, :func:`write_reports`).
* :mod:`.cli` -- the command line (``__main__`` runs it).

Every name is defined in one of them and re-exported here: ``graders.course.report.X`` keeps
working.
"""
from __future__ import annotations

from .cli import main
from .model import NOTE, PLOT_INSTRUCTION, NotebookReport, _Scores, build_report, notes_about
from .page import (BEGIN, COURSE_TITLES, END, FOOTER_ALONE, FOOTER_WITH_PAGE, GENERATOR, _fmt,
                   _inline, insert_section, render_page, render_section)
from .plots import DEFAULT_PLOT_SIZE, HISTORY_FILE, MAX_PNG_BYTES, Plot
from .writing import write_report, write_reports

__all__ = [
    "PLOT_INSTRUCTION", "NOTE", "NotebookReport", "build_report", "notes_about",
    "HISTORY_FILE", "MAX_PNG_BYTES", "DEFAULT_PLOT_SIZE", "Plot",
    "BEGIN", "END", "GENERATOR", "COURSE_TITLES", "FOOTER_WITH_PAGE", "FOOTER_ALONE",
    "render_section", "render_page", "insert_section",
    "write_report", "write_reports", "main",
    # not for courses, but graders.course.lms.grades (Moodle's comments) and the tests use them
    "_Scores", "_fmt", "_inline",
]
