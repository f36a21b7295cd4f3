"""The instructor's summary of a batch-grading run (graders/course/summary.py).

Records are built here as the batch grader writes them, for a small class: alice (full marks),
bob (partly wrong, score dropped since last time), carol (failed: the kernel died), dave
(flagged: graded, but the plot needs a look), erin (partly wrong, score rose since last time).
Figures are drawn for real with matplotlib (Agg) and read back.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from graders.course import summary as sm

ASSIGNMENT = "rnn_architecture"
#: The six grade cells of the assignment and their points (as in graders/instructions.py).
CELLS = {
    "exploding_gradients/test_exploding_step1": 2.0,
    "exploding_gradients/test_exploding_step2": 2.0,
    "vanishing_gradients/test_vanishing_build": 1.0,
    "vanishing_gradients/test_vanishing_compile": 1.0,
    "vanishing_gradients/test_vanishing_weights": 1.0,
    "vanishing_gradients/test_vanishing_plot": 2.0,
}
KEYS = list(CELLS)
CAROL_REASON = "kernel died while running cell 'exploding_step2' (out of memory)"


def record(student, outcome="graded", *, wrong=(), reason=None, seconds=30.0, previous=None,
           version="0.2.0", manifest="ab" * 32, assignment=ASSIGNMENT,
           finished="2026-11-29T02:30:00+00:00"):
    """One student's record; ``wrong`` names the cells (by index) that got 0 points."""
    if outcome == "failed":
        cells, score = {}, None
    else:
        cells = {key: [0.0 if i in wrong else points, points]
                 for i, (key, points) in enumerate(CELLS.items())}
        score = sum(got for got, _ in cells.values())
    return {"student": student, "assignment": assignment, "outcome": outcome,
            "reason": reason, "score": score, "max_score": 9.0, "cells": cells,
            "seconds": seconds, "finished": finished, "previous_score": previous,
            "log": f"grading/{assignment}/logs/{student}.log",
            "package_version": version, "data_manifest": manifest}


def small_class():
    return [
        record("alice", seconds=31.0),                                    # 9
        record("bob", wrong=(1, 5), seconds=44.5, previous=9.0),          # 5, was 9
        record("carol", "failed", reason=CAROL_REASON, seconds=12.0),
        record("dave", "flagged", wrong=(5,), reason="plot has no legend", seconds=38.0),  # 7
        record("erin", wrong=(4,), seconds=52.0, previous=6.0),           # 8, was 6
    ]


@pytest.fixture
def records():
    return small_class()


@pytest.fixture
def summary(records):
    return sm.build_summary(records=records, assignment=ASSIGNMENT, labels=sm.instruction_labels())


