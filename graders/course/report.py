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

One list of :class:`Row` per notebook is built (:func:`build_report`) and rendered once
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
"""
from __future__ import annotations

import base64
import binascii
import functools
import html
import json
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup, escape

from ..grading import coursedir as cdir
from ..grading.gradable import grade_id
from ..grading.gradebook import cell_key, exists, read_scores
from ..grading.records import write_atomically
from .mathml import to_mathml
from .templating import templates
from ..instructions import ASSIGNMENT, INSTRUCTIONS, NOTEBOOKS, Instruction, for_notebook

log = logging.getLogger(__name__)

#: The instruction whose report shows the student's plot next to the expected one.
PLOT_INSTRUCTION = "vanishing_plot"
HISTORY_FILE = "pretrain_history.json"
#: Section markers: the section sits between them, right after nbgrader's ``<body>`` tag.
BEGIN = "<!-- BEGIN rnn-course report -->"
END = "<!-- END rnn-course report -->"
#: Marks a page written entirely by this module (no nbgrader page was there).
GENERATOR = "rnn-course feedback report"
COURSE_TITLES = {ASSIGNMENT: "RNN Architecture"}
#: Inline images larger than this (decoded) are not embedded.
MAX_PNG_BYTES = 5 * 1024 * 1024
#: Pixel size of the expected plot when the student showed none (matplotlib inline default).
DEFAULT_PLOT_SIZE = (556, 434)
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- the data of one report ------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One instruction as the report shows it."""

    instruction: str
    title: str
    points: float
    max_points: float
    passed: bool
    #: The check's message for the student (may quote the student's own error text).
    message: str
    #: Text of the hint (from :data:`graders.kernel.hints.HINTS`), or None.
    hint: str | None = None
    #: Why the points differ from the autograder's verdict (the gradebook was changed), or None.
    note: str | None = None


@dataclass
class Plot:
    """A PNG to embed, as clean base64 (re-encoded by us, never the notebook's raw string)."""

    png_base64: str
    width: int
    height: int


@dataclass
class NotebookReport:
    student: str
    assignment: str
    notebook: str
    rows: list[Row]
    #: Why the autograded notebook could not be read, or None.
    unreadable: str | None = None
    #: Only for the notebook of :data:`PLOT_INSTRUCTION`: (student's plots, expected plot).
    has_plot_section: bool = False
    student_plots: list[Plot] = field(default_factory=list)
    expected_plot: Plot | None = None
    expected_plot_problem: str | None = None
    #: What batch grading found about this notebook's file (it could not be graded, or was
    #: graded under its released name): the grading record's ``problems``.
    notes: list[str] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.rows)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rows if r.passed)


# -- reading the course folder ---------------------------------------------------------------
class _Scores:
    """Scores per (student, instruction) from the course's gradebook (``db_url``: SQLite or
    PostgreSQL, as ``CourseDirectory.db_url`` says), if there is one. A SQLite gradebook whose
    file does not exist is no gradebook (reading never creates one). Read once, through the one
    reader of scores (:func:`graders.grading.gradebook.read_scores`).
    """

    def __init__(self, db_url: str | None, assignment: str):
        self.assignment = assignment
        self._by_student = {}
        if db_url and exists(db_url):
            try:
                self._by_student = read_scores(db_url, assignment)
            except Exception as exc:
                log.warning("gradebook %s could not be read (%s): points are taken from the "
                            "autograded notebooks", db_url, exc)

    def get(self, student: str, instruction: Instruction) -> float | None:
        scores = self._by_student.get(student)
        value = scores.cells.get(cell_key(instruction.notebook, instruction.test_cell)) if scores else None
        return None if value is None else value[0]

    def close(self):
        pass


def _students(config, assignment: str) -> list[str]:
    """Everyone with an autograded or a submitted copy of the assignment."""
    return sorted(set(cdir.students_with(config, "autograded", assignment))
                  | set(cdir.students_with(config, "submitted", assignment)))


