"""The instructor's summary of one batch-grading run of one assignment.

The batch grader writes one JSON record per student (see :data:`RECORD_KEYS`)::

    {"student": "alice", "assignment": "rnn_architecture",
     "outcome": "graded" | "failed" | "flagged",
     "reason": null or "text shown to the instructor",
     "score": 9.0 or null, "max_score": 9.0,
     "cells": {"exploding_gradients/test_exploding_step1": [2.0, 2.0], ...},
     "seconds": 35.2 or null, "finished": "2026-11-29T02:30:00+00:00",
     "previous_score": null or 7.0,
     "log": "grading/rnn_architecture/logs/alice.log",
     "package_version": "0.2.0", "data_manifest": "<sha256 hex>"}

*failed* means the submission could not be graded (``reason`` says why, ``log`` has the
details); *flagged* means it was graded but the instructor should look at it. ``cells`` maps
``"<notebook>/<grade cell id>"`` to ``[score or null, max_score]`` from the gradebook.

:func:`build_summary` turns the records into one :class:`Summary`, which is rendered three
ways: :func:`render_text` (a short plain-text report for the terminal), :func:`to_json` (a
JSON-serialisable dict) and :func:`render_png` (one figure: score histogram, pass rate per
instruction, time per submission). :func:`write_summary` writes all three into a folder::

    from graders.course.summary import build_summary, instruction_labels, write_summary
    summary = build_summary(records=records, assignment="rnn_architecture",
                            labels=instruction_labels())
    paths = write_summary(summary=summary, records=records, directory=Path("grading/rnn_architecture"))
    print(paths["txt"].read_text())

Everything here is a pure function of its arguments except the writers; matplotlib is imported
only when a figure is drawn, and never through ``pyplot`` (no global state is touched).
"""
from __future__ import annotations

import io
import json
import math
import os
import statistics
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

from ..grading.records import OUTCOMES, write_atomically

#: The keys of one student's record, as the batch grader writes it.
RECORD_KEYS = ("student", "assignment", "outcome", "reason", "score", "max_score", "cells",
               "seconds", "finished", "previous_score", "log", "package_version",
               "data_manifest", "problems")
#: Known outcomes, in the order they are reported (the records' own list).
#: Outcomes whose score counts in the statistics (flagged submissions were graded).
SCORED = ("graded", "flagged")
#: How many of the slowest submissions the summary keeps.
SLOWEST = 5
#: Integer maximum scores up to this get one histogram bin per point; above, :data:`N_BINS`.
POINT_BINS_UP_TO = 20
N_BINS = 10
#: File names written by :func:`write_summary`.
FILES = {"txt": "summary.txt", "json": "summary.json", "png": "summary.png"}

# How many entries of each list the text report shows (the JSON has them all).
_TEXT_FAILED = 5
_TEXT_FLAGGED = 3
_TEXT_WIDTH = 100
_TEXT_REASON = 160  # reasons are last on their line: long ones just wrap
_TEXT_BAR = 30

# Figure colours (colour-blind safe, calm): scores / pass rate / outcomes.
_BLUE = "#3b75af"
_GREY = "#e6e6e6"
_ORANGE = "#e08214"
_RED = "#c0392b"
_GREEN = "#2e8b57"
_OUTCOME_COLOURS = {"graded": _BLUE, "flagged": _ORANGE, "failed": _RED}


class Bin(NamedTuple):
    """One bar of the score histogram: scores in ``[lo, hi)`` (the last bin includes ``hi``)."""

    lo: float
    hi: float
    label: str
    count: int


class CellRate(NamedTuple):
    """How many scored submissions got full marks on one grade cell."""

    key: str        #: ``"<notebook>/<grade cell id>"``
    label: str      #: human title (the key itself when no label was given)
    passed: int     #: submissions with score == max score on this cell
    graded: int     #: scored submissions that have a score for this cell
    rate: float | None  #: ``passed / graded``, None when nothing was graded


class Problem(NamedTuple):
    """A failed or flagged submission: who, why, and where the full log is."""

    student: str
    reason: str | None
    log: str | None


class Timing(NamedTuple):
    """Wall time of grading one submission."""

    student: str
    seconds: float
    outcome: str


class Change(NamedTuple):
    """A submission whose score differs from the score it had before this run."""

    student: str
    before: float
    after: float | None  #: None when the submission failed this time