def class_of(n, seed=0):
    """``n`` students with a spread of scores, a few failures (some timeouts) and flags."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        name = f"student{i:03d}"
        draw = rng.random()
        if draw < 0.05:
            out.append(record(name, "failed", reason="timeout: a cell ran over 600 s",
                              seconds=600.0))
        elif draw < 0.08:
            out.append(record(name, "flagged", wrong=(5,), reason="plot has no legend",
                              seconds=float(rng.normal(40, 8))))
        else:
            wrong = tuple(j for j in range(6) if rng.random() < [.05, .15, .1, .1, .3, .45][j])
            out.append(record(name, wrong=wrong, seconds=float(max(5, rng.normal(38, 9))),
                              previous=7.0 if rng.random() < 0.1 else None))
    return out


def read_png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(path)


def n_colours(image: np.ndarray) -> int:
    rgb = (image[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    return len(np.unique(rgb, axis=0))


def has_colour(image: np.ndarray, hex_colour: str, tolerance: int = 6) -> bool:
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    rgb = (image[..., :3] * 255).round()
    return bool((np.abs(rgb - target).max(axis=-1) <= tolerance).any())


# -- the numbers -----------------------------------------------------------------------------
def test_counts_and_scores(summary):
    """Does the summary count each outcome and compute the score statistics over the graded
    and flagged submissions only (the failed one has no score)?"""
    assert summary.assignment == ASSIGNMENT
    assert summary.n_students == 5
    assert summary.counts == {"graded": 3, "failed": 1, "flagged": 1}
    assert summary.n_scored == 4                       # alice 9, bob 5, dave 7, erin 8
    assert summary.mean == pytest.approx(7.25)
    assert summary.median == pytest.approx(7.5)
    assert (summary.min, summary.max, summary.max_score) == (5.0, 9.0, 9.0)


def test_histogram_has_one_bin_per_point(summary):
    """Does the histogram run from 0 to the maximum score with one bin per point?"""
    assert [b.label for b in summary.bins] == [str(k) for k in range(10)]
    assert {b.label: b.count for b in summary.bins if b.count} == {"5": 1, "7": 1, "8": 1, "9": 1}
    assert sum(b.count for b in summary.bins) == summary.n_scored


def test_pass_rate_per_cell(summary):
    """Is a cell passed only with full marks, counted over the scored submissions, in
    instruction order and with the instruction's title?"""
    rates = {c.key: (c.passed, c.graded, c.rate) for c in summary.cells}
    assert [c.key for c in summary.cells] == KEYS
    assert rates[KEYS[0]] == (4, 4, 1.0)
    assert rates[KEYS[1]] == (3, 4, 0.75)            # bob
    assert rates[KEYS[4]] == (3, 4, 0.75)            # erin
    assert rates[KEYS[5]] == (2, 4, 0.5)             # bob, dave
    assert summary.cells[0].label == "Step 1: train without clipping"
    assert tuple(summary.cells[0]) == (KEYS[0], "Step 1: train without clipping", 4, 4, 1.0)


def test_unlabelled_cells_and_ungraded_cells():
    """Without labels, is the key the label; is a cell without a score left out of its rate?"""
    records = [record("alice"), record("bob", wrong=(0,))]
    records[1]["cells"][KEYS[5]] = [None, 2.0]          # needs manual grading
    summary = sm.build_summary(records=records, assignment=ASSIGNMENT)
    rates = {c.label: (c.passed, c.graded) for c in summary.cells}
    assert rates[KEYS[0]] == (1, 2)
    assert rates[KEYS[5]] == (1, 1)


def test_problems_changes_and_slowest(summary):
    """Are the failed (with reason and log) and flagged students listed, the changed scores
    found, and the slowest submissions ordered slowest first?"""
    assert summary.failed == [("carol", CAROL_REASON, "grading/rnn_architecture/logs/carol.log")]
    assert summary.flagged == [("dave", "plot has no legend",
                                "grading/rnn_architecture/logs/dave.log")]
    assert summary.changed == [("bob", 9.0, 5.0), ("erin", 6.0, 8.0)]
    assert [(t.student, t.seconds) for t in summary.slowest] == [
        ("erin", 52.0), ("bob", 44.5), ("dave", 38.0), ("alice", 31.0), ("carol", 12.0)]
    assert summary.total_seconds == pytest.approx(177.5)
    assert summary.mean_seconds == pytest.approx(35.5)
    assert summary.package_versions == {"0.2.0": 5}
    assert summary.data_manifests == {"ab" * 32: 5}
    assert not summary.mixed


def test_top_five_slowest_only():
    """Does the summary keep only the five slowest, and skip submissions without a time?"""
    records = [record(f"s{i}", seconds=float(i)) for i in range(8)] + [record("x", seconds=None)]
    summary = sm.build_summary(records=records, assignment=ASSIGNMENT)
    assert [t.student for t in summary.slowest] == ["s7", "s6", "s5", "s4", "s3"]
    assert summary.n_untimed == 1
    assert summary.total_seconds == pytest.approx(28.0)