def _png_of(data) -> Plot | None:
    """A displayed ``image/png`` output as a Plot, or None if it is not a sane PNG."""
    if isinstance(data, list):
        data = "".join(data)
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_PNG_MAGIC) or len(raw) < 24 or len(raw) > MAX_PNG_BYTES:
        return None
    width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if not (0 < width <= 10000 and 0 < height <= 10000):
        return None
    return Plot(base64.b64encode(raw).decode("ascii"), width, height)


def _student_plots(nb, instruction: Instruction) -> list[Plot]:
    """Every PNG the solution cell of ``instruction`` displayed, in order."""
    plots = []
    for cell in nb.cells:
        if grade_id(cell) != instruction.solution_cell or cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            plot = _png_of(output.get("data", {}).get("image/png"))
            if plot is not None:
                plots.append(plot)
    return plots


def _sane_size(plot: Plot) -> bool:
    """Is the student's figure a size the expected one can be drawn at, readably?"""
    return 300 <= plot.width <= 1600 and 200 <= plot.height <= 1200 and \
        0.5 <= plot.width / plot.height <= 2.5


@functools.lru_cache(maxsize=8)
def _render_expected(history_json: str, width: int, height: int) -> Plot:
    """The expected figure: both accuracy curves of the pretraining, with a legend."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    history = json.loads(history_json)
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(history["accuracy"], label="Training accuracy")
    ax.plot(history["val_accuracy"], label="Validation accuracy")
    ax.set_title("Model accuracy")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Accuracy")
    ax.legend(loc="upper left")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return Plot(base64.b64encode(buf.getvalue()).decode("ascii"), width, height)


def _expected_plot(config, assignment: str, student_dir: Path,
                   size: tuple[int, int]) -> tuple[Plot | None, str | None]:
    for folder in (student_dir, cdir.assignment_folder(config, "source", assignment),
                   cdir.assignment_folder(config, "release", assignment)):
        path = folder / HISTORY_FILE
        if path.is_file():
            try:
                text = path.read_text()
                return _render_expected(text, *size), None
            except Exception as exc:  # a damaged copy: try the next folder
                log.warning("expected plot: %s is not usable (%s: %s)", path,
                            type(exc).__name__, exc)
    return None, f"the expected plot could not be drawn: no usable {HISTORY_FILE} was found."


def _row(result, instruction: Instruction, score: float | None) -> Row:
    hint = result.hint_text
    if result.hint and hint is None:
        log.warning("unknown hint id %r in the verdict on %s", result.hint, instruction.id)
    points, passed, note = float(result.points), bool(result.passed), None
    if score is not None and score != points:
        points, passed = score, score >= instruction.points
        note = (f"The autograder gave {float(result.points):g} points; your instructor set the "
                f"score to {score:g}.")
    return Row(instruction.id, instruction.title, points, float(instruction.points), passed,
               str(result.message), hint, note)


def _unreadable_rows(student: str, instructions: list[Instruction], scores: _Scores) -> list[Row]:
    rows = []
    for i in instructions:
        score = scores.get(student, i)
        rows.append(Row(i.id, i.title, score or 0.0, float(i.points),
                        score is not None and score >= i.points,
                        "No feedback: the graded copy of your notebook could not be read."))
    return rows


def notes_about(notebook: str, problems: list[str]) -> list[str]:
    """The problems of a grading record about ``notebook`` (its file could not be graded, or
    was graded under its released name)."""
    name = f"{notebook}.ipynb"
    return [p for p in problems if p.startswith(f"{name}:") or p.endswith(f" {name} (its "
            f"released name)") or f"another copy of {name}" in p]


def _record_problems(course: Path, assignment: str, config) -> dict[str, list[str]]:
    """Each student's grading record's problems (``grade``'s records), by student."""
    from ..grading.records import Store

    try:
        return {r.student: list(r.problems or []) for r in Store.of(course, assignment, config).all()}
    except OSError:
        return {}


def build_report(*, course: Path, student: str, notebook: str, assignment: str = ASSIGNMENT,
                 config=None, _scores: _Scores | None = None,
                 notes: list[str] | None = None) -> NotebookReport:
    """The rows and plots of one student's notebook; never raises for a bad notebook.
    ``config``: the course's (default: loaded from ``course``); ``notes``: the grading
    record's problems, of which those about this notebook are shown."""
    import nbformat

    from ..grading.runner import collect

    config = config if config is not None else cdir.load_config(Path(course))
    instructions = for_notebook(notebook)
    scores = _scores or _Scores(cdir.db_url(config), assignment)
    try:
        student_dir = cdir.student_folder(config, "autograded", student, assignment)
        path = student_dir / f"{notebook}.ipynb"
        report = NotebookReport(student, assignment, notebook, [],
                                has_plot_section=PLOT_INSTRUCTION in {i.id for i in instructions},
                                notes=notes_about(notebook, notes or []))
        try:
            if not path.is_file():
                raise FileNotFoundError(
                    f"there is no graded copy of {notebook}.ipynb (it was not submitted, not "
                    f"graded yet, or grading it failed)")
            nb = nbformat.read(str(path), as_version=4)
            # a test cell without a verdict is a row "Not graded: ..." (collect's problems
            # list says the same again, so the report does not repeat it)
            results, _ = collect(nb, instructions)
        except Exception as exc:
            reason = (str(exc) if isinstance(exc, FileNotFoundError)
                      else f"{path.name} is not a readable notebook ({type(exc).__name__}: {exc})")
            log.warning("report for %s/%s: %s", student, notebook, reason)
            report.unreadable = reason
            report.rows = _unreadable_rows(student, instructions, scores)
            nb = None
        else:
            report.rows = [_row(r, i, scores.get(student, i))
                           for r, i in zip(results, instructions)]
        if report.has_plot_section:
            plot_instruction = INSTRUCTIONS[PLOT_INSTRUCTION]
            report.student_plots = _student_plots(nb, plot_instruction) if nb is not None else []
            first = report.student_plots[0] if report.student_plots else None
            size = ((first.width, first.height) if first and _sane_size(first)
                    else DEFAULT_PLOT_SIZE)
            report.expected_plot, report.expected_plot_problem = _expected_plot(
                config, assignment, student_dir, size)
        return report
    finally:
        if _scores is None:
            scores.close()


# -- rendering -------------------------------------------------------------------------------
_CODE = re.compile(r"`([^`]+)`")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_MATH = re.compile(r"\$([^$\n]+)\$")


def _inline(text: str | None, *, rich: bool = False) -> Markup:
    """Escaped text with `code` spans; ``rich`` also renders *emphasis* and $math$ (hints)."""
    if not text:
        return Markup("")
    parts = _CODE.split(str(text))  # even: prose, odd: code
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(Markup("<code>%s</code>") % part)
            continue
        piece = str(escape(part))
        if rich:
            piece = _MATH.sub(lambda m: to_mathml(html.unescape(m[1])), piece)
            piece = _EMPHASIS.sub(r"<em>\1</em>", piece)
        out.append(piece)
    return Markup("".join(out))


def _fmt(x: float) -> str:
    return f"{x:g}"


def _humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


FOOTER_WITH_PAGE = ("Below: your notebook as the autograder ran it, with the output of every "
                    "autograder cell.")
FOOTER_ALONE = ("nbgrader's page of your notebook was not generated, so this page shows the "
                "summary only.")


def _template(name: str):
    """A template of ``templates/report/`` (the section, the page; the section includes the CSS)."""
    return templates("report", autoescape=True).get_template(name)


def render_section(report: NotebookReport, *, standalone: bool = False) -> str:
    """The summary section (between :data:`BEGIN` and :data:`END`) of one report."""
    if report.points >= report.max_points and report.max_points > 0:
        total_class = "rr-full"
    elif report.points > 0:
        total_class = "rr-part"
    else:
        total_class = "rr-none"
    body = _template("section.html.j2").render(
        r=report, fmt=_fmt, inline=_inline, total_class=total_class,
        course_title=COURSE_TITLES.get(report.assignment, report.assignment),
        title=_humanize(report.notebook),
        footer=FOOTER_ALONE if standalone else FOOTER_WITH_PAGE)
    return f"{BEGIN}\n{body}\n{END}"


def render_page(report: NotebookReport) -> str:
    """A standalone, self-contained page with the summary (when nbgrader's page is missing)."""
    return _template("page.html.j2").render(
        generator=GENERATOR, title=_humanize(report.notebook), student=report.student,
        section=Markup(render_section(report, standalone=True)))


_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_OURS = re.compile(r"\s*" + re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)


def insert_section(page: str, section: str) -> str:
    """``page`` with ``section`` right after its first ``<body>`` tag, replacing an earlier one.

    Only a section directly after the ``<body>`` tag is replaced, so nothing the student's
    outputs put further down the page can be mistaken for it.
    """
    body = _BODY.search(page)
    if body is None:
        raise ValueError("the page has no <body> tag")
    start = body.end()
    old = _OURS.match(page, start)
    end = old.end() if old else start
    return page[:start] + "\n" + section + "\n" + page[end:]


def _is_ours(page: str) -> bool:
    return f'<meta name="generator" content="{GENERATOR}">' in page[:2000]


def write_report(report: NotebookReport, *, course: Path, config=None) -> Path:
    """Put ``report`` into its feedback page (or a standalone page); return the page's path."""
    config = config if config is not None else cdir.load_config(Path(course))
    path = (cdir.student_folder(config, "feedback", report.student, report.assignment)
            / f"{report.notebook}.html")
    page = None
    if path.is_file():
        try:
            page = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("%s could not be read (%s): writing a standalone page", path, exc)
        if page is not None and (_is_ours(page) or not _BODY.search(page)):
            page = None
    if page is None:
        write_atomically(path, render_page(report))
    else:
        write_atomically(path, insert_section(page, render_section(report)))
    return path


def write_reports(*, course: Path, assignment: str = ASSIGNMENT,
                  student: str | None = None) -> list[Path]:
    """Write the report of every notebook of every student (or of ``student``).

    Reads ``autograded/<student>/<assignment>/<notebook>.ipynb`` and writes
    ``feedback/<student>/<assignment>/<notebook>.html`` (where the course's nbgrader config
    puts them): inserted at the top of nbgrader's feedback page when ``nbgrader
    generate_feedback`` wrote one, else a standalone page. Points come from the course's
    gradebook (``CourseDirectory.db_url``: SQLite or PostgreSQL) when it has them. A missing or
    unreadable notebook yields a report saying so; an unexpected failure for one notebook is
    logged and the others are still written. Returns the pages written.
    """
    course = Path(course).resolve()
    config = cdir.load_config(course)
    students = _students(config, assignment)
    if student is not None:
        if student not in students:
            log.warning("%s has no autograded or submitted %s in %s: no report written",
                        student, assignment, course)
            return []
        students = [student]
    if not students:
        log.warning("no student has an autograded or submitted %s in %s", assignment, course)
    written = []
    problems = _record_problems(course, assignment, config)
    scores = _Scores(cdir.db_url(config), assignment)
    try:
        for sid in students:
            for notebook in NOTEBOOKS:
                try:
                    report = build_report(course=course, student=sid, notebook=notebook,
                                          assignment=assignment, config=config, _scores=scores,
                                          notes=problems.get(sid))
                    written.append(write_report(report, course=course, config=config))
                except Exception:
                    log.exception("the report of %s/%s could not be written", sid, notebook)
    finally:
        scores.close()
    return written


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


if __name__ == "__main__":
    raise SystemExit(main())
