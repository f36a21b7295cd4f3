"""The corpus of student submissions (tests/variants.py CORPUS), graded as a class is graded.

``test_every_corpus_entry_earns_its_verdicts`` writes every entry as one student of a
temporary course and grades them all with ONE ``rnn-course grade`` on two Dask workers (the
installed command, by its path; tests/run_corpus.py does the work and prints the same table
with ``python tests/run_corpus.py``). Each instruction's points in the gradebook, the points
its test cell published and the words of its feedback must be exactly what the entry expects.
The fast tests check the corpus itself.
"""
import re

import pytest

import run_corpus
from graders.instructions import INSTRUCTIONS, for_notebook
from helpers import REPO
from variants import CORPUS, REASONS, VARIANTS


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.timeout(45 * 60)  # ~12 min on 2 idle cores; a hang fails instead of eating CI
def test_every_corpus_entry_earns_its_verdicts(tmp_path):
    log = tmp_path / "rnn-course.log"
    outcomes = run_corpus.run(CORPUS, keep=tmp_path / "course", log=log)
    assert [o.entry.name for o in outcomes] == [e.name for e in CORPUS]
    bad = [o for o in outcomes if not o.ok]
    assert not bad, (run_corpus.table(outcomes) + "\n" + run_corpus.details(outcomes)
                     + f"\n(rnn-course's output: {log})")


# -- the corpus itself (fast) ----------------------------------------------------------------
def test_corpus_is_well_formed():
    """Unique names, one notebook each, expected points all-or-nothing for its instructions."""
    assert len({e.name for e in CORPUS}) == len(CORPUS)
    assert all(v in CORPUS for v in VARIANTS)  # the sample and runner variants are corpus entries
    solution_cells = {i.solution_cell for i in INSTRUCTIONS.values()}
    for entry in CORPUS:
        ids = [i.id for i in for_notebook(entry.notebook)]
        assert sorted(entry.points) == sorted(ids), entry.name
        for iid, points in entry.points.items():
            assert points in (0, INSTRUCTIONS[iid].points), (entry.name, iid, points)
        assert set(entry.words) <= set(ids), entry.name
        assert set(entry.cells) <= solution_cells, entry.name


def test_every_entry_says_why_it_earns_what_it_earns():
    """Is each entry's verdict explained in one line (the grading policy, entry by entry)?"""
    assert sorted(REASONS) == sorted(e.name for e in CORPUS)
    for entry in CORPUS:
        assert entry.why.strip() and "\n" not in entry.why, entry.name


def test_the_readme_and_makefile_count_the_corpus_as_it_is():
    """Do the README and `make help` state the corpus's real size?"""
    for path in (REPO / "README.md", REPO / "Makefile"):
        counts = {int(n) for n in re.findall(r"corpus of (\d+)", path.read_text())}
        assert counts == {len(CORPUS)}, (path.name, counts, len(CORPUS))


def test_corpus_passes_and_fails_every_instruction():
    for instruction in INSTRUCTIONS.values():
        earned = {e.points[instruction.id] for e in CORPUS if instruction.id in e.points}
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
