"""Reading what went wrong out of nbgrader's outcome and the logs: why a notebook could not be
graded (:func:`failure_reason`) and which kernel limits the student's code met
(:func:`limits_hit`), each in one line for the instructor's summary.
"""
from __future__ import annotations

import re

from ..sandbox import STDERR_CUT
from ...kernel.capture import OUTPUT_CUT


#: What an exception raised while autograding means, for the instructor's summary.
_MEANINGS = {
    "DeadKernelError": "the kernel died (memory limit, os._exit, a crash)",
    "UnresponsiveKernelError": "the kernel stopped answering (an endless loop eating memory?)",
    "CellTimeoutError": "a cell ran past the time limit (Execute.timeout)",
    "TimeoutError": "a cell ran past the time limit (Execute.timeout)",
    "NotJSONError": "the notebook is not valid JSON (not saved from Jupyter?)",
    "JSONDecodeError": "the notebook is not valid JSON (not saved from Jupyter?)",
    "NotebookValidationError": "the notebook is not a valid Jupyter notebook",
}


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def failure_reason(exc: BaseException | None, stopped: str | None = None) -> str:
    """Why one notebook could not be graded, in one line: the sandbox's watchdog's reason when
    it stopped the kernel (``stopped``: :func:`graders.grading.sandbox.read_status` of that
    notebook's status file), else what the exception means and the exception itself. The
    student's log keeps the details."""
    from ..replay import RemoteExecutionFailed

    if stopped:
        return f"stopped: {stopped}"
    if exc is None:
        return "grading stopped with an error (see the student's log)"
    if isinstance(exc, RemoteExecutionFailed):  # the worker's reason, already one line
        return _first_line(str(exc))
    name, message = type(exc).__name__, _first_line(str(exc))[:200]
    if name == "NotJSONError":  # its message quotes the file: not for a one-line reason
        if message.endswith(": ''"):
            return "the notebook is an empty file (0 bytes: saved or uploaded incompletely)"
        message = message.split(":", 1)[0]
    timeout = isinstance(exc, TimeoutError) or "Timeout" in name
    meaning = _MEANINGS.get(name) or (_MEANINGS["TimeoutError"] if timeout else
                                      "grading stopped with an error")
    return f"{meaning} ({name}: {message})" if message else f"{meaning} ({name})"


def limits_hit(notebooks: dict[str, str], log_text: str, limits) -> list[str]:
    """Which kernel limits (``limits``: :class:`~settings.KernelLimits`) the student's code
    met without the kernel being stopped, per notebook, for the summary: a cell that got
    MemoryError, output cut at the per-cell cap, a write refused for lack of space. (A kernel
    that was stopped fails its notebook, with the reason.)"""
    import nbformat

    found = []
    for name, text in sorted(notebooks.items()):
        try:
            nb = nbformat.reads(text, as_version=4)
        except Exception:  # noqa: BLE001 - nothing to read, nothing to report
            continue
        hits = []
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                kind = out.get("output_type")
                body = (out.get("text") or "") if kind == "stream" else str(
                    (out.get("data") or {}).get("text/plain", ""))
                if kind == "error" and out.get("ename") == "MemoryError":
                    hits.append(f"the {limits.memory} memory limit (MemoryError)")
                elif kind == "error" and re.search(r"\[Errno 2[78]\]", out.get("evalue") or ""):
                    hits.append(f"the {limits.scratch} disk limit ({out.get('ename')}: "
                                f"{(out.get('evalue') or '')[:80]})")
                elif OUTPUT_CUT in body:
                    hits.append(f"the {limits.output} output limit per cell (output cut)")
        found += [f"{name}: {hit}" for hit in dict.fromkeys(hits)]
    if STDERR_CUT in log_text:
        found.append(f"the {limits.output} limit on the kernel's own stdout/stderr (cut)")
    return found