def test_unchanged_and_newly_failed():
    """Is an equal previous score not a change, and a previous score lost to a failure one?"""
    records = [record("alice", previous=9.0),
               record("bob", "failed", reason="no notebook", previous=7.0)]
    summary = sm.build_summary(records=records, assignment=ASSIGNMENT)
    assert summary.changed == [("bob", 7.0, None)]
    assert "bob 7 -> failed" in sm.render_text(summary)


def test_mixed_versions_other_assignments_and_duplicates():
    """Are mixed package versions visible, records of another assignment left out, and a
    student graded twice counted once, with the latest record?"""
    records = [record("alice", version="0.1.0", manifest="cd" * 32),
               record("bob"),
               record("bob", wrong=(0,), finished="2026-11-29T03:00:00+00:00"),
               record("zoe", assignment="other_assignment")]
    summary = sm.build_summary(records=records, assignment=ASSIGNMENT)
    assert summary.n_students == 2
    assert summary.ignored == 1
    assert summary.mixed
    assert summary.package_versions == {"0.1.0": 1, "0.2.0": 1}
    assert summary.min == 7.0                            # bob's later record
    text = sm.render_text(summary)
    assert "MIXED" in text and "0.1.0 (1)" in text and "0.2.0 (1)" in text
    assert "1 duplicate" in text and "other assignments" in text


# -- text and JSON ---------------------------------------------------------------------------
def test_text_report(summary):
    """Does the text give the headline, statistics, pass rates, the failed student's reason
    and log, the flagged one, the changes, the slowest and where the figure is?"""
    text = sm.render_text(summary, png_path="grading/rnn_architecture/summary.png")
    lines = text.splitlines()
    assert "5 submissions: 3 graded, 1 failed, 1 flagged" in lines[1]
    assert "mean 7.25, median 7.5, min 5, max 9" in text
    carol = next(line for line in lines if "carol" in line and "log" in line)
    assert CAROL_REASON in carol and "grading/rnn_architecture/logs/carol.log" in carol
    assert any("dave" in line and "plot has no legend" in line for line in lines)
    assert "bob 9 -> 5" in text and "erin 6 -> 8" in text
    assert "Slowest: erin 52 s, bob 44 s" in text
    assert any("Plot training and validation accuracy" in line and "50 %" in line
               and "2/4" in line for line in lines)
    assert lines[-1] == "Figure: grading/rnn_architecture/summary.png"
    assert "\x1b[" not in text                          # no colours


def test_json_is_serialisable(summary):
    """Does to_json give plain JSON with the same numbers, lists of objects included?"""
    data = json.loads(json.dumps(sm.to_json(summary), allow_nan=False))
    assert data["counts"] == {"graded": 3, "failed": 1, "flagged": 1}
    assert data["score"]["mean"] == pytest.approx(7.25)
    assert data["failed"] == [{"student": "carol", "reason": CAROL_REASON,
                               "log": "grading/rnn_architecture/logs/carol.log"}]
    assert data["changed"][0] == {"student": "bob", "before": 9.0, "after": 5.0}
    assert data["cells"][5]["rate"] == 0.5
    assert data["mixed"] is False


# -- the figure and the files ----------------------------------------------------------------
def test_write_summary(summary, records, tmp_path):
    """Are summary.txt, .json and .png written, the PNG a real figure of a sensible size with
    the outcome colours in it, and nothing temporary left behind?"""
    out = tmp_path / "grading" / ASSIGNMENT
    paths = sm.write_summary(summary=summary, records=records, directory=out)
    assert set(paths) == {"txt", "json", "png"}
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "summary.png", "summary.txt"]
    assert "Figure: " + str(paths["png"]) in paths["txt"].read_text()
    assert json.loads(paths["json"].read_text())["n_students"] == 5
    image = read_png(paths["png"])
    height, width = image.shape[:2]
    assert 600 <= width <= 2400 and 400 <= height <= 1800
    assert n_colours(image) > 10
    for colour in (sm._BLUE, sm._RED, sm._ORANGE, sm._GREEN):   # graded, failed, flagged, passed
        assert has_colour(image, colour), colour


