"""What the student's kernel did that a later test cell cannot see by itself.

An IPython extension, loaded by the grading kernel at start (see ``graders.grading.sandbox``) and by
``run_check`` on first use in any other kernel. It records two things, in the kernel, while the
student's cells run:

* every matplotlib ``Figure`` that was *displayed*: by ``plt.show()``, by the inline backend at the
  end of a cell, or by ``display(fig)``. The inline backend closes figures once shown, so a test
  cell that runs afterwards would otherwise find nothing to judge.
* the exception each cell ended with, so a check can tell the student *why* an object is missing
  ("your cell stopped at ``SGD(lr=...)``") instead of only *that* it is missing.

Nothing here changes what the student sees: the recorder adds no output to any cell.

It also caps what one cell may print (:class:`CappedStream`: ``c.KernelLimits.output`` bytes per
cell, through :data:`graders.kernel.limits.ENV_OUTPUT`) and how many rich outputs it may
display (200): a flood of prints is cut inside the kernel, so it never fills the grading
process's memory or the stored notebook; one line says it was cut.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: The mimetype of the (always empty) formatter that watches displayed figures.
RECORDER_MIMETYPE = "application/vnd.rnn-course.figure-recorder"


@dataclass
class CellRecord:
    """One executed cell: its execution count, the exception it ended with (or None), and
    whether it was a grading cell (a ``run_check`` call), whose own failures are not the
    student's code failing."""

    execution_count: int
    error: BaseException | None = None
    is_check: bool = False


@dataclass
class KernelRecord:
    """Everything recorded in this kernel so far."""

    figures: list = field(default_factory=list)  # (execution_count, Figure), in display order
    cells: list = field(default_factory=list)  # CellRecord, in execution order
    #: Set by ``run_check`` while a grading cell runs; moved onto that cell's record after it.
    in_check: bool = False

    def mark_check_cell(self) -> None:
        """Called from a grading cell: its own failure is not the student's code failing."""
        self.in_check = True

    def shown_figures(self):
        """The distinct figures displayed so far, oldest first."""
        seen, out = set(), []
        for _, fig in self.figures:
            if id(fig) not in seen:
                seen.add(id(fig))
                out.append(fig)
        return out

    def last_student_error(self) -> BaseException | None:
        """The exception of the most recent cell that was not a grading cell, if it failed."""
        for cell in reversed(self.cells):
            if not cell.is_check:
                return cell.error
        return None


RECORD: KernelRecord | None = None

#: How a cut output begins (graders.grading.batch looks for it to list the limits met).
OUTPUT_CUT = "[output cut by the autograder"
MAX_DISPLAYS = 200


def output_limit() -> int:
    """Bytes one cell may print (``c.KernelLimits.output``, through the sandbox's environment)."""
    import os

    from .limits import DEFAULT_OUTPUT, ENV_OUTPUT, parse_size

    return parse_size(os.environ.get(ENV_OUTPUT) or DEFAULT_OUTPUT)


class CappedStream:
    """A stdout/stderr that passes at most ``limit`` characters per cell to the real stream."""

    def __init__(self, stream, limit: int):
        self._stream = stream
        self._limit = limit
        self.used = 0
        self.cut = False

    def reset(self) -> None:
        self.used, self.cut = 0, False

    def write(self, text):
        if self.used >= self._limit:
            if not self.cut:
                self.cut = True
                self._stream.write(f"\n{OUTPUT_CUT}: more than "
                                   f"{self._limit} characters in this cell]\n")
            return len(text)
        room = self._limit - self.used
        self.used += len(text)
        return self._stream.write(text[:room]) if len(text) > room else self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _make_recorder(shell):
    from IPython.core.formatters import BaseFormatter

    class FigureRecorder(BaseFormatter):
        """A display formatter that returns no data and remembers each Figure shown."""

        format_type = RECORDER_MIMETYPE
        print_method = "_repr_rnn_course_never_"

        def __call__(self, obj):
            try:
                from matplotlib.figure import Figure
            except ImportError:  # pragma: no cover - matplotlib is a dependency
                return None
            if isinstance(obj, Figure):
                RECORD.figures.append((shell.execution_count, obj))
            return None

    return FigureRecorder(parent=shell.display_formatter)


def load_ipython_extension(shell) -> None:
    """Install the recorders in ``shell`` (idempotent)."""
    global RECORD
    if RECORD is not None:
        return
    RECORD = KernelRecord()
    formatter = shell.display_formatter
    recorder = _make_recorder(shell)
    formatter.formatters[RECORDER_MIMETYPE] = recorder
    if RECORDER_MIMETYPE not in formatter.active_types:
        formatter.active_types = list(formatter.active_types) + [RECORDER_MIMETYPE]

    import sys

    limit = output_limit()
    streams = []
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if current is not None and not isinstance(current, CappedStream):
            capped = CappedStream(current, limit)
            setattr(sys, name, capped)
            streams.append(capped)
    publish = shell.display_pub.publish
    shown = {"count": 0, "cut": False}

    def capped_publish(data, *args, **kwargs):
        shown["count"] += 1
        if shown["count"] <= MAX_DISPLAYS:
            return publish(data, *args, **kwargs)
        if not shown["cut"]:
            shown["cut"] = True
            return publish({"text/plain": f"{OUTPUT_CUT}: more than "
                                          f"{MAX_DISPLAYS} displays in this cell]"})
        return None

    shell.display_pub.publish = capped_publish

    def pre_run_cell(info):
        for stream in streams:
            stream.reset()
        shown.update(count=0, cut=False)

    shell.events.register("pre_run_cell", pre_run_cell)

    def post_run_cell(result):
        count = result.execution_count
        if count is None:  # silent executions (completions, comms) have no count
            return
        RECORD.cells.append(CellRecord(count, result.error_in_exec or result.error_before_exec,
                                       is_check=RECORD.in_check))
        RECORD.in_check = False

    shell.events.register("post_run_cell", post_run_cell)


def current_record() -> KernelRecord | None:
    """The record of this kernel, or None when the extension was never loaded."""
    return RECORD


def ensure_loaded() -> bool:
    """Load the extension into the running IPython shell if there is one.

    Returns True when figures displayed *before* this call were recorded, i.e. the extension
    was already loaded; False when it is only loaded now (or there is no IPython shell).
    """
    if RECORD is not None:
        return True
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    if shell is None:
        return False
    load_ipython_extension(shell)
    return False
