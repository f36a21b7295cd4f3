"""Grade the corpus of student submissions (tests/variants.py) the way an instructor grades a class.

    python tests/run_corpus.py                 # the whole corpus: one `rnn-course grade` run
    python tests/run_corpus.py --only NAME...  # some entries (names as in tests/variants.py)
    python tests/run_corpus.py --keep DIR      # grade in DIR and keep it (autograded/, gradebook.db)
    python tests/run_corpus.py --list          # the entries, what each should earn, and why
    python tests/run_corpus.py --workers N     # Dask workers (default 2, as in CI)

Run it with the course's virtualenv (`.venv/bin/python tests/run_corpus.py`).

What it does, as an instructor would: copies ``source/`` and ``nbgrader_config.py`` into a
course folder, runs ``rnn-course release``, writes every entry as one student
(``submitted/<entry>/rnn_architecture/<notebook>.ipynb``, only the notebook the entry has),
runs ONE ``rnn-course grade`` (the installed command, by its path: Dask workers, the sandboxed
kernel with one TensorFlow thread each, nbgrader's pipeline replayed into the gradebook), then
for every instruction of every entry reads

* the points the gradebook holds for the instruction's test cell, and
* the verdict the test cell published (``graders.grading.runner.collect``: points and feedback message),

and compares both with the entry's expected points and feedback words. The expectations were
recorded in this mode. It prints a table (entry, expected points per instruction, got,
PASS/FAIL, feedback excerpt), the details of every mismatch (with the entry's grading record and
its log) and the wall time, and exits 1 on any mismatch. ``tests/test_corpus.py`` runs the same
function in ``make test``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _path in (str(HERE), str(REPO)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import nbformat  # noqa: E402

from graders.instructions import ASSIGNMENT, for_notebook  # noqa: E402
from graders.grading.runner import collect  # noqa: E402
from helpers import write_submission  # noqa: E402
from variants import CORPUS, CORPUS_BY_NAME  # noqa: E402

#: The installed command, by its path (as the README runs it).
RNN_COURSE = Path(sys.executable).parent / "rnn-course"
#: Short column names of the instructions, in the order of graders.instructions.
SHORT = {"exploding_step1": "E1", "exploding_step2": "E2", "vanishing_build": "VB",
         "vanishing_compile": "VC", "vanishing_weights": "VW", "vanishing_plot": "VP"}
#: Workers of the grading run: CI's machine has 2 cores.
WORKERS = 2


def rnn_course(course: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``rnn-course ARGS --course COURSE``; its output goes to ``log`` when given (else to
    this terminal, progress bar and all)."""
    command = [str(RNN_COURSE), *args, "--course", str(course)]
    if log is None:
        result = subprocess.run(command)
    else:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode not in (0, 1):  # 1: some submission failed or was flagged
        where = f" (its output: {log})" if log else ""
        raise RuntimeError(f"rnn-course {args[0]} exited with {result.returncode}{where}")
    return result


def make_course(root: Path, log: Path | None = None) -> Path:
    """A fresh course folder (source, config) in ``root``, with the assignment released."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "source", root / "source")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    rnn_course(root, "release", "--assignment", ASSIGNMENT, log=log)
    return root


@dataclass
class Outcome:
    """What one corpus entry earned, next to what it should have."""

    entry: object  # variants.Variant
    #: instruction -> points in the gradebook (None: no grade recorded)
    gradebook: dict = field(default_factory=dict)
    #: instruction -> points the test cell published (its CheckResult)
    published: dict = field(default_factory=dict)
    #: instruction -> feedback message the test cell published
    messages: dict = field(default_factory=dict)
    #: what does not match, one sentence each
    mismatches: list = field(default_factory=list)
    #: the grading record's outcome and reason, and where the student's log is
    record: str = ""

    @property
    def ok(self) -> bool:
        return not self.mismatches


def judge(entry, gradebook: dict, nb) -> Outcome:
    """Compare one entry's gradebook points and published verdicts with its expectations."""
    instructions = for_notebook(entry.notebook)
    outcome = Outcome(entry, gradebook)
    if nb is None:
        outcome.mismatches.append(f"no autograded {entry.notebook}.ipynb")
        results, problems = [], []
    else:
        results, problems = collect(nb, instructions)
    for result in results:
        outcome.published[result.instruction] = result.points
        outcome.messages[result.instruction] = result.message
    for problem in problems:
        outcome.mismatches.append(f"problem: {problem}")
    for instruction in instructions:
        iid = instruction.id
        want, got, pub = entry.points.get(iid), gradebook.get(iid), outcome.published.get(iid)
        if got != want:
            outcome.mismatches.append(f"{iid}: expected {want:g} points, the gradebook has {got}")
        if pub != got:
            outcome.mismatches.append(f"{iid}: the gradebook has {got} points but the test cell "
                                      f"published {pub}")
        message = outcome.messages.get(iid, "")
        for word in entry.words.get(iid, []):
            if word not in message:
                outcome.mismatches.append(f"{iid}: feedback lacks {word!r}: {message!r}")
    return outcome