def test_png_replaces_atomically(summary, records, tmp_path):
    """Does rendering again replace the existing PNG, without a temporary file left over?"""
    path = tmp_path / "summary.png"
    path.write_bytes(b"old")
    assert sm.render_png(summary, path, records=records) == path
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.png"]


@pytest.mark.parametrize("case", ["one student", "all failed", "300 students"])
def test_edge_cases_render(case, tmp_path):
    """Do one student, a class where nothing could be graded, and a class of 300 all give a
    text report and a readable figure?"""
    records = {
        "one student": [record("alice")],
        "all failed": [record(f"s{i}", "failed", reason="no notebook submitted",
                              seconds=None if i % 2 else 2.0) for i in range(4)],
        "300 students": class_of(300),
    }[case]
    summary = sm.build_summary(records=records, assignment=ASSIGNMENT,
                               labels=sm.instruction_labels())
    paths = sm.write_summary(summary=summary, records=records, directory=tmp_path)
    text = paths["txt"].read_text()
    assert len(text.splitlines()) <= 42
    image = read_png(paths["png"])
    assert image.shape[1] >= 600 and n_colours(image) > 10
    if case == "all failed":
        assert summary.n_scored == 0 and summary.mean is None
        assert "0 graded, 4 failed" in text and "no submission was graded" in text
        assert has_colour(image, sm._RED)
    if case == "300 students":
        assert summary.n_students == 300
        assert len(summary.slowest) == 5 and summary.slowest[0].seconds == 600.0
        assert "... and" in text                      # the long lists are cut
        json.dumps(sm.to_json(summary), allow_nan=False)


def test_pyplot_is_not_touched(tmp_path):
    """Is the figure drawn without importing pyplot (no global figure state)?"""
    code = ("import sys; from graders.course import summary as sm\n"
            "r = [{'student': 'a', 'assignment': 'x', 'outcome': 'graded', 'score': 1.0,"
            " 'max_score': 2.0, 'cells': {'nb/c': [1.0, 2.0]}, 'seconds': 3.0}]\n"
            f"sm.render_png(sm.build_summary(records=r, assignment='x'), {str(tmp_path / 'f.png')!r},"
            " records=r)\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1],
                            env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "f.png").stat().st_size > 1000


def test_histogram_for_a_large_maximum():
    """With a maximum of 50 points, are there ten equal bins, full marks in the last one?"""
    records = [dict(record(f"s{i}"), score=score, max_score=50.0, cells={})
               for i, score in enumerate([0.0, 12.5, 49.0, 50.0])]
    summary = sm.build_summary(records=records, assignment=ASSIGNMENT)
    assert len(summary.bins) == 10
    assert (summary.bins[0].lo, summary.bins[-1].hi) == (0.0, 50.0)
    assert [b.count for b in summary.bins] == [1, 0, 1, 0, 0, 0, 0, 0, 0, 2]
    assert "45-50 | " in sm.render_text(summary)


def test_limits_met_are_listed_with_the_log_to_open():
    """Are the kernel limits a graded submission met (MemoryError, output cut) listed, with
    the student's log, and only for those students?"""
    records = small_class()
    records[1]["limits"] = ["exploding_gradients: the 4G memory limit (MemoryError)",
                            "exploding_gradients: the 1M output limit per cell (output cut)"]
    summary = sm.build_summary(records=records, assignment=ASSIGNMENT)
    assert [p.student for p in summary.limited] == ["bob"]
    text = sm.render_text(summary)
    assert "Kernel limits met (1)" in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("bob "))
    assert "logs/bob.log" in line and "memory limit (MemoryError)" in line
    assert sm.to_json(summary)["limits"][0]["student"] == "bob"
    assert "Kernel limits met" not in sm.render_text(sm.build_summary(records=small_class(),
                                                                assignment=ASSIGNMENT))