@dataclass
class Summary:
    """The numbers of one batch-grading run of one assignment (see :func:`build_summary`)."""

    #: Assignment name.
    assignment: str
    #: Number of students (one record per student; duplicates keep the latest ``finished``).
    n_students: int
    #: Submissions per outcome: always ``graded``, ``failed``, ``flagged``, plus any other seen.
    counts: dict[str, int]
    #: Submissions whose score enters the statistics (graded + flagged, with a score).
    n_scored: int
    #: Mean, median, lowest and highest score of those; None when there are none.
    mean: float | None
    median: float | None
    min: float | None
    max: float | None
    #: Maximum score of the assignment (the largest ``max_score`` of the records), None if unknown.
    max_score: float | None
    #: Score histogram from 0 to ``max_score``.
    bins: list[Bin]
    #: Pass rate per grade cell, in instruction order (``labels`` order first, then as seen).
    cells: list[CellRate]
    #: Submissions that could not be graded, with the reason and the log to open.
    failed: list[Problem]
    #: Submissions graded but flagged for the instructor's review.
    flagged: list[Problem]
    #: The :data:`SLOWEST` slowest submissions, slowest first.
    slowest: list[Timing]
    #: Submissions whose score changed since their previous grading, by student.
    changed: list[Change]
    #: Total and mean grading time over the submissions that report one (None if none): the
    #: work, summed over submissions graded side by side (not the run's wall time).
    total_seconds: float | None
    mean_seconds: float | None
    #: Submissions without a wall time.
    n_untimed: int
    #: Package versions and data manifests seen -> how many submissions were graded with each.
    package_versions: dict[str, int]
    data_manifests: dict[str, int]
    #: Records of other assignments that were passed in and left out.
    ignored: int = 0
    #: Extra notes on the input (e.g. duplicate records), shown in the text report.
    notes: list[str] = field(default_factory=list)
    #: Submissions whose kernel met a limit without being stopped (MemoryError, output or
    #: disk cap), with the limits met; a stopped kernel is in ``failed`` with its reason.
    limited: list[Problem] = field(default_factory=list)
    #: Submissions graded although a notebook could not be (it scores 0) or a file was graded
    #: under its released name: the record's ``problems``, per notebook.
    partial: list[Problem] = field(default_factory=list)
    #: Wall time of the grading run this summary follows (None: no run, e.g. ``summary``).
    wall_seconds: float | None = None

    @property
    def mixed(self) -> bool:
        """Were the submissions graded with more than one package version or data manifest?"""
        return len(self.package_versions) > 1 or len(self.data_manifests) > 1


# -- building --------------------------------------------------------------------------------
def instruction_labels() -> dict[str, str]:
    """Cell key -> instruction title for this course (``graders.instructions``)."""
    from ..instructions import INSTRUCTIONS

    return {f"{i.notebook}/{i.test_cell}": i.title for i in INSTRUCTIONS.values()}


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _select(records: Iterable[Mapping[str, Any]], assignment: str) -> tuple[list[Mapping], int, int]:
    """The records of ``assignment``, one per student (latest ``finished`` wins), in input
    order; plus how many records of other assignments and how many duplicates were dropped."""
    chosen: dict[str, Mapping] = {}
    ignored = duplicates = 0
    for record in records:
        if "student" not in record or "outcome" not in record:
            raise ValueError(f"grading record without 'student' or 'outcome': {dict(record)!r}")
        if record.get("assignment", assignment) != assignment:
            ignored += 1
            continue
        student = str(record["student"])
        if student in chosen:
            duplicates += 1
            if str(record.get("finished") or "") < str(chosen[student].get("finished") or ""):
                continue
            del chosen[student]  # re-insert: keep the order of the records that won
        chosen[student] = record
    return list(chosen.values()), ignored, duplicates


def _is_full(score: float | None, max_score: float | None) -> bool:
    return score is not None and max_score is not None and abs(score - max_score) <= 1e-9


