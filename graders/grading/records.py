"""What batch grading knows that nbgrader's gradebook does not: one record per submission.

Outcomes, reasons, times, the versions a submission was graded with and its files' digest are
not gradebook fields, so they live beside the grades in ``<course>/grading/<assignment>/``:

* ``records/<student>.json`` — one :class:`Record` per student, written atomically once the
  student's scores are in the gradebook (a run killed half way leaves no record, so the
  student is graded again next time);
* ``logs/<student>.log`` — the full nbgrader and kernel log of that submission;
* ``summary.txt``, ``summary.json``, ``summary.png`` — the class summary;
* ``grade.log`` — the coordinator's own log of the last run.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Outcomes of a submission. ``failed``: no submitted notebook could be graded (``reason``
#: says why; the student's own doing, not retried unless the files change or --force);
#: ``flagged``: graded, but the instructor should look (``reason``). A submission of which
#: some notebooks could be graded is ``graded`` (or ``flagged``), with the others in
#: ``problems``: they score 0.
OUTCOMES = ("graded", "failed", "flagged")


@dataclass
class Record:
    """One student's last grading of one assignment (the summary's input)."""

    student: str
    assignment: str
    #: One of :data:`OUTCOMES`.
    outcome: str
    #: Why it failed or was flagged, for the instructor; None when graded.
    reason: str | None
    #: Total from the gradebook (manual scores and late penalty included), None if none.
    score: float | None
    max_score: float
    #: ``"<notebook>/<grade cell>"`` -> [score or None, max score], from the gradebook.
    cells: dict = field(default_factory=dict)
    #: Seconds the worker spent on the submission (its notebooks' execution).
    seconds: float | None = None
    #: When the record was written (UTC, ISO 8601).
    finished: str = ""
    #: The total before this grading, when the submission had a score already.
    previous_score: float | None = None
    #: The student's log, relative to the course folder.
    log: str = ""
    #: Version of this package, and digest of the assignment's data files, used to grade.
    package_version: str = ""
    data_manifest: str = ""
    #: Digest of the submitted files (a changed submission is graded again).
    digest: str = ""
    #: Which Dask worker executed it.
    worker: str = ""
    #: Kernel limits the student's code met without being stopped ("<notebook>: the 4G
    #: memory limit (MemoryError)"); a stopped kernel fails its notebook with the reason.
    limits: list = field(default_factory=list)
    #: What went wrong per notebook while the rest was graded ("exploding_gradients.ipynb: the
    #: notebook is not valid JSON (...)": it scores 0), and files graded under their released
    #: name ("exploding_gradients (1).ipynb was graded as exploding_gradients.ipynb").
    problems: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class Store:
    """The records, logs and summary of one assignment in one course."""

    def __init__(self, course: Path, assignment: str, folder: str = "grading"):
        """``folder``: the course's ``BatchGrading.output_dir`` (:meth:`of` reads it)."""
        self.course = Path(course)
        self.assignment = assignment
        self.root = self.course / folder / assignment
        self.records_dir = self.root / "records"
        self.logs_dir = self.root / "logs"
        self.staging_dir = self.root / "staging"
        #: The run's own log (the coordinator's, and what the embedded cluster prints).
        self.run_log = self.root / "grade.log"

    @classmethod
    def of(cls, course: str | Path, assignment: str, config=None) -> "Store":
        """The store of ``assignment`` where the course's configuration puts it
        (``c.BatchGrading.output_dir``; ``config``: the course's, loaded when not given)."""
        from . import coursedir as cdir
        from .settings import BatchGrading

        config = cdir.load_config(Path(course)) if config is None else config
        return cls(course, assignment, BatchGrading(config=config).output_dir)

    def record_path(self, student: str) -> Path:
        return self.records_dir / f"{student}.json"

    def log_path(self, student: str) -> Path:
        return self.logs_dir / f"{student}.log"

    def relative(self, path: Path) -> str:
        return os.path.relpath(path, self.course)

    def read(self, student: str) -> Record | None:
        path = self.record_path(student)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Record(**{k: v for k, v in data.items() if k in Record.__dataclass_fields__})
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):  # a damaged record: grade the student again
            return None

    def all(self) -> list[Record]:
        if not self.records_dir.is_dir():
            return []
        records = [self.read(p.stem) for p in sorted(self.records_dir.glob("*.json"))]
        return [r for r in records if r is not None]

    def forget(self, student: str) -> None:
        self.record_path(student).unlink(missing_ok=True)

    def write(self, record: Record) -> Path:
        return write_atomically(self.record_path(record.student),
                                json.dumps(record.to_dict(), indent=1) + "\n")


def write_atomically(path: Path, text: str | bytes) -> Path:
    """Write ``path`` so that readers see the old or the new content, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w",
                       **({} if isinstance(text, bytes) else {"encoding": "utf-8"})) as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
