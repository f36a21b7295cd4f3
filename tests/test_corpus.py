"""The corpus of student submissions (tests/variants.py CORPUS), graded by real nbgrader.

Every entry is one student in a temporary course; ONE `nbgrader autograde` grades the batch,
and each instruction's points in the gradebook, the verdict its test cell published and the
words of its feedback must be exactly what the entry expects (tests/run_corpus.py does the work).

* ``test_fast_corpus_subset`` (slow, runs in `make test`): a few entries that pass and fail
  every instruction.
* ``test_full_corpus`` (markers ``corpus`` and ``slow``): the whole corpus, skipped unless
  ``RNN_COURSE_FULL_CORPUS=1``. The same thing with a table: ``python tests/run_corpus.py``.
"""
import os

import pytest

import run_corpus
from graders.instructions import INSTRUCTIONS, for_notebook
from variants import CORPUS, FAST_CORPUS, VARIANTS

FULL = os.environ.get("RNN_COURSE_FULL_CORPUS") == "1"


def assert_batch_as_expected(tmp_path, entries):
    course = run_corpus.make_course(tmp_path / "course")
    outcomes = run_corpus.grade(course, entries)
    bad = [o for o in outcomes if not o.ok]
    assert not bad, run_corpus.table(outcomes) + "\n" + run_corpus.details(outcomes)


@pytest.mark.slow
def test_fast_corpus_subset(tmp_path):
    assert_batch_as_expected(tmp_path, FAST_CORPUS)


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.skipif(not FULL, reason="the whole corpus takes ~15 min: set RNN_COURSE_FULL_CORPUS=1 "
                                     "or run `python tests/run_corpus.py`")
def test_full_corpus(tmp_path):
    assert_batch_as_expected(tmp_path, CORPUS)


# -- the corpus itself (fast) ----------------------------------------------------------------
def test_corpus_is_well_formed():
    """Unique names, one notebook each, expected points all-or-nothing for its instructions."""
    assert len(CORPUS) >= 40
    assert len({e.name for e in CORPUS}) == len(CORPUS)
    assert all(v in CORPUS for v in VARIANTS)  # every runner variant is graded by nbgrader too
    solution_cells = {i.solution_cell for i in INSTRUCTIONS.values()}
    for entry in CORPUS:
        ids = [i.id for i in for_notebook(entry.notebook)]
        assert sorted(entry.points) == sorted(ids), entry.name
        for iid, points in entry.points.items():
            assert points in (0, INSTRUCTIONS[iid].points), (entry.name, iid, points)
        assert set(entry.words) <= set(ids), entry.name
        assert set(entry.cells) <= solution_cells, entry.name


def test_fast_subset_passes_and_fails_every_instruction():
    for instruction in INSTRUCTIONS.values():
        earned = {e.points[instruction.id] for e in FAST_CORPUS if instruction.id in e.points}
        assert earned == {0, instruction.points}, (instruction.id, earned)


def test_corpus_covers_every_way_to_lose_each_instruction():
    """Each instruction is lost on its own (the others right) and together with another."""
    for instruction in INSTRUCTIONS.values():
        others = [i.id for i in for_notebook(instruction.notebook) if i.id != instruction.id]
        entries = [e for e in CORPUS if e.notebook == instruction.notebook]
        alone = [e for e in entries if e.points[instruction.id] == 0 and e.cells.get(
            instruction.solution_cell, "").strip() not in ("", "raise NotImplementedError()")
            and all(e.points[o] == INSTRUCTIONS[o].points for o in others
                    if INSTRUCTIONS[o].solution_cell == instruction.solution_cell)]
        paired = [e for e in entries if e.points[instruction.id] == 0
                  and any(e.points[o] == 0 for o in others)]
        assert alone and paired, instruction.id