def _num(value: float | None, digits: int = 2) -> str:
    """``9.0`` -> ``"9"``, ``7.4166`` -> ``"7.42"``, None -> ``"-"``."""
    if value is None:
        return "-"
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def _bins(scores: list[float], max_score: float | None) -> list[Bin]:
    if max_score is None or max_score <= 0:
        return []
    if abs(max_score - round(max_score)) < 1e-9 and max_score <= POINT_BINS_UP_TO:
        top = int(round(max_score))
        counts = Counter(min(top, max(0, math.floor(s + 0.5))) for s in scores)
        return [Bin(k - 0.5, k + 0.5, str(k), counts.get(k, 0)) for k in range(top + 1)]
    width = max_score / N_BINS
    counts = Counter(min(N_BINS - 1, max(0, int(s // width))) for s in scores)
    return [Bin(i * width, (i + 1) * width, f"{_num(i * width, 1)}-{_num((i + 1) * width, 1)}",
                counts.get(i, 0)) for i in range(N_BINS)]


def build_summary(*, records: Iterable[Mapping[str, Any]], assignment: str,
                  labels: Mapping[str, str] | None = None,
                  wall_seconds: float | None = None) -> Summary:
    """Summarise the per-student ``records`` of one run of ``assignment``.

    ``labels`` maps cell keys (``"<notebook>/<grade cell id>"``) to titles shown instead of
    the keys; their order is the order of the pass-rate table (see :func:`instruction_labels`).
    Records of other assignments are left out (counted in ``Summary.ignored``); a student with
    several records counts once, with the record that finished last.
    """
    labels = dict(labels or {})
    chosen, ignored, duplicates = _select(records, assignment)

    counts = {outcome: 0 for outcome in OUTCOMES}
    for record in chosen:
        counts[str(record["outcome"])] = counts.get(str(record["outcome"]), 0) + 1

    scored = [r for r in chosen if r["outcome"] in SCORED and _float(r.get("score")) is not None]
    scores = [_float(r["score"]) for r in scored]
    max_scores = [m for m in (_float(r.get("max_score")) for r in chosen) if m is not None]
    max_score = max(max_scores) if max_scores else None

    # Pass rate per cell: over scored submissions, cells with a score.
    order = list(labels)
    for record in chosen:
        order.extend(key for key in (record.get("cells") or {}) if key not in order)
    passed: Counter = Counter()
    graded: Counter = Counter()
    for record in scored:
        for key, value in (record.get("cells") or {}).items():
            score, top = (list(value) + [None, None])[:2] if value is not None else (None, None)
            score, top = _float(score), _float(top)
            if score is None:
                continue
            graded[key] += 1
            passed[key] += _is_full(score, top)
    seen_cells = {key for record in chosen for key in (record.get("cells") or {})}
    cells = [CellRate(key, labels.get(key, key), passed[key], graded[key],
                      passed[key] / graded[key] if graded[key] else None)
             for key in order if key in seen_cells or key in labels]

    def problems(outcome: str) -> list[Problem]:
        return sorted((Problem(str(r["student"]), r.get("reason"), r.get("log"))
                       for r in chosen if r["outcome"] == outcome), key=lambda p: p.student)

    timings = [Timing(str(r["student"]), _float(r.get("seconds")), str(r["outcome"]))
               for r in chosen if _float(r.get("seconds")) is not None]
    seconds = [t.seconds for t in timings]

    changed = []
    for record in chosen:
        before, after = _float(record.get("previous_score")), _float(record.get("score"))
        if before is not None and (after is None or abs(after - before) > 1e-9):
            changed.append(Change(str(record["student"]), before, after))

    notes = []
    if duplicates:
        notes.append(f"{duplicates} duplicate record(s) dropped (the latest finished one counts)")
    return Summary(
        assignment=assignment,
        n_students=len(chosen),
        counts=counts,
        n_scored=len(scores),
        mean=statistics.fmean(scores) if scores else None,
        median=float(statistics.median(scores)) if scores else None,
        min=min(scores) if scores else None,
        max=max(scores) if scores else None,
        max_score=max_score,
        bins=_bins(scores, max_score),
        cells=cells,
        failed=problems("failed"),
        flagged=problems("flagged"),
        slowest=sorted(timings, key=lambda t: (-t.seconds, t.student))[:SLOWEST],
        changed=sorted(changed, key=lambda c: c.student),
        total_seconds=math.fsum(seconds) if seconds else None,
        mean_seconds=statistics.fmean(seconds) if seconds else None,
        n_untimed=len(chosen) - len(timings),
        package_versions=dict(Counter(str(r.get("package_version")) for r in chosen
                                      if r.get("package_version") is not None).most_common()),
        data_manifests=dict(Counter(str(r.get("data_manifest")) for r in chosen
                                    if r.get("data_manifest") is not None).most_common()),
        ignored=ignored,
        notes=notes,
        limited=sorted((Problem(str(r["student"]), "; ".join(map(str, r["limits"])), r.get("log"))
                        for r in chosen if r.get("limits")), key=lambda p: p.student),
        partial=sorted((Problem(str(r["student"]), "; ".join(map(str, r["problems"])), r.get("log"))
                        for r in chosen if r.get("problems") and r["outcome"] in SCORED),
                       key=lambda p: p.student),
        wall_seconds=wall_seconds,
    )


# -- text ------------------------------------------------------------------------------------
def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 59.5:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min" if not secs else f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" if not minutes else f"{hours} h {minutes} min"


def _one_line(text: str | None, width: int) -> str:
    if not text:
        return "(no reason given)"
    return textwrap.shorten(" ".join(str(text).split()), width=width, placeholder="...")


def _headline(summary: Summary) -> str:
    parts = [f"{n} {outcome}" for outcome, n in summary.counts.items()
             if n or outcome in OUTCOMES]
    noun = "submission" if summary.n_students == 1 else "submissions"
    return f"{summary.n_students} {noun}: " + ", ".join(parts)


def _versions(counts: dict[str, int], short: int | None = None) -> str:
    if not counts:
        return "unknown"
    names = [(name[:short] if short else name) for name in counts]
    if len(counts) == 1:
        return names[0]
    return "MIXED " + ", ".join(f"{name} ({n})" for name, n in zip(names, counts.values()))


def _problem_lines(problems: list[Problem], limit: int, with_log: bool) -> list[str]:
    """``student  [log]  reason``, aligned; the reason goes last so it is never cut short."""
    shown = problems[:limit]
    name_w = max((len(p.student) for p in shown), default=0)
    log_w = max((len(p.log or "(no log)") for p in shown), default=0)
    lines = []
    for problem in shown:
        log = f"{problem.log or '(no log)':<{log_w}}  " if with_log else ""
        lines.append(f"  {problem.student:<{name_w}}  {log}{_one_line(problem.reason, _TEXT_REASON)}")
    if len(problems) > limit:
        rest = [p.student for p in problems[limit:]]
        more = textwrap.shorten(", ".join(rest), width=70, placeholder=", ...")
        lines.append(f"  ... and {len(rest)} more: {more} (all in summary.json)")
    return lines


def _change_size(change: Change) -> tuple:
    """Sort key: now failed first, then the biggest change, then by student."""
    size = math.inf if change.after is None else abs(change.after - change.before)
    return (-size, change.student)


def _fit(head: str, items: list[str], width: int = _TEXT_WIDTH) -> str:
    """``head`` and as many of ``items`` as fit in ``width``, then "... N more"."""
    line = head + ", ".join(items)
    if len(line) <= width:
        return line
    shown: list[str] = []
    for item in items:
        tail = f", ... {len(items) - len(shown) - 1} more" if len(shown) + 1 < len(items) else ""
        if len(head + ", ".join(shown + [item]) + tail) > width and shown:
            break
        shown.append(item)
    rest = len(items) - len(shown)
    return head + ", ".join(shown) + (f", ... {rest} more" if rest else "")


def _histogram_lines(bins: list[Bin]) -> list[str]:
    """One line per bin; the empty bins below the lowest score are merged into one line."""
    if not bins:
        return []
    first = next((i for i, b in enumerate(bins) if b.count), len(bins))
    rows = [(b.label, b.count) for b in bins[first:]]
    if first == 1:
        rows.insert(0, (bins[0].label, 0))
    elif first > 1:
        low = bins[0].label.split("-")[0]
        high = bins[first - 1].label.split("-")[-1]
        rows.insert(0, (f"{low}-{high}", 0))
    top = max(count for _, count in rows) or 1
    label_w = max(len(label) for label, _ in rows)
    lines = []
    for label, count in rows:
        bar = "#" * (max(1, round(_TEXT_BAR * count / top)) if count else 0)
        lines.append(f"  {label:>{label_w}} | {bar:<{_TEXT_BAR}} {count}")
    return lines


def render_text(summary: Summary, png_path: str | os.PathLike | None = None) -> str:
    """The summary as a short, aligned plain-text report for the terminal (no colours)."""
    s = summary
    out = [f"{s.assignment}: batch grading summary", _headline(s)]
    if s.ignored:
        out.append(f"({s.ignored} record(s) of other assignments left out)")
    out.extend(f"({note})" for note in s.notes)

    out.append("")
    if s.n_scored:
        out.append(f"Score out of {_num(s.max_score)} ({s.n_scored} scored): mean {_num(s.mean)}"
                   f", median {_num(s.median)}, min {_num(s.min)}, max {_num(s.max)}")
        out.extend(_histogram_lines(s.bins))
    else:
        out.append(f"Score out of {_num(s.max_score)}: no submission was graded")

    if s.cells and not any(c.graded for c in s.cells):
        out.append("Pass rate per instruction: no cell was graded")
    elif s.cells:
        out.append("")
        out.append("Pass rate per instruction (full marks on the cell)")
        label_w = min(45, max(len(c.label) for c in s.cells))
        for c in s.cells:
            label = textwrap.shorten(c.label, width=label_w, placeholder="...")
            rate = f"{c.rate * 100:3.0f} %" if c.rate is not None else "  - %"
            out.append(f"  {label:<{label_w}}  {rate}  {c.passed:>{len(str(c.graded))}}/{c.graded}")

    if s.failed:
        out.append("")
        out.append(f"Failed ({len(s.failed)}): could not be graded (student, log to open, reason)")
        out.extend(_problem_lines(s.failed, _TEXT_FAILED, with_log=True))
    if s.flagged:
        out.append("")
        out.append(f"Flagged for review ({len(s.flagged)})")
        out.extend(_problem_lines(s.flagged, _TEXT_FLAGGED, with_log=False))
    if s.partial:
        out.append("")
        out.append(f"Graded, with notes per notebook ({len(s.partial)}): a notebook that could "
                   f"not be graded scores 0, a renamed one is graded under its released name")
        out.extend(_problem_lines(s.partial, _TEXT_FAILED, with_log=True))
    if s.limited:
        out.append("")
        out.append(f"Kernel limits met ({len(s.limited)}): graded, but their code hit a limit")
        out.extend(_problem_lines(s.limited, _TEXT_FLAGGED, with_log=True))

    out.append("")
    if s.changed:
        items = [f"{c.student} {_num(c.before)} -> {_num(c.after) if c.after is not None else 'failed'}"
                 for c in sorted(s.changed, key=_change_size)]
        out.append(_fit(f"Changed scores ({len(s.changed)}, biggest first): ", items))
    else:
        out.append("Changed scores: none")
    if s.slowest:
        out.append(_fit("Slowest: ", [f"{t.student} {_duration(t.seconds)}" for t in s.slowest]))
    time = (f"Time: {_duration(s.total_seconds)} of work, {_duration(s.mean_seconds)} per "
            f"submission")
    if s.wall_seconds is not None:
        time += f"; this run took {_duration(s.wall_seconds)}"
    if s.n_untimed:
        time += f" ({s.n_untimed} without a time)"
    out.append(time)
    out.append(f"Package {_versions(s.package_versions)}, "
               f"data manifest {_versions(s.data_manifests, short=12)}")
    if png_path is not None:
        out.append(f"Figure: {png_path}")
    return "\n".join(out) + "\n"


# -- JSON ------------------------------------------------------------------------------------
def to_json(summary: Summary) -> dict[str, Any]:
    """The summary as a JSON-serialisable dict (lists of objects, not tuples)."""
    s = summary
    return {
        "assignment": s.assignment,
        "n_students": s.n_students,
        "counts": dict(s.counts),
        "score": {"n": s.n_scored, "mean": s.mean, "median": s.median, "min": s.min,
                  "max": s.max, "max_score": s.max_score},
        "histogram": [b._asdict() for b in s.bins],
        "cells": [c._asdict() for c in s.cells],
        "failed": [p._asdict() for p in s.failed],
        "flagged": [p._asdict() for p in s.flagged],
        "limits": [p._asdict() for p in s.limited],
        "problems": [p._asdict() for p in s.partial],
        "slowest": [t._asdict() for t in s.slowest],
        "changed": [c._asdict() for c in s.changed],
        "seconds": {"total": s.total_seconds, "mean": s.mean_seconds, "untimed": s.n_untimed,
                    "wall": s.wall_seconds},
        "package_versions": dict(s.package_versions),
        "data_manifests": dict(s.data_manifests),
        "mixed": s.mixed,
        "ignored": s.ignored,
        "notes": list(s.notes),
    }


# -- figure ----------------------------------------------------------------------------------
def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            color="#777777", fontsize=11)


def _plot_histogram(ax, summary: Summary) -> None:
    s = summary
    ax.set_title("Scores", loc="left", fontsize=12, fontweight="bold")
    ax.set_xlabel(f"score (out of {_num(s.max_score)})")
    ax.set_ylabel("submissions")
    top = s.max_score if s.max_score else 1.0
    if s.bins:
        centres = [(b.lo + b.hi) / 2 for b in s.bins]
        widths = [(b.hi - b.lo) * 0.85 for b in s.bins]
        counts = [b.count for b in s.bins]
        ax.bar(centres, counts, width=widths, color=_BLUE, zorder=2)
        peak = max(counts) or 1
        for x, n in zip(centres, counts):
            if n:
                ax.text(x, n + peak * 0.015, str(n), ha="center", va="bottom", fontsize=9,
                        color="#333333", zorder=4,
                        bbox=dict(facecolor="white", edgecolor="none", pad=1.0))
        ax.set_ylim(0, peak * 1.15 + 0.5)
        left, right = s.bins[0].lo, s.bins[-1].hi
        if s.bins[0].label == "0":  # one bin per point: integer ticks
            step = 1 if len(s.bins) <= 12 else 2
            ax.set_xticks(range(0, len(s.bins), step))
    else:
        left, right = 0.0, top
    ax.set_xlim(min(0.0, left), max(top, right))
    if s.n_scored:
        ax.axvline(s.mean, color="#222222", linestyle="--", linewidth=1.2, zorder=3,
                   label=f"mean {_num(s.mean)}")
        ax.axvline(s.median, color=_ORANGE, linestyle=":", linewidth=1.6, zorder=3,
                   label=f"median {_num(s.median)}")
        ax.legend(loc="best", frameon=True, framealpha=0.9, edgecolor="none", fontsize=9)
    else:
        _no_data(ax, "no graded submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)


def _plot_pass_rates(ax, summary: Summary) -> None:
    ax.set_title("Pass rate per instruction", loc="left", fontsize=12, fontweight="bold")
    cells = summary.cells
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xticklabels(["0 %", "25 %", "50 %", "75 %", "100 %"])
    ax.set_xlabel("submissions with full marks on the cell\n(green \N{GREATER-THAN OR EQUAL TO} 80 %,"
                  " orange \N{GREATER-THAN OR EQUAL TO} 50 %, red below)")
    if not cells:
        ax.set_yticks([])
        _no_data(ax, "no grade cells")
        return
    ys = list(range(len(cells)))
    rates = [(c.rate or 0.0) * 100 for c in cells]
    colours = [_GREY if c.rate is None else _GREEN if c.rate >= 0.8 else
               _ORANGE if c.rate >= 0.5 else _RED for c in cells]
    ax.barh(ys, [100] * len(cells), color="#f2f2f2", height=0.7, zorder=1)
    ax.barh(ys, rates, color=colours, height=0.7, zorder=2)
    for y, c, rate in zip(ys, cells, rates):
        text = "not graded" if c.rate is None else f"{rate:.0f} %   {c.passed}/{c.graded}"
        inside = rate > 55
        ax.text(rate - 1.5 if inside else rate + 1.5, y, text, va="center",
                ha="right" if inside else "left", fontsize=9,
                color="white" if inside else "#333333", zorder=3)
    ax.set_yticks(ys)
    ax.set_yticklabels([textwrap.fill(c.label, 34) for c in cells],
                       fontsize=9 if len(cells) <= 10 else 7)
    ax.set_ylim(len(cells) - 0.5, -0.5)  # first instruction on top
    ax.tick_params(axis="y", length=0)


def _plot_times(ax, summary: Summary, records: list[Mapping]) -> None:
    from matplotlib.patches import Patch

    ax.set_title("Time per submission", loc="left", fontsize=12, fontweight="bold")
    ax.set_ylabel("seconds")
    timed = sorted(((_float(r.get("seconds")), str(r["student"]), str(r["outcome"]))
                    for r in records if _float(r.get("seconds")) is not None),
                   key=lambda t: (-t[0], t[1]))
    if not timed:
        ax.set_xticks([])
        _no_data(ax, "no timings")
        return
    xs = range(len(timed))
    colours = [_OUTCOME_COLOURS.get(outcome, "#888888") for _, _, outcome in timed]
    ax.bar(xs, [t[0] for t in timed], width=0.8 if len(timed) <= 60 else 1.0,
           color=colours, linewidth=0, zorder=2)
    extra = max(0, 12 - len(timed)) / 2  # a few submissions: keep the bars slim, centred
    ax.set_xlim(-0.6 - extra, len(timed) - 0.4 + extra)
    slowest, typical = timed[0][0], statistics.median(t[0] for t in timed)
    if typical > 0 and slowest > 5 * typical:  # a few timeouts would flatten everything else
        from matplotlib.ticker import FuncFormatter, LogLocator

        ax.set_yscale("log")
        ax.set_ylim(max(min(t[0] for t in timed), 0.1) * 0.7, slowest * 1.6)
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _num(v, 1)))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_ylabel("seconds (log scale)")
    else:
        ax.set_ylim(0, slowest * 1.25)
    handles = [Patch(color=_OUTCOME_COLOURS[o], label=o) for o in _OUTCOME_COLOURS
               if any(t[2] == o for t in timed)]
    if summary.mean_seconds is not None:
        handles.append(ax.axhline(summary.mean_seconds, color="#222222", linestyle="--",
                                  linewidth=1, zorder=3,
                                  label=f"mean {_duration(summary.mean_seconds)}"))
    if len(timed) <= 40:
        ax.set_xticks(list(xs))
        names = [t[1] for t in timed]
        # slanted when a name is wider than its bar's slot (the axes hold ~150 characters
        # across, in at least 12 slots)
        slanted = max(map(len, names)) > 150 / max(12, len(timed))
        ax.set_xticklabels(names, fontsize=9 if len(timed) <= 20 else 7,
                           **({"rotation": 30, "ha": "right"} if slanted else {}))
        ax.tick_params(axis="x", length=0)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{len(timed)} submissions, slowest first")
    ax.legend(handles=handles, loc="upper right", frameon=True, framealpha=0.9,
              edgecolor="none", fontsize=9, ncols=len(handles))


def render_png(summary: Summary, path: str | os.PathLike, *,
               records: Iterable[Mapping[str, Any]]) -> Path:
    """Draw the summary as one PNG at ``path`` (written atomically); return the path.

    Three panels: the score histogram (0 to the maximum score, mean and median marked), the
    pass rate per instruction (horizontal bars, 0-100 %) and the grading time per submission
    (sorted bars, coloured by outcome: failed ones in red). ``records`` are the same records the
    summary was built from (the time panel needs one bar per submission).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chosen, _, _ = _select(records, summary.assignment)
    path = Path(path)
    fig = Figure(figsize=(12, 8.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=[1.15, 1], width_ratios=[1, 1.15])
    hist, rates, times = (fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]),
                          fig.add_subplot(grid[1, :]))
    for ax in (hist, rates, times):
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_axisbelow(True)
    hist.grid(axis="y", color="#eeeeee")
    times.grid(axis="y", color="#eeeeee")

    _plot_histogram(hist, summary)
    _plot_pass_rates(rates, summary)
    _plot_times(times, summary, chosen)

    fig.suptitle(f"{summary.assignment} \N{EM DASH} {_headline(summary)}", fontsize=15,
                 fontweight="bold", x=0.01, ha="left")
    if summary.mixed:
        fig.text(0.99, 0.985, "mixed package versions / data manifests", ha="right", va="top",
                 color=_RED, fontsize=10)

    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    write_atomically(path, buf.getvalue())
    return path


# -- all three -------------------------------------------------------------------------------
def write_summary(*, summary: Summary, records: Iterable[Mapping[str, Any]],
                  directory: str | os.PathLike) -> dict[str, Path]:
    """Write ``summary.txt``, ``summary.json`` and ``summary.png`` into ``directory``
    (each atomically); return their paths by kind (``"txt"``, ``"json"``, ``"png"``)."""
    directory = Path(directory)
    paths = {kind: directory / name for kind, name in FILES.items()}
    render_png(summary, paths["png"], records=records)
    data = json.dumps(to_json(summary), indent=2, allow_nan=False) + "\n"
    write_atomically(paths["json"], data)
    text = render_text(summary, png_path=paths["png"])
    write_atomically(paths["txt"], text)
    return paths
