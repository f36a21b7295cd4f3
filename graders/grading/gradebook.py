"""The one door to nbgrader's gradebook: opening it, reading scores, the few writes the
course makes beside nbgrader's own, and the private gradebooks of workers.

Everything goes through nbgrader's own :class:`nbgrader.api.Gradebook` (SQLite or PostgreSQL,
whatever ``CourseDirectory.db_url`` says), so a manual score an instructor set in formgrader is
the score everyone sees: the summary, the reports, the exports. Readers check :func:`exists`
first where a missing gradebook means "nothing graded yet" (opening one creates it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: Tables that describe an assignment (what ``generate_assignment`` saved), not a student.
STRUCTURE_TABLES = ("course", "assignment", "notebook", "base_cell", "source_cell",
                    "grade_cells", "solution_cells", "task_cells")


@dataclass
class StudentScores:
    """One student's scores on one assignment, as the gradebook has them."""

    student: str
    #: Total (auto or manual, minus late penalty), None when never graded.
    score: float | None
    max_score: float
    #: ``"<notebook>/<grade cell>"`` -> (score or None, max score).
    cells: dict[str, tuple[float | None, float]] = field(default_factory=dict)


def exists(db_url: str) -> bool:
    """Is there a gradebook at ``db_url``? A SQLite URL whose file is missing is none (a
    server's database, PostgreSQL, is taken to exist: connecting says otherwise)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return True
    return bool(url.database) and url.database != ":memory:" and Path(url.database).is_file()


def open_gradebook(db_url: str):
    """nbgrader's Gradebook (to read, or to write what nbgrader's apps do not: rosters, LMS
    ids): course id "" adds no course row (nbgrader's default id would add a "default_course"
    to the instructor's gradebook as a side effect). Creates the gradebook when missing."""
    from nbgrader.api import Gradebook

    from .tools import tools_on_path

    with tools_on_path():  # a new gradebook runs `alembic` from PATH
        return Gradebook(db_url, course_id="")


def cell_key(notebook: str, cell: str) -> str:
    return f"{notebook}/{cell}"


def grade_cells(db_url: str, assignment: str) -> list[tuple[str, float]]:
    """Every graded cell of ``assignment`` as (``notebook/cell``, max score), in order."""
    with open_gradebook(db_url) as gb:
        found = gb.find_assignment(assignment)
        return [(cell_key(nb.name, cell.name), float(cell.max_score))
                for nb in found.notebooks for cell in nb.grade_cells]


def read_scores(db_url: str, assignment: str,
                students: list[str] | None = None) -> dict[str, StudentScores]:
    """Scores of ``students`` (default: all who submitted) from the gradebook."""
    out: dict[str, StudentScores] = {}
    with open_gradebook(db_url) as gb:
        found = gb.find_assignment(assignment)
        max_score = float(found.max_score)
        wanted = set(students) if students is not None else None
        for sub in found.submissions:
            sid = sub.student.id
            if wanted is not None and sid not in wanted:
                continue
            cells = {}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    cells[cell_key(nb.name, grade.name)] = (
                        None if grade.score is None else float(grade.score),
                        float(grade.max_score))
            out[sid] = StudentScores(sid, None if sub.score is None else float(sub.score),
                                     max_score, cells)
        for sid in sorted(wanted or ()):
            out.setdefault(sid, StudentScores(sid, None, max_score, {}))
    return out


def zero_auto_scores(db_url: str, assignment: str, student: str, notebooks: list[str]) -> None:
    """Automatic scores 0 for ``notebooks`` of the student's submission (a notebook that could
    not be graded), as nbgrader does for a notebook never submitted; manual scores stay."""
    from nbgrader.api import MissingEntry

    with open_gradebook(db_url) as gb:
        for name in notebooks:
            try:
                submitted = gb.find_submission_notebook(name, assignment, student)
            except MissingEntry:
                continue
            for grade in submitted.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


def notebook_names(db_url: str, assignment: str) -> list[str]:
    """The assignment's notebooks (names without ``.ipynb``), as the gradebook has them."""
    with open_gradebook(db_url) as gb:
        return [nb.name for nb in gb.find_assignment(assignment).notebooks]


def find_score(db_url: str, assignment: str, student: str, notebook: str,
               cell: str) -> float | None:
    """One cell's score (None when that cell was never graded)."""
    scores = read_scores(db_url, assignment, [student]).get(student)
    value = scores.cells.get(cell_key(notebook, cell)) if scores else None
    return None if value is None else value[0]


def structure_copy(db_url: str, dest: Path) -> Path:
    """A new SQLite gradebook at ``dest`` holding only the course's assignments and cells.

    What a worker's private ``nbgrader autograde`` needs to restore locked and hidden cells
    (no student, no score): copied row by row from the real gradebook, SQLite or PostgreSQL,
    so the worker sees exactly the cells the course grades with.
    """
    from nbgrader.api import Base
    from sqlalchemy import MetaData, Table, create_engine, inspect, text

    dest = Path(dest)
    dest.unlink(missing_ok=True)
    source = create_engine(db_url, future=True)
    target = create_engine(f"sqlite:///{dest}", future=True)
    try:
        Base.metadata.create_all(bind=target)
        tables = [t for t in Base.metadata.sorted_tables if t.name in STRUCTURE_TABLES]
        with source.connect() as src, target.begin() as dst:
            for table in tables:
                rows = [dict(r._mapping) for r in src.execute(table.select())]
                if rows:
                    dst.execute(table.insert(), rows)
            if "alembic_version" in inspect(source).get_table_names():
                version = Table("alembic_version", MetaData(), autoload_with=source)
                rows = [dict(r._mapping) for r in src.execute(version.select())]
                dst.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                for row in rows:
                    dst.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                                {"v": row["version_num"]})
    finally:
        source.dispose()
        target.dispose()
    return dest