def grade(course: Path, entries, workers: int = WORKERS, log: Path | None = None) -> list[Outcome]:
    """Submit every entry as one student, grade the class with ONE ``rnn-course grade``,
    judge every entry from the gradebook and the autograded notebooks."""
    from graders.grading import coursedir as cdir
    from graders.grading.gradebook import cell_key, read_scores
    from graders.grading.records import Store

    for entry in entries:
        write_submission(course / "submitted" / entry.name / ASSIGNMENT, entry)
    rnn_course(course, "grade", "--assignment", ASSIGNMENT, "--workers", str(workers), log=log)
    scores = read_scores(cdir.db_url(cdir.load_config(course)), ASSIGNMENT,
                         [entry.name for entry in entries])
    store = Store(course, ASSIGNMENT)
    outcomes = []
    for entry in entries:
        cells = scores[entry.name].cells
        gradebook = {}
        for instruction in for_notebook(entry.notebook):
            score = cells.get(cell_key(entry.notebook, instruction.test_cell))
            gradebook[instruction.id] = None if score is None else score[0]
        path = course / "autograded" / entry.name / ASSIGNMENT / f"{entry.notebook}.ipynb"
        nb = nbformat.read(path, as_version=4) if path.exists() else None
        outcome = judge(entry, gradebook, nb)
        record = store.read(entry.name)
        outcome.record = ("no record (never graded)" if record is None else
                          f"{record.outcome}" + (f": {record.reason}" if record.reason else "")
                          + f"; log {course / record.log}")
        outcomes.append(outcome)
    return outcomes


def _points(points: dict, notebook: str) -> str:
    return " ".join(f"{SHORT[i.id]}={_num(points.get(i.id))}" for i in for_notebook(notebook))


def _num(x) -> str:
    return "-" if x is None else f"{x:g}"


def _excerpt(outcome: Outcome, width: int = 100) -> str:
    """The message that tells most: a mismatched instruction's, else the first failed one's."""
    instructions = [i.id for i in for_notebook(outcome.entry.notebook)]
    wrong = [i for i in instructions if outcome.gradebook.get(i) != outcome.entry.points.get(i)]
    failed = [i for i in instructions if outcome.published.get(i) == 0]
    iid = (wrong or failed or instructions)[0]
    text = " ".join(outcome.messages.get(iid, "").split())
    text = f"{SHORT[iid]}: {text}"
    return text if len(text) <= width else text[:width - 3] + "..."


def table(outcomes: list[Outcome]) -> str:
    """One row per entry: name, expected, got (gradebook), PASS/FAIL, feedback excerpt."""
    rows = [("entry", "expected", "got", "", "feedback")]
    for o in outcomes:
        rows.append((o.entry.name, _points(o.entry.points, o.entry.notebook),
                     _points(o.gradebook, o.entry.notebook), "PASS" if o.ok else "FAIL",
                     _excerpt(o)))
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    lines = ["  ".join(r[k].ljust(widths[k]) for k in range(4)) + "  " + r[4] for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def details(outcomes: list[Outcome]) -> str:
    """Every mismatch, with all the messages of the entry."""
    out = []
    for o in outcomes:
        if o.ok:
            continue
        out.append(f"\n{o.entry.name} ({o.entry.notebook}): {o.entry.why}")
        out.append(f"  graded: {o.record}")
        out += [f"  MISMATCH {m}" for m in o.mismatches]
        out += [f"  {SHORT[i]} message: {msg}" for i, msg in o.messages.items()]
    return "\n".join(out)


def run(entries, keep: Path | None = None, workers: int = WORKERS,
        log: Path | None = None) -> list[Outcome]:
    """Set up a course folder (temporary unless ``keep``), grade ``entries``, return outcomes."""
    if keep is not None:
        if keep.exists():
            shutil.rmtree(keep)
        return grade(make_course(keep, log), entries, workers, log)
    with tempfile.TemporaryDirectory(prefix="rnn-course-corpus-") as tmp:
        return grade(make_course(Path(tmp) / "course", log), entries, workers, log)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these entries")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="grade in DIR (emptied first) and keep it")
    parser.add_argument("--workers", type=int, default=WORKERS, metavar="N",
                        help=f"Dask workers of the grading run (default {WORKERS})")
    parser.add_argument("--list", action="store_true",
                        help="list the entries, what each should earn and why, and exit")
    args = parser.parse_args(argv)

    entries = CORPUS
    if args.only:
        unknown = [n for n in args.only if n not in CORPUS_BY_NAME]
        if unknown:
            parser.error(f"unknown entries: {', '.join(unknown)}")
        entries = [CORPUS_BY_NAME[n] for n in args.only]
    if args.list:
        for entry in entries:
            print(f"{entry.name:60s} {_points(entry.points, entry.notebook)}\n    {entry.why}")
        return 0

    print(f"Grading {len(entries)} submissions with one `rnn-course grade --workers "
          f"{args.workers}`...", flush=True)
    start = time.monotonic()
    outcomes = run(entries, args.keep.resolve() if args.keep else None, args.workers)
    wall = time.monotonic() - start
    print(table(outcomes))
    print(details(outcomes))
    failed = [o.entry.name for o in outcomes if not o.ok]
    print(f"\n{len(outcomes) - len(failed)}/{len(outcomes)} entries as expected; "
          f"wall time {wall:.0f} s ({wall / 60:.1f} min).")
    if failed:
        print("MISMATCH: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
